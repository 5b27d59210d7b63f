package report

import (
	"bytes"
	"encoding/csv"
	"math"
	"strings"
	"testing"

	"mimverify/judge"
	"mimverify/theory"
)

// sampleSweep builds a two-axis sweep by hand, two seeds per cell: C3
// inside its regime (holds, or fails at one seed), outside it (holds
// empirically, breaks), and a point whose run failed.
func sampleSweep(t *testing.T) *judge.Sweep {
	t.Helper()
	s, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	axes := []judge.Axis{{Field: "gamma", Values: []string{"0.5", "0.9"}}, {Field: "keys", Values: []string{"unmasked", "all"}}}
	plan := judge.NewPlan(s, judge.Options{}, axes, 2)
	out := []judge.PredicateResult{{Formula: "n_min ≥ 1", Left: 0.4, Op: "≥", Right: 1, Holds: false}}
	res := func(v, emp judge.Verdict, m float64) judge.ClaimResult {
		r := judge.ClaimResult{ID: "C3", Verdict: v, Empirical: emp, Measured: judge.Float(m), Predicted: 100, Relation: "≤"}
		if v == judge.NotAsserted {
			r.Regime = out
		}
		return r
	}
	cells := [][2]judge.ClaimResult{
		{res(judge.Holds, "", 50), res(judge.Holds, "", 60)},
		{res(judge.Holds, "", 50), res(judge.Fails, "", 150)},
		{res(judge.NotAsserted, judge.Holds, 40), res(judge.NotAsserted, judge.Holds, 30)},
		{res(judge.NotAsserted, judge.Fails, math.NaN()), res(judge.NotAsserted, judge.Fails, 300)},
	}
	sw := &judge.Sweep{Format: judge.SweepFormat, Setting: s, Axes: []string{"gamma", "keys"}, Plan: plan, PlanHash: plan.Hash()}
	for c, pair := range cells {
		for rep, r := range pair {
			vals := plan.ValueMap([]string{axes[0].Values[c/2], axes[1].Values[c%2]})
			p := judge.SweepPoint{Index: 2*c + rep, Cell: c, Seed: uint64(1 + rep), Values: vals, Steps: 10, Results: []judge.ClaimResult{r}}
			if c == 1 && rep == 0 {
				p.Results, p.Error = nil, "NaN at step 3"
			}
			sw.Points = append(sw.Points, p)
		}
	}
	sw.Summarize()
	return sw
}

func TestSweepFormats(t *testing.T) {
	sw := sampleSweep(t)
	render := func(format string) string {
		var b bytes.Buffer
		if err := WriteSweep(&b, sw, format); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		return b.String()
	}
	text := render("text")
	for _, want := range []string{"holds empirically 40 ≤ 100 (outside n_min ≥ 1)", "breaks — ≤ 100", "FAILS 150 ≤ 100", "error: NaN at step 3",
		"2/2 = 1 [0.3424, 1]", "0/1 = 0 [0, 0.7935]"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	cr := csv.NewReader(strings.NewReader(render("csv")))
	cr.Comment = '#' // the closing total line
	rows, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// A header, 7 points × 1 claim, 1 failed point.
	if len(rows) != 9 || strings.Join(rows[0][:6], ",") != "index,cell,seed,gamma,keys,steps" {
		t.Fatalf("CSV: %d rows, header %v", len(rows), rows[0])
	}
	if got := strings.Join(rows[7], ","); got != "6,3,1,0.9,all,10,C3,not asserted,fails,false,,≤,100,n_min ≥ 1," {
		t.Errorf("CSV row of a point that breaks: %s", got)
	}
	html := render("html")
	if n := strings.Count(html, "<svg"); n != 2 || !strings.Contains(html, `class="breaks"`) || !strings.Contains(html, `class="emp"`) {
		t.Errorf("HTML: %d figures (want C3's verdict and ratio diagrams), classes for breaks/holds empirically present: %v %v",
			n, strings.Contains(html, `class="breaks"`), strings.Contains(html, `class="emp"`))
	}
	// Markdown never inlines figures (GitHub does not show data: images):
	// it links the files --figures writes, or says how to get them.
	if md := render("markdown"); strings.Contains(md, "data:") || !strings.Contains(md, "--figures DIR") || !strings.HasPrefix(md, "# mimverify sweep: ") {
		t.Errorf("Markdown without a figure directory:\n%s", md)
	}
	var md bytes.Buffer
	if err := WriteSweepLinked(&md, sw, "markdown", "figs"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"![C3: verdict](figs/phase-C3.svg)", "(figs/ratio-C3.svg)", "- axis gamma: "} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("linked Markdown lacks %q:\n%s", want, md.String())
		}
	}
}

// A check report shows a claim outside its regime as what its measurement
// says, in every format.
func TestCheckFormatsShowEmpiricalVerdicts(t *testing.T) {
	r := sampleReport(t)
	for i := range r.Results {
		if r.Results[i].Verdict == judge.NotAsserted {
			r.Results[i].Empirical = judge.Fails
		}
	}
	for _, f := range []string{"text", "markdown", "html", "junit"} {
		var b bytes.Buffer
		if err := Write(&b, r, f); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "breaks") {
			t.Errorf("%s: a claim that breaks outside its regime is not shown as breaking", f)
		}
	}
}
