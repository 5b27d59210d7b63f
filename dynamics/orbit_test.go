package dynamics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"mimverify/engine"
	"mimverify/theory"
)

// oneClusterSetting is one cluster of n equal areas of size c on a line of
// P = n·c positions (areas contiguous), with constant z and γ = 0.5.
func oneClusterSetting(t testing.TB, n, c int, z float64) theory.Setting {
	t.Helper()
	labels := make([]int, n*c)
	for p := range labels {
		labels[p] = p / c
	}
	s := theory.Setting{Name: "one-cluster", P: n * c, Clusters: []theory.Cluster{{Areas: labels}},
		Z: theory.ZLaw{Kind: theory.ZConstant, L: z, U: z}, Gamma: 0.5, Eta: 10}
	if err := s.Resolve(); err != nil {
		t.Fatal(err)
	}
	return s
}

// runOrbit runs the orbit engine with opt on s from init (zero when empty)
// and returns the trajectory and the objective it built.
func runOrbit(t testing.TB, s *theory.Setting, opt OrbitOptions, steps, every int, init theory.Correlations) (theory.Trajectory, *Orbit) {
	t.Helper()
	e := &OrbitEngine{Options: opt}
	tr, err := e.Run(engine.Problem{Setting: s, Init: init}, engine.Every(steps, every), engine.Observer{})
	if err != nil {
		t.Fatal(err)
	}
	return tr, e.Used
}

// compareOrbitPopulation evaluates the orbit objective at a random symmetric
// state (orbit values N(0, σ²)) and the population enumeration at its lift,
// and returns the largest gradient difference and the loss difference, in
// units of max(largest gradient entry, L₀/P) and max(loss, L₀) where
// L₀ = ½U²·γP·λ is the loss of predicting nothing (gradient and loss can be
// identically 0, e.g. with a single area and fixed masks).
func compareOrbitPopulation(t *testing.T, s *theory.Setting, opt OrbitOptions, sigma float64, rng *rand.Rand) (gradRel, lossRel float64) {
	t.Helper()
	orb, err := NewOrbit(s, opt)
	if err != nil {
		t.Fatal(err)
	}
	pop := mustPopulation(t, s, PopulationOptions{Mode: PopulationEnumerate, QuadNodes: opt.QuadNodes})
	x := make([]float64, orb.Dim())
	for i := range x {
		x[i] = sigma * rng.NormFloat64()
	}
	g := make([]float64, orb.Dim())
	lo, _ := orb.LossGrad(x, g)
	c := s.Shape().New()
	orb.Lift(x, c)
	gp := s.Shape().New()
	lp, _ := pop.LossGrad(c, gp)
	gl := s.Shape().New()
	orb.Lift(g, gl)
	a, b := gp.MaxAbs()
	l0 := 0.5 * s.Z.U * s.Z.U * s.Gamma * float64(s.P) * s.LossScale()
	scale := math.Max(math.Max(a, b), l0/float64(s.P))
	return gl.MaxAbsDiff(gp) / scale, math.Abs(lo-lp) / math.Max(math.Abs(lp), l0)
}

