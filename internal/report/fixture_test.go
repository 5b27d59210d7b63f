package report

import (
	"math"
	"testing"

	"mimverify/engine"
	"mimverify/judge"
	"mimverify/theory"
	"mimverify/theory/expr"
)

// sampleReport builds a report by hand: four claims (holds, fails, not
// asserted, holds with a title that needs escaping), series including a log
// one with a zero and a NaN, and events including one that did not happen.
func sampleReport(t *testing.T) *judge.Report {
	t.Helper()
	s, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	s.Eta = 2 // the Markdown test looks for "η = 2"
	steps := make([]float64, 51)
	loss := make([]float64, 51)
	recon := make([]float64, 51)
	irr := make([]float64, 51)
	own := make([]float64, 51)
	other := make([]float64, 51)
	for i := range steps {
		steps[i] = float64(10 * i)
		recon[i] = 3 * math.Exp(-float64(i)/8)
		irr[i] = 0.25
		loss[i] = recon[i] + irr[i]
		own[i] = 0.25 + 0.7*(1-math.Exp(-float64(i)/10))
		other[i] = 1 - own[i]
	}
	recon[50] = 0         // dropped on the log axis
	loss[20] = math.NaN() // dropped everywhere
	own[5] = math.Inf(1)  // dropped
	return &judge.Report{
		Format:  "mimverify.check/v1",
		Setting: s,
		Run: judge.RunInfo{
			Engines: []engine.ID{"exact", "population"}, Steps: 500, Samples: 256, Eval: 1024,
			Seed: 7, Epsilon: 0.05, Delta: 0.01, Seconds: 12.5,
		},
		Results: []judge.ClaimResult{
			{
				ID: "C1", Title: "loss decreases monotonically under gradient descent with small step", Provenance: "paper",
				Statement: "The population loss does not increase.",
				Regime:    []judge.PredicateResult{{Formula: "η·L_max ≤ 2", Left: 1.5, Op: expr.LE, Right: 2, Holds: true, Why: "step size below the smoothness bound"}},
				Quantity:  "largest one-step increase of the loss", Formula: "0", Predicted: 0, Relation: "≤", Measured: -1e-9,
				Verdict: judge.Holds, Engines: []engine.ID{"exact"},
			},
			{
				ID: "C3", Title: "area-wide attention", Provenance: "paper",
				Statement: "A masked patch attends to its own area.",
				Regime:    []judge.PredicateResult{{Formula: "P ≥ 4", Left: 16, Op: expr.GE, Right: 4, Holds: true}},
				Quantity:  "attention mass outside the own area at the last step",
				Formula:   "T*(ε) = c·P/(η·(1 − γ)·C_min·L⁴·ε) | bound", Predicted: 0.2, Relation: "≤", Measured: 0.31,
				Verdict: judge.Fails, Detail: "the off-area mass stalls at 0.31 after step 300", Engines: []engine.ID{"exact", "population"},
			},
			{
				ID: "C5", Title: "global feature first", Provenance: "derived",
				Regime: []judge.PredicateResult{
					{Formula: "N_k ≥ 2", Left: 4, Op: expr.GE, Right: 2, Holds: true},
					{Formula: "(1 − γ)·C_min ≥ 4", Left: 2, Op: expr.GE, Right: 4, Holds: false, Why: "areas large enough"},
				},
				Quantity: "step of the global peak", Formula: "t_peak ≤ c/η", Predicted: judge.Float(math.NaN()), Relation: "≤", Measured: judge.Float(math.NaN()),
				Verdict: judge.NotAsserted, Engines: []engine.ID{"exact"},
			},
			{
				ID: "C7", Title: "<script>alert(1)</script> & agreement", Provenance: "derived",
				Quantity: "largest gap between engines", Formula: "gap ≤ 1e-6", Predicted: 1e-6, Relation: "≤", Measured: 3e-9,
				Verdict: judge.Holds, Engines: []engine.ID{"exact", "population"},
			},
		},
		Series: []judge.Series{
			{Figure: "loss", Name: "loss", X: judge.Floats(steps), Y: judge.Floats(loss), LogY: true},
			{Figure: "loss", Name: "reconstructable part", X: judge.Floats(steps), Y: judge.Floats(recon), LogY: true},
			{Figure: "attention mass by area", Name: "own area", X: judge.Floats(steps), Y: judge.Floats(own)},
			{Figure: "loss", Name: "irreducible part", X: judge.Floats(steps), Y: judge.Floats(irr)},
			{Figure: "attention mass by area", Name: "other areas", X: judge.Floats(steps), Y: judge.Floats(other)},
		},
		Events: []judge.Event{
			{Name: "own area dominates", Step: 120, Time: 240},
			{Name: "global peak", Step: -1, Time: judge.Float(math.NaN())},
		},
		Summary: map[string]int{"holds": 2, "fails": 1, "not asserted": 1},
	}
}
