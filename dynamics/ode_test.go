package dynamics

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// odeProblem is a test ODE with a closed-form solution.
type odeProblem struct {
	name  string
	f     func(t float64, y, dy []float64) error
	exact func(t float64, y []float64)
	t0    float64
	n     int
}

func odeProblems() []odeProblem {
	return []odeProblem{
		{"decay y'=-y", func(t float64, y, dy []float64) error { dy[0] = -y[0]; return nil },
			func(t float64, y []float64) { y[0] = math.Exp(-t) }, 0, 1},
		{"quadrature y'=cos t", func(t float64, y, dy []float64) error { dy[0] = math.Cos(t); return nil },
			func(t float64, y []float64) { y[0] = math.Sin(t) }, 0, 1},
		{"harmonic oscillator", func(t float64, y, dy []float64) error { dy[0], dy[1] = y[1], -y[0]; return nil },
			func(t float64, y []float64) { y[0], y[1] = math.Cos(t), -math.Sin(t) }, 0, 2},
		{"logistic y'=y(1-y)", func(t float64, y, dy []float64) error { dy[0] = y[0] * (1 - y[0]); return nil },
			func(t float64, y []float64) { y[0] = 1 / (1 + 9*math.Exp(-t)) }, 0, 1},
	}
}

// solveErr integrates p to the output times and returns the largest error
// against the closed form, in units of the tolerance atol + rtol·amp (amp the
// largest |y_j| of the exact solution at the output times, so that zero
// crossings of oscillating solutions do not inflate the measure), and in
// absolute terms.
func solveErr(t *testing.T, p odeProblem, times []float64, opt ODEOptions) (rel, abs float64, st ODEStats) {
	t.Helper()
	y0 := make([]float64, p.n)
	p.exact(p.t0, y0)
	want := make([]float64, p.n)
	o, _ := opt.resolve()
	amp := 0.0
	for _, tt := range times {
		p.exact(tt, want)
		for _, w := range want {
			amp = math.Max(amp, math.Abs(w))
		}
	}
	st, err := Integrate(p.f, p.t0, y0, times, opt, func(i int, tt float64, y []float64) error {
		if tt != times[i] {
			t.Fatalf("%s: output %d at t = %v, want %v", p.name, i, tt, times[i])
		}
		p.exact(tt, want)
		for j := range y {
			e := math.Abs(y[j] - want[j])
			abs = math.Max(abs, e)
			rel = math.Max(rel, e/(o.AbsTol+o.RelTol*amp))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	return rel, abs, st
}

func linspace(a, b float64, n int) []float64 {
	x := make([]float64, n+1)
	for i := range x {
		x[i] = a + (b-a)*float64(i)/float64(n)
	}
	x[n] = b
	return x
}

// TestODEExactSolutions: with RelTol = 1e-8, AbsTol = 1e-10 over [0, 10],
// at 101 output times (most of them dense output), the global error stays
// within 10 tolerance units (atol + rtol·amplitude) of the closed form.
func TestODEExactSolutions(t *testing.T) {
	for _, p := range odeProblems() {
		rel, abs, st := solveErr(t, p, linspace(0, 10, 100), ODEOptions{RelTol: 1e-8, AbsTol: 1e-10})
		t.Logf("%-22s max err %.2e (%.2f tol units), %d accepted, %d rejected, %d evals",
			p.name, abs, rel, st.Accepted, st.Rejected, st.Evals)
		if rel > 10 {
			t.Errorf("%s: global error %.3g tolerance units > 10", p.name, rel)
		}
		if st.Accepted > 400 {
			t.Errorf("%s: %d steps: the step control is not adapting", p.name, st.Accepted)
		}
		if st.Evals != 6*(st.Accepted+st.Rejected)+2 {
			t.Errorf("%s: %d evals for %d+%d steps: want 6 per step + 2 (FSAL, initial step)", p.name, st.Evals, st.Accepted, st.Rejected)
		}
	}
}

// logSlope is the least-squares slope of log(e) against log(h).
func logSlope(h, e []float64) float64 {
	var sx, sy, sxx, sxy float64
	for i := range h {
		x, y := math.Log(h[i]), math.Log(e[i])
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	n := float64(len(h))
	return (n*sxy - sx*sy) / (n*sxx - sx*sx)
}

// TestODEOrderOfConvergence: with fixed steps h = 2π/N, N = 8 … 128, on the
// harmonic oscillator over one period, the global error falls by ≈ 2⁵ per
// halving of h: the fitted order must lie in [4.6, 5.4].
func TestODEOrderOfConvergence(t *testing.T) {
	p := odeProblems()[2]
	var hs, es []float64
	for _, n := range []int{8, 16, 32, 64, 128} {
		h := 2 * math.Pi / float64(n)
		_, abs, st := solveErr(t, p, []float64{2 * math.Pi}, ODEOptions{FixedStep: h})
		if st.Accepted != n || st.Rejected != 0 {
			t.Fatalf("N = %d: %d accepted, %d rejected steps", n, st.Accepted, st.Rejected)
		}
		if len(es) > 0 {
			t.Logf("N = %4d h = %.4f global error %.3e ratio %.2f", n, h, abs, es[len(es)-1]/abs)
		}
		hs, es = append(hs, h), append(es, abs)
	}
	order := logSlope(hs, es)
	t.Logf("observed global order %.3f", order)
	if order < 4.6 || order > 5.4 {
		t.Errorf("observed order %.3f, want [4.6, 5.4]", order)
	}
}

// TestODEEmbeddedEstimate: over one step from y(0) of the oscillator, the
// embedded estimate ‖y₅ − y₄‖ behaves as h⁵ (the local error of the
// fourth-order solution) and the true local error of the propagated
// fifth-order solution as h⁶: fitted slopes in [4.6, 5.4] and [5.5, 6.5].
func TestODEEmbeddedEstimate(t *testing.T) {
	p := odeProblems()[2]
	d := newDopri(p.f, 2)
	y0 := []float64{1, 0}
	exact := make([]float64, 2)
	var hs, est, loc []float64
	for _, h := range []float64{0.4, 0.2, 0.1, 0.05} {
		if err := d.eval(0, y0, d.k1); err != nil {
			t.Fatal(err)
		}
		if err := d.step(0, h, y0); err != nil {
			t.Fatal(err)
		}
		p.exact(h, exact)
		hs = append(hs, h)
		est = append(est, math.Hypot(d.yerr[0], d.yerr[1]))
		loc = append(loc, math.Hypot(d.ynew[0]-exact[0], d.ynew[1]-exact[1]))
	}
	se, sl := logSlope(hs, est), logSlope(hs, loc)
	t.Logf("embedded estimate order %.3f (want ≈ 5), local error order %.3f (want ≈ 6)", se, sl)
	if se < 4.6 || se > 5.4 {
		t.Errorf("embedded error estimate slope %.3f, want [4.6, 5.4]", se)
	}
	if sl < 5.5 || sl > 6.5 {
		t.Errorf("local error slope %.3f, want [5.5, 6.5]", sl)
	}
}

// TestODEDenseOutput: with fixed steps h, the continuous extension between
// the steps is a fourth-order interpolant: its error at interior points is
// O(h⁵) per step on top of the O(h⁵) global error. On y' = −y over [0, 4],
// evaluated at 7 interior points of every step, the error must satisfy
// |err| ≤ h⁵/50 (the constant from the interpolant's error expansion for
// this problem is observed ≈ 5e-4 · h⁵; 1/50 leaves slack) and shrink with order in
// [4.5, 5.5] as h halves.
func TestODEDenseOutput(t *testing.T) {
	p := odeProblems()[0]
	var hs, es []float64
	for _, n := range []int{4, 8, 16, 32} {
		h := 4.0 / float64(n)
		var times []float64
		for k := 0; k < n; k++ {
			for j := 1; j <= 7; j++ {
				times = append(times, float64(k)*h+h*float64(j)/8)
			}
		}
		_, abs, _ := solveErr(t, p, times, ODEOptions{FixedStep: h})
		t.Logf("h = %.3f dense-output error %.3e = %.4f h⁵", h, abs, abs/math.Pow(h, 5))
		if abs > math.Pow(h, 5)/50 {
			t.Errorf("h = %v: dense error %.3g > h⁵/50 = %.3g", h, abs, math.Pow(h, 5)/50)
		}
		hs, es = append(hs, h), append(es, abs)
	}
	if o := logSlope(hs, es); o < 4.5 || o > 5.5 {
		t.Errorf("dense-output order %.3f, want [4.5, 5.5]", o)
	}
}

// TestODETolerance: on the oscillator over [0, 20] with AbsTol = RelTol·1e-2,
// each 10× tightening of RelTol (1e-5 … 1e-10) reduces the global error by a
// factor in [3, 40] (the error per unit step is controlled, and for a
// fifth-order solution with a fourth-order estimate the global error scales
// between tol¹ and tol^{5/4}, i.e. 10–18× per decade; observed ≈ 10×), and
// the error stays ≤ 20 tolerance units (atol + rtol·amplitude) throughout.
func TestODETolerance(t *testing.T) {
	p := odeProblems()[2]
	prev := 0.0
	for _, rtol := range []float64{1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10} {
		rel, abs, st := solveErr(t, p, linspace(0, 20, 40), ODEOptions{RelTol: rtol, AbsTol: rtol * 1e-2})
		if prev > 0 {
			r := prev / abs
			t.Logf("RelTol %.0e: error %.3e (%.2f tol units), ratio %.2f, %d steps", rtol, abs, rel, r, st.Accepted)
			if r < 3 || r > 40 {
				t.Errorf("RelTol %.0e: error ratio per decade %.3g, want [3, 40]", rtol, r)
			}
		}
		if rel > 20 {
			t.Errorf("RelTol %.0e: error %.3g tolerance units > 20", rtol, rel)
		}
		prev = abs
	}
}

func TestODEErrors(t *testing.T) {
	nanAfter1 := func(t float64, y, dy []float64) error {
		dy[0] = -y[0]
		if t > 1 {
			dy[0] = math.NaN()
		}
		return nil
	}
	_, err := Integrate(nanAfter1, 0, []float64{1}, []float64{2}, ODEOptions{}, func(int, float64, []float64) error { return nil })
	var nf *NonFiniteDerivativeError
	if !errors.As(err, &nf) {
		t.Fatalf("NaN in f: got %v, want *NonFiniteDerivativeError", err)
	}
	if nf.T < 1 || nf.T > 1.001 || !strings.Contains(err.Error(), "t = 1") {
		t.Errorf("NaN in f: error %q names t = %v, want ≈ 1", err, nf.T)
	}
	t.Logf("NaN after t = 1: %v", err)

	// Fixed steps: the first non-finite derivative is reported directly.
	_, err = Integrate(nanAfter1, 0, []float64{1}, []float64{2}, ODEOptions{FixedStep: 0.25}, func(int, float64, []float64) error { return nil })
	if !errors.As(err, &nf) || nf.T <= 1 || nf.T > 1.25 {
		t.Errorf("NaN in f, fixed steps: got %v", err)
	}

	// Blow-up: y' = y², y(0) = 1 explodes at t = 1.
	sq := func(t float64, y, dy []float64) error { dy[0] = y[0] * y[0]; return nil }
	_, err = Integrate(sq, 0, []float64{1}, []float64{2}, ODEOptions{}, func(int, float64, []float64) error { return nil })
	if err == nil {
		t.Fatal("blow-up: no error")
	}
	t.Logf("blow-up at t = 1: %v", err)
	if !errors.Is(err, ErrStepUnderflow) && !errors.As(err, &nf) && !errors.Is(err, ErrMaxSteps) {
		t.Errorf("blow-up: unexpected error %v", err)
	}

	dec := odeProblems()[0].f
	_, err = Integrate(dec, 0, []float64{1}, []float64{100}, ODEOptions{MaxSteps: 5}, func(int, float64, []float64) error { return nil })
	if !errors.Is(err, ErrMaxSteps) {
		t.Errorf("MaxSteps = 5: got %v", err)
	}

	// Underflow: a step-size bound far below the resolution of t.
	_, err = Integrate(dec, 1e10, []float64{1}, []float64{1e10 + 1}, ODEOptions{MaxStep: 1e-9}, func(int, float64, []float64) error { return nil })
	if !errors.Is(err, ErrStepUnderflow) {
		t.Errorf("tiny MaxStep at t = 1e10: got %v", err)
	}

	for _, c := range []struct {
		opt  ODEOptions
		want string
	}{
		{ODEOptions{RelTol: -1}, "RelTol = -1: must be in [1e-14, 1)"},
		{ODEOptions{RelTol: 2}, "RelTol"},
		{ODEOptions{AbsTol: math.NaN()}, "AbsTol = NaN: must be in (0, 1e10]"},
		{ODEOptions{MaxStep: -1}, "MaxStep"},
		{ODEOptions{InitialStep: math.Inf(1)}, "InitialStep"},
		{ODEOptions{MaxSteps: -3}, "MaxSteps = -3"},
		{ODEOptions{FixedStep: -0.1}, "FixedStep"},
	} {
		_, err := Integrate(dec, 0, []float64{1}, []float64{1}, c.opt, func(int, float64, []float64) error { return nil })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error containing %q", c.opt, err, c.want)
		}
	}
	_, err = Integrate(dec, 0, []float64{1}, []float64{1, 0.5}, ODEOptions{}, func(int, float64, []float64) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "times[1]") {
		t.Errorf("decreasing times: got %v", err)
	}
	errOut := errors.New("stop")
	_, err = Integrate(dec, 0, []float64{1}, []float64{0, 1}, ODEOptions{}, func(int, float64, []float64) error { return errOut })
	if err != errOut {
		t.Errorf("error from out: got %v", err)
	}
}

// TestODENoAllocPerStep: the allocations of an integration do not grow with
// the number of steps.
func TestODENoAllocPerStep(t *testing.T) {
	f := odeProblems()[2].f
	y0 := []float64{1, 0}
	times := []float64{0, 1, 2, 3}
	out := func(int, float64, []float64) error { return nil }
	run := func(h float64) float64 {
		return testing.AllocsPerRun(5, func() {
			if _, err := Integrate(f, 0, y0, times, ODEOptions{FixedStep: h}, out); err != nil {
				t.Fatal(err)
			}
		})
	}
	few, many := run(0.5), run(0.001)
	if many != few {
		t.Errorf("allocations: %v for 6 steps, %v for 3000 steps", few, many)
	}
}
