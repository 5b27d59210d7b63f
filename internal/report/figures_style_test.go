package report

import (
	"math"
	"strings"
	"testing"

	"mimverify/judge"
	"mimverify/theory/expr"
)

// TestMarginOf checks the verdict margin's sign against the claim's
// relation, for every relation: positive exactly when the relation holds
// for measured = ratio × predicted with predicted > 0, so that one colour
// (blue) means "holds with room" whatever the relation; NaN when the
// ratio is not a positive number.
func TestMarginOf(t *testing.T) {
	for _, rel := range []string{"≤", "<", "≥", ">", "="} {
		for _, ratio := range []float64{1e-3, 0.2, 0.99, 1.01, 5, 1e4} {
			m := marginOf(ratio, rel)
			holds, err := expr.Relation(rel).Holds(ratio, 1)
			if err != nil {
				t.Fatal(err)
			}
			if (m > 0) != holds && rel != "=" {
				t.Errorf("%s: ratio %g: margin %g but the relation holds = %v", rel, ratio, m, holds)
			}
			// The margin is how many decades the measurement can move
			// before it reaches the bound.
			if want := math.Abs(math.Log10(ratio)); math.Abs(math.Abs(m)-want) > 1e-12 {
				t.Errorf("%s: ratio %g: |margin| = %g, want %g", rel, ratio, math.Abs(m), want)
			}
		}
		for _, bad := range []float64{0, -1, math.NaN(), math.Inf(1)} {
			if m := marginOf(bad, rel); !math.IsNaN(m) {
				t.Errorf("%s: ratio %g: margin %g, want NaN", rel, bad, m)
			}
		}
	}
	// The colour map's ends: holding with room is the palette's blue,
	// failing its vermillion, the bound white-ish.
	mm := marginMap{span: 2}
	if c, _ := mm.At(2); c != marginHolds {
		t.Errorf("margin +span = %v, want the holds blue", c)
	}
	if c, _ := mm.At(-5); c != marginFails {
		t.Errorf("margin below −span = %v, want the fails vermillion", c)
	}
	if _, err := mm.At(math.NaN()); err == nil {
		t.Error("a NaN margin has a colour")
	}
}

// TestSeriesRolesAndColours reads the roles from judge's curve names and
// gives each reduced-ODE curve the colour of the measured curve it
// predicts.
func TestSeriesRolesAndColours(t *testing.T) {
	g := &group{series: []judge.Series{
		{Name: "1 − mean (measured)"}, {Name: "predicted ε*(t) (C7)"}, {Name: "1 − mean, reduced ODE (sharp)"},
		{Name: "mean"}, {Name: "fraction of queries ≥ 1 − ε"}, {Name: "1 − ε"}, {Name: "fraction ≥ 1 − ε, reduced ODE (sharp)"},
	}}
	want := []role{roleMeasured, roleEnvelope, rolePrediction, roleMeasured, roleMeasured, roleReference, rolePrediction}
	for i, s := range g.series {
		if r := seriesRole(s.Name); r != want[i] {
			t.Errorf("%q: role %d, want %d", s.Name, r, want[i])
		}
	}
	cols := seriesColors(g)
	if cols[2] != cols[0] || cols[6] != cols[4] || cols[0] == cols[4] {
		t.Errorf("prediction colours %v, %v; their measured curves %v, %v", cols[2], cols[6], cols[0], cols[4])
	}
}

// TestStepBandsOfC6 reads C6's three predicted events out of its band, as
// judge/sharp.go writes it, +Inf included.
func TestStepBandsOfC6(t *testing.T) {
	c := judge.ClaimResult{ID: "C6", Sharp: &judge.SharpResult{Predicted: 37, Band: "events of the local queries (±4.15·SE, Bonferroni over 3): " +
		"decoupling at step 3, predicted 3 in [3, 4]; own-area mass ½ at step 5, predicted 4 in [4, 5]; own-area mass 1 − ε at step +Inf, predicted 37 in [28, +Inf]"}}
	b := stepBands(c)
	if len(b) != 3 || b[0].name != "decoupling" || b[1].pred != 4 || b[2].lo != 28 || !math.IsInf(b[2].hi, 1) || b[2].name != "own-area mass 1 − ε" {
		t.Errorf("C6 bands = %+v", b)
	}
}

