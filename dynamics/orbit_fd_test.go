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
// smooth function of the state. The tolerance is derived, not chosen: the
// central difference's truncation error is estimated by Richardson's rule
// from the steps h and h/2 (|D(h) − D(h/2)| is ¾ of D(h)'s error), and its
// rounding is at most 2·u·κ·|L|/h with κ = 64 ulps of headroom for the
// loss's own rounding (a sum of about 10⁵ terms, √n·u ≈ 300u at worst
// n·u; the tests of the kernel measured ≈ 10⁻¹⁵ relative).
//
// Not covered, and open: this test finds the gradient off the derivative
// of the returned loss by 0.2–3 % in CRN mode on default and vit14 (with
// constant z as with uniform z) and on grid4 with uniform z — the same
// figures at d06f419, before this session's kernels, so not the lane
// kernels' doing (the portable path gives the same), and with or without
// the control's factored expectation. Whether the loss estimate or the
// gradient is the one off is not settled (docs/ORBIT.md §4, "Open"). Where
// they are one function — enumeration, and CRN on grid4 with constant z —
// they agree to the bound.
func TestOrbitGradientFiniteDifferences(t *testing.T) {
	for _, c := range []struct {
		preset, mode string
		constZ       bool
	}{{"grid4", OrbitEnumerate, false}, {"grid4", OrbitCRN, true}} {
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
		loss, _ := o.LossGrad(x, g)
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
			tol := 2*math.Abs(d1-d2) + 2*64*0x1p-53*math.Abs(loss)/(h/2)
			if !(math.Abs(want-d2) <= tol) {
				t.Errorf("%s direction %d: gradient·v = %.12g, central difference %.12g (h/2), %.12g (h); allowed %.3g", preset, dir, want, d2, d1, tol)
			}
			t.Logf("%s direction %d: gradient·v %.6g, difference %.3g, allowed %.3g", preset, dir, want, math.Abs(want-d2), tol)
		}
	}
}
