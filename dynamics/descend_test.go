package dynamics

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats"

	"mimverify/engine"
	"mimverify/theory"
)

// TestDescendDecreasesGrid4: on the grid4 preset with its η and 256
// samples, the empirical loss is non-increasing over 50 steps. By the
// descent lemma, L(x − η∇L) ≤ L(x) − η(1 − ηλ/2)‖∇L‖² when the Hessian's
// largest eigenvalue along the step is ≤ λ; monotone decrease therefore
// holds as long as η < 2/λ, which the test confirms for the preset η. A
// violation would mean either a wrong gradient (the step is not a descent
// direction) or a step size beyond the stability limit.
func TestDescendDecreasesGrid4(t *testing.T) {
	s, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	obj := mustSample(t, &s, s.Samples(1, 256))
	calls := 0
	traj, err := descend(&s, obj, engine.Every(50, 1), theory.Correlations{}, engine.Observer{Step: func(step, steps int) error {
		calls++
		if step != calls || steps != 50 {
			t.Errorf("progress(%d, %d) at call %d", step, steps, calls)
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 50 || len(traj.Records) != 51 || traj.Engine != "exact" {
		t.Fatalf("%d progress calls, %d records, engine %q", calls, len(traj.Records), traj.Engine)
	}
	for i := 1; i < len(traj.Records); i++ {
		if traj.Records[i].Loss > traj.Records[i-1].Loss {
			t.Errorf("loss increased at step %d: %.15g → %.15g", i, traj.Records[i-1].Loss, traj.Records[i].Loss)
		}
	}
	first, last := traj.Records[0].Loss, traj.Final().Loss
	if !(last < 0.9*first) {
		t.Errorf("loss went from %g to %g in 50 steps: expected a clear decrease", first, last)
	}
	// The state of each record is that step's state: re-evaluating gives
	// its loss.
	r := traj.Records[17]
	if l := lossAt(obj, r.Correlations); l != r.Loss {
		t.Errorf("record 17: stored loss %.17g, re-evaluated %.17g", r.Loss, l)
	}
}

// TestDescendRecords checks the recorded steps, times, deep copies and one
// update against (A, B) − η∇ computed here.
func TestDescendRecords(t *testing.T) {
	s, _ := theory.Preset("grid4")
	obj := mustSample(t, &s, s.Samples(2, 16))
	init := randomCorr(&s, rand.New(rand.NewPCG(2, 3)), 0.3)
	keep := init.Clone()
	traj, err := descend(&s, obj, engine.Every(7, 3), init, engine.Observer{})
	if err != nil {
		t.Fatal(err)
	}
	var steps []int
	for _, r := range traj.Records {
		steps = append(steps, r.Step)
		if r.Time != s.Eta*float64(r.Step) {
			t.Errorf("step %d: time %g, want η·step = %g", r.Step, r.Time, s.Eta*float64(r.Step))
		}
	}
	if len(steps) != 4 || steps[0] != 0 || steps[1] != 3 || steps[2] != 6 || steps[3] != 7 {
		t.Errorf("recorded steps %v, want [0 3 6 7]", steps)
	}
	if init.MaxAbsDiff(keep) != 0 {
		t.Error("Run modified Problem.Init")
	}
	if traj.Records[0].MaxAbsDiff(keep) != 0 {
		t.Error("record 0 is not the initial state")
	}
	// One step by hand from record 6 must give record 7.
	g := s.Shape().New()
	loss6, _ := obj.LossGrad(traj.Records[2].Correlations, g)
	if loss6 != traj.Records[2].Loss {
		t.Errorf("record 6 loss %g, re-evaluated %g", traj.Records[2].Loss, loss6)
	}
	want := traj.Records[2].Clone()
	floats.AddScaled(want.Flat(), -s.Eta, g.Flat()) // x − ηg: the same bits as x −= η·g
	if d := want.MaxAbsDiff(traj.Records[3].Correlations); d != 0 {
		t.Errorf("record 7 differs from a hand step from record 6 by %g", d)
	}
	// Records are deep copies: they differ from each other.
	if traj.Records[0].MaxAbsDiff(traj.Records[1].Correlations) == 0 {
		t.Error("records 0 and 3 share their state")
	}
}

// TestDescendNonFinite: a state whose scores overflow (z·A + B = +Inf) gives
// a NaN loss, and Descend must stop with a *theory.NonFiniteError on "loss".
//
// Note: an absurd step size alone (η = 1e300, even 1e308, from Q = 0 or a
// N(0, 1) start) does NOT produce a NaN here. The softmax is evaluated by
// log-sum-exp, so the loss stays bounded; after one huge step the attention
// is one-hot in floating point, where the gradient π(r − r̄) is exactly 0, and
// the run freezes at a finite loss. Non-finite values need an overflow of the
// scores themselves, as built here, or of the update (TestDescendOverflow).
func TestDescendNonFinite(t *testing.T) {
	s, _ := theory.Preset("grid4")
	obj := mustSample(t, &s, s.Samples(1, 32))
	s.Eta = 1e300
	init := s.Shape().New()
	for k := range init.A {
		for p := range init.A[k] {
			for j := range init.A[k][p] {
				init.A[k][p][j] = 1.7e308
			}
		}
	}
	for p := range init.B {
		for q := range init.B[p] {
			init.B[p][q] = 1.7e308
		}
	}
	traj, err := descend(&s, obj, engine.Every(20, 1), init, engine.Observer{})
	var nf *theory.NonFiniteError
	if !errors.As(err, &nf) {
		t.Fatalf("error %v, want *theory.NonFiniteError", err)
	}
	if nf.Engine != "exact" || nf.Step != 0 || !math.IsNaN(nf.Value) || nf.Quantity != "loss" {
		t.Errorf("NonFiniteError %+v, want NaN loss at step 0", *nf)
	}
	if len(traj.Records) != 0 {
		t.Errorf("%d records returned before a failure at step 0", len(traj.Records))
	}
	t.Log(err)
}

// hugeObjective returns a constant huge gradient, so that the update
// overflows to ±Inf.
type hugeObjective struct{}

func (hugeObjective) LossGrad(c, grad theory.Correlations) (float64, float64) {
	for k := range grad.A {
		for p := range grad.A[k] {
			for j := range grad.A[k][p] {
				grad.A[k][p][j] = 1e300
			}
		}
	}
	for p := range grad.B {
		for q := range grad.B[p] {
			grad.B[p][q] = 1e300
		}
	}
	return 1, 0
}

func TestDescendOverflow(t *testing.T) {
	s, _ := theory.Preset("grid4")
	s.Eta = 1e300
	traj, err := descend(&s, hugeObjective{}, engine.Every(3, 1), theory.Correlations{}, engine.Observer{})
	var nf *theory.NonFiniteError
	if !errors.As(err, &nf) || nf.Quantity != "A[0][0][0]" || nf.Step != 1 || !math.IsInf(nf.Value, -1) {
		t.Errorf("error %v, want a NonFiniteError on A[0][0][0] = -Inf at step 1", err)
	}
	if len(traj.Records) != 1 {
		t.Errorf("%d records before the overflow, want 1 (step 0)", len(traj.Records))
	}
}

// nanObjective returns a NaN in one gradient entry.
type nanObjective struct{}

func (nanObjective) LossGrad(c, grad theory.Correlations) (float64, float64) {
	for k := range grad.A {
		for p := range grad.A[k] {
			clear(grad.A[k][p])
		}
	}
	for p := range grad.B {
		clear(grad.B[p])
	}
	grad.A[0][2][1] = math.NaN()
	return 1, 0
}

func TestDescendNaNGradient(t *testing.T) {
	s, _ := theory.Preset("grid4")
	_, err := descend(&s, nanObjective{}, engine.Every(3, 1), theory.Correlations{}, engine.Observer{})
	var nf *theory.NonFiniteError
	if !errors.As(err, &nf) || nf.Quantity != "gradient of A[0][2][1]" || nf.Step != 0 {
		t.Errorf("error %v, want a NonFiniteError on gradient of A[0][2][1] at step 0", err)
	}
}

func TestDescendOptionErrors(t *testing.T) {
	s, _ := theory.Preset("grid4")
	obj := nanObjective{}
	cases := []struct {
		sch  engine.Schedule
		init theory.Correlations
	}{
		{engine.Schedule{Steps: -1, Record: []int{0}}, theory.Correlations{}},
		{engine.Schedule{Steps: 3, Record: []int{0, 2, 2, 3}}, theory.Correlations{}},
		{engine.Schedule{Steps: 3, Record: []int{0, 2}}, theory.Correlations{}},
		{engine.Every(3, 1), theory.Correlations{B: [][]float64{{1}}}},
	}
	for _, c := range cases {
		if _, err := descend(&s, obj, c.sch, c.init, engine.Observer{}); err == nil {
			t.Errorf("schedule %+v, init %+v accepted", c.sch, c.init)
		}
	}
	s.Eta = math.NaN()
	if _, err := descend(&s, obj, engine.Every(1, 1), theory.Correlations{}, engine.Observer{}); err == nil {
		t.Error("η = NaN accepted")
	}
}
