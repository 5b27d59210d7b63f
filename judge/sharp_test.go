package judge

import (
	"math"
	"testing"

	"mimverify/dynamics"
	"mimverify/engine"
	"mimverify/theory"
)

// allMasks returns every image of s — each cluster, each of the 2^P masks —
// with z constant: under γ = ½ and equiprobable clusters they are equally
// likely, so their plain average is the population expectation.
func allMasks(s *theory.Setting) []theory.Sample {
	var out []theory.Sample
	for k, cl := range s.Clusters {
		z := make([]float64, cl.NumAreas())
		for j := range z {
			z[j] = s.Z.L
		}
		for bits := range 1 << s.P {
			m := make([]bool, s.P)
			for p := range m {
				m[p] = bits>>p&1 == 1
			}
			out = append(out, theory.Sample{Cluster: k, Z: z, Mask: m})
		}
	}
	return out
}

// TestPopulationLawMatchesAllMasks checks the reduced engine's population
// law of the attention (dynamics.Orbit.EachAttention summarised by
// measurePopulation) against MeasureAttention over every mask of grid4 with
// z constant, at a symmetric state reached by 40 orbit steps: the two share
// no code but the setting, and must agree to rounding.
func TestPopulationLawMatchesAllMasks(t *testing.T) {
	for _, keys := range []theory.KeyMode{theory.KeysUnmasked, theory.KeysAll} {
		s, err := theory.Preset("grid4")
		if err != nil {
			t.Fatal(err)
		}
		s.Z = theory.ZLaw{Kind: theory.ZConstant, L: 1.2, U: 1.2}
		s.Keys = keys
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		eng := &dynamics.OrbitEngine{Options: dynamics.OrbitOptions{Mode: dynamics.OrbitEnumerate}}
		tr, err := eng.Run(engine.NewProblem(&s, nil, 1), engine.Every(40, 40), engine.Observer{})
		if err != nil {
			t.Fatal(err)
		}
		last := tr.Final()
		x := make([]float64, eng.Used.Dim())
		eng.Used.Project(last.Correlations, x)
		const eps, delta = 0.1, 0.1
		var pm popMeasurer
		pop := pm.measure(&s, eng.Used, x, last.Step, eps)
		all := MeasureAttention(&s, last.Correlations, allMasks(&s), eps, delta, false)
		perImage := float64(all.Queries) / float64(len(s.Clusters)<<s.P)
		for _, c := range []struct {
			name      string
			pop, meas float64
		}{
			{"reconstructable queries per image", pop.Queries, perImage},
			{"mean own-area mass", pop.OwnMean, all.OwnMean},
			{"fraction at or above 1 − ε", pop.OwnReached, all.OwnReached},
			{"reconstructable loss per image", pop.ReconstructableLoss, all.ReconstructableLoss},
		} {
			// Rounding: MeasureAttention sums its N ≈ 2^20 queries one
			// by one, whose error is bounded by N·u relative (u = 2^−53,
			// the values being of one sign); the orbit side sums far fewer.
			tol := float64(all.Queries+all.Irreducible) * 0x1p-53
			if d := math.Abs(c.pop - c.meas); !(d <= tol*math.Max(1, math.Abs(c.meas))) {
				t.Errorf("keys %s, %s: population law %.15g, all masks %.15g", keys, c.name, c.pop, c.meas)
			}
		}
		if pop.OwnMeanSE != 0 || pop.ReconstructableLossSE != 0 {
			t.Errorf("keys %s: an exact enumeration has no Monte Carlo error, got SE %g, %g", keys, pop.OwnMeanSE, pop.ReconstructableLossSE)
		}
		if !(pop.OwnMean > 0.3 && pop.OwnMean < 0.99) {
			t.Errorf("keys %s: own-area mass %g at step 40: the state is not in the interesting range the test needs", keys, pop.OwnMean)
		}
	}
}
