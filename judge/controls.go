package judge

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"mimverify/engine"
	"mimverify/theory"
)

// The judge proves its own power on every check (docs/JUDGE.md §Controls):
// beside the main run it runs
//
//   - a negative control: the same model on an independent training set,
//     judged against the same sharp predictions, which should not fail. It
//     is reported, not gated: the curve bands of C2 and C7 leave out the
//     n-sample state's own error, which at the first records is not always
//     negligible (on default at n = 128, seed 0, the control's C7 is 5.15
//     standard errors off at step 1 against a band of 4.93; docs/JUDGE.md
//     §Controls), so gating it would fail correct models;
//   - positive controls: the model with its learning rate scaled by 1 ± r,
//     a wrong model that still satisfies every envelope, which the sharp
//     bands must reject (at least one claim must fail).
//
// A positive control that passes fails the check with the reason "the judge
// lacks power", so that a weakened judge — a standard error inflated, a band
// widened, a comparison dropped — fails itself instead of passing
// everything.

// ControlKind says what a control must do.
type ControlKind string

// The kinds of control.
const (
	// NegativeControl should pass: the right model on other samples
	// (reported, not gated).
	NegativeControl ControlKind = "negative"
	// PositiveControl must fail: a wrong model within the envelopes.
	PositiveControl ControlKind = "positive"
)

// controlRate is the r of the positive controls, η·(1 ± r): a model that
// learns 30 % too fast or too slow. docs/JUDGE.md §Controls records the
// smallest r each preset's bands reject.
const controlRate = 0.3

// controlSeedOffset moves the negative control's samples away from the
// training (seed) and held-out (seed + 2³²) sets.
const controlSeedOffset = 1 << 33

// ControlResult is one control run and what the sharp bands made of it.
type ControlResult struct {
	Kind ControlKind `json:"kind"`
	// Name says the control's change, e.g. "η × 1.3".
	Name string `json:"name"`
	// Judged lists the claims compared (those with an asserted sharp
	// band); Rejected those that failed on the control.
	Judged   []string `json:"judged"`
	Rejected []string `json:"rejected"`
	// OK is whether the control went as it must: a negative one passed, a
	// positive one was rejected.
	OK bool `json:"ok"`
	// Stopped is the step at which a positive control was stopped, once
	// its records so far lay outside a curve band (C2, C7) with the full
	// run's Bonferroni correction — a rejection the whole run's test would
	// make too; 0 when it ran to the end.
	Stopped int `json:"stopped,omitempty"`
	// Error is set when the control's run failed (OK is then false).
	Error string `json:"error,omitempty"`
}

// control is a control to run: its kind, name and the change to the
// problem (and to the held-out samples, held); full runs a positive
// control to the end, judging every claim, instead of stopping it at its
// first rejection (the minimum-detectable-effect search, mde.go).
type control struct {
	kind   ControlKind
	name   string
	change func(s *theory.Setting, p *engine.Problem, opt *Options, held *[]theory.Sample)
	full   bool
}

// scaleEta is the change of a learning-rate control: η × f.
func scaleEta(f float64) func(*theory.Setting, *engine.Problem, *Options, *[]theory.Sample) {
	return func(s *theory.Setting, _ *engine.Problem, _ *Options, _ *[]theory.Sample) { s.Eta *= f }
}

func controlsOf(r float64) []control {
	return []control{
		{kind: NegativeControl, name: "an independent training set", change: func(s *theory.Setting, p *engine.Problem, opt *Options, _ *[]theory.Sample) {
			p.Samples = s.Samples(opt.Seed+controlSeedOffset, len(p.Samples))
		}},
		{kind: PositiveControl, name: fmt.Sprintf("η × %g", 1+r), change: scaleEta(1 + r)},
		{kind: PositiveControl, name: fmt.Sprintf("η × %g", 1-r), change: scaleEta(1 - r)},
	}
}

// wantsControls reports whether the check runs its controls: the main run
// is the exact engine, the controls are not switched off, and some
// selected claim has an asserted sharp band to judge them by.
func (r *run) wantsControls(results []ClaimResult) bool {
	return !r.opt.NoControls && r.opt.Main != engine.Orbit && len(bandedClaims(results)) > 0
}

