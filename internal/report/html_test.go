package report

import (
	"encoding/xml"
	"io"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"mimverify/judge"
)

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
	for _, name := range []string{">reconstructable part<", ">irreducible part<", ">own area dominates (step 120)<"} {
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