// TestSharpCellNeverInsideOnNaN: a NaN measurement or band never reads
// "inside", whatever the judge's Inside flag says; the verdict names the
// criterion that failed.
func TestSharpCellNeverInsideOnNaN(t *testing.T) {
	nan := judge.Float(math.NaN())
	for _, sh := range []judge.SharpResult{
		{Predicted: 1, Low: 0.5, High: 2, Measured: nan, Ratio: nan, Inside: true},
		{Predicted: 1, Low: nan, High: 2, Measured: 1, Ratio: 1, Inside: true},
		{Predicted: 1, Low: 0.5, High: 2, Measured: 3, Ratio: 3, Inside: true},
	} {
		c := judge.ClaimResult{ID: "C2", Relation: "≤", Predicted: 10, Measured: sh.Measured, Sharp: &sh}
		if cell := sharpCell(c); strings.Contains(cell, "inside") {
			t.Errorf("%+v: sharp cell %q", sh, cell)
		}
		if line := sharpLine(c); strings.Contains(line, "inside") {
			t.Errorf("%+v: sharp line %q", sh, line)
		}
	}
	inside := judge.SharpResult{Predicted: 1, Low: 0.5, High: 2, Measured: 1.5, Ratio: 1.5, Inside: true}
	if cell := sharpCell(judge.ClaimResult{Measured: 1.5, Sharp: &inside}); !strings.HasSuffix(cell, ": inside") {
		t.Errorf("inside: %q", cell)
	}
	out := judge.SharpResult{Predicted: 1, Low: 0.5, High: 2, Measured: 3, Ratio: 3}
	for _, tc := range []struct {
		measured, predicted judge.Float
		want                string
	}{
		{3, 10, "FAILS: sharp band"},
		{30, 10, "FAILS: envelope and sharp band"},
	} {
		c := judge.ClaimResult{Verdict: judge.Fails, Relation: "≤", Measured: tc.measured, Predicted: tc.predicted, Sharp: &out}
		if got := verdictCell(c); got != tc.want {
			t.Errorf("measured %v ≤ %v, outside the band: verdict %q, want %q", tc.measured, tc.predicted, got, tc.want)
		}
	}
	if got := verdictCell(judge.ClaimResult{Verdict: judge.Fails, Relation: "≤", Measured: 30, Predicted: 10}); got != "FAILS: envelope" {
		t.Errorf("envelope only: %q", got)
	}
}

// TestMdMath writes formulas as GitHub inline math that keeps a table row
// whole.
func TestMdMath(t *testing.T) {
	for in, want := range map[string]string{
		"T*(ε) = c·P/(η·(1 − γ)·C_min·L⁴·ε) | bound": `$T^{*}(ε) = c·P/(η·(1 − γ)·C_{\min}·L⁴·ε) \vert  \text{bound}$`,
		"a < b":   `$a \lt  b$`,
		"":        "",
		"x_1 % 2": `$x_{1} \% 2$`,
	} {
		if got := mdMath(in); got != want {
			t.Errorf("mdMath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCurveFigureShowsPredictions: a trajectory figure names its y axis by
// the quantity (never "log scale"), draws the reduced ODE's curve dashed
// in its measured curve's colour, the envelope dotted grey, C3's predicted
// step band shaded, and numbers the events in its legend.
func TestCurveFigureShowsPredictions(t *testing.T) {
	r := sampleReport(t)
	x := r.Series[0].X
	y := make([]judge.Float, len(x))
	for i := range y {
		y[i] = 0.5
	}
	r.Series = []judge.Series{
		{Figure: "attention mass on own area", Name: "fraction of queries ≥ 1 − ε", X: x, Y: y},
		{Figure: "attention mass on own area", Name: "fraction ≥ 1 − ε, reduced ODE (sharp)", X: x, Y: y},
		{Figure: "attention mass on own area", Name: "predicted envelope (C3)", X: x, Y: y},
	}
	r.Results[1].Sharp = &judge.SharpResult{Predicted: 150, Low: 100, High: 200, Measured: 0.31, Ratio: 1, Inside: true}
	figs, err := renderFigures(r)
	if err != nil || len(figs) != 1 {
		t.Fatalf("%d figures, %v", len(figs), err)
	}
	svg := figs[0].SVG
	for _, want := range []string{">attention mass (share of 1)<", ">step t<", ">C3 predicted step 150, band [100, 200]<", ">own area dominates (step 120)<",
		"stroke-dasharray:6,3", "stroke:#555555", "stroke-dasharray:1.2,2.4"} {
		if !strings.Contains(svg, want) {
			t.Errorf("figure lacks %q", want)
		}
	}
	if strings.Contains(svg, "log scale") {
		t.Error("an axis is labelled \"log scale\" instead of its quantity")
	}
}
