package dynamics

import (
	"errors"

	"mimverify/engine"
	"mimverify/internal/mutant"
	"mimverify/theory"
)

// Descent is gradient descent (A, B) ← (A, B) − η ∇L(A, B), η = the
// setting's step size, on an objective: the iteration behind the exact and
// population engines, and the one the judge runs on objectives of its own.
type Descent struct {
	// Name is the engine named in the trajectory and in errors.
	Name engine.ID
	// Objective is the loss descended on.
	Objective Objective
}

// ID returns d.Name.
func (d Descent) ID() engine.ID { return d.Name }

// Run descends from p.Init along the schedule. Each record holds the loss
// and its standard error at the recorded state (before that step's update)
// and a copy of (A, B). A NaN or ±Inf in the loss, in the gradient or in the
// updated state stops the run with a *theory.NonFiniteError naming the
// quantity (e.g. "gradient of A[0][3][1]"); the records up to that point are
// returned with it.
//
// Run does not validate the whole setting (the objective did): only η > 0
// finite and the shape of p.Init are checked, so that a setting with an
// out-of-range but finite η can probe divergence.
func (d Descent) Run(p engine.Problem, sch engine.Schedule, obs engine.Observer) (theory.Trajectory, error) {
	if d.Objective == nil {
		return theory.Trajectory{Engine: string(d.Name)}, errors.New(string(d.Name) + ": no objective")
	}
	rec, err := engine.NewRecorder(d.Name, p.Setting, sch, obs)
	if err != nil {
		return theory.Trajectory{Engine: string(d.Name)}, err
	}
	c, err := p.Start(d.Name)
	if err != nil {
		return rec.Trajectory(), err
	}
	sh, eta := p.Setting.Shape(), p.Setting.Eta
	if mutant.On(mutant.LearningRate) {
		eta *= 0.7
	}
	grad := sh.New()
	x, g := c.Flat(), grad.Flat()
	if r, ok := d.Objective.(releaser); ok {
		defer r.release()
	}
	st, canFuse := d.Objective.(stepper)
	ph, phases := d.Objective.(phaser)
	phases = phases && ph.phased() && !noPhases
	retry := 0 // steps before retry are taken one at a time
	for t := 0; ; t++ {
		if phases && t >= retry {
			taken, single, err := phase(ph, rec, c, grad, eta, t, sch.Steps)
			if err != nil {
				return rec.Trajectory(), err
			}
			if taken > 0 {
				t += taken - 1
				continue
			}
			retry = t + single
		}
		// The update is fused into the objective's evaluation unless the
		// state before it is to be recorded or there is no next step.
		fused := canFuse && !rec.Wants(t) && t != sch.Steps
		var loss, se float64
		finite := true
		if fused {
			loss, se, finite = st.lossGradStep(c, grad, eta)
		} else {
			loss, se = d.Objective.LossGrad(c, grad)
		}
		if rec.Wants(t) {
			if err := rec.Add(t, loss, se, c); err != nil {
				return rec.Trajectory(), err
			}
		} else if err := finiteLoss(d.Name, t, loss); err != nil {
			return rec.Trajectory(), err
		}
		if t == sch.Steps {
			return rec.Trajectory(), nil
		}
		// After a fused step, a non-finite gradient entry shows in the
		// updated state (finite is false); it is named first, as unfused.
		if !fused || !finite {
			if err := engine.NonFinite(d.Name, sh, t, "gradient of ", g); err != nil {
				return rec.Trajectory(), err
			}
		}
		if !fused {
			for i, gi := range g {
				x[i] -= eta * gi
			}
		}
		if !fused || !finite {
			if err := engine.NonFinite(d.Name, sh, t+1, "", x); err != nil {
				return rec.Trajectory(), err
			}
		}
		if err := rec.Stepped(t + 1); err != nil {
			return rec.Trajectory(), err
		}
	}
}

