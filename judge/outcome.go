package judge

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Status is the outcome of a check (or a sweep) as every channel reports it:
// the exit status, the text headline, the HTML banner, the JSON "status",
// the JUnit failures and judgetest.AssertClaims all render one Outcome, which
// Decide computes (docs/JUDGE.md §Outcome).
type Status string

// The statuses. Only StatusHolds passes; a check that asserted nothing and
// was required to assert nothing holds (and says so: Outcome.Asserted is 0).
const (
	StatusHolds Status = "holds"
	StatusFails Status = "fails"
	StatusError Status = "error"
)

// ReasonKind classifies why an outcome is not StatusHolds.
type ReasonKind string

// The reasons a check fails.
const (
	// ReasonFails: an asserted claim fails its envelope or its sharp band.
	ReasonFails ReasonKind = "claim fails"
	// ReasonUnmet: a required claim was not asserted (outside its regime,
	// or not measurable).
	ReasonUnmet ReasonKind = "required but not asserted"
	// ReasonNoVerdict: a claim was evaluated without a verdict.
	ReasonNoVerdict ReasonKind = "no verdict"
	// ReasonError: the check could not be completed (an engine failed, a
	// NaN was met in training).
	ReasonError ReasonKind = "error"
	// ReasonPower: a control went the wrong way (controls.go): the judge
	// false-alarms on the right model, or lets a wrong one pass.
	ReasonPower ReasonKind = "judge power"
	// ReasonCounterexample: check --falsify found a setting inside a
	// claim's regime on which it fails (falsify.go).
	ReasonCounterexample ReasonKind = "counterexample"
)

// Reason is one cause of a failed outcome.
type Reason struct {
	Kind ReasonKind `json:"kind"`
	// Claim is the claim's id, empty for an error of the whole check.
	Claim string `json:"claim,omitempty"`
	// Point is the sweep point's index (nil in a check report).
	Point *int `json:"point,omitempty"`
	// Control names the control that went the wrong way (ReasonPower).
	Control string `json:"control,omitempty"`
	// Text says it in a sentence, as the text headline and JUnit print it.
	Text string `json:"text"`
}

// Outcome is the verdict of a whole check: its status, every reason it is
// not StatusHolds, and the counts the headlines print.
type Outcome struct {
	Status  Status
	Reasons []Reason
	// Asserted counts the claims asserted (Holds + Fails); NotAsserted those
	// outside their regime.
	Asserted, Holds, Fails, NotAsserted int
}

// Passed reports whether the outcome lets CI pass (exit status 0).
func (o Outcome) Passed() bool { return o.Status == StatusHolds }

// Decide is the one function that decides a check's outcome, from its
// claims' results, its controls and the error that stopped it (empty when
// none): an error is StatusError; an asserted claim that fails, a required
// claim not asserted, a claim without a verdict, or a control that went the
// wrong way while the claims hold is StatusFails; otherwise StatusHolds.
func Decide(results []ClaimResult, controls []ControlResult, runErr string) Outcome {
	var o Outcome
	if runErr != "" {
		o.Reasons = append(o.Reasons, Reason{Kind: ReasonError, Text: "the check could not be completed: " + runErr})
	}
	for i := range results {
		c := &results[i]
		switch c.Verdict {
		case Holds:
			o.Holds++
		case Fails:
			o.Fails++
			o.Reasons = append(o.Reasons, Reason{Kind: ReasonFails, Claim: c.ID, Text: c.ID + " fails: " + Criterion(c)})
		case NotAsserted:
			o.NotAsserted++
			if c.Unmet() {
				o.Reasons = append(o.Reasons, Reason{Kind: ReasonUnmet, Claim: c.ID,
					Text: c.ID + " is required but not asserted: " + oneLine(c.Detail)})
			}
		default:
			o.Reasons = append(o.Reasons, Reason{Kind: ReasonNoVerdict, Claim: c.ID,
				Text: fmt.Sprintf("%s has no verdict (%q)", c.ID, string(c.Verdict))})
		}
	}
	o.Asserted = o.Holds + o.Fails
	o.Reasons = append(o.Reasons, controlReasons(results, controls)...)
	switch {
	case runErr != "":
		o.Status = StatusError
	case len(o.Reasons) > 0:
		o.Status = StatusFails
	default:
		o.Status = StatusHolds
	}
	return o
}

