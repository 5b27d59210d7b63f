package judge

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/gonum/optimize"

	"mimverify/engine"
	"mimverify/theory"
)

// FalsifyResult is the outcome of the search on one claim.
type FalsifyResult struct {
	Claim    string `json:"claim"`
	Formula  string `json:"formula"`
	Relation string `json:"relation"`
	// Found reports a counterexample confirmed on the exact engine.
	Found          bool            `json:"found"`
	Counterexample *Counterexample `json:"counterexample,omitempty"`
	// Tightest is the candidate inside the regime with the smallest margin
	// (the counterexample's search point when one was found).
	Tightest *Evaluation `json:"tightest,omitempty"`
	// Unconfirmed counts the candidates that failed on the search's engine
	// but held, or left the regime, on the exact engine's check.
	Unconfirmed int `json:"unconfirmed"`
	// Engine is the search's engine; Evaluations the candidates it ran or
	// placed outside the regime, InRegime those inside; StartsInRegime
	// the fraction of the Latin-hypercube starts inside the regime (an
	// estimate of the share of the space the regime covers).
	Engine      engine.ID `json:"engine"`
	Evaluations int       `json:"evaluations"`
	InRegime    int       `json:"in_regime"`
	Errors      int       `json:"errors"`
	// Costly counts the candidates not run for their estimated work
	// (FalsifyOptions.MaxWork); they are among the Errors.
	Costly         int   `json:"costly"`
	StartsInRegime Float `json:"starts_in_regime"`
	// Trace is every evaluation in the order of the search.
	Trace   []Evaluation `json:"trace"`
	Seconds Float        `json:"seconds"`
}

// Counterexample is a confirmed failure of a claim inside its regime: the
// setting and the check options that reproduce it, the exact engine's
// result, and the shrinking that simplified it.
type Counterexample struct {
	Candidate Candidate      `json:"candidate"`
	Described string         `json:"described"`
	Setting   theory.Setting `json:"setting"`
	Epsilon   Float          `json:"epsilon"`
	Delta     Float          `json:"delta"`
	// Result is the claim's result in the confirming check (exact engine).
	Result ClaimResult `json:"result"`
	// Found is the counterexample as the search found it, before shrinking;
	// Shrunk lists the simplifications kept, in order.
	Found  string   `json:"found"`
	Shrunk []string `json:"shrunk,omitempty"`
}

// search is one claim's search in progress.
type search struct {
	t      *target
	opt    *FalsifyOptions
	sp     *SearchSpace
	rng    *rand.Rand
	cache  map[string]Evaluation
	res    FalsifyResult
	used   int // evaluations spent, of the budget
	found  *Counterexample
	failed map[string]bool // candidates the exact engine did not confirm
	// eval judges the candidates (shared with the other claims' searches
	// on the same engine); starts are the common Latin-hypercube starts;
	// err is the first error writing the results file, which stops the
	// search.
	eval   *evaluator
	starts []Candidate
	err    error
}

// newSearch prepares the search of one target; index seeds its own
// restarts, so that claims searched together do not share them.
func newSearch(t *target, opt *FalsifyOptions, eval *evaluator, starts []Candidate, index int) *search {
	return &search{t: t, opt: opt, sp: opt.Space, rng: theory.NewRand(opt.Seed+uint64(index+1)<<32, theory.StreamFalsify),
		cache: map[string]Evaluation{}, failed: map[string]bool{}, eval: eval, starts: starts,
		res: FalsifyResult{Claim: t.id, Formula: t.formula, Relation: string(t.relation), Engine: t.main}}
}

// startCount is the number of Latin-hypercube starts for a budget: a third
// of it, at least 4 and at most 64.
func startCount(budget int) int { return max(4, min(budget/3, 64)) }

// run is the search: Latin-hypercube starts, then Nelder–Mead from the
// best of them while the budget lasts; it stops at the first confirmed
// counterexample and shrinks it.
func (s *search) run() (FalsifyResult, error) {
	start := time.Now()
	n0 := len(s.starts)
	evs, err := s.eval.evaluateAll(s.t, s.starts)
	if err != nil {
		return s.res, err
	}
	inside := 0
	for i := range evs {
		s.record(evs[i])
		if evs[i].Inside {
			inside++
		}
	}
	s.res.StartsInRegime = Float(float64(inside) / float64(len(evs)))
	for i := range evs {
		if s.found == nil && evs[i].fails() {
			s.confirm(evs[i])
		}
	}
	order := make([]int, len(evs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return evs[order[a]].objective() < evs[order[b]].objective() })
	for k := 0; s.found == nil && s.err == nil && s.used < s.opt.Budget; k++ {
		var from Candidate
		if k < len(order) {
			from = evs[order[k]].Candidate
		} else {
			from = latinHypercube(s.rng, s.sp, 1)[0]
		}
		s.descend(from, max(12, (s.opt.Budget-n0)/3))
	}
	if s.found != nil && s.err == nil {
		s.shrink()
		s.res.Found, s.res.Counterexample = true, s.found
	}
	s.res.Seconds = Float(time.Since(start).Seconds())
	return s.res, s.err
}

