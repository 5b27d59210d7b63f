package judge

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"mimverify/dynamics"
	"mimverify/engine"
	"mimverify/theory"
)

// evaluator judges candidates for every target that shares its engine: one
// check of a candidate measures all of them (a run on the orbit engine
// gives every claim's value at once), and the results, cached and written
// to the results file, serve every claim's search. The searches read it
// concurrently.
type evaluator struct {
	main    engine.ID
	targets []*target
	sp      *SearchSpace
	base    Options
	jobs    int
	journal *falsifyJournal
	// maxWork bounds a candidate's work on the orbit engine, in term-steps
	// (FalsifyOptions.MaxWork); terms caches the expectation's term count
	// per layout and z law, which does not depend on the other fields.
	maxWork float64
	mu      sync.Mutex
	cache   map[journalKey]Evaluation
	terms   map[termKey]int
}

type termKey struct {
	layout int
	z      theory.ZKind
}

// newEvaluators groups the targets by their engine, in the order the
// engines first appear.
func newEvaluators(targets []target, opt *FalsifyOptions, journal *falsifyJournal) map[engine.ID]*evaluator {
	out := map[engine.ID]*evaluator{}
	for i := range targets {
		t := &targets[i]
		e := out[t.main]
		if e == nil {
			e = &evaluator{main: t.main, sp: opt.Space, base: opt.Check, jobs: opt.Jobs, journal: journal, maxWork: opt.MaxWork,
				cache: map[journalKey]Evaluation{}, terms: map[termKey]int{}}
			out[t.main] = e
		}
		e.targets = append(e.targets, t)
	}
	if e := out[engine.Exact]; e != nil && !slices.ContainsFunc(e.targets, func(t *target) bool { return t.id != "C1" }) {
		// C1 reads the first T₁ steps only (and its regime no step
		// budget): the main run beyond 200 steps changes nothing of it,
		// so its search runs no more (the confirmation and the
		// reproducing check keep the search's budget).
		e.base.MaxSteps = min(e.base.MaxSteps, 200)
	}
	return out
}

// lookup returns the target's evaluation of a candidate when it is known:
// run in this search or held by the results file.
func (e *evaluator) lookup(id string, c Candidate) (Evaluation, bool) {
	k := journalKey{id, e.main, c.key()}
	e.mu.Lock()
	defer e.mu.Unlock()
	if ev, ok := e.cache[k]; ok {
		return ev, true
	}
	if e.journal != nil {
		ev, ok := e.journal.done[k]
		return ev, ok
	}
	return Evaluation{}, false
}

// store keeps a candidate's evaluations and appends them to the results
// file, in the targets' order.
func (e *evaluator) store(evs map[string]Evaluation) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, t := range e.targets {
		ev, ok := evs[t.id]
		if !ok {
			continue
		}
		e.cache[journalKey{t.id, e.main, ev.Candidate.key()}] = ev
		if e.journal != nil {
			if err := e.journal.append(t.id, ev); err != nil {
				return err
			}
		}
	}
	return nil
}

// evaluateAll returns the target's evaluations of the candidates: the
// known ones, and the others run, jobs at a time, for every target of the
// evaluator at once.
func (e *evaluator) evaluateAll(t *target, cs []Candidate) ([]Evaluation, error) {
	out := make([]Evaluation, len(cs))
	runs := make([]map[string]Evaluation, len(cs))
	sem := make(chan struct{}, e.jobs)
	var wg sync.WaitGroup
	for i := range cs {
		if ev, ok := e.lookup(t.id, cs[i]); ok {
			out[i] = ev
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			runs[i] = e.run(cs[i])
		}()
	}
	wg.Wait()
	for i, r := range runs {
		if r == nil {
			continue
		}
		if err := e.store(r); err != nil {
			return nil, err
		}
		out[i] = r[t.id]
	}
	return out, nil
}

