package judge

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"

	"mimverify/dynamics"
	"mimverify/engine"
	"mimverify/theory"
)

// TestQuadratureExactForLines checks the node weights of the state noise's
// sum over steps: they sum a(t) over t < T exactly (to rounding) for every
// a linear in t, with nodes in [0, T−1], increasing, and no more than asked.
func TestQuadratureExactForLines(t *testing.T) {
	for _, T := range []int{1, 5, 48, 49, 100, 612, 20000} {
		nodes, w := quadrature(T, stateNodes)
		if len(nodes) > stateNodes || nodes[0] != 0 || nodes[len(nodes)-1] != T-1 || !slices.IsSorted(nodes) {
			t.Fatalf("T = %d: nodes %v", T, nodes)
		}
		for _, ab := range [][2]float64{{1, 0}, {0.3, -0.002}, {-2, 1}} {
			want, got := 0.0, 0.0
			for s := range T {
				want += ab[0] + ab[1]*float64(s)
			}
			for k, n := range nodes {
				got += w[k] * (ab[0] + ab[1]*float64(n))
			}
			if d := math.Abs(got - want); d > 1e-12*math.Max(1, math.Abs(want))*float64(T) {
				t.Errorf("T = %d, a(t) = %v + %v·t: quadrature %v, sum %v", T, ab[0], ab[1], got, want)
			}
		}
	}
}

// tracedOrbit runs the orbit engine on the preset from Q = 0 for the
// given steps and returns the objective and its whole path.
func tracedOrbit(t testing.TB, preset string, opt dynamics.OrbitOptions, steps int) (*theory.Setting, *dynamics.OrbitEngine, *orbitPath) {
	t.Helper()
	s, err := theory.Preset(preset)
	if err != nil {
		t.Fatal(err)
	}
	var path orbitPath
	eng := &dynamics.OrbitEngine{Options: opt, Trace: path.trace}
	if _, err := eng.Run(engine.NewProblem(&s, nil, 1), engine.Every(steps, steps), engine.Observer{}); err != nil {
		t.Fatal(err)
	}
	if len(path.x) != steps+1 {
		t.Fatalf("traced %d states over %d steps", len(path.x), steps)
	}
	return &s, eng, &path
}

// TestAdjointMatchesPerturbedRun checks the adjoint of the orbit recursion
// against the recursion itself: λ_1·v, from adjointAtNodes, must be the
// derivative of the final FP share along a perturbation v of the state
// after the first step, measured by rerunning the steps from y_1 ± εv
// (central difference, error O(ε²) ≈ 10⁻⁸ relative; the adjoint's own
// one-sided differences are ≈ 10⁻⁷ relative per step): to 10⁻⁵ of
// ‖λ_1‖‖v‖, the Cauchy–Schwarz scale of λ_1·v.
func TestAdjointMatchesPerturbedRun(t *testing.T) {
	const steps = 60
	s, eng, path := tracedOrbit(t, "global-local", dynamics.OrbitOptions{}, steps)
	o := eng.Used
	_, lamT := fpShareGrad(o, path.x[steps])
	lam := adjointAtNodes(o, o, s.Eta, path, lamT, []int{0})[0]
	rng := rand.New(rand.NewPCG(3, 4))
	g := make([]float64, o.Dim())
	final := func(x0 []float64) float64 {
		x := slices.Clone(x0)
		for range steps - 1 {
			o.LossGrad(x, g)
			floats.AddScaled(x, -s.Eta, g)
		}
		f, _ := fpShareGrad(o, x)
		return f
	}
	for trial := range 3 {
		v := make([]float64, o.Dim())
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		const eps = 1e-4
		xp, xm := slices.Clone(path.x[1]), slices.Clone(path.x[1])
		floats.AddScaled(xp, eps, v)
		floats.AddScaled(xm, -eps, v)
		fd := (final(xp) - final(xm)) / (2 * eps)
		adj := floats.Dot(lam, v)
		if d := math.Abs(fd - adj); !(d <= 1e-5*floats.Norm(lam, 2)*floats.Norm(v, 2)) {
			t.Errorf("trial %d: adjoint λ₁·v = %.10g, perturbed runs %.10g", trial, adj, fd)
		}
	}
}

