// Package engine is the one interface every engine of SPEC §3 implements,
// in the spirit of gonum's optimize: a Problem (the setting, the training
// set, the initial state), a Schedule (how many steps, which ones to
// record), an Observer (progress, per-record checks, stopping), and an
// Engine that runs a Problem on a Schedule into a theory.Trajectory.
//
// The engines live in the packages that own their mathematics: empirical
// (the full d×d model) and dynamics (the reduced recursions and flows). The
// judge keeps the registry that the CLI and the claims read
// (judge.Engines); docs/ARCHITECTURE.md shows how to add an engine.
package engine

import (
	"errors"
	"fmt"
	"strings"

	"mimverify/theory"
)

// ID names an engine: the name users pass to --engine, which every
// trajectory carries.
type ID string

// The engines of SPEC §3, by level.
const (
	Full       ID = "full"       // level 0: GD on the d×d key–query matrix Q
	Exact      ID = "exact"      // level 1: GD on (A, B), the same samples
	Population ID = "population" // level 2: GD on (A, B) under the population expectation
	Flow       ID = "flow"       // level 3: the gradient-flow ODE at τ = η·t
	Orbit      ID = "orbit"      // level 4: population GD on the setting's symmetric subspace
	MeanField  ID = "meanfield"  // level 5: the orbit dynamics with cell counts at their means
)

// Problem is what an engine runs: a setting, the training samples of the
// engines that train on a fixed set, the state at step 0, and the seed of
// whatever an engine draws itself (the full model's embedding basis and the
// out-of-span part of a Gaussian Q(0), SGD batches, common random numbers).
type Problem struct {
	Setting *theory.Setting
	// Samples is the fixed training set; engines under the population
	// expectation ignore it.
	Samples []theory.Sample
	// Init is (A, B) at step 0 (Setting.InitialCorrelations(Seed) in
	// every CLI run); the zero value means zero correlations. It is not
	// modified.
	Init theory.Correlations
	Seed uint64
}

// Start returns a copy of the initial state, checked against the setting's
// shape and for finite entries: the state an engine's step 0 holds.
func (p *Problem) Start(id ID) (theory.Correlations, error) {
	if p.Setting == nil {
		return theory.Correlations{}, errors.New(string(id) + ": no setting")
	}
	sh := p.Setting.Shape()
	if p.Init.A == nil && p.Init.B == nil {
		return sh.New(), nil
	}
	if err := sh.Check(p.Init); err != nil {
		return theory.Correlations{}, fmt.Errorf("%s: initial state: %w", id, err)
	}
	c := p.Init.Clone()
	if i, v, bad := FirstNonFinite(c.Flat()); bad {
		return theory.Correlations{}, &theory.NonFiniteError{Engine: string(id), Step: 0, Quantity: "initial " + sh.EntryName(i), Value: v}
	}
	return c, nil
}

// Observer watches a run. The zero value watches nothing.
type Observer struct {
	// Step, when not nil, is called after each step with (step, steps);
	// a non-nil error stops the run, which returns it (a time budget, an
	// interrupt). Progress displays hang here.
	Step func(step, steps int) error
	// Record, when not nil, is called with each record as it is made; a
	// non-nil error stops the run, which returns it (per-record checks).
	Record func(r *theory.Record) error
	// Discard passes records to Record without keeping them in the
	// trajectory, so that a run streaming its records to a file holds one
	// record in memory, not all of them.
	Discard bool
}

func (o Observer) step(t, steps int) error {
	if o.Step == nil {
		return nil
	}
	return o.Step(t, steps)
}

func (o Observer) record(r *theory.Record) error {
	if o.Record == nil {
		return nil
	}
	return o.Record(r)
}

// Engine runs a problem along a schedule. Run records the state at every
// step of the schedule (a gradient flow: at the times τ = η·t of those
// steps), stops with a *theory.NonFiniteError at the first NaN or ±Inf,
// and returns the records made so far with any error.
type Engine interface {
	ID() ID
	Run(p Problem, sch Schedule, obs Observer) (theory.Trajectory, error)
}

