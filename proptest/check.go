package proptest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"mimverify/dynamics"
	"mimverify/empirical"
	"mimverify/theory"
)

// CheckOptions configures Check. The zero value is the defaults.
type CheckOptions struct {
	// Claims selects claims by id ("C3", "C4"); empty means all.
	Claims []string
	// Epsilon and Delta are the ε and δ of the area-wide claim C3: a
	// fraction ≥ 1−δ of the reconstructable masked queries must put
	// attention ≥ 1−ε on their own area. Defaults 0.1 and 0.1.
	Epsilon, Delta float64
	// Samples is the size n of the training sample set (default 256), on
	// which the claims are measured; Eval the number of held-out samples on
	// which the final attention's generalisation is reported (default 256).
	Samples, Eval int
	// Seed seeds the samples, the basis and the initialisation.
	Seed uint64
	// MaxSteps caps the main run (default 20000). The run is long enough to
	// pass the predicted T*(ε) by 25% when the cap allows.
	MaxSteps int
	// WithFull runs the full d×d model for the whole main run and also
	// measures the claims on it; without it the full model runs only the
	// T₁ = 50 steps of the exact-reduction claim C1.
	WithFull bool
	// Objective, when not nil, replaces the exact engine's objective
	// (dynamics.NewSampleObjective): the hook through which the tests inject
	// faults into an engine to show that the claims catch them.
	Objective func(s *theory.Setting, samples []theory.Sample) (dynamics.Objective, error)
	// Progress, when not nil, is told of each stage.
	Progress func(stage string)
}

func (o *CheckOptions) defaults() {
	if o.Epsilon == 0 {
		o.Epsilon = 0.1
	}
	if o.Delta == 0 {
		o.Delta = 0.1
	}
	if o.Samples == 0 {
		o.Samples = 256
	}
	if o.Eval == 0 {
		o.Eval = 256
	}
	if o.MaxSteps == 0 {
		o.MaxSteps = 20000
	}
	if o.Objective == nil {
		o.Objective = dynamics.NewSampleObjective
	}
}

func (o *CheckOptions) validate() error {
	var errs []error
	if !(o.Epsilon > 0 && o.Epsilon < 0.5) {
		errs = append(errs, fmt.Errorf("epsilon = %g: must be in (0, 0.5)", o.Epsilon))
	}
	if !(o.Delta > 0 && o.Delta < 1) {
		errs = append(errs, fmt.Errorf("delta = %g: must be in (0, 1)", o.Delta))
	}
	if o.Samples < 1 || o.Samples > 1<<20 {
		errs = append(errs, fmt.Errorf("samples = %d: must be in [1, %d]", o.Samples, 1<<20))
	}
	if o.Eval < 1 || o.Eval > 1<<16 {
		errs = append(errs, fmt.Errorf("eval samples = %d: must be in [1, %d]", o.Eval, 1<<16))
	}
	if o.MaxSteps < 1 || o.MaxSteps > 10_000_000 {
		errs = append(errs, fmt.Errorf("max steps = %d: must be in [1, 10000000]", o.MaxSteps))
	}
	known := map[string]bool{}
	for _, c := range theory.Claims() {
		known[c.ID] = true
	}
	for _, id := range o.Claims {
		if !known[id] {
			errs = append(errs, fmt.Errorf("claim %q: must be one of C1…C8", id))
		}
	}
	return errors.Join(errs...)
}

// c1Steps is T₁, the length of the full-vs-exact comparison of claim C1.
const c1Steps = 50

