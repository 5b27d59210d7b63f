package proptest

import (
	"math"
	"testing"

	"pgregory.net/rapid"

	"mimverify/dynamics"
	"mimverify/engine"
	"mimverify/theory"
)

// gdFlowGap runs GD for steps steps of size eta and the flow to τ = eta·steps
// on the same objective, and returns the largest entrywise gap over the
// records and the flow's first-order prediction of it (docs/FLOW.md §3).
func gdFlowGap(t *rapid.T, s theory.Setting, obj dynamics.Objective, init theory.Correlations, eta float64, steps int) (gap, predicted float64) {
	s.Eta = eta
	every := steps / 4
	gd, err := descend(&s, obj, steps, every, init)
	if err != nil {
		t.Fatal(err)
	}
	fl, fg, err := (&dynamics.Flow{Objective: obj, RelTol: 1e-10, AbsTol: 1e-12}).RunGap(engine.Problem{Setting: &s, Init: init}, engine.Every(steps, every), engine.Observer{})
	if err != nil {
		t.Fatal(err)
	}
	if len(gd.Records) != len(fl.Records) {
		t.Fatalf("%d GD records vs %d flow records", len(gd.Records), len(fl.Records))
	}
	for i := range gd.Records {
		if gd.Records[i].Step != fl.Records[i].Step {
			t.Fatalf("record %d: GD step %d, flow step %d", i, gd.Records[i].Step, fl.Records[i].Step)
		}
		gap = math.Max(gap, gd.Records[i].MaxAbsDiff(fl.Records[i].Correlations))
		predicted = math.Max(predicted, fg.Predicted[i])
	}
	return gap, predicted
}

// TestDescentToFlow: GD at step t and the gradient flow at τ = η t agree
// within the predicted O(η) gap, and halving η halves the gap.
func TestDescentToFlow(tt *testing.T) {
	worst := 0.0
	defer func() { tt.Logf("largest relative remainder |gap − predicted|/predicted: %.3g", worst) }()
	rapid.Check(tt, func(t *rapid.T) {
		s := Settings(Bounds{MaxP: 16, MaxClusters: 3, Gaussian: true}).Draw(t, "setting")
		seed := rapid.Uint64Range(0, 1<<20).Draw(t, "seed")
		obj, err := dynamics.NewSampleObjective(&s, s.Samples(seed, 16))
		if err != nil {
			t.Fatal(err)
		}
		init := s.InitialCorrelations(seed)
		// The Hessian of the loss scales like z⁴ (docs/THEORY.md §2: the rate
		// regime is c·U⁴ ≤ 10), and the relative O(η²) remainder like η‖H‖:
		// the step is scaled by U⁴ to stay where first order is accurate.
		eta := s.Eta / (8 * math.Max(1, math.Pow(s.Z.U, 4)))
		g1, p1 := gdFlowGap(t, s, obj, init, eta, 40)
		g2, p2 := gdFlowGap(t, s, obj, init, eta/2, 80)
		// GD = flow + η·u + O(η²) (docs/FLOW.md §3), so the measured gap
		// equals the first-order prediction up to a remainder of relative
		// size O(η‖H‖), which at these step sizes is a few percent; 15% is
		// its bound here. 1e-9 absorbs the integrator's tolerance (1e-10
		// relative) and rounding when the gap itself vanishes.
		for _, c := range []struct{ gap, pred float64 }{{g1, p1}, {g2, p2}} {
			if math.Abs(c.gap-c.pred) > 0.15*c.pred+1e-9 {
				t.Fatalf("gap GD vs flow %.4g, first-order prediction %.4g", c.gap, c.pred)
			}
		}
		// Halving η halves the O(η) gap: the ratio is 2(1+ρ)/(1+ρ/2) with
		// ρ the relative remainder above, so within [1.8, 2.2] for ρ ≤ 0.1.
		if g1 > 1e-7 {
			if r := g1 / g2; r < 1.8 || r > 2.2 {
				t.Fatalf("gap %.4g at η = %.4g, %.4g at η/2: ratio %.3f, predicted 2", g1, eta, g2, r)
			}
		}
		if p1 > 1e-9 {
			worst = math.Max(worst, math.Abs(g1-p1)/p1)
		}
	})
}