// Recorder collects the records of a run for an engine: it checks each
// state, appends it, and tells the observer. Engines share it so that
// record keeping and its checks exist once.
type Recorder struct {
	id  ID
	sch Schedule
	obs Observer
	tr  theory.Trajectory
	eta float64
}

// NewRecorder starts the trajectory of engine id on a schedule, after
// checking the schedule and the setting's step size.
func NewRecorder(id ID, s *theory.Setting, sch Schedule, obs Observer) (*Recorder, error) {
	if err := sch.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	if s == nil {
		return nil, errors.New(string(id) + ": no setting")
	}
	if !theory.Finite(s.Eta) || s.Eta <= 0 {
		return nil, fmt.Errorf("%s: eta = %g: must be a finite step size > 0", id, s.Eta)
	}
	if broken := s.Broken(); id != Full && len(broken) > 0 {
		return nil, &DepartureError{Engine: id, Broken: broken}
	}
	return &Recorder{id: id, sch: sch, obs: obs, tr: theory.Trajectory{Engine: string(id)}, eta: s.Eta}, nil
}

// Wants reports whether step t is recorded.
func (r *Recorder) Wants(t int) bool { return r.sch.Has(t) }

// Add records the state c at step t with its loss (a deep copy of c is
// kept), after checking that the loss is finite.
func (r *Recorder) Add(t int, loss, stderr float64, c theory.Correlations) error {
	if !theory.Finite(loss) {
		return &theory.NonFiniteError{Engine: string(r.id), Step: t, Quantity: "loss", Value: loss}
	}
	rec := theory.Record{Step: t, Time: r.eta * float64(t), Loss: loss, LossStdErr: stderr}
	if r.obs.Discard {
		rec.Correlations = c // the observer sees it now and keeps what it wants
		return r.obs.record(&rec)
	}
	rec.Correlations = c.Clone()
	r.tr.Records = append(r.tr.Records, rec)
	return r.obs.record(r.tr.Final())
}

// Stepped tells the observer that step t of the schedule is done.
func (r *Recorder) Stepped(t int) error { return r.obs.step(t, r.sch.Steps) }

// Trajectory returns the records so far.
func (r *Recorder) Trajectory() theory.Trajectory { return r.tr }

// NonFinite returns a *theory.NonFiniteError for the first non-finite entry
// of a flat vector of the setting's shape, named by what (e.g. "gradient of
// "), or nil when every entry is finite.
func NonFinite(id ID, sh theory.Shape, step int, what string, flat []float64) error {
	if i, v, bad := FirstNonFinite(flat); bad {
		return &theory.NonFiniteError{Engine: string(id), Step: step, Quantity: what + sh.EntryName(i), Value: v}
	}
	return nil
}

// NewProblem returns the problem every CLI run and the judge pose: the
// setting, its training samples, and the initial state drawn from seed
// (theory.Setting.InitialCorrelations).
func NewProblem(s *theory.Setting, samples []theory.Sample, seed uint64) Problem {
	return Problem{Setting: s, Samples: samples, Init: s.InitialCorrelations(seed), Seed: seed}
}

// FirstNonFinite returns the index of the first NaN or ±Inf of xs and its
// value; ok is false when every entry is finite.
func FirstNonFinite(xs []float64) (i int, v float64, ok bool) {
	for i, x := range xs {
		if !theory.Finite(x) {
			return i, x, true
		}
	}
	return -1, 0, false
}

// DepartureError is the refusal of a reduced engine to run a setting that
// departs from SPEC §1's assumptions (theory.Setting.Broken): only the full
// model can run it (SPEC §5, docs/ASSUMPTIONS.md). It is bad input.
type DepartureError struct {
	Engine ID
	Broken []string
}

func (e *DepartureError) Error() string {
	return fmt.Sprintf("%s: cannot run this setting: %s; only the full model (engine full) runs departures from the assumptions (docs/ASSUMPTIONS.md)",
		e.Engine, strings.Join(e.Broken, "; "))
}