// Check runs the engines the selected claims need on the setting, evaluates
// the claims, and returns the report. An error means bad input or an engine
// failure (for example a NaN met in training), not a failing claim: those
// are in the report (Report.Failed).
func Check(s theory.Setting, opt CheckOptions) (*theory.Report, error) {
	start := time.Now()
	opt.defaults()
	if err := opt.validate(); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	stage := func(name string) {
		if opt.Progress != nil {
			opt.Progress(name)
		}
	}
	claims := theory.Claims()
	if len(opt.Claims) > 0 {
		claims = slices.DeleteFunc(claims, func(c theory.Claim) bool { return !slices.Contains(opt.Claims, c.ID) })
	}
	needs := func(engine string) bool {
		for _, c := range claims {
			if slices.Contains(c.Engines, engine) {
				return true
			}
		}
		return false
	}

	env := theory.RateEnv(&s)
	env["ε"], env["δ"] = opt.Epsilon, opt.Delta
	steps := opt.MaxSteps
	if tstar, err := theory.AreaWideTime().Eval(env); err == nil && tstar > 0 && !math.IsInf(tstar, 0) {
		steps = min(opt.MaxSteps, max(200, int(math.Ceil(1.25*tstar))))
	}
	schedule := theory.LogSchedule(steps, 200)
	env["t"], env["T₁"] = float64(steps), float64(min(c1Steps, steps))
	env["step budget"] = float64(opt.MaxSteps)

	samples := theory.Samples(&s, opt.Seed, opt.Samples)
	eval := theory.Samples(&s, opt.Seed+1<<32, opt.Eval)
	init := theory.InitialCorrelations(&s, opt.Seed)
	ev := &theory.Evidence{Setting: &s, Env: env}
	var engines []string

	stage(fmt.Sprintf("exact recursion: %d steps on %d samples", steps, opt.Samples))
	obj, err := opt.Objective(&s, samples)
	if err != nil {
		return nil, err
	}
	main, err := dynamics.Descend(&s, obj, dynamics.DescendOptions{Steps: steps, RecordSteps: schedule, Init: init, Engine: "exact"})
	if err != nil {
		return nil, err
	}
	engines = append(engines, "exact")
	ev.Main = &main
	stage("measuring attention")
	// The claims are measured on the distribution GD descends on — the
	// training samples — to which the derivations of docs/THEORY.md apply
	// (GD on n samples is GD on their empirical distribution); the
	// held-out samples measure how the learnt attention generalises.
	ev.Measures = measureAll(&s, &main, samples, opt.Epsilon, opt.Delta)
	held := theory.MeasureAttention(&s, main.Final().Correlations, eval, opt.Epsilon, opt.Delta, false)
	ev.HeldOut = &held

	if needs("full") || opt.WithFull {
		t1 := min(c1Steps, steps)
		stage(fmt.Sprintf("full model: %d steps on %d samples (C1)", t1, opt.Samples))
		full, oos, err := runFull(&s, samples, opt.Seed, t1, nil)
		if err != nil {
			return nil, err
		}
		fe, err := dynamics.Descend(&s, obj, dynamics.DescendOptions{Steps: t1, RecordEvery: 1, Init: init, Engine: "exact"})
		if err != nil {
			return nil, err
		}
		ev.Full, ev.FullOutOfSpan, ev.FullExact = &full, oos, &fe
		engines = append(engines, "full")
	}
	if needs("flow") || needs("population") {
		stage("agreement between levels (population, flow)")
		checks, err := agreementChecks(&s, samples, init, opt.Seed)
		if err != nil {
			return nil, err
		}
		ev.Agreement = checks
		engines = append(engines, "population", "flow")
	}

	rep := &theory.Report{Format: "mimverify.check/v1", Setting: s, Summary: map[string]int{}}
	for i := range claims {
		r := claims[i].Evaluate(ev)
		rep.Results = append(rep.Results, r)
		rep.Summary[string(r.Verdict)]++
	}
	if opt.WithFull {
		stage(fmt.Sprintf("full model: %d steps on %d samples", steps, opt.Samples))
		full, _, err := runFull(&s, samples, opt.Seed, steps, schedule)
		if err != nil {
			return nil, err
		}
		fev := *ev
		fev.Main = &full
		fev.Measures = measureAll(&s, &full, samples, opt.Epsilon, opt.Delta)
		fheld := theory.MeasureAttention(&s, full.Final().Correlations, eval, opt.Epsilon, opt.Delta, false)
		fev.HeldOut = &fheld
		for i := range claims {
			// The claims on the main trajectory alone (C2–C7), measured
			// again on the full model's.
			if slices.Equal(claims[i].Engines, []string{"exact"}) {
				r := claims[i].Evaluate(&fev)
				r.ID += "/full"
				r.Engines = []string{"full"}
				rep.Results = append(rep.Results, r)
				rep.Summary[string(r.Verdict)]++
			}
		}
	}
	rep.Series, rep.Events = figures(&s, ev, opt.Epsilon)
	rep.Run = theory.RunInfo{Engines: engines, Steps: steps, Samples: opt.Samples, Eval: opt.Eval, Seed: opt.Seed,
		Epsilon: opt.Epsilon, Delta: opt.Delta, Seconds: time.Since(start).Seconds()}
	return rep, nil
}

