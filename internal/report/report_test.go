package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"math"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"mimverify/judge"
)

func render(t *testing.T, r *judge.Report, format string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, r, format); err != nil {
		t.Fatalf("Write(%s): %v", format, err)
	}
	return buf.String()
}

func TestUnknownFormat(t *testing.T) {
	var buf bytes.Buffer
	err := Write(&buf, sampleReport(t), "pdf")
	if err == nil {
		t.Fatal("format pdf: no error")
	}
	for _, f := range []string{"pdf", "text", "json", "markdown", "html", "junit"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not name %q", err, f)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %d bytes for an unknown format", buf.Len())
	}
	if err := Write(&buf, nil, "text"); err == nil {
		t.Error("nil report: no error")
	}
}

func TestText(t *testing.T) {
	out := render(t, sampleReport(t), "text")
	lines := strings.Split(out, "\n")

	// The failing claim's table row says FAILS and is marked.
	var c3 string
	for _, l := range lines {
		if strings.Contains(l, "C3") && strings.Contains(l, "area-wide attention") {
			c3 = l
			break
		}
	}
	if !strings.Contains(c3, "FAILS") {
		t.Errorf("row of C3 does not say FAILS: %q", c3)
	}
	if !strings.HasPrefix(strings.TrimSpace(c3), ">>") {
		t.Errorf("row of C3 is not marked: %q", c3)
	}
	for _, l := range lines {
		for _, id := range []string{"C1 ", "C5 ", "C7 "} {
			if strings.Contains(l, id) && strings.Contains(l, "FAILS") {
				t.Errorf("a claim that does not fail is shown as FAILS: %q", l)
			}
		}
	}
	// Its detail and the violated comparison are below the table.
	for _, want := range []string{
		"the off-area mass stalls at 0.31 after step 300",
		"measured 0.31 > predicted 0.2",
		// The not-asserted claim: the failing predicate and its values.
		"(1 − γ)·C_min ≥ 4: 2 ≥ 4 is false",
		"areas large enough",
		// The summary line.
		"2 holds, 1 fails, 1 not asserted",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	// The predicate that holds is not listed as a reason.
	if strings.Contains(out, "N_k ≥ 2: 4 ≥ 2") {
		t.Errorf("a holding predicate is listed as a reason:\n%s", out)
	}
	// The last non-empty line is the summary.
	last := strings.TrimSpace(out)
	last = last[strings.LastIndex(last, "\n")+1:]
	if last != "2 holds, 1 fails, 1 not asserted" {
		t.Errorf("last line = %q", last)
	}
	// The long title is cut, the NaNs print as dashes, no colours.
	if strings.Contains(out, "loss decreases monotonically under gradient descent with small step") {
		t.Error("the long title is not truncated")
	}
	if !strings.Contains(out, "…") {
		t.Error("no ellipsis for the truncated title")
	}
	for _, l := range lines {
		if strings.Contains(l, "C5") && strings.Contains(l, "n/a") {
			if strings.Count(l, "—") != 2 {
				t.Errorf("C5 row should print both NaNs as —: %q", l)
			}
			if strings.Contains(l, "NaN") {
				t.Errorf("C5 row prints NaN: %q", l)
			}
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("ANSI escapes in the text format")
	}
}

// TestTextColumns checks that the columns line up, whatever the width of
// the characters' UTF-8 encoding.
func TestTextColumns(t *testing.T) {
	out := render(t, sampleReport(t), "text")
	var rows []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "SOURCE") || regexp.MustCompile(`\bC[1357]\b.*\b(paper|derived)\b`).MatchString(l) {
			rows = append(rows, l)
		}
	}
	if len(rows) != 5 {
		t.Fatalf("found %d table lines, want 5:\n%s", len(rows), out)
	}
	col := func(l, word string) int {
		i := strings.Index(l, word)
		if i < 0 {
			return -1
		}
		return len([]rune(l[:i]))
	}
	want := col(rows[0], "SOURCE")
	for _, l := range rows[1:] {
		got := col(l, "paper")
		if got < 0 {
			got = col(l, "derived")
		}
		if got != want {
			t.Errorf("source column at %d, header at %d: %q", got, want, l)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := sampleReport(t)
	out := render(t, r, "json")
	if strings.Contains(out, "NaN") || strings.Contains(out, "Inf") {
		t.Errorf("JSON output contains a non-JSON number")
	}
	if !json.Valid([]byte(out)) {
		t.Fatal("output is not valid JSON")
	}
	// A plain decode into judge.Report works.
	var plain judge.Report
	if err := json.Unmarshal([]byte(out), &plain); err != nil {
		t.Fatalf("plain json.Unmarshal into judge.Report: %v", err)
	}
	// ReadJSON gives back the report, non-finite values as NaN.
	back, err := ReadJSON(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	want := sampleReport(t)
	for i, s := range want.Series {
		for k, y := range s.Y {
			if math.IsInf(float64(y), 0) {
				want.Series[i].Y[k] = judge.Float(math.NaN()) // the sign of ±Inf is not kept
			}
		}
	}
	if d := cmp.Diff(want, back, cmp.Comparer(func(a, b judge.Float) bool { return a == b || (math.IsNaN(float64(a)) && math.IsNaN(float64(b))) })); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}

	// Without non-finite values, the plain decode is exact too.
	fin := sampleReport(t)
	for i := range fin.Results {
		for _, x := range []*judge.Float{&fin.Results[i].Measured, &fin.Results[i].Predicted} {
			if !finite(*x) {
				*x = 1
			}
		}
	}
	for i, s := range fin.Series {
		for k, y := range s.Y {
			if !finite(y) {
				fin.Series[i].Y[k] = 0.5
			}
		}
	}
	for i := range fin.Events {
		if !finite(fin.Events[i].Time) {
			fin.Events[i].Time = -1
		}
	}
	var exact judge.Report
	if err := json.Unmarshal([]byte(render(t, fin, "json")), &exact); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(fin, &exact); d != "" {
		t.Errorf("finite round trip (-want +got):\n%s", d)
	}

	if _, err := ReadJSON(strings.NewReader(out + "{}")); err == nil {
		t.Error("ReadJSON accepted trailing data")
	}
}

// TestSchemaNumbersAreFloat walks the report and sweep schemas: every
// number is a judge.Float, so that NaN and ±Inf are written as null by the
// schema itself, whichever field they are in.
func TestSchemaNumbersAreFloat(t *testing.T) {
	float := reflect.TypeFor[judge.Float]()
	seen := map[reflect.Type]bool{}
	var walk func(path string, ty reflect.Type)
	walk = func(path string, ty reflect.Type) {
		if seen[ty] {
			return
		}
		seen[ty] = true
		switch ty.Kind() {
		case reflect.Float32, reflect.Float64:
			if ty != float {
				t.Errorf("%s is a %v, not a judge.Float", path, ty)
			}
		case reflect.Slice, reflect.Array, reflect.Pointer:
			walk(path+"[]", ty.Elem())
		case reflect.Map:
			walk(path+"[key]", ty.Key())
			walk(path+"[value]", ty.Elem())
		case reflect.Struct:
			if ty.PkgPath() == "mimverify/theory" {
				return // the setting: validated finite on input
			}
			for i := 0; i < ty.NumField(); i++ {
				walk(path+"."+ty.Field(i).Name, ty.Field(i).Type)
			}
		}
	}
	walk("Report", reflect.TypeFor[judge.Report]())
	walk("Sweep", reflect.TypeFor[judge.Sweep]())
}

// junitDoc is the part of the JUnit schema the CI systems read.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuite"`
	Name     string   `xml:"name,attr"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Time     float64  `xml:"time,attr"`
	Cases    []struct {
		Classname string  `xml:"classname,attr"`
		Name      string  `xml:"name,attr"`
		Time      float64 `xml:"time,attr"`
		Failure   *struct {
			Message string `xml:"message,attr"`
			Text    string `xml:",chardata"`
		} `xml:"failure"`
		Skipped *struct {
			Message string `xml:"message,attr"`
		} `xml:"skipped"`
	} `xml:"testcase"`
}

func parseJUnit(t *testing.T, out string) junitDoc {
	t.Helper()
	var doc junitDoc
	dec := xml.NewDecoder(strings.NewReader(out))
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("JUnit output does not parse: %v\n%s", err, out)
	}
	return doc
}

func TestJUnit(t *testing.T) {
	r := sampleReport(t)
	out := render(t, r, "junit")
	if !strings.HasPrefix(out, "<?xml") {
		t.Error("no XML declaration")
	}
	doc := parseJUnit(t, out)
	if doc.Name != "mimverify" || doc.Tests != 4 || doc.Failures != 1 || doc.Skipped != 1 || doc.Errors != 0 {
		t.Errorf("suite %q: tests %d failures %d skipped %d errors %d, want mimverify 4 1 1 0",
			doc.Name, doc.Tests, doc.Failures, doc.Skipped, doc.Errors)
	}
	if doc.Time != 12.5 {
		t.Errorf("time = %g, want 12.5", doc.Time)
	}
	if len(doc.Cases) != len(r.Results) {
		t.Fatalf("%d test cases, want %d", len(doc.Cases), len(r.Results))
	}
	for i, c := range doc.Cases {
		claim := r.Results[i]
		if c.Classname != "mimverify.claims" {
			t.Errorf("case %d classname %q", i, c.Classname)
		}
		if c.Name != claim.ID+" "+claim.Title {
			t.Errorf("case %d name %q, want %q", i, c.Name, claim.ID+" "+claim.Title)
		}
		if (c.Failure != nil) != (claim.Verdict == judge.Fails) {
			t.Errorf("%s: failure element present = %v, verdict %s", claim.ID, c.Failure != nil, claim.Verdict)
		}
		if (c.Skipped != nil) != (claim.Verdict == judge.NotAsserted) {
			t.Errorf("%s: skipped element present = %v, verdict %s", claim.ID, c.Skipped != nil, claim.Verdict)
		}
	}
	if f := doc.Cases[1].Failure; f == nil || f.Message != "measured 0.31 > predicted 0.2" || !strings.Contains(f.Text, "stalls at 0.31") {
		t.Errorf("failure of C3 = %+v", f)
	}
	if s := doc.Cases[2].Skipped; s == nil || s.Message != "outside regime: (1 − γ)·C_min ≥ 4: 2 ≥ 4 is false" {
		t.Errorf("skipped of C5 = %+v", s)
	}
	if doc.Cases[3].Name != "C7 <script>alert(1)</script> & agreement" {
		t.Errorf("escaped name did not survive: %q", doc.Cases[3].Name)
	}
}

// TestJUnitHostileText puts characters XML cannot carry, and a CDATA end,
// into the free text.
func TestJUnitHostileText(t *testing.T) {
	r := sampleReport(t)
	r.Results[1].Detail = "bad \x00\x01\x1b bytes \xff and ]]> end"
	r.Results[1].Title = "quote \" and ' and \x07"
	doc := parseJUnit(t, render(t, r, "junit"))
	if f := doc.Cases[1].Failure; f == nil || !strings.Contains(f.Text, "]]> end") {
		t.Errorf("failure text = %+v", f)
	}
	if !strings.HasPrefix(doc.Cases[1].Name, `C3 quote " and '`) {
		t.Errorf("name = %q", doc.Cases[1].Name)
	}
}

