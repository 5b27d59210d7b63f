package dynamics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/floats"

	"mimverify/theory"
)

// TestOrbitEnumStored: the stored enumeration and the one generated on the
// fly yield the same vectors and probabilities (each) and the same loss
// and gradient, bit for bit, for both mask schemes and key modes and with
// more vectors than one chunk; the probabilities sum to 1.
func TestOrbitEnumStored(t *testing.T) {
	rng := rand.New(rand.NewPCG(91, 92))
	for _, mask := range []theory.MaskScheme{theory.MaskBernoulli, theory.MaskFixed} {
		for _, keys := range []theory.KeyMode{theory.KeysUnmasked, theory.KeysAll} {
			c := 16 // bernoulli: more than one chunk; fixed masks: c vectors
			if mask == theory.MaskFixed {
				c = orbitChunk + 8
			}
			s := oneClusterSetting(t, 4, c, 1)
			s.Mask, s.Keys = mask, keys
			if err := s.Resolve(); err != nil {
				t.Fatal(err)
			}
			o, err := NewOrbit(&s, OrbitOptions{Mode: OrbitEnumerate})
			if err != nil {
				t.Fatal(err)
			}
			x := make([]float64, o.Dim())
			for i := range x {
				x[i] = rng.NormFloat64()
			}
			g1, g2 := make([]float64, o.Dim()), make([]float64, o.Dim())
			l1, _ := o.LossGrad(x, g1)
			v1, p1 := enumList(t, o)
			for _, pr := range o.probs {
				if pr.enum.prob == nil {
					t.Fatalf("%s/%s: enumeration of %d vectors not stored", mask, keys, pr.enum.count)
				}
				pr.enum.vecs, pr.enum.prob = nil, nil
			}
			l2, _ := o.LossGrad(x, g2)
			v2, p2 := enumList(t, o)
			if l1 != l2 || !slices.Equal(g1, g2) || !slices.Equal(v1, v2) || !slices.Equal(p1, p2) {
				t.Errorf("%s/%s: stored and generated enumerations differ (loss %v vs %v)", mask, keys, l1, l2)
			}
			if sum := floats.Sum(p1); len(p1) <= orbitChunk || math.Abs(sum-float64(len(o.probs))) > 1e-13 {
				t.Errorf("%s/%s: %d vectors, probabilities sum to %v over %d problems", mask, keys, len(p1), sum, len(o.probs))
			}
		}
	}
}

// enumList returns every problem's count vectors and probabilities, in
// the order each yields them.
func enumList(t *testing.T, o *Orbit) (vecs, prob []float64) {
	t.Helper()
	for _, pr := range o.probs {
		n := 0
		pr.enum.each(func(v []float64, w float64) {
			vecs = append(vecs, v...)
			prob = append(prob, w)
			n++
		})
		if n != pr.enum.count {
			t.Fatalf("each yields %d vectors, count %d", n, pr.enum.count)
		}
	}
	return vecs, prob
}
