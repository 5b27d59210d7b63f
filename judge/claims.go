package judge

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"mimverify/engine"
	"mimverify/internal/mutant"
	"mimverify/theory"
)

// A measurement is how the judge measures one claim of theory.Claims: the
// engines whose evidence it reads, and the function that returns the
// measured value with a detail for the report. It may return NaN with a
// detail when the evidence cannot decide (the claim is then not asserted).
type measurement struct {
	engines []engine.ID
	measure func(ev *Evidence, c *theory.Claim) (float64, string)
}

// measurements maps each claim id of theory.Claims to its measurement. A
// new claim is a statement in theory/claims.go and one entry here.
var measurements = map[string]measurement{
	"C1": {[]engine.ID{engine.Full, engine.Exact}, measureC1},
	"C2": {[]engine.ID{engine.Exact}, measureC2},
	"C3": {[]engine.ID{engine.Exact}, measureC3},
	"C4": {[]engine.ID{engine.Exact}, measureC4},
	"C5": {[]engine.ID{engine.Exact}, measureC5},
	"C6": {[]engine.ID{engine.Exact}, measureC6},
	"C7": {[]engine.ID{engine.Exact}, measureC7},
	"C8": {[]engine.ID{engine.Exact, engine.Population, engine.Flow}, measureC8},
}

// Evaluate evaluates a claim on the evidence: the regime first (a claim
// outside it is NotAsserted, naming the failing predicates), then the
// measurement against the prediction.
func Evaluate(c *theory.Claim, ev *Evidence) ClaimResult {
	m := measurements[c.ID]
	engines := m.engines
	if slices.Equal(engines, []engine.ID{engine.Exact}) { // the main run's, whichever engine made it
		engines = []engine.ID{mainEngine(ev)}
	}
	r := claimHead(c, engines)
	outside, err := evalRegime(&r, c.Regime, ev.Env)
	if err != nil {
		return notAsserted(r, "regime cannot be evaluated: "+err.Error())
	}
	pred, err := c.Predicted.Eval(ev.Env)
	if err != nil {
		return notAsserted(r, "prediction cannot be evaluated: "+err.Error())
	}
	r.Predicted = Float(pred)
	if m.measure == nil {
		r.Measured = Float(math.NaN())
		r.Verdict, r.Detail = NotAsserted, "the judge has no measurement for this claim"
		return r
	}
	measured, detail := m.measure(ev, c)
	verdict := compare(c, measured, pred)
	r.Sharp = sharpFor(c.ID, ev, measured)
	r.Measured = Float(measured)
	decideVerdict(&r, verdict, detail, outside)
	return r
}

// decideVerdict sets a measured claim's verdict, built-in or user-declared:
// its relation's verdict, turned to Fails when the envelope holds but the
// value is outside the reduced ODE's sharp band, and NotAsserted (with the
// comparison kept as Empirical) when outside > 0 regime predicates fail.
func decideVerdict(r *ClaimResult, verdict Verdict, detail string, outside int) {
	if verdict == Holds && r.Sharp.Available() && !r.Sharp.Inside {
		// The envelope holds but the reduced ODE says the value is wrong:
		// a model that learns too slowly, or too fast, within the slack.
		verdict = Fails
		detail = fmt.Sprintf("outside the sharp band of the reduced ODE (%s); ", r.Sharp.Band) + detail
	}
	r.Detail = detail
	if outside > 0 {
		// Outside its regime the claim is not asserted, but it is still
		// measured: whether it survives beyond the proved regime is what a
		// sweep over the boundary shows.
		r.Verdict = NotAsserted
		if verdict != NotAsserted {
			r.Empirical = verdict
		}
		r.Detail = "outside the regime; " + detail
		return
	}
	r.Verdict = verdict
}

// compare applies the claim's relation; NotAsserted when either side is
// NaN (the evidence cannot decide).
func compare(c *theory.Claim, measured, pred float64) Verdict {
	holds, err := c.Relation.Holds(measured, pred)
	switch {
	case math.IsNaN(measured) || math.IsNaN(pred) || err != nil:
		return NotAsserted
	case holds:
		return Holds
	}
	return Fails
}

