package dynamics

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats"

	"mimverify/theory"
)

// TestGapGradients checks the constant gradients of Σ Weight·Δ_FP and
// Σ Weight·Δ_PP against the sums EachAttention gives at random states: the
// gaps are linear and homogeneous in x, so the sum at x equals the gradient
// dotted with x, to the rounding of sums of N terms (bound N·u·Σ|w·Δ|, u =
// 2⁻⁵³), in enumeration and CRN modes, with unmasked and all keys.
func TestGapGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, keys := range []theory.KeyMode{theory.KeysUnmasked, theory.KeysAll} {
		s := twoClusterP8(t, theory.ZUniform, theory.MaskBernoulli, keys, theory.LossSum)
		for _, opt := range []OrbitOptions{{QuadNodes: 4}, {Mode: OrbitCRN, CRNSamples: 64, Seed: 2}} {
			o, err := NewOrbit(&s, opt)
			if err != nil {
				t.Fatal(err)
			}
			dFP, dPP := make([]float64, o.Dim()), make([]float64, o.Dim())
			o.GapGradients(dFP, dPP)
			if floats.Norm(dFP, 1) == 0 || floats.Norm(dPP, 1) == 0 {
				t.Fatalf("%s keys %s: zero gap gradients", o.Mode(), keys)
			}
			x := make([]float64, o.Dim())
			for trial := 0; trial < 3; trial++ {
				for i := range x {
					x[i] = 2 * rng.NormFloat64()
				}
				var fp, pp, absFP, absPP float64
				n := 0
				o.EachAttention(x, func(a AttentionTerm) {
					if a.HasGap {
						fp += a.Weight * a.GapFP
						pp += a.Weight * a.GapPP
						absFP += math.Abs(a.Weight * a.GapFP)
						absPP += math.Abs(a.Weight * a.GapPP)
						n++
					}
				})
				u := 0x1p-53 * float64(n+2*o.Dim())
				if d := math.Abs(fp - floats.Dot(dFP, x)); d > u*(absFP+floats.Dot(absVec(dFP), absVec(x))) {
					t.Errorf("%s keys %s: Σw·Δ_FP = %v, gradient·x = %v", o.Mode(), keys, fp, floats.Dot(dFP, x))
				}
				if d := math.Abs(pp - floats.Dot(dPP, x)); d > u*(absPP+floats.Dot(absVec(dPP), absVec(x))) {
					t.Errorf("%s keys %s: Σw·Δ_PP = %v, gradient·x = %v", o.Mode(), keys, pp, floats.Dot(dPP, x))
				}
			}
		}
	}
}

func absVec(v []float64) []float64 {
	a := make([]float64, len(v))
	for i, x := range v {
		a[i] = math.Abs(x)
	}
	return a
}
