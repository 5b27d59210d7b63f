package judge

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"mimverify/engine"
	"mimverify/theory"
	"mimverify/theory/expr"
)

// Falsify searches each claim's regime for a counterexample: a setting
// inside the regime on which the claim fails. The method is docs/FALSIFY.md's:
// a Latin-hypercube start over the search space, Nelder–Mead (gonum
// optimize) from the best starts on the claim's verdict margin, each
// candidate evaluated on a cheap engine (the orbit engine's population
// run where the claim is measured on it), every failing candidate
// confirmed by a check on the exact engine with the check's own samples,
// and a confirmed counterexample shrunk to the simplest setting that
// still fails. The zero FalsifyOptions are the defaults.
func Falsify(base theory.Setting, claims []string, opt FalsifyOptions) (*FalsifyReport, error) {
	start := time.Now()
	if err := opt.defaults(base); err != nil {
		return nil, err
	}
	targets, err := falsifyTargets(claims, opt.Check.UserClaims)
	if err != nil {
		return nil, err
	}
	rep := &FalsifyReport{Format: FalsifyFormat, Setting: base, Budget: opt.Budget, Seed: opt.Seed, Space: opt.Space,
		MaxSteps: opt.Check.MaxSteps, Samples: opt.Check.Samples, CheckSeed: opt.Check.Seed, Shard: opt.Shard.String()}
	var journal *falsifyJournal
	if opt.Results != "" {
		if journal, err = openFalsifyJournal(opt.Results, searchHash(&opt)); err != nil {
			return nil, err
		}
	}
	results, err := runSearches(targets, &opt, journal)
	if cerr := journal.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	rep.Results = results
	rep.Seconds = Float(time.Since(start).Seconds())
	rep.decide()
	return rep, nil
}

// runSearches runs the searches of the shard's targets: their common
// Latin-hypercube starts first, each evaluated once for every claim on its
// engine, then the searches side by side, Jobs at a time. A search's
// evaluations do not depend on the others' (each counts every candidate it
// asks for, known or not), so the results do not depend on Jobs.
func runSearches(all []target, opt *FalsifyOptions, journal *falsifyJournal) ([]FalsifyResult, error) {
	var targets []target
	for i := range all {
		if opt.Shard.Has(i) {
			targets = append(targets, all[i])
		}
	}
	evals := newEvaluators(targets, opt, journal)
	starts := latinHypercube(theory.NewRand(opt.Seed, theory.StreamFalsify), opt.Space, startCount(opt.Budget))
	for _, id := range []engine.ID{engine.Orbit, engine.Exact} {
		if e := evals[id]; e != nil {
			if err := e.prefetch(starts); err != nil {
				return nil, err
			}
		}
	}
	progress := opt.Progress
	if progress != nil {
		var mu sync.Mutex
		opt.Progress = func(claim string, done, budget int) { mu.Lock(); defer mu.Unlock(); progress(claim, done, budget) }
	}
	results := make([]FalsifyResult, len(targets))
	errs := make([]error, len(targets))
	sem := make(chan struct{}, opt.Jobs)
	var wg sync.WaitGroup
	for i := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			s := newSearch(&targets[i], opt, evals[targets[i].main], starts, i)
			results[i], errs[i] = s.run()
			if errs[i] != nil {
				errs[i] = fmt.Errorf("falsify %s: %w", targets[i].id, errs[i])
			}
		}()
	}
	wg.Wait()
	return results, errors.Join(errs...)
}

// FalsifyOptions configures Falsify. The zero value is the defaults.
type FalsifyOptions struct {
	// Budget is the number of candidate evaluations per claim (default
	// 200); the confirmations on the exact engine and the shrinking come
	// on top, bounded by ShrinkBudget.
	Budget int
	// ShrinkBudget bounds the evaluations spent shrinking a counterexample
	// (default 40; negative: no shrinking).
	ShrinkBudget int
	// Seed seeds the search (its starts and discrete choices), not the
	// runs: those take Check.Seed (default 1).
	Seed uint64
	// Space is the search space (default DefaultSearchSpace of the base).
	Space *SearchSpace
	// Check holds the judge's options of every evaluation and
	// confirmation: Seed, Samples, MaxSteps (default 5000: a search makes
	// hundreds of runs) and the user claims. Claims, Main, NoSharp and
	// NoControls are set by the search.
	Check Options
	// Jobs is the number of evaluations run at once in the search's
	// batches (default 2); the result does not depend on it.
	Jobs int
	// MaxWork bounds the work of one candidate, in term-steps of the orbit
	// engine (its expectation's terms × the run's planned steps; about
	// 1e-7 s each on one core; on the exact engine its estimated time in
	// that unit): a candidate above it is not run but counted as too
	// costly (default 1e8; negative: no bound).
	MaxWork float64
	// Progress, when not nil, is told of each finished evaluation.
	Progress func(claim string, done, budget int)
	// Results, when not empty, is a results file (JSON Lines, locked while
	// the search runs) to which every evaluation is appended; a rerun of
	// the same search replays the evaluations it holds instead of running
	// them, so an interrupted search resumes where it stopped.
	Results string
	// Shard selects the claims searched: those whose place in the claim
	// list is I modulo N (the zero Shard: all). The shards' results files,
	// concatenated, resume the whole search (docs/FALSIFY.md §4).
	Shard Shard
}