// splitRow splits a Markdown table row at its unescaped pipes.
func splitRow(l string) []string {
	l = strings.TrimSpace(l)
	l = strings.TrimPrefix(l, "|")
	l = strings.TrimSuffix(l, "|")
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(l); i++ {
		switch {
		case l[i] == '\\' && i+1 < len(l):
			cur.WriteByte(l[i])
			cur.WriteByte(l[i+1])
			i++
		case l[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(l[i])
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// tableAfter returns the rows of the first table after the line containing
// heading (header and separator excluded).
func tableAfter(t *testing.T, md, heading string) [][]string {
	t.Helper()
	lines := strings.Split(md, "\n")
	i := 0
	for i < len(lines) && !strings.Contains(lines[i], heading) {
		i++
	}
	for i < len(lines) && !strings.HasPrefix(lines[i], "|") {
		i++
	}
	if i+1 >= len(lines) {
		t.Fatalf("no table after %q", heading)
	}
	width := len(splitRow(lines[i]))
	if sep := splitRow(lines[i+1]); len(sep) != width || !strings.Contains(sep[0], "---") {
		t.Fatalf("bad separator %q", lines[i+1])
	}
	var rows [][]string
	for _, l := range lines[i+2:] {
		if !strings.HasPrefix(l, "|") {
			break
		}
		row := splitRow(l)
		if len(row) != width {
			t.Errorf("row has %d cells, header %d: %q", len(row), width, l)
		}
		rows = append(rows, row)
	}
	return rows
}

func TestMarkdown(t *testing.T) {
	r := sampleReport(t)
	md := render(t, r, "markdown")
	if !strings.HasPrefix(md, "# ") {
		t.Error("no heading")
	}
	rows := tableAfter(t, md, "## Claims")
	if len(rows) != len(r.Results) {
		t.Fatalf("%d claim rows, want %d", len(rows), len(r.Results))
	}
	for i, row := range rows {
		if row[0] != r.Results[i].ID {
			t.Errorf("row %d starts with %q, want %q", i, row[0], r.Results[i].ID)
		}
	}
	// The pipe in C3's formula is escaped, so the row keeps its cells.
	if !strings.Contains(rows[1][4], `\| bound`) || rows[1][5] != "0.2" || rows[1][7] != "0.31" {
		t.Errorf("C3 row = %q", rows[1])
	}
	if rows[2][5] != "—" || rows[2][7] != "—" {
		t.Errorf("C5 NaNs = %q, %q, want —", rows[2][5], rows[2][7])
	}
	if strings.Contains(md, "<script>") {
		t.Error("raw <script> in Markdown")
	}
	for _, want := range []string{
		"P = 16", "4×4 grid", "4 areas of sizes 4, 4, 4, 4", "2 areas of sizes 8, 8",
		"γ = 0.5", "uniform on \\[0.5, 1.5\\]", "η = 2", "keys: unmasked; loss: sum",
		"engines: exact, population", "seed: 7",
		"2 ≥ 4 is false",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	ev := tableAfter(t, md, "## Events")
	if len(ev) != 2 || ev[0][1] != "120" || ev[1][1] != "did not happen" {
		t.Errorf("events table = %q", ev)
	}
}

var svgRE = regexp.MustCompile(`(?s)<svg\b.*?</svg>`)

// wellFormed parses s as XML (strictly when strict, else with the HTML
// void elements and entities) to its end.
func wellFormed(s string, strict bool) error {
	dec := xml.NewDecoder(strings.NewReader(s))
	dec.Strict = strict
	if !strict {
		dec.AutoClose = xml.HTMLAutoClose
		dec.Entity = xml.HTMLEntity
	}
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if depth != 0 {
				return io.ErrUnexpectedEOF
			}
			return nil
		}
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
}

func TestHTML(t *testing.T) {
	r := sampleReport(t)
	page := render(t, r, "html")

	if err := wellFormed(page, false); err != nil {
		t.Errorf("page does not parse: %v", err)
	}
	svgs := svgRE.FindAllString(page, -1)
	// Two figures (loss, attention mass by area) and two partition maps.
	if n := strings.Count(page, "<svg"); n != 4 || len(svgs) != 4 {
		t.Fatalf("%d <svg tags, %d fragments, want 4", n, len(svgs))
	}
	for i, s := range svgs {
		if err := wellFormed(s, true); err != nil {
			t.Errorf("svg %d is not well-formed XML: %v", i, err)
		}
	}
	if strings.Contains(page, "<?xml") {
		t.Error("XML prolog left in the page")
	}
	// Figures in order of first appearance, with their legends and the
	// event that happened; the irreducible part (not LogY) shares the log
	// figure of the loss.
	if !strings.Contains(svgs[0], ">loss<") || !strings.Contains(svgs[1], ">attention mass by area<") {
		t.Error("figures not in order of first appearance")
	}
	for _, name := range []string{">reconstructable part<", ">irreducible part<", ">own area dominates<"} {
		if !strings.Contains(svgs[0], name) {
			t.Errorf("loss figure lacks %s", name)
		}
	}
	for _, name := range []string{">own area<", ">other areas<"} {
		if !strings.Contains(svgs[1], name) {
			t.Errorf("attention figure lacks %s", name)
		}
	}
	// Log axis: the smallest positive value is 3·e^(−49/8) ≈ 0.0066, so
	// the axis starts at the decade 0.001; the linear figure has no such
	// tick.
	if !strings.Contains(svgs[0], ">0.001<") || strings.Contains(svgs[1], ">0.001<") {
		t.Error("log axis of the loss figure not as expected")
	}
	if !strings.Contains(page, "not positive on a log axis") {
		t.Error("the dropped zero of the log figure is not noted")
	}
	// Self-contained: no reference out of the page but the SVG namespace.
	rest := strings.ReplaceAll(page, `xmlns="http://www.w3.org/2000/svg"`, "")
	if regexp.MustCompile(`(?i)https?://|<link\b|<script\b|<img\b|@import|url\(`).MatchString(rest) {
		t.Errorf("page references something outside itself: %q", regexp.MustCompile(`(?i).{0,40}(https?://|<link\b|<script\b|<img\b|@import|url\().{0,40}`).FindString(rest))
	}
	for _, c := range r.Results {
		if !strings.Contains(page, ">"+c.ID+"<") {
			t.Errorf("page lacks claim %s", c.ID)
		}
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the <script> title is not escaped")
	}
	for _, want := range []string{
		"FAILS: 1 of 3 asserted claims fails (C3)",
		"measured 0.31 &gt; predicted 0.2",
		"2 ≥ 4 is false",
		"did not happen",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "NaN") {
		t.Error("page prints NaN")
	}
	// Each partition map has one cell per position.
	for _, s := range svgs[2:] {
		if n := strings.Count(s, "<title>position "); n != 16 {
			t.Errorf("partition map has %d cells, want 16", n)
		}
	}
}

// TestHTMLDegenerate feeds the figures series they cannot draw: all values
// non-positive on a log axis, NaN only, one point, empty, and a figure name
// with markup; rendering must succeed and stay well-formed.
func TestHTMLDegenerate(t *testing.T) {
	r := sampleReport(t)
	nan := math.NaN()
	r.Series = []judge.Series{
		{Figure: "neg", Name: "all ≤ 0", X: judge.Floats([]float64{0, 1, 2}), Y: judge.Floats([]float64{0, -1, -2}), LogY: true},
		{Figure: "nan", Name: "nan", X: judge.Floats([]float64{0, 1}), Y: judge.Floats([]float64{nan, nan})},
		{Figure: "one <b>point</b>", Name: "single", X: judge.Floats([]float64{3}), Y: judge.Floats([]float64{0.5})},
		{Figure: "one <b>point</b>", Name: "empty", X: nil, Y: nil},
		{Figure: "flat log", Name: "flat", X: judge.Floats([]float64{0, 10}), Y: judge.Floats([]float64{2, 2}), LogY: true},
		{Figure: "ragged", Name: "ragged", X: judge.Floats([]float64{0, 1, 2}), Y: judge.Floats([]float64{1, 2})},
	}
	r.Setting.Side = 0 // partitions drawn as strips
	page := render(t, r, "html")
	if err := wellFormed(page, false); err != nil {
		t.Errorf("page does not parse: %v", err)
	}
	for i, s := range svgRE.FindAllString(page, -1) {
		if err := wellFormed(s, true); err != nil {
			t.Errorf("svg %d is not well-formed XML: %v", i, err)
		}
	}
	if strings.Contains(page, "<b>point</b>") {
		t.Error("figure name not escaped")
	}
	if !strings.Contains(page, "no drawable point") {
		t.Error("undrawable figures not noted")
	}
	// Figures with points: one point, flat log, ragged; plus two strips.
	if n := strings.Count(page, "<svg"); n != 5 {
		t.Errorf("%d <svg, want 5", n)
	}
}

func TestLogTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		labels []float64
	}{
		{1e-4, 1, []float64{1e-4, 1e-3, 1e-2, 0.1, 1}},
		{0.1, 10, []float64{0.1, 1, 10}},
		{1e-3, 10, []float64{1e-3, 1e-2, 0.1, 1, 10}},
	} {
		var got []float64
		for _, tk := range (logTicks{}).Ticks(tc.lo, tc.hi) {
			if tk.Label != "" {
				got = append(got, tk.Value)
			}
		}
		if d := cmp.Diff(tc.labels, got, cmpopts.EquateApprox(1e-12, 0)); d != "" {
			t.Errorf("[%g, %g] labels (-want +got):\n%s", tc.lo, tc.hi, d)
		}
	}
	// Many decades: fewer labels, still at powers of ten, ends labelled.
	var n int
	for _, tk := range (logTicks{}).Ticks(1e-20, 1) {
		if tk.Label != "" {
			n++
			if e := math.Log10(tk.Value); math.Abs(e-math.Round(e)) > 1e-9 {
				t.Errorf("label at %g, not a power of ten", tk.Value)
			}
		}
	}
	if n < 3 || n > 11 {
		t.Errorf("%d labels over 20 decades", n)
	}
}

func TestLinearTicks(t *testing.T) {
	var labels []string
	for _, tk := range (linearTicks{}).Ticks(0, 500) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if d := cmp.Diff([]string{"0", "100", "200", "300", "400", "500"}, labels); d != "" {
		t.Errorf("labels on [0, 500] (-want +got):\n%s", d)
	}
	labels = nil
	for _, tk := range (linearTicks{}).Ticks(-0.05, 0.95) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if d := cmp.Diff([]string{"0", "0.2", "0.4", "0.6", "0.8"}, labels); d != "" {
		t.Errorf("labels on [-0.05, 0.95] (-want +got):\n%s", d)
	}
}
