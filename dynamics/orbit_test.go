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
// and returns the largest gradient difference relative to the largest
// gradient entry, and the relative loss difference.
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
	scale := math.Max(a, b)
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