// TestStateSEApproximations measures the two approximations stateSE makes
// against the plain sum: the quadrature on stateNodes steps instead of
// every step, and the adjoint's Jacobian from an eighth of the CRN draws
// (jacobianOrbit). Each must move the standard error by less than 5 %,
// the precision a standard error from 128 images has anyway (≈ 6 %).
func TestStateSEApproximations(t *testing.T) {
	if testing.Short() {
		t.Skip("per-image gradients at every step")
	}
	const steps = 200
	s, eng, path := tracedOrbit(t, "default", dynamics.OrbitOptions{Mode: dynamics.OrbitCRN, CRNSamples: 1024}, steps)
	o := eng.Used
	jo, err := jacobianOrbit(s, eng)
	if err != nil || jo == o {
		t.Fatalf("cheap Jacobian: %v (same objective: %v)", err, jo == o)
	}
	_, lamT := fpShareGrad(o, path.x[steps])
	samples := s.Samples(7, 64)
	se := func(nodes int, jo *dynamics.Orbit) float64 {
		defer func(n int) { stateNodes = n }(stateNodes)
		stateNodes = nodes
		v, err := stateSE(s, o, jo, path, samples, lamT)
		if err != nil {
			t.Fatal(err)
		}
		return v.Images
	}
	plain := se(steps, o)
	for _, c := range []struct {
		name string
		v    float64
	}{{"quadrature", se(48, o)}, {"cheap Jacobian", se(steps, jo)}, {"both", se(48, jo)}} {
		t.Logf("%s: %.5g (every step, full draws: %.5g)", c.name, c.v, plain)
		if r := c.v / plain; !(math.Abs(r-1) <= 0.05) {
			t.Errorf("%s: state SE %.5g, %.1f %% from every step's %.5g", c.name, c.v, 100*(r-1), plain)
		}
	}
}

// BenchmarkFPShareStateSE is C4's state error on default as check runs
// it: the adjoint over the whole path (612 steps, the run's 2048 CRN draws,
// the Jacobian's 256) and the single-image gradients of 128 of 256
// training images at 48 nodes, beside it.
//
//	go test ./judge -run '^$' -bench FPShareStateSE -benchtime 5x -count 3
func BenchmarkFPShareStateSE(b *testing.B) {
	s, eng, path := tracedOrbit(b, "default", dynamics.OrbitOptions{Mode: dynamics.OrbitCRN, CRNSamples: 2048}, 612)
	samples := s.Samples(1, 256)
	b.ResetTimer()
	for range b.N {
		if se, why := fpShareStateSE(s, eng, path, samples); math.IsNaN(se.Images) {
			b.Fatal(why)
		}
	}
}

// TestCRNPathSE checks the reduced run's CRN errors against their spread:
// over 24 seeds of 256 CRN draws (grid4, 150 steps), the standard
// deviation of the predicted FP share must match √(SE_state² + SE_path²) —
// the draws' error at the final state (crnSE) and along the path
// (crnPathSE) — within spreadBounds(24), 0.57 and 1.47. The error at the
// state alone is 0.58 of the spread: the path's part is not optional.
func TestCRNPathSE(t *testing.T) {
	s, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	const steps, seeds = 150, 24
	var fs []float64
	var atState, along float64
	for seed := uint64(1); seed <= seeds; seed++ {
		var path orbitPath
		eng := &dynamics.OrbitEngine{Options: dynamics.OrbitOptions{Mode: dynamics.OrbitCRN, CRNSamples: 256}, Trace: path.trace}
		if _, err := eng.Run(engine.NewProblem(&s, nil, seed), engine.Every(steps, steps), engine.Observer{}); err != nil {
			t.Fatal(err)
		}
		o := eng.Used
		var pm popMeasurer
		m := pm.measure(&s, o, path.x[steps], steps, 0.1)
		_, lamT := fpShareGrad(o, path.x[steps])
		nodes, w := quadrature(steps, stateNodes)
		lam := adjointAtNodes(o, o, s.Eta, &path, lamT, nodes)
		fs = append(fs, m.FPShare)
		atState += m.FPShareSE * m.FPShareSE / seeds
		p := crnPathSE(o, s.Eta, &path, nodes, w, lam)
		along += p * p / seeds
	}
	sd := stat.StdDev(fs, nil)
	se := math.Sqrt(atState + along)
	t.Logf("spread over %d seeds %.4g; SE at the state %.4g, along the path %.4g, together %.4g", seeds, sd, math.Sqrt(atState), math.Sqrt(along), se)
	if lo, hi := spreadBounds(seeds); !(sd/se >= lo && sd/se <= hi) {
		t.Errorf("spread of the predicted FP share over CRN seeds %.4g, %.2f times the predicted SE %.4g, outside [%.2f, %.2f]", sd, sd/se, se, lo, hi)
	}
}
