package judge

import (
	"fmt"
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
	// Error is set when the control's run failed (OK is then false).
	Error string `json:"error,omitempty"`
}

// control is a control to run: its kind, name and the change to the
// problem.
type control struct {
	kind   ControlKind
	name   string
	change func(s *theory.Setting, p *engine.Problem, opt *Options)
}

func controlsOf(r float64) []control {
	scaleEta := func(f float64) func(s *theory.Setting, p *engine.Problem, opt *Options) {
		return func(s *theory.Setting, _ *engine.Problem, _ *Options) { s.Eta *= f }
	}
	return []control{
		{NegativeControl, "an independent training set", func(s *theory.Setting, p *engine.Problem, opt *Options) {
			p.Samples = s.Samples(opt.Seed+controlSeedOffset, len(p.Samples))
		}},
		{PositiveControl, fmt.Sprintf("η × %g", 1+r), scaleEta(1 + r)},
		{PositiveControl, fmt.Sprintf("η × %g", 1-r), scaleEta(1 - r)},
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
	p, opt := r.problem, r.opt
	p.Setting = &s
	c.change(&s, &p, &opt)
	tr, err := exact.Run(p, r.schedule, engine.Observer{})
	if err != nil {
		res.Error = err.Error()
		return res
	}
	measures := measureAll(&s, &tr, p.Samples, opt.Epsilon, opt.Delta)
	last := tr.Final()
	measures[len(measures)-1].Attention.setTV(pairTVs(&s, last.Correlations, p.Samples), opt.Delta)
	held := MeasureAttention(&s, last.Correlations, r.eval, opt.Epsilon, opt.Delta, false)
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
	default:
		what = fmt.Sprintf("rejected by %s (of %s)", strings.Join(c.Rejected, ", "), strings.Join(c.Judged, ", "))
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
