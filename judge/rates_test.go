package judge

import (
	"math"
	"testing"

	"mimverify/dynamics"
	"mimverify/engine"
	"mimverify/theory"
)

// TestRatesBoundMeasured runs GD on a small two-cluster grid and checks the
// measured gap, reconstructable loss and area-wide time against the
// predicted bounds, and the exact conservation Σ_j A = 0 for constant z.
func TestRatesBoundMeasured(t *testing.T) {
	for _, z := range []theory.ZLaw{{Kind: theory.ZUniform, L: 0.5, U: 1.5}, {Kind: theory.ZConstant, L: 1, U: 1}} {
		s, err := theory.Preset("grid4")
		if err != nil {
			t.Fatal(err)
		}
		s.Z = z
		s.Eta = 4
		if err := s.Resolve(); err != nil {
			t.Fatal(err)
		}
		env := s.Env()
		env["ε"], env["δ"] = 0.2, 0.1
		env["step budget"] = math.Inf(1)
		for _, p := range claimByID("C3").Regime {
			if ok, l, r, _ := p.Eval(env); !ok {
				t.Fatalf("setting outside the regime: %s (%v vs %v)", p, l, r)
			}
		}
		obj, err := dynamics.NewSampleObjective(&s, s.Samples(1, 128))
		if err != nil {
			t.Fatal(err)
		}
		eval := s.Samples(99, 256)
		const steps = 400
		tr, err := dynamics.Descent{Name: engine.Exact, Objective: obj}.Run(engine.Problem{Setting: &s}, engine.Every(steps, 5), engine.Observer{})
		if err != nil {
			t.Fatal(err)
		}
		tArea := -1
		prevOwn := math.Inf(-1)
		for _, r := range tr.Records {
			at := MeasureAttention(&s, r.Correlations, eval, 0.1, 0.1, false)
			if tArea < 0 && at.OwnQuantile >= 1-env["ε"] {
				tArea = r.Step
			}
			fp := SummarizeFP(&s, r.Correlations)
			if fp.OwnMean < prevOwn-1e-12 {
				t.Errorf("z %s: A_own decreased at step %d", z.Kind, r.Step)
			}
			prevOwn = fp.OwnMean
			if r.Step < 20 {
				continue
			}
			env["t"] = float64(r.Step)
			if g, b := 1-at.OwnMean, claimByID("C7").Predicted.MustEval(env); g > b {
				t.Errorf("z %s step %d: gap %v > OwnGapAt %v", z.Kind, r.Step, g, b)
			}
			if l, b := at.ReconstructableLoss, claimByID("C2").Predicted.MustEval(env); l > b {
				t.Errorf("z %s step %d: reconstructable loss %v > LossEnvelope %v", z.Kind, r.Step, l, b)
			}
			if z.Kind == theory.ZConstant {
				for k := range r.A {
					for p := range r.A[k] {
						sum := 0.0
						for _, a := range r.A[k][p] {
							sum += a
						}
						if math.Abs(sum) > 1e-9 {
							t.Fatalf("step %d: Σ_j A[%d][%d][j] = %v, want 0 (conservation)", r.Step, k, p, sum)
						}
					}
				}
			}
		}
		bound := claimByID("C3").Predicted.MustEval(env)
		if tArea < 0 || float64(tArea) > bound {
			t.Errorf("z %s: area-wide time %d, bound %v", z.Kind, tArea, bound)
		}
		t.Logf("z %s: T(0.2, 0.1) = %d, T* = %.1f, ratio %.3f", z.Kind, tArea, bound, float64(tArea)/bound)
	}
}
