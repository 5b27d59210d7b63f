package dynamics

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"mimverify/theory"
)

// TestOrbitEnumStored: the stored enumeration and the one generated on the
// fly yield the same vectors and probabilities (each) and the same loss
// and gradient, bit for bit, for both mask schemes and key modes and with
// more vectors than one chunk; each problem's probabilities sum to 1 within
// the rounding of their computation (enumSumTol).
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
			if len(p1) <= orbitChunk {
				t.Errorf("%s/%s: %d vectors, not more than one chunk", mask, keys, len(p1))
			}
			off := 0
			for _, pr := range o.probs {
				n := pr.enum.count
				sum := exactSum(p1[off : off+n])
				off += n
				if tol := enumSumTol(pr, mask); !(math.Abs(sum-1) <= tol) {
					t.Errorf("%s/%s: %d vectors of probabilities summing to 1%+.3g, beyond the rounding bound %.3g", mask, keys, n, sum-1, tol)
				}
			}
		}
	}
}

// enumSumTol bounds |Σ probabilities − 1| over one problem's enumeration
// of count vectors, summed exactly and rounded once (exactSum: u), to first
// order in u = 2⁻⁵³ (the O(u²) terms are < 1e-25 here), adding the
// roundings of their computation:
//   - bernoulli: each group's binomial pmf is normalised by its computed sum
//     (S_g additions of S_g + 1 terms, then one division per entry: its sum
//     is 1 within (S_g + 1)u) and loses ≤ orbitTailEps per tail; the sum over
//     the vectors of the exact products Π_g pmf_g[N_g] is the product of
//     those sums; each computed product has G − 1 roundings (1·pmf_0 is
//     exact).
//   - fixed masks: the products are normalised by 1/(their computed sum):
//     that sum has G − 1 roundings per product and count − 1 additions,
//     its reciprocal one, the normalised products G roundings each
//     (norm·tab_0 and G − 1 more). The table entries' own errors cancel in
//     the normalisation.
func enumSumTol(pr *orbProblem, mask theory.MaskScheme) float64 {
	const u = 0x1p-53
	count, G := pr.enum.count, len(pr.groups)
	if mask == theory.MaskFixed {
		return float64((G-1)+(count-1)+1+G+1) * u
	}
	n := (G - 1) + 1
	for _, gr := range pr.groups {
		n += gr.S + 1
	}
	return float64(n)*u + 2*float64(G)*orbitTailEps
}

// exactSum returns Σ v rounded once to float64 (within u relative): the
// partial sums, integer multiples of 2⁻¹⁰⁷⁴ below 2⁹⁰⁰ for float64 values in
// [0, 1], are exact in 2048 bits.
func exactSum(v []float64) float64 {
	s := new(big.Float).SetPrec(2048)
	for _, x := range v {
		s.Add(s, new(big.Float).SetFloat64(x))
	}
	f, _ := s.Float64()
	return f
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