// A stepper is an objective whose evaluation can apply the descent step
// itself: lossGradStep is LossGrad followed by c ← c − η·grad, each row
// block of (A, B) updated by the kernel task that computed its gradient, so
// that a step is one parallel phase (docs/PERFORMANCE.md, issue 23), with
// the same bits as the update of Run. finite reports whether the updated c
// is finite; when it is not, Run scans grad, then c, for the entry to name.
type stepper interface {
	lossGradStep(c, grad theory.Correlations, eta float64) (loss, stderr float64, finite bool)
}

// A phaser is an objective that can take several fused steps, none of them
// recorded, as one phase (exact_phase.go: no barrier between the steps,
// the same bits as one at a time). descendSteps takes n steps and reports
// whether every loss and state on the way was finite; when not, c is as it
// was at the call. phased reports whether phases pay at the current
// GOMAXPROCS.
type phaser interface {
	descendSteps(c, grad theory.Correlations, eta float64, n int) bool
	phased() bool
}

// noPhases turns phases off (TestPhasesMatchSingleSteps compares the two).
var noPhases bool

// phase takes the steps from t on as one phase when at least two can be
// (phaseLen), telling the observer of each, and returns how many it took;
// when it took none, single is how many steps from t the caller must take
// one at a time (1, or the phase's length when the phase met a non-finite
// value and left c at step t: single steps find and name it).
func phase(ph phaser, rec *engine.Recorder, c, grad theory.Correlations, eta float64, t, steps int) (taken, single int, err error) {
	n := phaseLen(rec, t, steps)
	if n < 2 {
		return 0, 1, nil
	}
	if !ph.descendSteps(c, grad, eta, n) {
		return 0, n, nil
	}
	for i := 1; i <= n; i++ {
		if err := rec.Stepped(t + i); err != nil {
			return n, 0, err
		}
	}
	return n, 0, nil
}

// phaseLen returns how many steps from t on can be taken as one phase:
// none recorded, none the last, at most maxPhase.
func phaseLen(rec *engine.Recorder, t, steps int) int {
	n := 0
	for n < maxPhase && t+n < steps && !rec.Wants(t+n) {
		n++
	}
	return n
}

// A releaser is an objective with helper goroutines, stopped when Run
// returns (a later evaluation starts them again).
type releaser interface{ release() }

func finiteLoss(id engine.ID, t int, loss float64) error {
	if !theory.Finite(loss) {
		return &theory.NonFiniteError{Engine: string(id), Step: t, Quantity: "loss", Value: loss}
	}
	return nil
}

// Exact is level 1 of SPEC §3: gradient descent on (A, B) over the
// problem's fixed samples, exactly the iteration of the full model from
// Q(0) = 0 (docs/DYNAMICS.md §5).
type Exact struct{}

// ID returns engine.Exact.
func (Exact) ID() engine.ID { return engine.Exact }

// Run descends on the empirical loss of p.Samples.
func (Exact) Run(p engine.Problem, sch engine.Schedule, obs engine.Observer) (theory.Trajectory, error) {
	obj, err := NewSampleObjective(p.Setting, p.Samples)
	if err != nil {
		return theory.Trajectory{Engine: string(engine.Exact)}, err
	}
	return Descent{Name: engine.Exact, Objective: obj}.Run(p, sch, obs)
}

// Population is level 2 of SPEC §3: gradient descent on (A, B) under the
// population expectation (exact enumeration, or common random numbers
// drawn from the problem's seed). The zero value is the defaults.
type Population struct {
	Options PopulationOptions
	// Used is set by Run: the objective it built (its mode and terms).
	Used *PopulationObjective
}

// ID returns engine.Population.
func (*Population) ID() engine.ID { return engine.Population }

// Run descends on the population loss; Options.Seed is replaced by p.Seed.
func (e *Population) Run(p engine.Problem, sch engine.Schedule, obs engine.Observer) (theory.Trajectory, error) {
	opt := e.Options
	opt.Seed = p.Seed
	obj, err := NewPopulationObjective(p.Setting, opt)
	if err != nil {
		return theory.Trajectory{Engine: string(engine.Population)}, err
	}
	e.Used = obj
	return Descent{Name: engine.Population, Objective: obj}.Run(p, sch, obs)
}