// runFull trains the full model and returns its trajectory and the largest
// ratio of Q's out-of-span norm to its rounding bound 4·d·ε·Σ_t‖ΔQ_t‖_F
// (docs/AGREEMENT.md §1; exact when every step is recorded).
func runFull(s *theory.Setting, samples []theory.Sample, seed uint64, steps int, schedule []int) (theory.Trajectory, float64, error) {
	var prev *mat.Dense
	moved, worst := 0.0, 0.0
	tr, err := empirical.Train(s, empirical.Options{Steps: steps, RecordEvery: 1, RecordSteps: schedule, Seed: seed, Samples: samples,
		Observe: func(step int, q *mat.Dense, e *empirical.Embedding) {
			if prev != nil {
				var dq mat.Dense
				dq.Sub(q, prev)
				moved += mat.Norm(&dq, 2)
			}
			prev = mat.DenseCopyOf(q)
			_, out := e.OutOfSpan(q)
			bound := 4 * float64(e.D) * 0x1p-52 * moved
			if out > 0 {
				worst = math.Max(worst, out/math.Max(bound, math.SmallestNonzeroFloat64))
			}
		}})
	return tr, worst, err
}

func measureAll(s *theory.Setting, tr *theory.Trajectory, eval []theory.Sample, eps, delta float64) []theory.Measure {
	ms := make([]theory.Measure, len(tr.Records))
	for i, r := range tr.Records {
		// The pairwise total variation is O(|M|²·P) per image: measured at
		// the last record only, where the diversity claim reads it.
		ms[i] = theory.Measure{Step: r.Step, Loss: r.Loss,
			Attention: theory.MeasureAttention(s, r.Correlations, eval, eps, delta, i == len(tr.Records)-1),
			FP:        theory.SummarizeFP(s, r.Correlations)}
	}
	return ms
}

