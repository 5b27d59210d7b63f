package dynamics

import (
	"math"
	"slices"
	"testing"

	"mimverify/theory"
)

// TestSampleGradsMatchOneSampleObjective checks SampleObjective.Grads
// against what it stands for, the objective of the one sample alone
// (NewSampleObjective of that sample, the blocked kernel): on grid4 with
// both key modes, default and vit14, at a state of scores O(1), every
// entry within 2⁻⁴⁰ (about 9e-13) of the bound on its terms. Each entry
// is one query's term (a B entry: weight·π_q·(r_j − r̄); an A entry:
// weight·z_j·S_j·(r_j − r̄)), with |r_j|, |r̄| ≤ z²_max(1 + z_max), so
// |term| ≤ 2·weight·z²_max(1 + z_max)²; the two paths compute it from
// factors a few ulps apart (the blocked kernel's e^{zA−m_A}·e^{B−m}
// against the direct e^{zA+B−max}), and r_j − r̄ may cancel to 0 on one
// side only, so they differ by tens of ulps of that bound — while a wrong
// term, weight or area moves entries by O(1) of it. Calling At again, after another sample, gives
// the same bits (the gradient is rebuilt, not accumulated).
func TestSampleGradsMatchOneSampleObjective(t *testing.T) {
	for _, c := range []struct {
		preset string
		keys   theory.KeyMode
	}{{"grid4", theory.KeysUnmasked}, {"grid4", theory.KeysAll}, {"default", theory.KeysUnmasked}, {"vit14", theory.KeysUnmasked}} {
		s, err := theory.Preset(c.preset)
		if err != nil {
			t.Fatal(err)
		}
		s.Keys = c.keys
		samples := s.Samples(3, 4)
		x := s.Shape().New()
		rng := theory.NewRand(9, 1)
		for i := range x.Flat() {
			x.Flat()[i] = 0.3 * rng.NormFloat64()
		}
		grads := mustSample(t, &s, samples).Grads()
		var first []float64
		for i := range samples {
			got := slices.Clone(grads.At(x, i).Flat())
			if i == 0 {
				first = got
			}
			want := s.Shape().New()
			mustSample(t, &s, samples[i:i+1]).LossGrad(x, want)
			zmax := 0.0
			for _, z := range samples[i].Z {
				zmax = max(zmax, math.Abs(z))
			}
			scale := 2 * s.LossScale() * zmax * zmax * (1 + zmax) * (1 + zmax)
			for j, w := range want.Flat() {
				if d := math.Abs(got[j] - w); !(d <= 0x1p-40*scale) {
					t.Fatalf("%s keys %s, sample %d, entry %d: Grads %.17g, one-sample objective %.17g (|Δ| %.3g > 2⁻⁴⁰·%.3g)", c.preset, c.keys, i, j, got[j], w, d, scale)
				}
			}
		}
		if again := grads.At(x, 0).Flat(); !slices.Equal(again, first) {
			t.Errorf("%s keys %s: sample 0's gradient differs after other samples'", c.preset, c.keys)
		}
	}
}
