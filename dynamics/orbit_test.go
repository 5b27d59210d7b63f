package dynamics

import (
	"math"
	"math/rand/v2"
	"testing"

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

// compareOrbitPopulation evaluates the orbit objective at a random symmetric
// state (orbit values N(0, σ²)) and the population enumeration at its lift,
// and returns the largest gradient difference relative to the larger of the
// largest gradient entry and the loss per position (both O(z²); the gradient can be
// identically 0, e.g. with a single area), and the relative loss difference.
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
	c := theory.NewCorrelations(s)
	orb.Lift(x, c)
	gp := theory.NewCorrelations(s)
	lp, _ := pop.LossGrad(c, gp)
	gl := theory.NewCorrelations(s)
	orb.Lift(g, gl)
	a, b := gp.MaxAbs()
	scale := math.Max(math.Max(a, b), math.Abs(lp)/float64(s.P))
	return gl.MaxAbsDiff(gp) / scale, math.Abs(lo-lp) / math.Abs(lp)
}

func TestOrbitMatchesPopulationOneCluster(t *testing.T) {
	s := oneClusterSetting(t, 4, 4, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	gr, lr := compareOrbitPopulation(t, &s, OrbitOptions{}, 1, rng)
	t.Logf("grad rel %.3g loss rel %.3g", gr, lr)
	if gr > 1e-12 || lr > 1e-12 {
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
						if gr > 1e-12 || lr > 1e-12 {
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
	for i := range 24 {
		s := randomSetting(t, rng, masks[rng.IntN(2)], keys[rng.IntN(2)], theory.LossSum, zs[rng.IntN(4)])
		if s.P > 8 && s.Z.Kind == theory.ZUniform {
			continue
		}
		sy, err := FindSymmetry(&s)
		if err != nil {
			t.Fatal(err)
		}
		gr, lr := compareOrbitPopulation(t, &s, OrbitOptions{QuadNodes: 2, Symmetry: sy}, 1.5, rng)
		if gr > 1e-12 || lr > 1e-12 {
			t.Errorf("random setting %d (%+v): gradient %.3g, loss %.3g relative", i, s, gr, lr)
		}
	}
}

// TestOrbitDescendMatchesPopulation runs GD with both engines from Q(0) = 0
// and from a random symmetric state, and compares every record. Tolerance:
// 1e-11 relative to the largest entry — the per-step rounding difference
// (≈ 1e-15, TestOrbitMatchesPopulationMatrix) carried over the steps with a
// GD map whose Jacobian I − η∇²L has norm ≤ 1 + η‖∇²L‖ ≈ 1 here (the loss
// decreases monotonically in these runs).
func TestOrbitDescendMatchesPopulation(t *testing.T) {
	cases := []struct {
		name  string
		s     theory.Setting
		steps int
	}{
		{"one-cluster-4x4", oneClusterSetting(t, 4, 4, 1), 15},
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
			opt := DescendOptions{Steps: tc.steps, RecordEvery: 5}
			if random {
				x := make([]float64, orb.Dim())
				for i := range x {
					x[i] = 0.5 * rng.NormFloat64()
				}
				opt.Init = theory.NewCorrelations(&s)
				orb.Lift(x, opt.Init)
			}
			to, err := DescendOrbit(orb, opt)
			if err != nil {
				t.Fatal(err)
			}
			pop := mustPopulation(t, &s, PopulationOptions{Mode: PopulationEnumerate, QuadNodes: 3})
			tp, err := Descend(&s, pop, opt)
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for i, r := range tp.Records {
				a, b := r.Correlations.MaxAbs()
				d := r.Correlations.MaxAbsDiff(to.Records[i].Correlations) / math.Max(1, math.Max(a, b))
				worst = math.Max(worst, d)
				if dl := math.Abs(r.Loss - to.Records[i].Loss); dl > 1e-11*r.Loss {
					t.Errorf("%s random=%v step %d: loss %v vs %v", tc.name, random, r.Step, r.Loss, to.Records[i].Loss)
				}
			}
			t.Logf("%s random=%v: %d steps, largest state difference %.3g (relative)", tc.name, random, tc.steps, worst)
			if worst > 1e-11 {
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
		init := theory.NewCorrelations(&s)
		orb.Lift(x, init)
		pop := mustPopulation(t, &s, PopulationOptions{Mode: PopulationEnumerate, QuadNodes: 3})
		tr, err := Descend(&s, pop, DescendOptions{Steps: 100, RecordEvery: 10, Init: init})
		if err != nil {
			t.Fatal(err)
		}
		proj := theory.NewCorrelations(&s)
		for _, r := range tr.Records {
			orb.Project(r.Correlations, x)
			orb.Lift(x, proj)
			a, b := r.Correlations.MaxAbs()
			if d := proj.MaxAbsDiff(r.Correlations) / math.Max(a, b); d > 1e-12 {
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
	orb, err := NewOrbit(&s, OrbitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := DescendOrbit(orb, DescendOptions{Steps: 1000, RecordEvery: 1000})
	if err != nil {
		t.Fatal(err)
	}
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