func measureC1(ev *Evidence, c *theory.Claim) (float64, string) {
	if ev.Full == nil || ev.FullExact == nil {
		return math.NaN(), "the full model was not run"
	}
	gap, n := relGap(ev.Full, ev.FullExact)
	bound, err := c.Predicted.Eval(ev.Env)
	if err != nil {
		return math.NaN(), err.Error()
	}
	m := math.Max(gap, bound*ev.FullOutOfSpan)
	on := ""
	if ev.FullImages > 0 {
		on = fmt.Sprintf(" (on the first %d training images, as at power 1)", ev.FullImages)
	}
	return m, fmt.Sprintf("relative gap %.3g over %d common records%s; out-of-span norm at %.3g of its rounding bound", gap, n, on, ev.FullOutOfSpan)
}

func measureC2(ev *Evidence, _ *theory.Claim) (float64, string) {
	last := ev.Measures[len(ev.Measures)-1]
	rises := 0
	for i := 1; i < len(ev.Measures); i++ {
		if ev.Measures[i].Loss > ev.Measures[i-1].Loss*(1+1e-12) {
			rises++
		}
	}
	detail := fmt.Sprintf("training loss %.4g → %.4g; irreducible part %.4g", ev.Measures[0].Loss, last.Loss, last.Attention.IrreducibleLoss)
	if ev.HeldOut != nil {
		detail += fmt.Sprintf("; on held-out samples the reconstructable loss is %.4g (the envelope bounds the loss of the distribution trained on; the difference is the generalisation gap)", ev.HeldOut.ReconstructableLoss)
	}
	if rises > 0 {
		detail += fmt.Sprintf("; the training loss rose at %d records", rises)
	}
	return last.Attention.ReconstructableLoss, detail
}

func measureC3(ev *Evidence, _ *theory.Claim) (float64, string) {
	eps := ev.Env["ε"]
	step := firstStep(ev.Measures, func(m *Measure) bool { return m.Attention.OwnQuantile >= 1-eps })
	if mutant.On(mutant.C3WrongSide) {
		step = firstStep(ev.Measures, func(m *Measure) bool { return m.Attention.OwnQuantile < 1-eps })
	}
	last := ev.Measures[len(ev.Measures)-1]
	detail := fmt.Sprintf("own-area mass at step %d: mean %.4f, δ-quantile %.4f, min %.4f over %d queries, ≥ 1 − ε for a fraction %.4f", last.Step, last.Attention.OwnMean, last.Attention.OwnQuantile, last.Attention.OwnMin, last.Attention.Queries, last.Attention.OwnReached)
	if ev.HeldOut != nil {
		detail += fmt.Sprintf("; on held-out samples: mean %.4f, δ-quantile %.4f, ≥ 1 − ε for a fraction %.4f", ev.HeldOut.OwnMean, ev.HeldOut.OwnQuantile, ev.HeldOut.OwnReached)
	}
	if step < 0 {
		return math.Inf(1), "not reached within the run; " + detail
	}
	return float64(step), detail
}

func measureC4(ev *Evidence, c *theory.Claim) (float64, string) {
	n := len(ev.Measures)
	last, mid := ev.Measures[n-1], ev.Measures[n/2]
	detail := fmt.Sprintf("own FP %.3f → %.3f, off FP %.3f → %.3f, max|B| %.3f → %.3f",
		ev.Measures[0].FP.OwnMean, last.FP.OwnMean, ev.Measures[0].FP.OffMean, last.FP.OffMean, ev.Measures[0].FP.MaxAbsB, last.FP.MaxAbsB)
	if mid.Step > 0 && last.Step > mid.Step {
		r := math.Log(float64(last.Step) / float64(mid.Step))
		slope := c.Aux["slope"].MustEval(ev.Env)
		detail += fmt.Sprintf("; over steps %d–%d, d/d ln t of own FP %.3f (asymptotic prediction %.3f), of max|B| %.3f",
			mid.Step, last.Step, (last.FP.OwnMean-mid.FP.OwnMean)/r, slope, (last.FP.MaxAbsB-mid.FP.MaxAbsB)/r)
	}
	for i := 1; i < n; i++ {
		// Rounding allowance: 1e-12 of the correlations' scale.
		tol := 1e-12 * math.Max(1, math.Abs(ev.Measures[i].FP.OwnMean))
		if ev.Measures[i].FP.OwnMean < ev.Measures[i-1].FP.OwnMean-tol {
			return 0, fmt.Sprintf("mean own-area FP fell at step %d; ", ev.Measures[i].Step) + detail
		}
		if ev.Measures[i].FP.OffMean > ev.Measures[i-1].FP.OffMean+tol {
			return 0, fmt.Sprintf("mean off-area FP rose at step %d; ", ev.Measures[i].Step) + detail
		}
	}
	return last.Attention.FPShare, detail
}