// prefetch evaluates candidates for every target (the searches' common
// starts), jobs at a time.
func (e *evaluator) prefetch(cs []Candidate) error {
	_, err := e.evaluateAll(e.targets[0], cs)
	return err
}

// evaluateOne is evaluateAll of one candidate.
func (e *evaluator) evaluateOne(t *target, c Candidate) (Evaluation, error) {
	evs, err := e.evaluateAll(t, []Candidate{c})
	if err != nil {
		return Evaluation{}, err
	}
	return evs[0], nil
}

// run judges a candidate for every target: the regimes first, from what is
// known before a run; one check, on the evaluator's engine, of the claims
// whose regime may hold.
func (e *evaluator) run(c Candidate) map[string]Evaluation {
	start := time.Now()
	out := map[string]Evaluation{}
	blank := func() Evaluation { return newEvaluation(c, e.main) }
	defer func() {
		for id, ev := range out {
			ev.Seconds = Float(time.Since(start).Seconds())
			out[id] = ev
		}
	}()
	s, opt, err := e.sp.Build(c, e.base)
	if err != nil {
		for _, t := range e.targets {
			ev := blank()
			ev.Error = err.Error()
			out[t.id] = ev
		}
		return out
	}
	var need []*target
	knownInside := map[string]bool{}
	for _, t := range e.targets {
		inside, violation, known := t.regimeBefore(&s, opt)
		if known && !inside {
			ev := blank()
			ev.Violation = Float(violation)
			out[t.id] = ev
			continue
		}
		knownInside[t.id] = known
		need = append(need, t)
	}
	if len(need) == 0 {
		return out
	}
	if work, ok := e.work(c, &s, opt); !ok {
		for _, t := range need {
			ev := blank()
			ev.Error = fmt.Sprintf("%s: too costly for the search: %.3g term-steps on the orbit engine, above --max-work %.3g", ErrTooCostly, work, e.maxWork)
			out[t.id] = ev
		}
		return out
	}
	rep, err := Check(s, groupOptions(need, opt, e.main))
	for _, t := range need {
		ev := blank()
		t.judgeRun(&ev, rep, err, knownInside[t.id])
		out[t.id] = ev
	}
	return out
}

// ErrTooCostly marks a candidate the search did not run: its estimated work
// is above FalsifyOptions.MaxWork. It is counted (FalsifyResult.Costly), so
// that the part of the space left out is reported, not hidden.
var ErrTooCostly = errors.New("too costly")

// secondsPerTermStep is the time of one term-step of the orbit engine on
// one core (docs/FALSIFY.md §1), the unit of MaxWork.
const secondsPerTermStep = 1e-7

// work estimates a candidate's work — on the orbit engine the terms of its
// expectation times the planned steps of the run, on the exact engine its
// estimated time (EstimateCost) in the same unit — and whether it is within
// maxWork (always without a bound).
func (e *evaluator) work(c Candidate, s *theory.Setting, opt Options) (float64, bool) {
	if e.maxWork <= 0 {
		return 0, true
	}
	if e.main != engine.Orbit {
		_, steps := runEnv(s, opt)
		cost, err := EstimateCost(e.main, s, EngineOptions{}, opt.Samples, steps)
		if err != nil {
			return 0, true // the run reports it
		}
		w := cost.Seconds * float64(runtime.GOMAXPROCS(0)) / secondsPerTermStep
		return w, w <= e.maxWork
	}
	k := termKey{c.Layout, c.ZKind}
	e.mu.Lock()
	n, ok := e.terms[k]
	e.mu.Unlock()
	if !ok {
		size, err := dynamics.PredictOrbit(s, dynamics.OrbitOptions{})
		if err != nil {
			return 0, true // the run reports it
		}
		n = int(size.Terms)
		e.mu.Lock()
		e.terms[k] = n
		e.mu.Unlock()
	}
	_, steps := runEnv(s, opt)
	w := float64(n) * float64(steps)
	return w, w <= e.maxWork
}

