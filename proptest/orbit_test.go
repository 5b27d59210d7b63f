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

// orbitRoundoff is the agreement allowed between the orbit expectation and
// the population enumeration: both sum the same terms (masks grouped by
// their unmasked counts per cell, against one by one), in float64, with
// relative rounding ~1e-16 per operation over at most 2^16 terms; 1e-12
// relative leaves a margin of 10⁴·ε·terms·… far above what is seen
// (≤ 4e-15) and far below any wrong cell count or weight (O(1e-3)).
const orbitRoundoff = 1e-12

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
		if d := got.MaxAbsDiff(want); !(d <= orbitRoundoff*scale) || !(math.Abs(lo-lp) <= orbitRoundoff*math.Max(1, lp)) {
			t.Fatalf("orbit vs population: gradient differs by %.3g (scale %.3g), loss %v vs %v", d, scale, lo, lp)
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
		a, b := end.MaxAbs()
		// Each step adds rounding of ~1e-16 relative, independently per
		// entry, so the entries of an orbit drift apart by ~steps·1e-16.
		if d := back.MaxAbsDiff(end); !(d <= 1e-12*math.Max(1, math.Max(a, b))) {
			t.Fatalf("after %d steps the state is %.3g from the symmetric subspace", steps, d)
		}
	})
}