// falsifyMaxSteps is the default step budget of a search's runs: every
// claim's regime includes the step budget where the claim needs one (C3's
// T*(ε) ≤ step budget), so a smaller budget narrows the regime, never
// misjudges inside it; 5000 steps keep an orbit evaluation under a second
// on the default layouts.
const falsifyMaxSteps = 5000

func (o *FalsifyOptions) defaults(base theory.Setting) error {
	if o.Budget == 0 {
		o.Budget = 200
	}
	if o.ShrinkBudget == 0 {
		o.ShrinkBudget = 40
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Jobs == 0 {
		o.Jobs = 2
	}
	if o.MaxWork == 0 {
		o.MaxWork = 1e8
	}
	if o.Check.MaxSteps == 0 {
		o.Check.MaxSteps = falsifyMaxSteps
	}
	o.Check.defaults()
	var errs []error
	if o.Budget < 4 || o.Budget > 100_000 {
		errs = append(errs, fmt.Errorf("budget = %d: must be in [4, 100000]", o.Budget))
	}
	if o.ShrinkBudget > 10_000 {
		errs = append(errs, fmt.Errorf("shrink budget = %d: must be at most 10000", o.ShrinkBudget))
	}
	if o.Jobs < 1 || o.Jobs > 256 {
		errs = append(errs, fmt.Errorf("jobs = %d: must be in [1, 256]", o.Jobs))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrOptions, errors.Join(errs...))
	}
	if o.Space == nil {
		sp, err := DefaultSearchSpace(base)
		if err != nil {
			return err
		}
		o.Space = sp
	}
	return o.Space.validate()
}

// target is one claim a search tries to break: a built-in claim or a
// user's, with its regime and relation.
type target struct {
	id       string
	relation expr.Relation
	regime   []expr.Predicate
	formula  string
	user     *theory.ClaimSpec
	// main is the engine of the search's evaluations: the orbit engine
	// (the population) where the claim is measured on it, else exact.
	main engine.ID
}

// falsifyTargets resolves the claim ids: built-in ones (C1…C8) and those
// of the user's claims file. Empty means every built-in claim but C8,
// whose "regime" is the agreement of the engines themselves, and every
// user claim.
func falsifyTargets(ids []string, user []theory.ClaimSpec) ([]target, error) {
	if len(ids) == 0 {
		ids = slices.DeleteFunc(theory.ClaimIDs(), func(id string) bool { return id == "C8" })
		for _, c := range user {
			ids = append(ids, c.ID)
		}
	}
	var out []target
	for _, id := range ids {
		// --claims upper-cases its ids (c4 is C4); a user's id matches
		// whatever its case.
		if i := slices.IndexFunc(user, func(c theory.ClaimSpec) bool { return strings.EqualFold(c.ID, id) }); i >= 0 {
			c := &user[i]
			out = append(out, target{id: c.ID, relation: c.Relation, regime: c.Regime, user: c, main: engine.Orbit,
				formula: c.PredictedName + " = " + c.Predicted.String()})
			continue
		}
		if !slices.Contains(theory.ClaimIDs(), id) {
			known := theory.ClaimIDs()
			for _, c := range user {
				known = append(known, c.ID)
			}
			return nil, fmt.Errorf("%w: claim %q: must be one of %s", ErrOptions, id, strings.Join(known, ", "))
		}
		c := claimByID(id)
		main := engine.Orbit
		if id == "C1" || id == "C8" { // they compare engines on samples
			main = engine.Exact
		}
		out = append(out, target{id: id, relation: c.Relation, regime: c.Regime, main: main,
			formula: c.PredictedName + " = " + c.Predicted.String()})
	}
	return out, nil
}