// Outcome decides the report's outcome: Decide on its results, controls
// and error, and a counterexample found by check --falsify fails it too.
func (r *Report) Outcome() Outcome {
	o := Decide(r.Results, r.Controls, r.Error)
	for i := range r.Falsify {
		if f := &r.Falsify[i]; f.Found {
			o.Reasons = append(o.Reasons, Reason{Kind: ReasonCounterexample, Claim: f.Claim, Text: f.Line()})
			if o.Status == StatusHolds {
				o.Status = StatusFails
			}
		}
	}
	return o
}

// Decide sets the report's Status and Reasons from its results: the fields
// the JSON format carries at the top level. Writers call it before they
// render, so that a report whose results were edited cannot show a stale
// status.
func (r *Report) Decide() Outcome {
	o := r.Outcome()
	r.Status, r.Reasons = o.Status, o.Reasons
	if r.Reasons == nil {
		r.Reasons = []Reason{}
	}
	return o
}

// Failed reports whether the check fails: an asserted claim fails, a
// required claim was not asserted, a claim has no verdict, or the check
// stopped on an error.
func (r *Report) Failed() bool { return !r.Outcome().Passed() }

// Criterion names the criterion a failing claim failed, with its numbers:
// "envelope: measured 0.3 > predicted 0.2" (the order of the two values,
// whatever the relation; "vs" when either is not finite), or, when the
// envelope holds, "sharp band: measured 0.0031 outside the reduced ODE's
// band [0.0065, 0.0143] around 0.0104, though within the envelope (≤ 0.28)".
func Criterion(c *ClaimResult) string {
	if sh := c.Sharp; MissesBandOnly(c) {
		return fmt.Sprintf("sharp band: measured %s outside the reduced ODE's band [%s, %s] around %s (%s), though within the envelope (%s %s)",
			proseFloat(sh.Measured, c.Measured), proseFloat(sh.Low), proseFloat(sh.High), proseFloat(sh.Predicted), oneLine(sh.Band), c.Relation, proseFloat(c.Predicted))
	}
	op := "vs"
	m, p := float64(c.Measured), float64(c.Predicted)
	if finiteFloat(m) && finiteFloat(p) {
		switch {
		case m > p:
			op = ">"
		case m < p:
			op = "<"
		default:
			op = "="
		}
	}
	return fmt.Sprintf("envelope: measured %s %s predicted %s", proseFloat(c.Measured), op, proseFloat(c.Predicted))
}

// MissesBandOnly reports whether the claim's measured value is outside its
// sharp band while within the paper's envelope: the failure only the
// reduced ODE's prediction sees.
func MissesBandOnly(c *ClaimResult) bool {
	if !c.Sharp.Available() || c.Sharp.Inside {
		return false
	}
	holds, err := c.Relation.Holds(float64(c.Measured), float64(c.Predicted))
	return err == nil && holds
}

// proseFloat prints a number for a sentence, naming NaN and ±Inf; with a
// second argument, the first is used unless it is NaN (the sharp side's
// own measured value, C4's held-out share).
func proseFloat(xs ...Float) string {
	x := float64(xs[0])
	if math.IsNaN(x) && len(xs) > 1 {
		x = float64(xs[1])
	}
	switch {
	case math.IsNaN(x):
		return "NaN"
	case math.IsInf(x, 1):
		return "+Inf"
	case math.IsInf(x, -1):
		return "−Inf"
	}
	return strconv.FormatFloat(x, 'g', 4, 64)
}

