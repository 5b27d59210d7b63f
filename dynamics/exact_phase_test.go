package dynamics

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"

	"mimverify/engine"
	"mimverify/theory"
)

// phaseCases are the weighted sets the phase tests run on: default (P = 64,
// four row blocks) with three term chunks per block and with one, both key
// modes, vit14 (P = 196, 13 blocks, the last of four rows) and a CRN
// population.
func phaseCases(t *testing.T) []struct {
	name string
	s    theory.Setting
	ws   *weightedSet
} {
	t.Helper()
	var out []struct {
		name string
		s    theory.Setting
		ws   *weightedSet
	}
	add := func(name string, s theory.Setting, ws *weightedSet) {
		out = append(out, struct {
			name string
			s    theory.Setting
			ws   *weightedSet
		}{name, s, ws})
	}
	for _, n := range []int{300, 40} {
		for _, keys := range []theory.KeyMode{theory.KeysUnmasked, theory.KeysAll} {
			s, _ := theory.Preset("default")
			s.Keys = keys
			add(fmt.Sprintf("default/%s/n=%d", keys, n), s, mustSample(t, &s, s.Samples(3, n)).ws)
		}
	}
	v, _ := theory.Preset("vit14")
	add("vit14/n=64", v, mustSample(t, &v, v.Samples(4, 64)).ws)
	g, _ := theory.Preset("grid4")
	pop, err := NewPopulationObjective(&g, PopulationOptions{Mode: PopulationCRN, CRNSamples: 512, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	add("grid4 population", g, pop.ws)
	return out
}

// TestPhasesMatchSingleSteps checks that a phase of n steps leaves (A, B)
// and the last gradient with the bits of n single fused steps, at
// GOMAXPROCS 1, 2 and 3, from a random state (σ = 0.7) and from one sharp
// enough that some queries take the direct log-sum-exp path (σ = 400).
func TestPhasesMatchSingleSteps(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, tc := range phaseCases(t) {
		for _, sigma := range []float64{0.7, 400} {
			c0 := randomCorr(&tc.s, rand.New(rand.NewPCG(9, uint64(sigma))), sigma)
			const n = 7 // more than phaseChunk, and not a multiple of it
			runtime.GOMAXPROCS(1)
			want, wantG := c0.Clone(), c0.Shape().New()
			for range n {
				if _, ok := tc.ws.step(want, wantG, tc.s.Eta, true); !ok {
					t.Fatalf("%s σ=%g: single steps not finite", tc.name, sigma)
				}
			}
			for _, procs := range []int{1, 2, 3} {
				runtime.GOMAXPROCS(procs)
				got, gotG := c0.Clone(), c0.Shape().New()
				if !tc.ws.descendSteps(got, gotG, tc.s.Eta, n) {
					t.Fatalf("%s σ=%g, %d procs: the phase met a non-finite value", tc.name, sigma, procs)
				}
				if i := firstBitDiff(got.Flat(), want.Flat(), false); i >= 0 {
					t.Errorf("%s σ=%g, %d procs: state entry %d is %v after the phase, %v after single steps", tc.name, sigma, procs, i, got.Flat()[i], want.Flat()[i])
				}
				if i := firstBitDiff(gotG.Flat(), wantG.Flat(), false); i >= 0 {
					t.Errorf("%s σ=%g, %d procs: gradient entry %d differs", tc.name, sigma, procs, i)
				}
			}
		}
		tc.ws.release()
	}
}

// TestDescentPhasesMatchSingleSteps runs the exact engine with phases and
// without (noPhases) over schedules whose gaps between records are short,
// long and longer than maxPhase: the trajectories must be equal to the bit.
func TestDescentPhasesMatchSingleSteps(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	s, _ := theory.Preset("vit14")
	p := engine.NewProblem(&s, s.Samples(5, 48), 5)
	for _, sch := range []engine.Schedule{engine.LogSpaced(200, 30), engine.Every(150, 70), {Steps: 9, Record: []int{0, 9}}} {
		noPhases = true
		want, err := Exact{}.Run(p, sch, engine.Observer{})
		noPhases = false
		if err != nil {
			t.Fatal(err)
		}
		steps := 0
		got, err := Exact{}.Run(p, sch, engine.Observer{Step: func(step, _ int) error {
			if step != steps+1 {
				return fmt.Errorf("observer saw step %d after %d", step, steps)
			}
			steps = step
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		if steps != sch.Steps {
			t.Errorf("observer saw %d steps of %d", steps, sch.Steps)
		}
		if d := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) })); d != "" {
			t.Errorf("schedule %v: phases change the trajectory (-single +phases):\n%.2000s", sch.Record, d)
		}
	}
}

// TestPhaseNonFinite poisons the rows of one row block (scores that
// overflow: a NaN loss): the phase must report it and leave (A, B) as it
// found it, though the other blocks have stepped.
func TestPhaseNonFinite(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	s, _ := theory.Preset("default")
	obj := mustSample(t, &s, s.Samples(1, 64))
	init := randomCorr(&s, rand.New(rand.NewPCG(1, 2)), 0.5)
	for p := 2 * rowBlock; p < 3*rowBlock; p++ {
		for k := range init.A {
			for j := range init.A[k][p] {
				init.A[k][p][j] = 1.7e308
			}
		}
		for q := range init.B[p] {
			init.B[p][q] = 1.7e308
		}
	}
	c, g := init.Clone(), init.Shape().New()
	if obj.ws.descendSteps(c, g, s.Eta, 10) {
		t.Fatal("a phase from overflowing scores reported every loss finite")
	}
	if i := firstBitDiff(c.Flat(), init.Flat(), false); i >= 0 {
		t.Errorf("entry %d is %v after the failed phase, %v before", i, c.Flat()[i], init.Flat()[i])
	}
}

// countingObjective is a stepper whose state counts its steps in B[0][0]
// (η = 1, gradient −1 there, 0 elsewhere) and whose loss is NaN at step bad:
// what Descent.Run does around a phase that fails can be followed step by
// step.
type countingObjective struct {
	bad    int
	phases int // phases taken (descendSteps that returned true)
}

func (o *countingObjective) LossGrad(c, grad theory.Correlations) (float64, float64) {
	for _, row := range grad.B {
		clear(row)
	}
	grad.B[0][0] = -1
	if int(c.B[0][0]) == o.bad {
		return math.NaN(), 0
	}
	return 1, 0
}

func (o *countingObjective) lossGradStep(c, grad theory.Correlations, eta float64) (float64, float64, bool) {
	l, se := o.LossGrad(c, grad)
	c.B[0][0] -= eta * grad.B[0][0]
	return l, se, true
}

func (o *countingObjective) descendSteps(c, grad theory.Correlations, eta float64, n int) bool {
	t0 := c.B[0][0]
	for range n {
		if l, _, _ := o.lossGradStep(c, grad, eta); math.IsNaN(l) {
			c.B[0][0] = t0
			return false
		}
	}
	o.phases++
	return true
}

func (o *countingObjective) phased() bool { return true }

// TestDescentPhaseNonFinite: a NaN loss inside a phase must stop the run
// with the error single steps give (the step and the quantity), the
// records before it kept; phases before it are taken.
func TestDescentPhaseNonFinite(t *testing.T) {
	s, _ := theory.Preset("grid4")
	s.Eta = 1
	sch := engine.Every(300, 100)
	var errs [2]error
	var trs [2]theory.Trajectory
	o := &countingObjective{bad: 237}
	for i, off := range []bool{true, false} {
		noPhases = off
		trs[i], errs[i] = descend(&s, o, sch, s.Shape().New(), engine.Observer{})
	}
	noPhases = false
	var nf *theory.NonFiniteError
	if !errors.As(errs[1], &nf) || nf.Step != 237 || nf.Quantity != "loss" || errs[0] == nil || errs[0].Error() != errs[1].Error() {
		t.Errorf("with phases: %v; without: %v; want a NaN loss at step 237 from both", errs[1], errs[0])
	}
	if len(trs[0].Records) != 3 || len(trs[1].Records) != 3 {
		t.Errorf("%d and %d records before step 237, want 3 (steps 0, 100, 200)", len(trs[0].Records), len(trs[1].Records))
	}
	if o.phases == 0 {
		t.Error("no phase was taken")
	}
}