// figures returns the curves and phase events the reports draw.
func figures(s *theory.Setting, ev *theory.Evidence, eps float64) ([]theory.Series, []theory.Event) {
	n := len(ev.Measures)
	x := make([]float64, n)
	col := func(f func(m *theory.Measure) float64) []float64 {
		y := make([]float64, n)
		for i := range ev.Measures {
			y[i] = f(&ev.Measures[i])
		}
		return y
	}
	for i, m := range ev.Measures {
		x[i] = float64(m.Step)
	}
	// predicted evaluates a prediction of theory/rates.go along the steps.
	predicted := func(e theory.Expr) []float64 {
		env := theory.Env{}
		for k, v := range ev.Env {
			env[k] = v
		}
		y := make([]float64, n)
		for i := range x {
			env["t"] = x[i]
			y[i] = e.MustEval(env)
		}
		return y
	}
	series := []theory.Series{
		{Figure: "loss", Name: "training loss", X: x, Y: col(func(m *theory.Measure) float64 { return m.Loss })},
		{Figure: "loss", Name: "reconstructable part", X: x, Y: col(func(m *theory.Measure) float64 { return m.Attention.ReconstructableLoss })},
		{Figure: "loss", Name: "irreducible part", X: x, Y: col(func(m *theory.Measure) float64 { return m.Attention.IrreducibleLoss })},
		{Figure: "loss", Name: "predicted envelope ℒ*(t) (C2)", X: x, Y: predicted(theory.LossEnvelope())},
		{Figure: "attention mass on own area", Name: "mean", X: x, Y: col(func(m *theory.Measure) float64 { return m.Attention.OwnMean })},
		{Figure: "attention mass on own area", Name: "δ-quantile", X: x, Y: col(func(m *theory.Measure) float64 { return m.Attention.OwnQuantile })},
		{Figure: "attention mass on own area", Name: "fraction of queries ≥ 1 − ε", X: x, Y: col(func(m *theory.Measure) float64 { return m.Attention.OwnReached })},
		{Figure: "attention mass on own area", Name: "on the other areas (mean)", X: x, Y: col(offAreaMass)},
		{Figure: "attention mass on own area", Name: "1 − ε", X: x, Y: col(func(*theory.Measure) float64 { return 1 - eps })},
		{Figure: "1 − attention mass on own area", Name: "1 − mean (measured)", X: x, Y: col(func(m *theory.Measure) float64 { return 1 - m.Attention.OwnMean })},
		{Figure: "1 − attention mass on own area", Name: "predicted ε*(t) (C7)", X: x, Y: predicted(theory.OwnGapAt())},
		{Figure: "FP correlations", Name: "own area (mean)", X: x, Y: col(func(m *theory.Measure) float64 { return m.FP.OwnMean })},
		{Figure: "FP correlations", Name: "other areas (mean)", X: x, Y: col(func(m *theory.Measure) float64 { return m.FP.OffMean })},
		{Figure: "PP correlations", Name: "max |B|", X: x, Y: col(func(m *theory.Measure) float64 { return m.FP.MaxAbsB })},
		{Figure: "PP correlations", Name: "FP share of the logit gap (C4)", X: x, Y: col(func(m *theory.Measure) float64 { return m.Attention.FPShare })},
	}
	if g, ok := theory.GlobalArea(s); ok {
		series = append(series,
			theory.Series{Figure: "local queries (global layout)", Name: "mass on the global area", X: x,
				Y: col(func(m *theory.Measure) float64 { gm, _ := theory.LocalMass(m, g); return gm })},
			theory.Series{Figure: "local queries (global layout)", Name: "mass on own area", X: x,
				Y: col(func(m *theory.Measure) float64 { _, om := theory.LocalMass(m, g); return om })})
	}
	// The records are log-spaced: every figure has a log step axis, and the
	// decaying quantities a log y axis, where the rates are straight lines.
	for i := range series {
		series[i].LogX = true
		switch series[i].Figure {
		case "loss", "1 − attention mass on own area":
			series[i].LogY = true
		}
	}
	events := theory.PhaseEvents(s, ev.Measures, eps)
	for i := range events {
		events[i].Time = s.Eta * float64(events[i].Step)
	}
	return series, events
}

// AssertClaims runs Check on the setting and reports every failing claim as
// a test error, with its measured and predicted values; claims outside
// their regime are logged. It is the Go API for users' own tests:
//
//	func TestMySetting(t *testing.T) {
//		s, _ := theory.Grid(6, theory.Blocks(3), theory.Rows(2))
//		proptest.AssertClaims(t, s, proptest.CheckOptions{Claims: []string{"C2", "C3"}})
//	}
func AssertClaims(t testing.TB, s theory.Setting, opt CheckOptions) *theory.Report {
	t.Helper()
	rep, err := Check(s, opt)
	if err != nil {
		t.Fatalf("mimverify check: %v", err)
		return nil
	}
	for _, r := range rep.Results {
		switch r.Verdict {
		case theory.Fails:
			t.Errorf("%s (%s) fails: measured %.4g, predicted %s %.4g (%s). %s", r.ID, r.Title, r.Measured, r.Relation, r.Predicted, r.Formula, r.Detail)
		case theory.NotAsserted:
			t.Logf("%s (%s) not asserted: %s", r.ID, r.Title, strings.TrimSpace(r.Detail))
		}
	}
	return rep
}

// offAreaMass is the mean attention mass that reconstructable queries put
// on the unmasked patches of areas other than their own.
func offAreaMass(m *theory.Measure) float64 {
	sum, n := 0.0, 0
	for _, byArea := range m.Attention.MassByArea {
		for j, row := range byArea {
			if math.IsNaN(row[j]) {
				continue
			}
			for i, x := range row {
				if i != j {
					sum += x
				}
			}
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}