func finiteFloat(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// oneLine folds newlines and runs of spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// FailOn is a sweep's failure policy (sweep --fail-on): which reasons at
// any point fail the whole sweep.
type FailOn string

// The policies. FailOnRequired, the default, fails on an asserted claim that
// fails at any point (inside its regime, where it is asserted), on a required
// claim (--require) not asserted at a point, and on a point that stopped on
// an error; FailOnFails ignores unasserted required claims; FailOnNever
// reports the same reasons and always passes.
const (
	FailOnRequired FailOn = "required"
	FailOnFails    FailOn = "fails"
	FailOnNever    FailOn = "never"
)

// FailOnPolicies lists the policies, for flag checks and help texts.
var FailOnPolicies = []FailOn{FailOnRequired, FailOnFails, FailOnNever}

// SweepTotal counts a sweep's points and claim results: the closing total
// line of every sweep format.
type SweepTotal struct {
	Points int `json:"points"`
	// Errors counts the points that stopped on an error; Failing those with
	// at least one reason to fail (an error, a failing claim, a required
	// claim not asserted).
	Errors  int `json:"errors"`
	Failing int `json:"failing"`
	// Holds, Fails and NotAsserted count the claim results over all points;
	// Unmet the required ones not asserted.
	Holds       int `json:"holds"`
	Fails       int `json:"fails"`
	NotAsserted int `json:"not_asserted"`
	Unmet       int `json:"unmet"`
}

// Outcome decides the sweep's outcome under its policy (FailOn, default
// FailOnRequired): Decide at every point, each reason tagged with the
// point; the sweep fails when a reason its policy counts exists.
func (sw *Sweep) Outcome() (Outcome, SweepTotal) {
	on := sw.FailOn
	if on == "" {
		on = FailOnRequired
	}
	var o Outcome
	var tot SweepTotal
	counted := false
	for i := range sw.Points {
		p := &sw.Points[i]
		po := Decide(p.Results, nil, p.Error)
		tot.Points++
		tot.Holds, tot.Fails, tot.NotAsserted = tot.Holds+po.Holds, tot.Fails+po.Fails, tot.NotAsserted+po.NotAsserted
		if p.Error != "" {
			tot.Errors++
		}
		if len(po.Reasons) > 0 {
			tot.Failing++
		}
		for _, rs := range po.Reasons {
			if rs.Kind == ReasonUnmet {
				tot.Unmet++
			}
			index := p.Index
			rs.Point, rs.Text = &index, fmt.Sprintf("point %d (%s): %s", p.Index, pointValues(p), rs.Text)
			o.Reasons = append(o.Reasons, rs)
			counted = counted || on == FailOnRequired || (on == FailOnFails && rs.Kind != ReasonUnmet)
		}
	}
	o.Holds, o.Fails, o.NotAsserted, o.Asserted = tot.Holds, tot.Fails, tot.NotAsserted, tot.Holds+tot.Fails
	o.Status = StatusHolds
	if counted {
		o.Status = StatusFails
	}
	return o, tot
}

// Decide sets the sweep's Status, Reasons and Total (Outcome), the fields
// the JSON format carries; writers call it before they render.
func (sw *Sweep) Decide() (Outcome, SweepTotal) {
	o, tot := sw.Outcome()
	sw.Status, sw.Reasons, sw.Total = o.Status, o.Reasons, &tot
	if sw.Reasons == nil {
		sw.Reasons = []Reason{}
	}
	return o, tot
}

// TotalLine is the sweep's closing total in one line, as every sweep format
// ends: the points, the errors, the claim results and the outcome.
func (sw *Sweep) TotalLine() string {
	o, t := sw.Outcome()
	on := sw.FailOn
	if on == "" {
		on = FailOnRequired
	}
	return fmt.Sprintf("total: %d points (%d stopped on an error, %d with a reason to fail); claim results: %d hold, %d fail, %d not asserted (%d required); %s (--fail-on %s)",
		t.Points, t.Errors, t.Failing, t.Holds, t.Fails, t.NotAsserted, t.Unmet, strings.ToUpper(string(o.Status)), on)
}

// pointValues prints a point's axis values in key order.
func pointValues(p *SweepPoint) string {
	keys := make([]string, 0, len(p.Values))
	for k := range p.Values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + p.Values[k]
	}
	return strings.Join(parts, ", ")
}
