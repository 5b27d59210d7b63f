package judge_test

import (
	"math"
	"strings"
	"testing"

	"mimverify/judge"
	"mimverify/theory"
)

// C1 from a Gaussian start: Q(0) has a component outside the span of SPEC
// §2 that must stay what it is, so the drift from it is measured, not its
// size (which made C1 read +Inf before).
func TestC1GaussianStart(t *testing.T) {
	s, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	s.Init = theory.Init{Kind: theory.InitGaussian, Sigma: 0.1}
	rep, err := judge.Check(s, judge.Options{Claims: []string{"C1"}, Samples: 64, Eval: 64})
	if err != nil {
		t.Fatal(err)
	}
	c := rep.Results[0]
	if c.Verdict != judge.Holds || math.IsInf(float64(c.Measured), 0) || math.IsNaN(float64(c.Measured)) {
		t.Errorf("C1 at a Gaussian start: %s, measured %v (%s)", c.Verdict, c.Measured, c.Detail)
	}
}

// C1's regime: where the GD map is chaotic (grid4 at η = 75, U = 4 amplifies
// perturbations ~10⁸-fold over T₁ steps) the identity is not asserted, with
// the measured amplification; on the preset it is asserted.
func TestC1Regime(t *testing.T) {
	s, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		eta, U   float64
		asserted bool
	}{{s.Eta, s.Z.U, true}, {75, 4, false}} {
		s.Eta, s.Z.U = c.eta, c.U
		rep, err := judge.Check(s, judge.Options{Claims: []string{"C1"}, Samples: 64, Eval: 64, Require: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		r := rep.Results[0]
		if (r.Verdict != judge.NotAsserted) != c.asserted || len(r.Regime) != 1 || !strings.Contains(r.Regime[0].Formula, "G₁") {
			t.Errorf("η = %g, U = %g: verdict %s, regime %+v", c.eta, c.U, r.Verdict, r.Regime)
		}
		if g := float64(r.Regime[0].Left); c.asserted != (g <= 1e3) || g < 1 {
			t.Errorf("η = %g, U = %g: G₁ = %g", c.eta, c.U, g)
		}
	}
}
