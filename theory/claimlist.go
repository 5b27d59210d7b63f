package theory

import (
	"fmt"
	"math"
	"strings"
)

// Claims returns the claims C1–C8 of SPEC §4, in order. Their predictions
// are derived in docs/THEORY.md (C2–C7) and docs/AGREEMENT.md (C1, C8).
func Claims() []Claim {
	budget := Predicate{Left: AreaWideTime(), Op: "≤", Right: Sym("step budget"),
		Why: "the predicted time must fit in the run's step budget (--max-steps)"}
	decouple, takeover, wide := PhaseTimes()
	return []Claim{
		{
			ID: "C1", Title: "exact reduction", Provenance: "derived",
			Statement:     "GD on the d×d matrix Q and GD on the correlations (A, B) are the same iteration: from the same samples they agree to rounding, and Q's components outside span{e_p vᵀ, e_p e_qᵀ} stay 0.",
			Quantity:      "max over the first T₁ steps of the relative gap full vs exact (loss, A, B), or δ₁ × (Q's out-of-span norm / its rounding bound 4dε·Σ‖ΔQ‖) if larger",
			PredictedName: "δ₁", Predicted: Mul(Add(Sym("T₁"), Num(1)), Num(PerStepRoundoff)), Relation: "≤",
			Engines: []string{"full", "exact"},
			Measure: func(ev *Evidence) (float64, string) {
				if ev.Full == nil || ev.FullExact == nil {
					return math.NaN(), "the full model was not run"
				}
				gap, n := relGap(ev.Full, ev.FullExact)
				bound := ev.Env["T₁"]*PerStepRoundoff + PerStepRoundoff
				m := math.Max(gap, bound*ev.FullOutOfSpan)
				return m, fmt.Sprintf("relative gap %.3g over %d common records; out-of-span norm at %.3g of its rounding bound", gap, n, ev.FullOutOfSpan)
			},
		},
		{
			ID: "C2", Title: "convergence", Provenance: "paper",
			Statement:     "The loss decreases to its floor: the reconstructable part (masked patches whose own area keeps an unmasked patch) tends to 0.",
			Regime:        RateRegime(),
			Quantity:      "reconstructable part of the training loss at the last step t",
			PredictedName: "ℒ*(t)", Predicted: LossEnvelope(), Relation: "≤",
			Engines: []string{"exact"},
			Measure: func(ev *Evidence) (float64, string) {
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
			},
		},
		{
			ID: "C3", Title: "area-wide attention", Provenance: "paper",
			Statement:     "After T*(ε) steps, a masked patch with an unmasked patch in its own area puts attention ≥ 1 − ε on its own area's unmasked patches, with probability ≥ 1 − δ over images and masks.",
			Regime:        append(AreaWideRegime(), budget),
			Quantity:      "first recorded step T(ε) at which the δ-quantile of own-area mass (training queries) reaches 1 − ε",
			PredictedName: "T*(ε)", Predicted: AreaWideTime(), Relation: "≤",
			Engines: []string{"exact"},
			Measure: func(ev *Evidence) (float64, string) {
				eps := ev.Env["ε"]
				step := firstStep(ev.Measures, func(m *Measure) bool { return m.Attention.OwnQuantile >= 1-eps })
				last := ev.Measures[len(ev.Measures)-1]
				detail := fmt.Sprintf("own-area mass at step %d: mean %.4f, δ-quantile %.4f, min %.4f over %d queries, ≥ 1 − ε for a fraction %.4f", last.Step, last.Attention.OwnMean, last.Attention.OwnQuantile, last.Attention.OwnMin, last.Attention.Queries, last.Attention.OwnReached)
				if ev.HeldOut != nil {
					detail += fmt.Sprintf("; on held-out samples: mean %.4f, δ-quantile %.4f, ≥ 1 − ε for a fraction %.4f", ev.HeldOut.OwnMean, ev.HeldOut.OwnQuantile, ev.HeldOut.OwnReached)
				}
				if step < 0 {
					return math.Inf(1), "not reached within the run; " + detail
				}
				return float64(step), detail
			},
		},
		{
			ID: "C4", Title: "FP/PP interplay", Provenance: "paper",
			Statement:     "Own-area FP correlations grow (like log t), off-area FP correlations decrease, and the attention pattern is carried by the FP correlations rather than the PP ones. (SPEC §4 also says PP correlations stay bounded; the dynamics do not bear that out — docs/THEORY.md §6 — so it is reported, not asserted.)",
			Regime:        RateRegime(),
			Quantity:      "share of the own-vs-other logit gap carried by FP at the last step (training queries), or 0 if the mean own-area FP correlation ever fell or the mean off-area one ever rose",
			PredictedName: "FP majority", Predicted: Num(0.5), Relation: "≥",
			Engines: []string{"exact"},
			Measure: func(ev *Evidence) (float64, string) {
				n := len(ev.Measures)
				last, mid := ev.Measures[n-1], ev.Measures[n/2]
				detail := fmt.Sprintf("own FP %.3f → %.3f, off FP %.3f → %.3f, max|B| %.3f → %.3f",
					ev.Measures[0].FP.OwnMean, last.FP.OwnMean, ev.Measures[0].FP.OffMean, last.FP.OffMean, ev.Measures[0].FP.MaxAbsB, last.FP.MaxAbsB)
				if mid.Step > 0 && last.Step > mid.Step {
					r := math.Log(float64(last.Step) / float64(mid.Step))
					slope := FPGrowthSlope().MustEval(ev.Env)
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
			},
		},
		{
			ID: "C5", Title: "diverse attention", Provenance: "paper",
			Statement:     "Queries in different areas attend to disjoint regions: once both are ε-area-wide, the total-variation distance between their attention distributions is ≥ 1 − 2ε; no collapse to one pattern.",
			Regime:        append(AreaWideRegime(), budget),
			Quantity:      "2δ-quantile, over pairs of masked training queries of one image in different areas, of the total-variation distance between their attention, at the last step",
			PredictedName: "1 − 2ε", Predicted: Sub(Num(1), Mul(Num(2), Sym("ε"))), Relation: "≥",
			Engines: []string{"exact"},
			Measure: func(ev *Evidence) (float64, string) {
				last := ev.Measures[len(ev.Measures)-1]
				if last.Attention.Pairs == 0 {
					return math.NaN(), "no image has two reconstructable queries in different areas"
				}
				return last.Attention.TVQuantile, fmt.Sprintf("TV over %d pairs: min %.4f, mean %.4f", last.Attention.Pairs, last.Attention.TVMin, last.Attention.TVMean)
			},
		},
		{
			ID: "C6", Title: "phases", Provenance: "paper",
			Statement:     "With a dominant (global) area, local queries first decouple from the global feature (their global-area FP correlation falls), then their global-area mass falls below their own-area mass, then their own-area mass passes ½ and finally 1 − ε — in that order.",
			Regime:        PhaseRegime(),
			Quantity:      "number of the four phase events of local queries (global FP falls; global mass < own mass; own mass > ½; own mass > 1 − ε) that are missing or out of order; the detail compares their steps with the heuristic times T(y) = (F(y) − F(ρ₀))/(κ·c·z_4⁴) of docs/THEORY.md §7",
			PredictedName: "violations", Predicted: Num(0), Relation: "≤",
			Engines: []string{"exact"},
			Measure: func(ev *Evidence) (float64, string) {
				events := PhaseEvents(ev.Setting, ev.Measures, ev.Env["ε"])
				g, ok := GlobalArea(ev.Setting)
				if !ok || len(events) < 5 {
					return math.NaN(), "the setting has no global area"
				}
				steps := []int{globalFPFalls(ev, g), events[2].Step, events[3].Step, events[4].Step}
				names := []string{"global-area FP of local queries falls", events[2].Name, events[3].Name, events[4].Name}
				preds := []*Expr{nil, &decouple, &takeover, &wide}
				violations := 0
				var parts []string
				for i, st := range steps {
					part := fmt.Sprintf("%s at step %d", names[i], st)
					if preds[i] != nil {
						part += fmt.Sprintf(" (heuristic %.0f)", preds[i].MustEval(ev.Env))
					}
					parts = append(parts, part)
					if st < 0 || (i > 0 && st < steps[i-1]) {
						violations++
					}
				}
				return float64(violations), strings.Join(parts, "; ")
			},
		},
		{
			ID: "C7", Title: "rates", Provenance: "derived",
			Statement:     "Asymptotically 1 − (own-area mass) decays like t^{−1/2}, the reconstructable loss like t^{−1}, and own-area FP correlations grow like log t, with the constants of docs/THEORY.md.",
			Regime:        RateRegime(),
			Quantity:      "1 − mean own-area mass (training queries) at the last step t",
			PredictedName: "ε*(t)", Predicted: OwnGapAt(), Relation: "≤",
			Engines: []string{"exact"},
			Measure: func(ev *Evidence) (float64, string) {
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
			},
		},
		{
			ID: "C8", Title: "agreement between levels", Provenance: "derived",
			Statement:     "Adjacent levels of SPEC §3 agree within their predicted bounds: GD vs gradient flow within the O(η) first-order gap, finite samples vs population within the O(n^{−1/2}) bound.",
			Quantity:      "largest ratio measured gap / predicted bound over the agreement checks",
			PredictedName: "bound ratio", Predicted: Num(1), Relation: "≤",
			Engines: []string{"exact", "population", "flow"},
			Measure: func(ev *Evidence) (float64, string) {
				if len(ev.Agreement) == 0 {
					return math.NaN(), "no agreement check was run"
				}
				worst := 0.0
				var parts []string
				for _, a := range ev.Agreement {
					worst = math.Max(worst, a.Measured/a.Predicted)
					parts = append(parts, fmt.Sprintf("%s: %.3g vs bound %.3g (%s)", a.Name, a.Measured, a.Predicted, a.Formula))
				}
				return worst, strings.Join(parts, "; ")
			},
		},
	}
}

// globalFPFalls returns the first recorded step at which the mean FP
// correlation of local queries with the global area g is below its initial
// value, or −1.
func globalFPFalls(ev *Evidence, g int) int {
	areas := ev.Setting.Clusters[0].Areas
	mean := func(c Correlations) float64 {
		sum, n := 0.0, 0
		for p, a := range areas {
			if a != g {
				sum += c.A[0][p][g]
				n++
			}
		}
		return sum / float64(n)
	}
	start := mean(ev.Main.Records[0].Correlations)
	for _, r := range ev.Main.Records[1:] {
		if mean(r.Correlations) < start {
			return r.Step
		}
	}
	return -1
}