// groupOptions returns the judge's options that evaluate the targets on
// the engine main: only the claims they need, no sharp bands and no
// controls (the verdict asked is the statement's own), no required claims.
func groupOptions(ts []*target, base Options, main engine.ID) Options {
	o := base
	o.Main, o.NoSharp, o.NoControls, o.Require, o.Progress, o.Falsify = main, true, true, []string{}, nil, 0
	o.Train, o.Held, o.Init = nil, nil, theory.Correlations{}
	o.Claims, o.UserClaims = nil, nil
	for _, t := range ts {
		if t.user != nil {
			o.UserClaims = append(o.UserClaims, *t.user)
		} else {
			o.Claims = append(o.Claims, t.id)
		}
	}
	if len(o.Claims) == 0 {
		// Options.Claims empty means every built-in claim: C2 alone is
		// the cheapest measurement beside a user's claims.
		o.Claims = []string{"C2"}
	}
	return o
}

// judgeRun fills the target's evaluation from a check's report (or the
// error that stopped it).
func (t *target) judgeRun(ev *Evaluation, rep *Report, err error, knownInside bool) *ClaimResult {
	var nf *theory.NonFiniteError
	if errors.As(err, &nf) && knownInside {
		// Inside the regime, training diverged: the claims are statements
		// about a run that converges, so this breaks them, and a check of
		// the setting stops with an error (exit status 1).
		ev.Inside, ev.Verdict, ev.Margin = true, Fails, Float(math.Inf(-1))
		ev.Detail = "training diverged: " + err.Error()
		return &ClaimResult{ID: t.id, Verdict: Fails, Relation: t.relation, Formula: t.formula,
			Measured: Float(math.NaN()), Predicted: Float(math.NaN()), Detail: ev.Detail}
	}
	if err != nil {
		ev.Error = err.Error()
		return nil
	}
	i := slices.IndexFunc(rep.Results, func(r ClaimResult) bool { return r.ID == t.id })
	if i < 0 {
		ev.Error = "the check returned no result for " + t.id
		return nil
	}
	r := &rep.Results[i]
	ev.Inside, ev.Detail = true, r.Detail
	for _, p := range r.Regime {
		if !p.Holds {
			ev.Inside = false
			ev.Violation += Float(predicateViolation(float64(p.Left), float64(p.Right)))
		}
	}
	ev.Verdict, ev.Measured, ev.Predicted = r.Verdict, r.Measured, r.Predicted
	if !ev.Inside {
		ev.Verdict = r.Empirical
	}
	ev.Margin = Float(VerdictMargin(t.relation, float64(r.Measured), float64(r.Predicted)))
	return r
}

// newEvaluation is a candidate's evaluation before anything is known of
// it: its values NaN, not yet inside the regime.
func newEvaluation(c Candidate, main engine.ID) Evaluation {
	return Evaluation{Candidate: c.clone(), Engine: main, Measured: Float(math.NaN()), Predicted: Float(math.NaN()), Margin: Float(math.NaN())}
}

// judged is a confirming check of one candidate: the setting and options
// it ran and the claim's full result.
type judged struct {
	s   theory.Setting
	opt Options
	r   ClaimResult
}

// confirmOn judges a candidate for the target alone on the engine main
// (the exact engine: the check's own samples), with the run's setting,
// options and result (nil when nothing ran or it could not be judged).
func (t *target) confirmOn(sp *SearchSpace, c Candidate, base Options, main engine.ID) (Evaluation, *judged) {
	ev := newEvaluation(c, main)
	s, opt, err := sp.Build(c, base)
	if err != nil {
		ev.Error = err.Error()
		return ev, nil
	}
	inside, violation, known := t.regimeBefore(&s, opt)
	if known && !inside {
		ev.Violation = Float(violation)
		return ev, nil
	}
	rep, err := Check(s, groupOptions([]*target{t}, opt, main))
	r := t.judgeRun(&ev, rep, err, known)
	if r == nil {
		return ev, nil
	}
	return ev, &judged{s: s, opt: opt, r: *r}
}
