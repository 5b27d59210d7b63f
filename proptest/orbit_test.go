package proptest

import (
	"math"
	"testing"

	"pgregory.net/rapid"

	"mimverify/dynamics"
	"mimverify/engine"
	"mimverify/theory"
)

// symmetricState draws a random state on the symmetric subspace of the
// setting's group: random orbit variables, lifted.
func symmetricState(t *rapid.T, s *theory.Setting, o *dynamics.Orbit) ([]float64, theory.Correlations) {
	x := make([]float64, o.Dim())
	for i := range x {
		x[i] = rapid.Float64Range(-1.5, 1.5).Draw(t, "x")
	}
	c := s.Shape().New()
	o.Lift(x, c)
	return x, c
}

// enumerable draws a setting small enough to enumerate, with Q(0) = 0, and
// builds its population enumeration and orbit objectives (the case is
// skipped beyond the enumeration limit).
func enumerable(t *rapid.T) (*theory.Setting, *dynamics.PopulationObjective, *dynamics.Orbit) {
	s := Settings(enumerableBounds).Draw(t, "setting")
	s.Init = theory.Init{Kind: theory.InitZero}
	pop, err := dynamics.NewPopulationObjective(&s, dynamics.PopulationOptions{Mode: dynamics.PopulationEnumerate})
	if err != nil {
		t.Skip("beyond the enumeration limit")
	}
	o, err := dynamics.NewOrbit(&s, dynamics.OrbitOptions{Mode: dynamics.OrbitEnumerate})
	if err != nil {
		t.Fatal(err)
	}
	return &s, pop, o
}

// unitRoundoff is u = 2⁻⁵³, the relative rounding of one float64 operation.
const unitRoundoff = 0x1p-53

// sumLambda is the λ of the probabilistic summation bound in sumRoundoff.
const sumLambda = 12

// sumRoundoff bounds, relative to the scale of the result, the difference
// between two float64 evaluations of one expectation over the population
// enumeration of setting s, a weighted sum of terms terms in which each
// entry costs about 4P + 8 further operations (sums over ≤ P keys for the
// softmax normaliser, the prediction and a key's area, over ≤ P queries,
// and a handful of products and an exp): n = terms + 4P + 8 roundings on
// the way to a result. Summing in float64, in any order, errs by at most
// γ_{n−1}·Σ|x| ≈ n·u·Σ|x| in the worst case (Higham, Accuracy and Stability
// of Numerical Algorithms, §4.2); when the roundings are independent and
// of mean zero, by at most ≈ λ·√n·u·Σ|x| with probability at least
// 1 − 2n·e^{−λ²/2} (Higham and Mary, SIAM J. Sci. Comput. 41, 2019). So one
// evaluation errs by at most min(n, λ√n)·u·Σ|x|, and two differ by twice
// that; with λ = 12 the probabilistic bound fails with probability below
// 1e-25 (the worst case never does). The terms' weights are probabilities summing to 1 and their
// entries are O(1) at the states drawn here, so Σ|x| is of the order of
// the scale max(1, |result|) the tests divide by; for the loss, whose
// terms are non-negative, Σ|x| is the loss itself. The orbit engine sums
// at most as many terms (masks grouped by their unmasked counts per cell).
// At the largest enumeration drawn (2 clusters × 255 masks × 4⁴ z nodes,
// n = 130,600) the bound is 9.6e-13 (the worst case alone would allow
// 2.9e-11); the differences seen are at most 0.35 of the bound (200,000
// generated settings), and it is far below the effect of a wrong cell
// count or weight (O(1e-3)).
func sumRoundoff(s *theory.Setting, terms int) float64 {
	n := float64(terms + 4*s.P + 8)
	return 2 * math.Min(n, sumLambda*math.Sqrt(n)) * unitRoundoff
}

// TestOrbitEqualsPopulation: on generated settings small enough to
// enumerate, the orbit engine's per-entry gradient and loss at a random
// symmetric state equal the population enumeration's (SPEC §3 level 4 ≡
// level 2, exact).
func TestOrbitEqualsPopulation(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s, pop, o := enumerable(t)
		x, c := symmetricState(t, s, o)
		g := make([]float64, o.Dim())
		lo, _ := o.LossGrad(x, g)
		want := s.Shape().New()
		lp, _ := pop.LossGrad(c, want)
		got := s.Shape().New()
		o.Lift(g, got)
		a, b := want.MaxAbs()
		scale := math.Max(1, math.Max(a, b))
		tol := sumRoundoff(s, pop.NumTerms())
		if d := got.MaxAbsDiff(want); !(d <= tol*scale) || !(math.Abs(lo-lp) <= tol*math.Max(1, lp)) {
			t.Fatalf("orbit vs population (%d terms, tolerance %.3g): gradient differs by %.3g (scale %.3g), loss %v vs %v",
				pop.NumTerms(), tol, d, scale, lo, lp)
		}
	})
}