func measureC5(ev *Evidence, _ *theory.Claim) (float64, string) {
	last := ev.Measures[len(ev.Measures)-1]
	if last.Attention.Pairs == 0 {
		return math.NaN(), "no image has two reconstructable queries in different areas"
	}
	return last.Attention.TVQuantile, fmt.Sprintf("TV over %d pairs: min %.4f, mean %.4f", last.Attention.Pairs, last.Attention.TVMin, last.Attention.TVMean)
}

func measureC6(ev *Evidence, c *theory.Claim) (float64, string) {
	if _, ok := ev.Setting.GlobalArea(); !ok {
		return math.NaN(), "the setting has no global area"
	}
	ph := phaseEvents(ev, ev.Env["ε"])
	events := []struct {
		name string
		step int
		aux  string // the claim's heuristic time for the event, if any
	}{
		{"global-area FP of local queries falls", ph.GlobalFPFalls, ""},
		{"local queries: global-area mass falls below own-area mass", ph.Decouple, "decouple"},
		{"local queries: own-area mass passes ½", ph.LocalHalf, "takeover"},
		{"local queries: own-area mass passes 1 − ε", ph.LocalWide, "wide"},
	}
	violations := 0
	var parts []string
	for i, e := range events {
		part := fmt.Sprintf("%s at step %d", e.name, e.step)
		if e.aux != "" {
			part += fmt.Sprintf(" (heuristic %.0f)", c.Aux[e.aux].MustEval(ev.Env))
		}
		parts = append(parts, part)
		if e.step < 0 || (i > 0 && e.step < events[i-1].step) {
			violations++
		}
	}
	return float64(violations), strings.Join(parts, "; ")
}

func measureC7(ev *Evidence, _ *theory.Claim) (float64, string) {
	n := len(ev.Measures)
	last, mid := ev.Measures[n-1], ev.Measures[n/2]
	detail := ""
	if mid.Step > 0 && last.Step > mid.Step {
		r := math.Log(float64(last.Step) / float64(mid.Step))
		detail = fmt.Sprintf("measured exponents over steps %d–%d: 1 − own mass %.3f (predicted −½), loss %.3f (predicted −1); own FP slope in ln t %.3f",
			mid.Step, last.Step,
			math.Log((1-last.Attention.OwnMean)/(1-mid.Attention.OwnMean))/r,
			math.Log(last.Attention.ReconstructableLoss/mid.Attention.ReconstructableLoss)/r,
			(last.FP.OwnMean-mid.FP.OwnMean)/r)
	}
	return 1 - last.Attention.OwnMean, detail
}

func measureC8(ev *Evidence, _ *theory.Claim) (float64, string) {
	if len(ev.Agreement) == 0 {
		if ev.AgreementNote != "" {
			return math.NaN(), ev.AgreementNote
		}
		return math.NaN(), "no agreement check was run"
	}
	worst := 0.0
	var parts []string
	for _, a := range ev.Agreement {
		pred := a.Predicted()
		worst = math.Max(worst, a.Measured/pred)
		parts = append(parts, fmt.Sprintf("%s: %s = %.3g vs bound %.3g (%s ≤ %s)", a.Name, a.Quantity, a.Measured, pred, a.Quantity, a.Bound))
	}
	if ev.AgreementSkipped != "" {
		parts = append(parts, "not run: "+ev.AgreementSkipped)
	}
	return worst, strings.Join(parts, "; ")
}
