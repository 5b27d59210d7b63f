package dynamics

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/floats"

	"mimverify/theory"
)

// TestOrbitGradientFiniteDifferences checks the orbit engine's gradient
// (the AVX-512 CRN lane kernels and the factored control, where the CPU
// has them; per entry, so times each orbit's multiplicity) against central
// differences of its own loss along random directions — independently of both the kernels and term, which the other
// orbit tests compare with each other. With fixed draws the CRN loss is a
// smooth function of the state. The tolerance is derived, not chosen:
// D(h/2)'s truncation error, c·(h/2)², is |D(h) − D(h/2)|/3 by Richardson's
// rule (D(h) − D(h/2) = ¾·c·h²), allowed twice for the estimate's own
// O(h⁴) error; its rounding is at most 2·ΔL/h, ΔL the loss's rounding: a
// sum of N = NumTerms() weighted terms, each |ℓ| ≤ 2·z_max² (ℓ is a squared
// error of targets and predictions within [0, z_max]) and with the control
// variate a difference of two, over weights summing to W = Σ wLoss (and
// the control's quadrature weights, summing to W again), so ΔL ≤ N·u·8·z_max²·W.
//
// The CRN cases are the ones where the gradient must be folded over every
// class and group of an orbit (docs/ORBIT.md §3.1): i.i.d. z (a class per
// area), FP orbits spanning clusters (default's row and column bands), PP
// orbits over several areas. Taking each orbit from one representative
// entry instead — an unbiased estimate, but not this function's
// derivative — is off by 0.2–3 % here.
func TestOrbitGradientFiniteDifferences(t *testing.T) {
	for _, c := range []struct {
		preset, mode string
		constZ       bool
	}{{"grid4", OrbitEnumerate, false}, {"grid4", OrbitCRN, true}, {"grid4", OrbitCRN, false}, {"default", OrbitCRN, false}, {"default", OrbitCRN, true}, {"vit14", OrbitCRN, false}} {
		preset := c.preset + "/" + c.mode
		s, err := theory.Preset(c.preset)
		if err != nil {
			t.Fatal(err)
		}
		if c.constZ {
			s.Z = theory.ZLaw{Kind: theory.ZConstant, L: 1, U: 1}
			preset += "/constant z"
		}
		o, err := NewOrbit(&s, OrbitOptions{CRNSamples: 256, Mode: c.mode})
		if err != nil {
			t.Fatal(err)
		}
		rng := theory.NewRand(41, 2)
		x, v := make([]float64, o.Dim()), make([]float64, o.Dim())
		for i := range x {
			x[i] = 0.5 * rng.NormFloat64()
		}
		g := make([]float64, o.Dim())
		o.LossGrad(x, g)
		W := 0.0
		for _, pr := range o.probs {
			W += pr.wLoss
		}
		zmax := math.Max(math.Abs(s.Z.L), math.Abs(s.Z.U))
		roundL := float64(o.NumTerms()) * 0x1p-53 * 8 * zmax * zmax * W
		lossAt := func(y []float64) float64 {
			l, _ := o.LossGrad(y, make([]float64, len(y)))
			return l
		}
		for dir := range 4 {
			for i := range v {
				v[i] = rng.NormFloat64()
			}
			floats.Scale(1/floats.Norm(v, 2), v)
			along := func(h float64) float64 {
				y := make([]float64, len(x))
				floats.AddScaledTo(y, x, h, v)
				return lossAt(y)
			}
			const h = 1e-4
			d1 := fd.Derivative(along, 0, &fd.Settings{Formula: fd.Central, Step: h})
			d2 := fd.Derivative(along, 0, &fd.Settings{Formula: fd.Central, Step: h / 2})
			// g is per entry: x_i sets the mult_i entries of its orbit,
			// so ∂L/∂x_i = mult_i·g_i.
			want := 0.0
			for i, m := range o.Multiplicity() {
				want += float64(m) * g[i] * v[i]
			}
			tol := 2*math.Abs(d1-d2)/3 + 2*roundL/h
			if !(math.Abs(want-d2) <= tol) {
				t.Errorf("%s direction %d: gradient·v = %.12g, central difference %.12g (h/2), %.12g (h); allowed %.3g", preset, dir, want, d2, d1, tol)
			}
			t.Logf("%s direction %d: gradient·v %.6g, difference %.3g, allowed %.3g", preset, dir, want, math.Abs(want-d2), tol)
		}
	}
}