// bandedClaims lists the claims whose sharp band is asserted.
func bandedClaims(results []ClaimResult) []string {
	var ids []string
	for _, c := range results {
		if c.Sharp.Available() {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// runControls runs the controls concurrently, each the main run's engine
// on a changed problem at the main run's records, measured as the main run
// is, and judged against the main run's sharp predictions.
func (r *run) runControls(exact engine.Engine, results []ClaimResult) []ControlResult {
	r.stage("controls: the judge's power (an independent sample set, η × (1 ± %g))", controlRate)
	judged := bandedClaims(results)
	cs := controlsOf(controlRate)
	out := make([]ControlResult, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = r.runControl(exact, c, judged)
		}()
	}
	wg.Wait()
	return out
}

// runControl runs one control and judges it.
func (r *run) runControl(exact engine.Engine, c control, judged []string) ControlResult {
	res := ControlResult{Kind: c.kind, Name: c.name, Judged: judged, Rejected: []string{}}
	s := r.s.Clone()
	p, opt, eval := r.problem, r.opt, r.eval
	p.Setting = &s
	c.change(&s, &p, &opt, &eval)
	var measures []Measure
	obs := engine.Observer{Record: func(rec *theory.Record) error {
		measures = append(measures, measureRecord(&s, rec, p.Samples, opt.Epsilon, opt.Delta, false))
		if c.kind == PositiveControl && !c.full && len(measures)%controlCheckEvery == 0 {
			if res.Rejected = r.prefixRejects(measures, judged); len(res.Rejected) > 0 {
				res.Stopped = rec.Step
				return errSettled
			}
		}
		return nil
	}}
	tr, err := exact.Run(p, r.schedule, obs)
	if res.Stopped > 0 {
		res.OK = true
		return res
	}
	if err != nil && !errors.Is(err, errSettled) {
		res.Error = err.Error()
		return res
	}
	if len(measures) != len(tr.Records) { // an engine that does not call its observer
		measures = measureAll(&s, &tr, p.Samples, opt.Epsilon, opt.Delta)
	}
	last := tr.Final()
	measures[len(measures)-1].Attention.setTV(pairTVs(&s, last.Correlations, p.Samples), opt.Delta)
	held := MeasureAttention(&s, last.Correlations, eval, opt.Epsilon, opt.Delta, false)
	// The control is judged as the claims are, against the predictions
	// made for the setting under check (r.ev.Sharp, r.ev.Env): only the
	// trajectory and its measurements are the control's.
	ev := *r.ev
	ev.Main, ev.Measures, ev.HeldOut = &tr, measures, &held
	for i := range r.claims {
		if !slices.Contains(judged, r.claims[i].ID) {
			continue
		}
		if Evaluate(&r.claims[i], &ev).Verdict == Fails {
			res.Rejected = append(res.Rejected, r.claims[i].ID)
		}
	}
	if c.kind == NegativeControl {
		res.OK = len(res.Rejected) == 0
	} else {
		res.OK = len(res.Rejected) > 0
	}
	return res
}

// controlCheckEvery is how many records a positive control runs between
// two looks at its curve bands (prefixRejects); a variable so that a test
// can switch the early stop off and compare.
var controlCheckEvery = 8

// prefixRejects returns the curve claims (C2, C7) among judged whose sharp
// band the control's measures so far leave, judged against the same records
// of the reduced run with the full run's Bonferroni z (Evidence.BandRecords).
func (r *run) prefixRejects(measures []Measure, judged []string) []string {
	ev := *r.ev
	sh := *r.ev.Sharp
	k := len(measures)
	if k > len(sh.Measures) {
		return nil
	}
	sh.Measures = sh.Measures[:k]
	ev.Sharp, ev.Measures, ev.BandRecords = &sh, measures, len(r.ev.Measures)
	var ids []string
	for _, id := range []string{"C2", "C7"} {
		if slices.Contains(judged, id) {
			if b := sharpFor(id, &ev, math.NaN()); b.Available() && !b.Inside {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// controlReasons are the reasons a check fails on its controls. They count
// only when the main run holds: a check whose main run fails has shown its
// power, and a wrong model may well fail its negative control too.
func controlReasons(results []ClaimResult, controls []ControlResult) []Reason {
	for _, c := range results {
		if c.Verdict == Fails {
			return nil
		}
	}
	var rs []Reason
	for _, c := range controls {
		switch {
		case c.OK:
		case c.Error != "":
			rs = append(rs, Reason{Kind: ReasonPower, Control: c.Name, Text: fmt.Sprintf("the %s control (%s) could not run: %s", c.Kind, c.Name, c.Error)})
		case c.Kind == NegativeControl:
			// Reported, not gated (see the package comment above).
		case c.Kind == Invariant:
			rs = append(rs, Reason{Kind: ReasonPower, Control: c.Name, Text: fmt.Sprintf("the judge's own invariant fails: %s: %s", c.Name, strings.Join(c.Rejected, "; "))})
		default:
			rs = append(rs, Reason{Kind: ReasonPower, Control: c.Name, Text: fmt.Sprintf("the judge lacks power: the positive control (%s, a wrong model the bands must reject) passes every sharp band of %v", c.Name, c.Judged)})
		}
	}
	return rs
}

// Line says what the control did in a sentence, for the reports.
func (c ControlResult) Line() string {
	var what string
	switch {
	case c.Error != "":
		what = "could not run: " + c.Error
	case len(c.Rejected) == 0:
		what = fmt.Sprintf("passes every sharp band of %s", strings.Join(c.Judged, ", "))
	case c.Stopped > 0:
		what = fmt.Sprintf("rejected by %s by step %d, where it was stopped (of %s)", strings.Join(c.Rejected, ", "), c.Stopped, strings.Join(c.Judged, ", "))
	default:
		what = fmt.Sprintf("rejected by %s (of %s)", strings.Join(c.Rejected, ", "), strings.Join(c.Judged, ", "))
	}
	if c.Kind == Invariant {
		if c.OK {
			return "invariant, " + c.Name + ": holds"
		}
		return "invariant, " + c.Name + ": FAILS: " + strings.Join(c.Rejected, "; ")
	}
	verdict := "as it must"
	switch {
	case c.OK:
	case c.Kind == NegativeControl:
		verdict = "it should pass: reported, not gated (the curve bands leave out the n-sample state's own error; docs/JUDGE.md §Controls)"
	default:
		verdict = "WRONG: it must be rejected"
	}
	return fmt.Sprintf("%s control, %s: %s — %s", c.Kind, c.Name, what, verdict)
}

// Invariant is a control of kind invariant: a property of the judge's own
// inputs that must hold, checked on every check.
const Invariant ControlKind = "invariant"

// heldOutDisjoint checks that the held-out samples are not the training
// samples: the number of held-out samples equal (cluster, z and mask) to a
// training sample must not exceed what independent draws allow. A single
// draw takes its most likely value with probability at most q = max_k π_k ·
// max(γ, 1 − γ)^P · (1 for constant z, 2^{−N_k} for two-point, 0 for a
// continuous law); a held-out sample then equals one of n training samples
// with probability p ≤ min(1, n·q), and the count over m held-out samples is
// at most Binomial(m, p). The check fails above m·p + 5·√(m·p(1 − p)) + 1
// (a false alarm below 3·10⁻⁷ by the normal tail, conservative where p is
// an upper bound); it is not made (OK, with a note) when p ≥ ½, where
// independent draws may coincide as often as copies.
func heldOutDisjoint(s *theory.Setting, train, held []theory.Sample) ControlResult {
	res := ControlResult{Kind: Invariant, Name: "held-out samples disjoint from the training samples", Judged: []string{}, Rejected: []string{}, OK: true}
	key := func(smp theory.Sample) string { return fmt.Sprint(smp.Cluster, smp.Z, smp.Mask) }
	seen := make(map[string]bool, len(train))
	for _, smp := range train {
		seen[key(smp)] = true
	}
	same := 0
	for _, smp := range held {
		if seen[key(smp)] {
			same++
		}
	}
	p := math.Min(1, float64(len(train))*maxDrawProbability(s))
	m := float64(len(held))
	limit := m*p + 5*math.Sqrt(m*p*(1-p)) + 1
	switch {
	case p >= 0.5:
		res.Name += fmt.Sprintf(" (not checked: independent draws coincide with probability up to %.2g)", p)
	case float64(same) > limit:
		res.OK = false
		res.Rejected = []string{fmt.Sprintf("%d of %d held-out samples equal a training sample (independent draws: at most %.3g)", same, len(held), limit)}
	}
	return res
}

// maxDrawProbability bounds the probability of a draw's most likely value
// (heldOutDisjoint).
func maxDrawProbability(s *theory.Setting) float64 {
	q := 0.0
	mask := math.Pow(math.Max(s.Gamma, 1-s.Gamma), float64(s.P))
	for _, c := range s.Clusters {
		z := 0.0
		switch s.Z.Kind {
		case theory.ZConstant:
			z = 1
		case theory.ZTwoPoint:
			z = math.Pow(0.5, float64(c.NumAreas()))
		}
		if s.Z.L == s.Z.U {
			z = 1
		}
		q = math.Max(q, c.Prob*mask*z)
	}
	return q
}
