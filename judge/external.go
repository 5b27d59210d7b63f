package judge

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"mimverify/engine"
	"mimverify/theory"
)

// Judging a run that mimverify did not produce (check --trajectory,
// docs/FORMATS.md "Judging an external run"): the trajectory's records are
// measured on its training samples exactly as Check measures its own main
// run, the trajectory claims C2–C7 and the user claims are evaluated on
// them, and the reduced ODE predicts the same quantities at the run's own
// recorded steps (the sharp bands). C1 and C8 compare mimverify's own
// engines with each other and are not asserted, with that reason.

// External names the source of an external trajectory in a report.
const External engine.ID = "external"

// needsEngines are the claims an external run cannot assert, and why.
var needsEngines = map[string]string{
	"C1": "needs mimverify's engines: it compares the full model with the exact recursion from the same samples; not asserted on an external trajectory",
	"C8": "needs mimverify's engines: it compares adjacent levels of SPEC §3 (GD, flow, population); not asserted on an external trajectory",
}

// CheckTrajectory judges an external trajectory tr of the setting s,
// trained by gradient descent on samples. Its records must start at step
// 0, have strictly increasing steps and the setting's shape, and be finite;
// the samples must be the setting's. A problem with them is ErrOptions
// (bad input). opt's Samples, Train, WithFull and Main are set from the
// trajectory; MaxSteps is, as in Check, the step budget of C3's and C5's
// regime.
func CheckTrajectory(s theory.Setting, tr theory.Trajectory, samples []theory.Sample, opt Options) (*Report, error) {
	start := time.Now()
	if err := checkExternal(&s, &tr, samples); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOptions, err)
	}
	last := tr.Final().Step
	opt.Train, opt.Samples, opt.WithFull, opt.Main = samples, len(samples), false, engine.Exact
	if opt.Held != nil {
		opt.Eval = len(opt.Held)
	}
	opt.defaults()
	if err := opt.validate(); err != nil {
		return nil, err
	}
	r := newRun(&s, opt)
	r.problem.Init = tr.Records[0].Correlations
	measures := measureAll(r.s, &tr, samples, opt.Epsilon, opt.Delta)
	held := MeasureAttention(r.s, tr.Final().Correlations, r.eval, opt.Epsilon, opt.Delta, false)
	r.finishMain(External, &tr, measures, &held)
	r.ev.Train = samples
	r.engines = []engine.ID{External}
	if r.needsSharp() {
		r.stage("reduced ODE (orbit engine) at the run's %d recorded steps: the sharp predictions", len(tr.Records))
		if r.ev.Sharp = r.gatherSharp(); r.ev.Sharp.Note == "" {
			r.engines = append(r.engines, engine.Orbit)
		}
	}
	rep := &Report{Format: ReportFormat, Setting: s, Summary: map[string]int{}}
	for i := range r.claims {
		c := &r.claims[i]
		res := externalResult(c, r.ev)
		res.Required = slices.Contains(opt.Require, res.ID)
		rep.add(res)
	}
	judgeUserClaims(rep, opt.UserClaims, r.ev)
	rep.Series, rep.Events = figures(&s, r.ev, opt.Epsilon)
	rep.Maps = attentionMaps(&s, r.ev.Main)
	rep.Run = RunInfo{Engines: r.engines, Steps: last, Samples: len(samples), Eval: opt.Eval, Seed: opt.Seed,
		Epsilon: Float(opt.Epsilon), Delta: Float(opt.Delta), Seconds: Float(time.Since(start).Seconds())}
	rep.Source = theory.Source(&s)
	rep.Decide()
	return rep, nil
}

// externalResult evaluates a built-in claim on an external run: C1 and
// C8 are not asserted, the others as Check does, read off the run.
func externalResult(c *theory.Claim, ev *Evidence) ClaimResult {
	if why, ok := needsEngines[c.ID]; ok {
		res := notAsserted(claimHead(c, []engine.ID{External}), why)
		res.Sharp = noSharp(sharpNotes[c.ID])
		return res
	}
	res := Evaluate(c, ev)
	res.Engines = []engine.ID{External}
	return res
}

// checkExternal checks an external trajectory and its samples against the
// setting, naming the first problem of each kind.
func checkExternal(s *theory.Setting, tr *theory.Trajectory, samples []theory.Sample) error {
	if err := s.Validate(); err != nil {
		return err
	}
	var errs []error
	switch {
	case len(tr.Records) == 0:
		return errors.New("trajectory: no records")
	case tr.Records[0].Step != 0:
		errs = append(errs, fmt.Errorf("trajectory: records[0].step = %d: must be 0 (the initial state, where the reduced ODE starts)", tr.Records[0].Step))
	}
	shape := s.Shape()
	for i := range tr.Records {
		r := &tr.Records[i]
		if i > 0 && r.Step <= tr.Records[i-1].Step {
			errs = append(errs, fmt.Errorf("trajectory: records[%d].step = %d: must be greater than records[%d].step = %d", i, r.Step, i-1, tr.Records[i-1].Step))
			break
		}
		if err := shape.Check(r.Correlations); err != nil {
			errs = append(errs, fmt.Errorf("trajectory: records[%d] (step %d): %w", i, r.Step, err))
			break
		}
		if j := slices.IndexFunc(r.Flat(), func(x float64) bool { return !theory.Finite(x) }); j >= 0 || !theory.Finite(r.Loss) {
			errs = append(errs, fmt.Errorf("trajectory: records[%d] (step %d): a non-finite value (loss %v)", i, r.Step, r.Loss))
			break
		}
	}
	if len(samples) == 0 {
		errs = append(errs, errors.New("samples: none given: the trajectory is judged on the samples it was trained on"))
	}
	for i, smp := range samples {
		if err := s.CheckSample(smp); err != nil {
			errs = append(errs, fmt.Errorf("samples[%d]: %w", i, err))
			break
		}
	}
	return errors.Join(errs...)
}
