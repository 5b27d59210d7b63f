package judge

import (
	"math"
	"strings"
	"testing"

	"mimverify/theory"
)

// collectDetectable maps the four searches' first rejections onto each
// claim and parameter: Up from the + side, Down from the − side, the MDE
// the larger of the two, and none (NaN) when a side never rejected.
func TestCollectDetectable(t *testing.T) {
	sides := []mdeSide{{ParamEta, 1}, {ParamEta, -1}, {ParamGamma, 1}, {ParamGamma, -1}}
	first := []map[string]float64{{"C2": 0.05}, {"C2": 0.2, "C7": 0.1}, {}, {"C7": 0.5}}
	got := collectDetectable([]string{"C2", "C7"}, sides, first)
	nan := math.NaN()
	want := []struct {
		claim          string
		param          Param
		up, down, mde  float64
		detectedOnGrid bool
	}{
		{"C2", ParamEta, 0.05, 0.2, 0.2, true},
		{"C2", ParamGamma, nan, nan, nan, false},
		{"C7", ParamEta, nan, 0.1, nan, false},
		{"C7", ParamGamma, nan, 0.5, nan, false},
	}
	if len(got) != len(want) {
		t.Fatalf("%d results, want %d", len(got), len(want))
	}
	same := func(a Float, b float64) bool { return float64(a) == b || math.IsNaN(float64(a)) && math.IsNaN(b) }
	for i, w := range want {
		g := got[i]
		if g.Claim != w.claim || g.Param != w.param || !same(g.Up, w.up) || !same(g.Down, w.down) || !same(g.MDE, w.mde) {
			t.Errorf("%d: got %s %s up %v down %v mde %v; want %+v", i, g.Claim, g.Param, g.Up, g.Down, g.MDE, w)
		}
		if detected := strings.Contains(g.Line(), "minimum detectable r"); detected != w.detectedOnGrid {
			t.Errorf("%d: line %q", i, g.Line())
		}
	}
}

// The search on a real check agrees with the controls: a claim that
// rejects η × 1.3 at a stopped control must reject it, run to the end, at
// r = 0.3 of the grid or below (the stopped control's test is the full
// run's, Evidence.BandRecords); and the mask-rate perturbation must reach
// the bands (some claim detects a γ change on the grid), which a change
// the samples ignored would not.
func TestDetectableOnGrid4(t *testing.T) {
	if testing.Short() {
		t.Skip("a check with its controls and the search")
	}
	s, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Check(s, Options{Claims: []string{"C2", "C7"}, Samples: 128, Eval: 128, MDE: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Detectable) != 2*2 {
		t.Fatalf("%d minimum detectable effects, want 2 per banded claim (C2, C7)", len(rep.Detectable))
	}
	find := func(id string, p Param) Detectable {
		for _, d := range rep.Detectable {
			if d.Claim == id && d.Param == p {
				return d
			}
		}
		t.Fatalf("no minimum detectable effect for %s, %s", id, p)
		return Detectable{}
	}
	gammaSeen := false
	for _, d := range rep.Detectable {
		t.Log(d.Line())
		gammaSeen = gammaSeen || d.Param == ParamGamma && !(math.IsNaN(float64(d.Up)) && math.IsNaN(float64(d.Down)))
	}
	if !gammaSeen {
		t.Error("no claim detects γ × (1 ± r) for any r up to 0.5: the mask-rate perturbation does not reach the bands")
	}
	for _, c := range rep.Controls {
		if c.Kind != PositiveControl {
			continue
		}
		for _, id := range c.Rejected {
			d := find(id, ParamEta)
			r := d.Up
			if strings.Contains(c.Name, "0.7") {
				r = d.Down
			}
			if !(float64(r) <= controlRate) {
				t.Errorf("the control %s is rejected by %s, but the search finds its first rejection at r = %v > %g", c.Name, id, r, controlRate)
			}
		}
	}
}