// Evaluation is one candidate judged: inside the claim's regime or not,
// the verdict, the measured and predicted values and the verdict margin.
type Evaluation struct {
	Candidate Candidate `json:"candidate"`
	// Inside reports whether every regime predicate holds; Violation is,
	// outside, how far (the sum over the failing predicates of
	// |log₁₀(left/right)|, or of their relative difference when a side
	// is not positive).
	Inside    bool    `json:"inside"`
	Violation Float   `json:"violation,omitempty"`
	Verdict   Verdict `json:"verdict,omitempty"`
	Measured  Float   `json:"measured"`
	Predicted Float   `json:"predicted"`
	// Margin is the signed distance to the bound: log₁₀ of predicted /
	// measured for ≤ (measured / predicted for ≥), the relative
	// difference when a side is not positive; negative when the claim
	// fails (VerdictMargin).
	Margin Float `json:"margin"`
	// Engine ran it; Error says why it could not be judged.
	Engine engine.ID `json:"engine"`
	Error  string    `json:"error,omitempty"`
	// Detail is the claim's detail from the check.
	Detail string `json:"detail,omitempty"`
	// Seconds is the evaluation's wall time.
	Seconds Float `json:"seconds"`
}

// fails reports whether the evaluation is a counterexample on its engine.
func (e *Evaluation) fails() bool { return e.Inside && e.Error == "" && e.Verdict == Fails }

// objective is what the optimiser minimises: the margin inside the regime
// (clamped so that one diverging run does not dominate the simplex), and
// above every margin outside, growing with the violation so that the
// simplex is pushed back in.
func (e *Evaluation) objective() float64 {
	switch {
	case e.Error != "":
		return 1e3
	case !e.Inside:
		return 20 + math.Min(float64(e.Violation), 100)
	case math.IsNaN(float64(e.Margin)):
		return 10
	}
	return math.Max(-10, math.Min(10, float64(e.Margin)))
}

// VerdictMargin is the signed distance of a measured value from its
// prediction under the relation: log₁₀(predicted/measured) for ≤ and <,
// log₁₀(measured/predicted) for ≥ and >, −|log₁₀ ratio| for =; when a side
// is not positive, the relative difference (predicted − measured)/max(|predicted|,
// |measured|) with the relation's sign. Positive means room, negative that
// the claim fails; NaN when either side is NaN. The sweep's margin
// diagrams read the same quantity (internal/report marginOf).
func VerdictMargin(rel expr.Relation, measured, predicted float64) float64 {
	if math.IsNaN(measured) || math.IsNaN(predicted) {
		return math.NaN()
	}
	var d float64 // predicted above measured: positive
	if measured > 0 && predicted > 0 {
		d = math.Log10(predicted / measured)
		if math.IsInf(measured, 1) && math.IsInf(predicted, 1) {
			d = 0
		}
	} else {
		scale := math.Max(math.Abs(predicted), math.Abs(measured))
		if scale == 0 || math.IsInf(scale, 0) {
			d = math.Copysign(math.Min(1, math.Abs(predicted-measured)), predicted-measured)
			if scale == 0 {
				d = 0
			}
		} else {
			d = (predicted - measured) / scale
		}
	}
	switch rel {
	case expr.GE, expr.GT:
		return -d
	case expr.EQ:
		return -math.Abs(d)
	}
	return d
}

// regimeBefore evaluates the target's regime on what is known before a
// run (runEnv). known is false when a predicate needs a symbol the run
// measures (C1's G₁): the run must then decide.
func (t *target) regimeBefore(s *theory.Setting, opt Options) (inside bool, violation float64, known bool) {
	env, _ := runEnv(s, opt)
	inside, known = true, true
	for _, p := range t.regime {
		holds, l, r, err := p.Eval(env)
		if err != nil {
			return false, 0, false
		}
		if !holds {
			inside = false
			violation += predicateViolation(l, r)
		}
	}
	return inside, violation, known
}

// predicateViolation is how far a failing predicate's sides are apart.
func predicateViolation(l, r float64) float64 {
	if l > 0 && r > 0 {
		return math.Abs(math.Log10(l / r))
	}
	return math.Min(1, math.Abs(l-r)/math.Max(1e-300, math.Max(math.Abs(l), math.Abs(r))))
}
