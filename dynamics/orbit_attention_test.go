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

// TestSampleGradientsMean checks what SampleGradients promises: the CRN
// gradient is the mean of the per-sample rows plus a part common to every
// seed (the control variates' exact quadrature), so for two seeds the
// difference of the gradients is the difference of the row means, to the
// rounding of sums of n rows.
func TestSampleGradientsMean(t *testing.T) {
	s := twoClusterP8(t, theory.ZUniform, theory.MaskBernoulli, theory.KeysUnmasked, theory.LossSum)
	rng := rand.New(rand.NewPCG(8, 9))
	const n = 256
	var g, mean [2][]float64
	var x []float64
	for k, seed := range []uint64{3, 4} {
		o, err := NewOrbit(&s, OrbitOptions{Mode: OrbitCRN, CRNSamples: n, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		if o.NumSamples() != n {
			t.Fatalf("NumSamples = %d, want %d", o.NumSamples(), n)
		}
		D := o.Dim()
		if x == nil {
			x = make([]float64, D)
			for i := range x {
				x[i] = rng.NormFloat64()
			}
		}
		g[k] = make([]float64, D)
		o.LossGrad(x, g[k])
		per := make([]float64, n*D)
		o.SampleGradients(x, per)
		mean[k] = make([]float64, D)
		for i := range n {
			floats.AddScaled(mean[k], 1/float64(n), per[i*D:(i+1)*D])
		}
	}
	scale := math.Max(floats.Norm(g[0], math.Inf(1)), floats.Norm(mean[0], math.Inf(1)))
	for j := range x {
		d := (g[0][j] - g[1][j]) - (mean[0][j] - mean[1][j])
		if !(math.Abs(d) <= 4*n*0x1p-53*scale) {
			t.Errorf("coordinate %d: gradient difference %.6g, row-mean difference %.6g", j, g[0][j]-g[1][j], mean[0][j]-mean[1][j])
		}
	}
	if floats.Distance(g[0], g[1], math.Inf(1)) == 0 {
		t.Error("the two seeds give the same gradient: the test compares nothing")
	}
}
