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

// TestEvalEnumMatchesTerm: evalEnum gives the bits of one term call per
// count vector (weight: block weight × probability; losses × probability
// summed in enumeration order): the block loss and every accumulator, on
// the two-cluster P = 8 settings (two-point z: several blocks) with both
// mask schemes and key modes, and on one cluster of 4 areas of 16 (more
// than one chunk) with both key modes, at score scales σ = 0.3 and 3, where
// no normaliser underflows (such a vector is term's own, out of order:
// orbit_enum_kernel.go).
func TestEvalEnumMatchesTerm(t *testing.T) {
	var settings []theory.Setting
	for _, mask := range []theory.MaskScheme{theory.MaskBernoulli, theory.MaskFixed} {
		for _, keys := range []theory.KeyMode{theory.KeysUnmasked, theory.KeysAll} {
			settings = append(settings, twoClusterP8(t, theory.ZTwoPoint, mask, keys, theory.LossSum))
			if mask == theory.MaskBernoulli {
				s := oneClusterSetting(t, 4, 16, 1)
				s.Keys = keys
				if err := s.Resolve(); err != nil {
					t.Fatal(err)
				}
				settings = append(settings, s)
			}
		}
	}
	rng := rand.New(rand.NewPCG(93, 94))
	bits := func(v []float64) []uint64 {
		b := make([]uint64, len(v))
		for i, x := range v {
			b[i] = math.Float64bits(x)
		}
		return b
	}
	for _, s := range settings {
		o, err := NewOrbit(&s, OrbitOptions{Mode: OrbitEnumerate})
		if err != nil {
			t.Fatal(err)
		}
		for _, sigma := range []float64{0.3, 3} {
			x := make([]float64, o.Dim())
			for i := range x {
				x[i] = sigma * rng.NormFloat64()
			}
			blocks := 0
			for _, pr := range o.probs {
				pr.setBWeights(x)
				for _, b := range pr.blocks {
					if b.c0 >= 0 {
						continue
					}
					blocks++
					za := b.z[pr.ownArea]
					pr.setWeightsFast(x, b.z)
					run := func(f func() float64) []uint64 {
						clear(pr.accA)
						clear(pr.accB)
						pr.accSelf = 0
						l := f()
						return append(append(bits([]float64{l, pr.accSelf}), bits(pr.accA)...), bits(pr.accB)...)
					}
					got := run(func() float64 { return pr.evalEnum(x, b, za, true) })
					want := run(func() float64 {
						bl := 0.0
						pr.enum.each(func(n []float64, p float64) {
							bl += float64(p * pr.term(x, b.z, n, za, b.w*p, true))
						})
						return bl
					})
					if !slices.Equal(got, want) {
						t.Errorf("%s %s %s σ=%g, query %d, z %v: evalEnum (loss, self, A, B) differs from term per vector", s.Name, s.Mask, s.Keys, sigma, pr.p0, b.z)
					}
				}
			}
			if blocks == 0 {
				t.Fatalf("%s: no enumerated block", s.Name)
			}
		}
	}
}
