package judge

import (
	"fmt"
	"math"
	"os"
	"slices"

	"mimverify/dynamics"
	"mimverify/engine"
	"mimverify/theory"
	"mimverify/theory/expr"
)

// User claims (docs/CLAIMS.md): claims read from a claims file, judged on
// the same evidence as C1–C8 and reported with the same verdicts — holds,
// fails, not asserted with the evaluated regime, holds empirically or breaks
// outside it — and, where the observable has a reduced-ODE counterpart, a
// sharp prediction and band as C2 and C7 have.

// ReadClaimsFile reads and checks a claims file against the observables and
// symbols the judge knows. Its errors are bad input.
func ReadClaimsFile(path string) ([]theory.ClaimSpec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	specs, err := theory.ParseClaims(data, ClaimVocabulary())
	if err != nil {
		return nil, fmt.Errorf("claims file %s: %w", path, err)
	}
	return specs, nil
}

// EvaluateUser judges a claim of a claims file on the evidence.
func EvaluateUser(c *theory.ClaimSpec, ev *Evidence) ClaimResult {
	r := claimHead(&c.Claim, []engine.ID{mainEngine(ev)})
	r.Required = c.Require
	outside, err := evalRegime(&r, c.Regime, ev.Env)
	if err != nil {
		return notAsserted(r, "regime cannot be evaluated: "+err.Error())
	}
	v := newObsView(ev)
	verdict, measured, pred, detail := judgeUser(c, v)
	r.Measured, r.Predicted = Float(measured), Float(pred)
	r.Sharp = userSharp(c, v)
	decideVerdict(&r, verdict, detail, outside)
	return r
}

// judgeUser measures the observable and compares it with the prediction:
// at the last record, or at every record from c.From on (t bound to each
// record's step), where the first failing record is the one reported.
func judgeUser(c *theory.ClaimSpec, v *obsView) (verdict Verdict, measured, pred float64, detail string) {
	env := copyEnv(v.ev.Env)
	records := []int{len(v.ev.Measures) - 1}
	if c.At == theory.AtEvery {
		records = records[:0]
		for i, m := range v.ev.Measures {
			if float64(m.Step) >= c.From {
				records = append(records, i)
			}
		}
	}
	if len(records) == 0 {
		return NotAsserted, math.NaN(), math.NaN(), fmt.Sprintf("no record at or after step %g", c.From)
	}
	holding := 0
	for _, i := range records {
		env["t"] = float64(v.ev.Measures[i].Step)
		m, err := userValue(c, v, i)
		if err != nil {
			return NotAsserted, math.NaN(), math.NaN(), err.Error()
		}
		p, err := c.Predicted.Eval(env)
		if err != nil {
			return NotAsserted, m, math.NaN(), "prediction cannot be evaluated: " + err.Error()
		}
		measured, pred = m, p
		switch verdict = compare(&c.Claim, m, p); verdict {
		case NotAsserted:
			return verdict, m, p, fmt.Sprintf("%s is undefined (%v) at step %d", c.Observable, m, v.ev.Measures[i].Step)
		case Fails:
			detail = fmt.Sprintf("%s = %.4g at step %d, predicted %.4g", c.Observable, m, v.ev.Measures[i].Step, p)
			if c.At == theory.AtEvery {
				detail += fmt.Sprintf("; held at the %d records before it (of %d from step %g)", holding, len(records), c.From)
			}
			return verdict, m, p, detail
		}
		holding++
	}
	last := v.ev.Measures[records[len(records)-1]].Step
	if c.At == theory.AtEvery {
		return Holds, measured, pred, fmt.Sprintf("%s %s prediction at all %d records from step %d to %d", c.Observable, c.Relation, len(records), v.ev.Measures[records[0]].Step, last)
	}
	return Holds, measured, pred, fmt.Sprintf("%s = %.4g at the last step %d", c.Observable, measured, last)
}

// userValue is the claim's observable at record i (a slope over its window).
func userValue(c *theory.ClaimSpec, v *obsView, i int) (float64, error) {
	if c.Observable.Of != nil {
		return v.slope(c.Observable.Of, c.Window)
	}
	return evalRef(v, &c.Observable, i)
}

// copyEnv copies an Env, so that binding t leaves the evidence's alone.
func copyEnv(env expr.Env) expr.Env {
	out := make(expr.Env, len(env))
	for k, x := range env {
		out[k] = x
	}
	return out
}

// userSharp is the sharp prediction of a user claim: the reduced ODE's
// curve of the observable compared with the measured one at every record,
// as for C2 and C7 (curveBand), when the observable has a counterpart and
// is read at the check's ε and δ.
func userSharp(c *theory.ClaimSpec, v *obsView) *SharpResult {
	o, _ := ObservableByID(c.Observable.ID)
	ev := v.ev
	switch {
	case o.pop == nil:
		return noSharp(fmt.Sprintf("%s has no reduced-ODE counterpart", c.Observable.ID))
	case len(c.Observable.Args) > 0:
		return noSharp("the reduced run is measured at the check's ε and δ only")
	case ev.Sharp == nil:
		return noSharp("not computed (check --sharp=false, or a sweep without --sharp)")
	case ev.Sharp.Note != "":
		return noSharp(ev.Sharp.Note)
	case !slices.EqualFunc(ev.Sharp.Measures, ev.Measures, func(p PopMeasure, m Measure) bool { return p.Step == m.Step }):
		return noSharp("the reduced run's records are not at the main run's record steps")
	}
	var early []float64
	if o.early != nil {
		early = o.early(ev.Sharp)
	}
	r := curveBand(ev, func(i int) (float64, float64) {
		return o.record(v, i, nil), earlySE(o.se(&ev.Measures[i]), early, i)
	}, o.field, o.pop)
	if n := smallSample(c.ID, ev.Sharp); n != "" && r.Available() {
		r.Note, r.Inside = "reported, not asserted: "+n+"; "+r.Band, false
	}
	r.Engine, r.Mode = ev.Sharp.Engine, ev.Sharp.Mode
	if r.Mode == dynamics.OrbitCRN {
		r.Mode = fmt.Sprintf("crn, %d draws per query representative", ev.Sharp.CRNSamples)
	}
	return &r
}

// judgeUserClaims adds the results of the user claims to the report.
func judgeUserClaims(rep *Report, specs []theory.ClaimSpec, ev *Evidence) {
	for i := range specs {
		rep.add(EvaluateUser(&specs[i], ev))
	}
}
