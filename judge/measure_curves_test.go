package judge

import (
	"math"
	"testing"

	"mimverify/theory"
)

// TestCurveValuesMatchMeasure: curveValues gives MeasureAttention's
// reconstructable loss and mean own-area mass bit for bit — on grid4 with
// both key modes, default, global-local and vit14, at Q = 0, at a state of
// scores O(1), and at scores of order 10³, where the factored softmax's
// normaliser underflows for some queries and the direct log-sum-exp
// measures them (the test requires that to happen).
func TestCurveValuesMatchMeasure(t *testing.T) {
	underflow := false
	for _, c := range []struct {
		preset string
		keys   theory.KeyMode
	}{{"grid4", theory.KeysUnmasked}, {"grid4", theory.KeysAll}, {"default", theory.KeysUnmasked}, {"global-local", theory.KeysUnmasked}, {"vit14", theory.KeysUnmasked}} {
		s, err := theory.Preset(c.preset)
		if err != nil {
			t.Fatal(err)
		}
		s.Keys = c.keys
		samples := s.Samples(7, 48)
		for _, scale := range []float64{0, 0.3, 900} {
			x := s.Shape().New()
			rng := theory.NewRand(3, 1)
			for i := range x.Flat() {
				x.Flat()[i] = scale * rng.NormFloat64()
			}
			want := MeasureAttention(&s, x, samples, 0.1, 0.1, false)
			loss, own := curveValues(&s, x, samples)
			same := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
			if !same(loss, want.ReconstructableLoss) || !same(own, want.OwnMean) {
				t.Errorf("%s keys %s, scale %g: curveValues (%.17g, %.17g), MeasureAttention (%.17g, %.17g)", c.preset, c.keys, scale, loss, own, want.ReconstructableLoss, want.OwnMean)
			}
			if scale == 900 && directFallbacks(&s, x, samples) > 0 {
				underflow = true
			}
		}
	}
	if !underflow {
		t.Error("no query took the direct log-sum-exp: the fallback path is not tested")
	}
}

// directFallbacks counts the masked queries whose factored normaliser
// underflows at c (those the measurement takes by the direct attend).
func directFallbacks(s *theory.Setting, c theory.Correlations, samples []theory.Sample) int {
	eb := newFactoredB(c, s.P)
	defer eb.release()
	n := 0
	var g keyGroups
	for i := range samples {
		smp := &samples[i]
		areas := s.AreasOf(smp)
		g.build(s, smp, areas)
		w := newQueryWork(len(smp.Z) + 1)
		S := make([]float64, len(smp.Z))
		for p, m := range smp.Mask {
			if m && g.size(areas[p]) > 0 {
				groupSums(eb, c, g, p, w)
				if !eb.attend(c, smp, g, p, w, S, nil) {
					n++
				}
			}
		}
	}
	return n
}
