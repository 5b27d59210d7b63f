package judge

import (
	"math"

	"mimverify/engine"
	"mimverify/theory"
	"mimverify/theory/expr"
)

// claimHead is the part of a claim's result that the evidence does not
// change: what the claim is, the engines it reads, and its prediction's
// formula in text and in LaTeX.
func claimHead(c *theory.Claim, engines []engine.ID) ClaimResult {
	return ClaimResult{ID: c.ID, Title: c.Title, Provenance: c.Provenance, Statement: c.Statement,
		Quantity: c.Quantity, Relation: c.Relation, Engines: engines,
		Formula: c.PredictedName + " = " + c.Predicted.String(),
		LaTeX:   expr.NameLaTeX(c.PredictedName) + " = " + c.Predicted.LaTeX()}
}

// notAsserted makes r a claim that was not measured, for the reason why:
// its measured and predicted values unknown (NaN, written null and "—"),
// not 0, which would read as a measurement.
func notAsserted(r ClaimResult, why string) ClaimResult {
	r.Measured, r.Predicted = Float(math.NaN()), Float(math.NaN())
	r.Verdict, r.Detail = NotAsserted, why
	return r
}

// evalRegime evaluates the predicates into r.Regime and counts those that
// fail.
func evalRegime(r *ClaimResult, regime []expr.Predicate, env expr.Env) (outside int, err error) {
	for _, p := range regime {
		holds, l, rt, err := p.Eval(env)
		if err != nil {
			return 0, err
		}
		r.Regime = append(r.Regime, PredicateResult{Formula: p.String(), LaTeX: p.LaTeX(),
			Left: Float(l), Op: p.Op, Right: Float(rt), Holds: holds, Why: p.Why})
		if !holds {
			outside++
		}
	}
	return outside, nil
}

// mainEngine names the engine of the evidence's main run, for the claims
// that read it; exact (Check's main run) when the evidence does not say.
func mainEngine(ev *Evidence) engine.ID {
	if ev.MainEngine == "" {
		return engine.Exact
	}
	return ev.MainEngine
}