// record adds an evaluation to the trace and the tallies, and keeps the
// tightest point inside the regime.
func (s *search) record(ev Evaluation) {
	s.used++
	s.res.Evaluations++
	s.res.Trace = append(s.res.Trace, ev)
	s.cache[ev.Candidate.key()] = ev
	if s.opt.Progress != nil {
		s.opt.Progress(s.t.id, s.used, s.opt.Budget)
	}
	if ev.Error != "" {
		s.res.Errors++
		if strings.HasPrefix(ev.Error, ErrTooCostly.Error()+":") {
			s.res.Costly++
		}
	}
	if !ev.Inside || ev.Error != "" {
		return
	}
	s.res.InRegime++
	if t := s.res.Tightest; t == nil || ev.objective() < t.objective() {
		e := ev
		s.res.Tightest = &e
	}
}

// latinHypercube draws n candidates: each continuous field cut into n
// strata, one draw in each, the strata shuffled per field; the layouts
// and z laws dealt round-robin from a shuffled start, so that every one
// is tried when n allows.
func latinHypercube(rng *rand.Rand, sp *SearchSpace, n int) []Candidate {
	d := len(sp.Dims)
	out := make([]Candidate, n)
	for i := range out {
		out[i] = Candidate{Values: make([]Float, d)}
	}
	for j := range d {
		perm := rng.Perm(n)
		for i := range out {
			u := (float64(perm[i]) + rng.Float64()) / float64(n)
			out[i].Values[j] = Float(sp.Dims[j].at(u))
		}
	}
	lay, zk := rng.Perm(len(sp.Layouts)), rng.Perm(len(sp.ZKinds))
	for i := range out {
		out[i].Layout = lay[i%len(lay)]
		out[i].ZKind = sp.ZKinds[zk[(i/len(lay)+i)%len(zk)]]
	}
	return out
}

// descend runs Nelder–Mead from a candidate over the continuous fields
// (its layout and z law fixed) on the unit cube, folded so that the
// simplex may step anywhere, for at most limit evaluations of the budget.
func (s *search) descend(from Candidate, limit int) {
	limit = min(limit, s.opt.Budget-s.used)
	if limit <= 0 || len(s.sp.Dims) == 0 {
		return
	}
	x0 := make([]float64, len(s.sp.Dims))
	for j, d := range s.sp.Dims {
		x0[j] = d.unit(float64(from.Values[j]))
	}
	spent := 0
	prob := optimize.Problem{
		Func: func(x []float64) float64 {
			c := Candidate{Layout: from.Layout, ZKind: from.ZKind, Values: make([]Float, len(x))}
			for j, d := range s.sp.Dims {
				c.Values[j] = Float(d.at(fold(x[j])))
			}
			if ev, ok := s.cache[c.key()]; ok {
				return ev.objective()
			}
			if s.found != nil || s.err != nil || spent >= limit {
				return math.Inf(1)
			}
			spent++
			ev, err := s.eval.evaluateOne(s.t, c)
			if err != nil {
				s.err = err
				return math.Inf(1)
			}
			s.record(ev)
			if ev.fails() {
				s.confirm(ev)
			}
			return ev.objective()
		},
		Status: func() (optimize.Status, error) {
			if s.found != nil || s.err != nil || spent >= limit {
				return optimize.MethodConverge, nil
			}
			return optimize.NotTerminated, nil
		},
	}
	settings := &optimize.Settings{MajorIterations: 10 * limit, Converger: &optimize.FunctionConverge{Absolute: 1e-4, Iterations: 20}}
	// The result is the search's records; the optimiser's own summary
	// (and its "converged" or "limit" status) adds nothing to them.
	_, _ = optimize.Minimize(prob, x0, settings, &optimize.NelderMead{SimplexSize: 0.15})
}

// fold maps ℝ onto [0, 1] by reflection at the faces (a triangle wave), so
// that an unconstrained optimiser explores the box.
func fold(x float64) float64 {
	x = math.Mod(math.Abs(x), 2)
	if x > 1 {
		x = 2 - x
	}
	return x
}

// confirm checks a failing candidate on the exact engine, with the check's
// samples and options; a confirmed one becomes the counterexample.
func (s *search) confirm(ev Evaluation) {
	if s.found != nil || s.failed[ev.Candidate.key()] {
		return
	}
	cx, ok := s.confirmed(ev.Candidate)
	if !ok {
		s.failed[ev.Candidate.key()] = true
		s.res.Unconfirmed++
		return
	}
	cx.Found = cx.Described
	s.found = cx
	e := ev
	s.res.Tightest = &e
}

// confirmed runs the exact engine's check on a candidate and returns the
// counterexample when the claim fails there inside its regime.
func (s *search) confirmed(c Candidate) (*Counterexample, bool) {
	ev, j := s.t.confirmOn(s.sp, c, s.opt.Check, engine.Exact)
	if !ev.fails() || j == nil {
		return nil, false
	}
	set := j.s
	set.Require = []string{s.t.id}
	if s.t.user != nil {
		set.Require = nil // a setting's require: names built-in claims only
	}
	return &Counterexample{Candidate: c.clone(), Described: s.sp.Describe(c), Setting: set,
		Epsilon: Float(j.opt.Epsilon), Delta: Float(j.opt.Delta), Result: j.r}, true
}
