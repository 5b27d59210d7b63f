package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

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
			// Measured, predicted and the sharp cell (C5 has no sharp result).
			if strings.Count(l, "—") != 3 {
				t.Errorf("C5 row should print both NaNs and the missing sharp prediction as —: %q", l)
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
	// C3's formula is inline math, its pipe written \vert, so the row
	// keeps its cells; its verdict names the criterion that failed.
	if f := rows[1][4]; !strings.HasPrefix(f, "$T^{*}(ε)") || !strings.Contains(f, `\vert  \text{bound}`) || !strings.HasSuffix(f, "$") ||
		rows[1][3] != "**FAILS: envelope**" || rows[1][5] != "0.2" || rows[1][7] != "0.31" {
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

// A claim that fails only its sharp band says so: the measured value
// within the envelope, outside the reduced ODE's band, in every format
// that explains failures.
func TestSharpFailureSaysWhy(t *testing.T) {
	c := judge.ClaimResult{ID: "C2", Title: "convergence", Verdict: judge.Fails, Relation: "≤",
		Measured: 0.009, Predicted: 0.6,
		Sharp: &judge.SharpResult{Engine: "orbit", Predicted: 0.0069, Measured: 0.009, Low: 0.0034, High: 0.0104, Ratio: 1.3,
			Band: "±4.26·SE at each of the 135 records; the largest deviation is 16.46·SE, at step 5"}}
	rep := &judge.Report{Format: judge.ReportFormat, Results: []judge.ClaimResult{c}, Summary: map[string]int{"fails": 1}}
	for _, format := range []string{"text", "markdown", "junit", "html"} {
		out := render(t, rep, format)
		if !strings.Contains(out, "outside the reduced ODE") || !strings.Contains(out, "16.46·SE") {
			t.Errorf("%s: the sharp failure is not explained:\n%s", format, out)
		}
	}
}