// TestPopulationKeepsSymmetry: population GD started from a random
// symmetric state stays on the symmetric subspace — the fact that makes
// the orbit reduction exact (docs/ORBIT.md §1) — to rounding over the
// steps.
func TestPopulationKeepsSymmetry(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s, pop, o := enumerable(t)
		_, c := symmetricState(t, s, o)
		grad := s.Shape().New()
		pop.LossGrad(c, grad)
		ga, gb := grad.MaxAbs()
		ca, cb := c.MaxAbs()
		const steps = 10
		tr, err := dynamics.Descent{Name: engine.Population, Objective: pop}.Run(engine.Problem{Setting: s, Init: c}, engine.Every(steps, steps), engine.Observer{})
		if err != nil {
			t.Fatal(err)
		}
		end := tr.Final().Correlations
		x := make([]float64, o.Dim())
		o.Project(end, x)
		back := s.Shape().New()
		o.Lift(x, back)
		ea, eb := end.MaxAbs()
		// Two entries of an orbit are updated, x −= η·g, with gradients
		// that sum the same terms in different orders: per step they part
		// by at most η·sumRoundoff·Σ|terms| (the gradients' rounding, with
		// Σ|terms| ≲ max(LossScale, |g|) as in sumRoundoff, the loss scale
		// standing for the floor 1 there) plus the rounding of the product
		// and of the subtraction, 2u·(η|g| + |x|). To first order the
		// parting adds over the steps, and the projection onto the
		// subspace (an orbit's ≤ entries values averaged) adds its own,
		// ≤ entries·u·|x|. The bound takes |g| and |x| along the steps as
		// the gradient at the start and the larger of the start and end
		// states, and the step's Jacobian I − η∇²L as not amplifying the
		// parting: first-order assumptions, which the drift seen (at most
		// 6% of the bound in 20,000 generated settings) bears out.
		g, state := math.Max(ga, gb), math.Max(1, math.Max(math.Max(ca, cb), math.Max(ea, eb)))
		perStep := s.Eta*math.Max(s.LossScale(), g)*sumRoundoff(s, pop.NumTerms()) + 2*unitRoundoff*(s.Eta*g+state)
		tol := steps*perStep + float64(s.Shape().Len())*unitRoundoff*state
		if d := back.MaxAbsDiff(end); !(d <= tol) {
			t.Fatalf("after %d steps the state is %.3g from the symmetric subspace (tolerance %.3g: |g| %.3g, |x| %.3g)", steps, d, tol, g, state)
		}
	})
}

// TestSamplesToOrbit: the O(n^{-1/2}) law of TestSamplesToPopulation with
// the orbit engine as the population reference, on a setting beyond the
// enumeration of masks (P = 36, 2³⁶ masks) that the orbit expectation still
// computes exactly: the exact recursion on n samples converges to the
// reduced system at the predicted rate.
func TestSamplesToOrbit(t *testing.T) {
	if testing.Short() {
		t.Skip("48 exact runs")
	}
	s, err := theory.Grid(6, theory.Blocks(3), theory.Rows(2))
	if err != nil {
		t.Fatal(err)
	}
	s.Z = theory.ZLaw{Kind: theory.ZConstant, L: 1, U: 1}
	s.Eta = 2
	if err := s.Resolve(); err != nil {
		t.Fatal(err)
	}
	if _, ok := dynamics.CountTerms(&s, 0); ok {
		t.Fatal("the setting is enumerable: the test is meant for one beyond enumeration")
	}
	orbit := &dynamics.OrbitEngine{Options: dynamics.OrbitOptions{Mode: dynamics.OrbitEnumerate}}
	init := s.InitialCorrelations(1)
	path, err := orbit.Run(engine.Problem{Setting: &s, Init: init}, engine.Every(lawSteps, 1), engine.Observer{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("orbit reference: %d variables for %d entries", orbit.Used.Dim(), s.Shape().Len())
	checkSampleLaw(t, &s, path, init)
}