func TestOrbitMatchesPopulationOneCluster(t *testing.T) {
	s := oneClusterSetting(t, 4, 4, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	gr, lr := compareOrbitPopulation(t, &s, OrbitOptions{}, 1, rng)
	t.Logf("grad rel %.3g loss rel %.3g", gr, lr)
	if !(gr <= 1e-12 && lr <= 1e-12) {
		t.Errorf("orbit vs population: gradient %.3g, loss %.3g relative; want ≤ 1e-12", gr, lr)
	}
}

// twoClusterP8 is P = 8 with clusters [0,0,1,1,2,2,3,3] and [0,0,0,0,1,1,1,1]
// (probabilities 0.4, 0.6): a group of order 2⁴·8 = 128... with twins.
func twoClusterP8(t testing.TB, z theory.ZKind, mask theory.MaskScheme, keys theory.KeyMode, loss theory.LossNorm) theory.Setting {
	t.Helper()
	s := theory.Setting{Name: "p8", P: 8, Clusters: []theory.Cluster{
		{Areas: []int{0, 0, 1, 1, 2, 2, 3, 3}, Prob: 0.4},
		{Areas: []int{0, 0, 0, 0, 1, 1, 1, 1}, Prob: 0.6},
	}, Z: theory.ZLaw{Kind: z, L: 0.5, U: 1.5}, Gamma: 0.4, Mask: mask, Keys: keys, Loss: loss, Eta: 1}
	if z == theory.ZConstant {
		s.Z.U = s.Z.L
	}
	if err := s.Resolve(); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestOrbitMatchesPopulationMatrix: every z law, mask scheme, key mode and
// loss normalisation on a two-cluster P = 8 setting, with the found group
// and with the trivial group. Tolerance 1e-12 relative: the two engines sum
// the same finite expectation in different orders (≤ 2⁸ masks × 3⁴ z nodes
// terms), rounding ≈ √terms·ε ≈ 1e-14; the binomial tails dropped are
// < 1e-20.
func TestOrbitMatchesPopulationMatrix(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, z := range []theory.ZKind{theory.ZConstant, theory.ZTwoPoint, theory.ZUniform, theory.ZShared} {
		for _, mask := range []theory.MaskScheme{theory.MaskBernoulli, theory.MaskFixed} {
			for _, keys := range []theory.KeyMode{theory.KeysUnmasked, theory.KeysAll} {
				for _, loss := range []theory.LossNorm{theory.LossSum, theory.LossMean} {
					s := twoClusterP8(t, z, mask, keys, loss)
					for _, trivial := range []bool{false, true} {
						opt := OrbitOptions{QuadNodes: 3}
						if trivial {
							opt.Symmetry = TrivialSymmetry(&s)
						}
						gr, lr := compareOrbitPopulation(t, &s, opt, 1, rng)
						if !(gr <= 1e-12 && lr <= 1e-12) {
							t.Errorf("%s %s %s %s trivial=%v: gradient %.3g, loss %.3g relative; want ≤ 1e-12", z, mask, keys, loss, trivial, gr, lr)
						}
					}
				}
			}
		}
	}
}

// TestOrbitMatchesPopulationRandom: random small settings (as the exact
// engine's tests draw them), random laws and options.
func TestOrbitMatchesPopulationRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	zs := []theory.ZKind{theory.ZConstant, theory.ZTwoPoint, theory.ZUniform, theory.ZShared}
	masks := []theory.MaskScheme{theory.MaskBernoulli, theory.MaskFixed}
	keys := []theory.KeyMode{theory.KeysUnmasked, theory.KeysAll}
	nontrivial := 0
	for i := range 24 {
		s := randomSetting(t, rng, masks[rng.IntN(2)], keys[rng.IntN(2)], theory.LossSum, zs[rng.IntN(4)])
		if s.P > 8 && s.Z.Kind == theory.ZUniform {
			continue
		}
		sy, err := FindSymmetry(&s)
		if err != nil {
			t.Fatal(err)
		}
		if sy.NumFP+sy.NumPP < sy.FullDim() {
			nontrivial++
		}
		gr, lr := compareOrbitPopulation(t, &s, OrbitOptions{QuadNodes: 2, Symmetry: sy}, 1.5, rng)
		if !(gr <= 1e-12 && lr <= 1e-12) {
			t.Errorf("random setting %d (%+v): gradient %.3g, loss %.3g relative", i, s, gr, lr)
		}
	}
	if nontrivial < 10 {
		t.Errorf("only %d random settings with a non-trivial group: the test would not exercise the reduction", nontrivial)
	}
	t.Logf("%d random settings with a non-trivial group", nontrivial)
}

// TestOrbitDescendMatchesPopulation runs GD with both engines from Q(0) = 0
// and from a random symmetric state, and compares every record. Tolerance:
// 1e-11 relative to the largest entry — the per-step rounding difference
// (≈ 1e-15, TestOrbitMatchesPopulationMatrix) carried over 8–150 steps with a
// GD map whose Jacobian I − η∇²L has norm ≤ 1 + η‖∇²L‖ ≈ 1 here (the loss
// decreases monotonically in these runs).
func TestOrbitDescendMatchesPopulation(t *testing.T) {
	cases := []struct {
		name  string
		s     theory.Setting
		steps int
	}{
		{"one-cluster-4x4", oneClusterSetting(t, 4, 4, 1), 8},
		{"p8-two-point-fixed-all", twoClusterP8(t, theory.ZTwoPoint, theory.MaskFixed, theory.KeysAll, theory.LossSum), 150},
		{"p8-shared-bernoulli", twoClusterP8(t, theory.ZShared, theory.MaskBernoulli, theory.KeysUnmasked, theory.LossMean), 150},
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range cases {
		s := tc.s
		orb, err := NewOrbit(&s, OrbitOptions{QuadNodes: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, random := range []bool{false, true} {
			var init theory.Correlations
			if random {
				x := make([]float64, orb.Dim())
				for i := range x {
					x[i] = 0.5 * rng.NormFloat64()
				}
				init = s.Shape().New()
				orb.Lift(x, init)
			}
			to, _ := runOrbit(t, &s, OrbitOptions{QuadNodes: 3}, tc.steps, 4, init)
			pop := mustPopulation(t, &s, PopulationOptions{Mode: PopulationEnumerate, QuadNodes: 3})
			tp, err := descend(&s, pop, engine.Every(tc.steps, 4), init, engine.Observer{})
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for i, r := range tp.Records {
				a, b := r.Correlations.MaxAbs()
				d := r.Correlations.MaxAbsDiff(to.Records[i].Correlations) / math.Max(1, math.Max(a, b))
				worst = math.Max(worst, d)
				if dl := math.Abs(r.Loss - to.Records[i].Loss); !(dl <= 1e-11*r.Loss) {
					t.Errorf("%s random=%v step %d: loss %v vs %v", tc.name, random, r.Step, r.Loss, to.Records[i].Loss)
				}
			}
			t.Logf("%s random=%v: %d steps, largest state difference %.3g (relative)", tc.name, random, tc.steps, worst)
			if !(worst <= 1e-11) {
				t.Errorf("%s random=%v: state differs by %.3g relative", tc.name, random, worst)
			}
		}
	}
}

// TestPopulationPreservesSymmetry: population GD from a random symmetric
// state stays symmetric: the distance of each record to its projection onto
// the symmetric subspace stays at rounding level (1e-12 relative: same-orbit
// entries are computed by different summation orders, ≈ 1e-16 each step).
func TestPopulationPreservesSymmetry(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, s := range []theory.Setting{
		twoClusterP8(t, theory.ZUniform, theory.MaskBernoulli, theory.KeysAll, theory.LossSum),
		oneClusterSetting(t, 3, 3, 1),
	} {
		orb, err := NewOrbit(&s, OrbitOptions{QuadNodes: 3})
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float64, orb.Dim())
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		init := s.Shape().New()
		orb.Lift(x, init)
		pop := mustPopulation(t, &s, PopulationOptions{Mode: PopulationEnumerate, QuadNodes: 3})
		tr, err := descend(&s, pop, engine.Every(100, 10), init, engine.Observer{})
		if err != nil {
			t.Fatal(err)
		}
		proj := s.Shape().New()
		for _, r := range tr.Records {
			orb.Project(r.Correlations, x)
			orb.Lift(x, proj)
			a, b := r.Correlations.MaxAbs()
			if d := proj.MaxAbsDiff(r.Correlations) / math.Max(a, b); !(d <= 1e-12) {
				t.Errorf("%s step %d: distance to the symmetric subspace %.3g relative", s.Name, r.Step, d)
			}
		}
		// The test can fail: an asymmetric start is far from its projection.
		init.B[0][1] += 0.1
		orb.Project(init, x)
		orb.Lift(x, proj)
		if proj.MaxAbsDiff(init) < 0.01 {
			t.Errorf("%s: an asymmetric perturbation is not detected", s.Name)
		}
	}
}

// TestOrbitPrototype reproduces the prototype (one cluster of 4
// areas of 4, z ≡ 1, γ = 0.5, η = 10, 1000 steps) to its printed digits, as
// a sanity check only (the real test is against the population engine).
func TestOrbitPrototype(t *testing.T) {
	s := oneClusterSetting(t, 4, 4, 1)
	tr, orb := runOrbit(t, &s, OrbitOptions{}, 1000, 1000, theory.Correlations{})
	f := tr.Final()
	alpha, b1, b2 := f.Correlations.A[0][0][0], f.Correlations.B[0][1], f.Correlations.B[0][4]
	t.Logf("t=1000: α = %.6f, b₁ = %.6f, b₂ = %.6f, loss %.6f (dim %d, %d terms)", alpha, b1, b2, f.Loss, orb.Dim(), orb.NumTerms())
	for _, c := range []struct {
		name      string
		got, want float64
		digits    float64
	}{{"α", alpha, 3.7080, 1e-4}, {"b₁", b1, 1.23599, 1e-5}, {"b₂", b2, -0.30900, 1e-5}, {"loss", f.Loss, 0.70419, 1e-5}} {
		if math.Abs(c.got-c.want) > c.digits/2 {
			t.Errorf("%s = %.6f, prototype printed %v", c.name, c.got, c.want)
		}
	}
}

// TestOrbitCRN: common random numbers over the counts agree with the exact
// enumeration and with the population CRN within 4 combined standard
// errors (a two-sided normal bound, failure probability 6e-5 per check),
// and the standard error shrinks like n^{-1/2} (ratio √4 = 2 for 4× the
// samples, within ±25 %: the sample standard deviation of 1024 draws is
// itself uncertain by ≈ 1/√(2·1024) ≈ 2 %, of 4096 by 1 %, and the ratio of
// the two by ≈ 3 % — so ±25 % is a loose bound, failed only by a wrong law).
func TestOrbitCRN(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	s := twoClusterP8(t, theory.ZUniform, theory.MaskFixed, theory.KeysAll, theory.LossSum)
	exact, err := NewOrbit(&s, OrbitOptions{QuadNodes: 6})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, exact.Dim())
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	ge := make([]float64, exact.Dim())
	le, _ := exact.LossGrad(x, ge)
	var se1 float64
	for _, n := range []int{1024, 4096} {
		crn, err := NewOrbit(&s, OrbitOptions{Mode: OrbitCRN, CRNSamples: n, Seed: 3, Symmetry: exact.Symmetry()})
		if err != nil {
			t.Fatal(err)
		}
		gc, gse := make([]float64, crn.Dim()), make([]float64, crn.Dim())
		lc, se := crn.LossGrad(x, gc)
		crn.GradStdErr(x, gse)
		worst := 0.0
		for i := range gc {
			if gse[i] > 0 {
				worst = math.Max(worst, math.Abs(gc[i]-ge[i])/gse[i])
			}
		}
		t.Logf("n = %d: %d gradient coordinates, largest |CRN − exact| = %.2f standard errors", n, len(gc), worst)
		for i := range gc {
			// 4 standard errors per coordinate: P(any of the ≤ 20 fails) < 2e-3.
			if !(math.Abs(gc[i]-ge[i]) <= 4*gse[i]) {
				t.Errorf("n = %d: gradient %d: CRN %.6g vs exact %.6g, standard error %.2g", n, i, gc[i], ge[i], gse[i])
			}
		}
		t.Logf("n = %d: CRN %.6f ± %.2g, exact %.6f", n, lc, se, le)
		if !(math.Abs(lc-le) <= 4*se) {
			t.Errorf("n = %d: CRN loss %.6f vs exact %.6f: more than 4 standard errors (%.2g)", n, lc, le, se)
		}
		if n == 1024 {
			se1 = se
		} else if r := se1 / se; !(r >= 1.5 && r <= 2.5) {
			t.Errorf("standard error ratio for 4× samples %.3f, want 2 ± 25 %%", r)
		}
	}
	// default (P = 64): orbit CRN vs population CRN at a random symmetric state.
	d, err := theory.Preset("default")
	if err != nil {
		t.Fatal(err)
	}
	orb, err := NewOrbit(&d, OrbitOptions{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	x = make([]float64, orb.Dim())
	for i := range x {
		x[i] = 0.5 * rng.NormFloat64()
	}
	lo, seo := orb.LossGrad(x, nil)
	c := d.Shape().New()
	orb.Lift(x, c)
	pop := mustPopulation(t, &d, PopulationOptions{Mode: PopulationCRN, Seed: 6})
	lp, sep := pop.LossGrad(c, d.Shape().New())
	t.Logf("default: orbit %.5f ± %.3g, population %.5f ± %.3g", lo, seo, lp, sep)
	if !(math.Abs(lo-lp) <= 4*math.Hypot(seo, sep)) {
		t.Errorf("default: orbit CRN %.5f ± %.3g vs population CRN %.5f ± %.3g", lo, seo, lp, sep)
	}
}

// TestFlowOrbitMatchesFlow: the flow engine on the orbit objective
// (Orbit.Objective: project, orbit gradient, lift) against the flow on the
// population enumeration, both at RelTol 1e-10, AbsTol 1e-12. The two right-
// hand sides agree to rounding (≈ 1e-15), so the integrators take nearly
// the same steps; ≤ 1e-7 relative allows for a different step sequence (the
// global error of either is ≲ 1e-8 here).
func TestFlowOrbitMatchesFlow(t *testing.T) {
	s := twoClusterP8(t, theory.ZTwoPoint, theory.MaskBernoulli, theory.KeysUnmasked, theory.LossSum)
	orb, err := NewOrbit(&s, OrbitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, sch := engine.Problem{Setting: &s}, engine.Every(40, 10)
	to, err := (&Flow{Objective: orb.Objective(), RelTol: 1e-10, AbsTol: 1e-12}).Run(p, sch, engine.Observer{})
	if err != nil {
		t.Fatal(err)
	}
	tp, err := (&Flow{Population: &PopulationOptions{Mode: PopulationEnumerate}, RelTol: 1e-10, AbsTol: 1e-12}).Run(p, sch, engine.Observer{})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range tp.Records {
		a, b := r.Correlations.MaxAbs()
		d := r.Correlations.MaxAbsDiff(to.Records[i].Correlations) / math.Max(1, math.Max(a, b))
		t.Logf("step %d: difference %.3g relative", r.Step, d)
		if r.Step != to.Records[i].Step || !(d <= 1e-7) {
			t.Errorf("record %d (step %d vs %d): difference %.3g relative", i, r.Step, to.Records[i].Step, d)
		}
	}
}

// TestOrbitVariables: the worked case has α, β, B_pp, b₁, b₂ with
// multiplicities P, 3P, P, P(C−1), 3PC.
func TestOrbitVariables(t *testing.T) {
	s := oneClusterSetting(t, 4, 5, 1)
	o, err := NewOrbit(&s, OrbitOptions{MeanField: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, v := range o.Variables() {
		got[v.Meaning] = v.Mult
	}
	want := map[string]int{"own-area FP, cluster 0": 20, "off-area FP, cluster 0": 60, "diagonal PP": 20,
		"PP, same area in 1 of 1 clusters": 80, "PP, same area in 0 of 1 clusters": 300}
	for m, n := range want {
		if got[m] != n {
			t.Errorf("%s: multiplicity %d, want %d (all: %v)", m, got[m], n, got)
		}
	}
}

// TestOrbitLargeScores: states with scores spanning hundreds of units (the
// factored weights underflow and term falls back to the direct log-sum-exp)
// still agree with the population enumeration to 1e-12.
func TestOrbitLargeScores(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	for _, keys := range []theory.KeyMode{theory.KeysUnmasked, theory.KeysAll} {
		s := twoClusterP8(t, theory.ZTwoPoint, theory.MaskBernoulli, keys, theory.LossSum)
		for _, sigma := range []float64{30, 300, 800} {
			gr, lr := compareOrbitPopulation(t, &s, OrbitOptions{}, sigma, rng)
			if !(gr <= 1e-12 && lr <= 1e-12) {
				t.Errorf("keys %s, σ = %g: gradient %.3g, loss %.3g relative", keys, sigma, gr, lr)
			}
		}
	}
}

// TestOrbitClusterSwaps: settings whose group permutes clusters (τ ≠ id):
// rows × columns of a 4×4 grid (transposition swaps the two clusters) and a
// P = 6 pair of transversal partitions, against the population enumeration.
func TestOrbitClusterSwaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	g, err := theory.Grid(4, theory.Rows(2), theory.Columns(2))
	if err != nil {
		t.Fatal(err)
	}
	g.Z = theory.ZLaw{Kind: theory.ZShared, L: 0.5, U: 1.5} // 2 nodes × 2 clusters × 2¹⁶ masks
	g.Keys = theory.KeysAll
	h := mkSetting(t, 6, []float64{0.5, 0.5}, []int{0, 0, 1, 1, 2, 2}, []int{0, 1, 2, 0, 1, 2})
	for _, s := range []theory.Setting{g, h} {
		sy, err := FindSymmetry(&s)
		if err != nil {
			t.Fatal(err)
		}
		swaps := false
		for _, gen := range sy.Gens {
			swaps = swaps || gen.Cluster[0] != 0
		}
		if !swaps {
			t.Fatalf("%s: no generator swaps the clusters", s.Name)
		}
		gr, lr := compareOrbitPopulation(t, &s, OrbitOptions{Symmetry: sy, QuadNodes: 2}, 1, rng)
		t.Logf("%s: order %v, dim %d of %d: gradient %.3g, loss %.3g relative", s.Name, sy.Order, sy.NumFP+sy.NumPP, sy.FullDim(), gr, lr)
		if !(gr <= 1e-12 && lr <= 1e-12) {
			t.Errorf("%s: gradient %.3g, loss %.3g relative", s.Name, gr, lr)
		}
	}
}

// TestProjectIsTheOrbitAverage: Project gives, bit for bit, the average
// over each orbit summed in row order from the symmetry's own orbit maps
// (FPOrbit, PPOrbit; Project reads its flat table of them), on a random
// non-symmetric state of vit14 (three clusters, PP orbits of many sizes),
// and the same for views without a flat vector.
func TestProjectIsTheOrbitAverage(t *testing.T) {
	s, err := theory.Preset("vit14")
	if err != nil {
		t.Fatal(err)
	}
	o, err := NewOrbit(&s, OrbitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Shape().New()
	rng := theory.NewRand(9, 1)
	for i := range c.Flat() {
		c.Flat()[i] = rng.NormFloat64()
	}
	sy := o.Symmetry()
	want, count := make([]float64, o.Dim()), make([]int, o.Dim())
	for k := range c.A {
		for p, row := range c.A[k] {
			for j, v := range row {
				want[sy.FPOrbit[k][p][j]] += v
				count[sy.FPOrbit[k][p][j]]++
			}
		}
	}
	for p, row := range c.B {
		for q, v := range row {
			id := sy.NumFP + int(sy.PPOrbit[p*s.P+q])
			want[id] += v
			count[id]++
		}
	}
	for i := range want {
		want[i] /= float64(count[i])
	}
	got, views := make([]float64, o.Dim()), make([]float64, o.Dim())
	o.Project(c, got)
	o.Project(theory.Correlations{A: c.A, B: c.B}, views)
	if !slices.Equal(got, want) || !slices.Equal(views, want) {
		t.Fatalf("Project differs from the orbit averages: %v, %v vs %v", got[:3], views[:3], want[:3])
	}
}
