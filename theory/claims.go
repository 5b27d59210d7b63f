package theory

import (
	// The claims' formulas read as formulas with the builders unqualified
	// (as in rates.go).
	. "mimverify/theory/expr"
)

// Provenance says where a claim comes from.
type Provenance string

// A claim is a statement the paper makes (Paper), or one this project
// derived (Derived; the derivation is in docs/).
const (
	Paper   Provenance = "paper"
	Derived Provenance = "derived"
)

// Claim is one of the claims of SPEC §4 as a statement: what it says, the
// regime in which it is asserted, what is measured, the prediction and how
// the two must compare. Measuring and judging it is the judge's work
// (package judge); a claim here holds no code.
type Claim struct {
	ID, Title  string
	Provenance Provenance
	Statement  string
	// Regime lists the predicates under which the claim is asserted.
	Regime []Predicate
	// Quantity says in words what is measured.
	Quantity string
	// PredictedName names the prediction (e.g. "T*(ε)") and Predicted is its
	// expression, evaluated on Setting.Env plus the judge's symbols (ε, δ,
	// t, T₁, step budget).
	PredictedName string
	Predicted     Expr
	// Relation is how the measured value must compare with the prediction:
	// measured Relation predicted.
	Relation Relation
	// Aux holds further predictions that the judge reports beside the
	// measured value, by name: "slope" (C4: dA_own/d ln t), and "decouple",
	// "takeover", "wide" (C6: the heuristic phase times, in steps).
	Aux map[string]Expr
}

// maxAmplification is the limit of C1's regime: the largest finite-time
// amplification G of perturbations by the GD map over the T₁ steps at which
// the rounding of two engines can still be compared (docs/AGREEMENT.md §1).
const maxAmplification = 1e3

// perStepRoundoff is the relative rounding difference between one step of
// the full model and one of the exact recursion from the same state
// (docs/AGREEMENT.md §1).
const perStepRoundoff = 1e-13

// ClaimIDs returns the ids of the claims, in order (C1…C8). It is a list of
// its own, not read off Claims, because settings validate their require:
// against it while the embedded claims file, which Claims reads, is parsed
// against the presets (an initialisation cycle otherwise); a test checks
// the two agree.
func ClaimIDs() []string { return []string{"C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8"} }

// Claims returns the claims C1–C8 of SPEC §4, in order. C2, C3, C5 and C7
// are read from the embedded claims file builtin_claims.yaml, the language
// of docs/CLAIMS.md; the others are stated here. Their predictions
// are derived in docs/THEORY.md (C2–C7) and docs/AGREEMENT.md (C1, C8).
func Claims() []Claim {
	decouple, takeover, wide := phaseTimes()
	return []Claim{
		{
			ID: "C1", Title: "exact reduction", Provenance: Derived,
			Statement: "GD on the d×d matrix Q and GD on the correlations (A, B) are the same iteration: from the same samples they agree to rounding, and Q's components outside span{e_p vᵀ, e_p e_qᵀ} stay 0.",
			Regime: []Predicate{{Left: Sym("G₁"), Op: LE, Right: Num(maxAmplification),
				Why: "the GD map amplifies perturbations at most 10³-fold over the T₁ steps (measured: G₁); beyond, it is chaotic and no floating-point identity over T₁ steps is meaningful (docs/AGREEMENT.md §1)"}},
			Quantity:      "max over the first T₁ steps of the relative gap full vs exact (loss, A, B), or δ₁ × (the drift of Q's out-of-span part from Q(0) / its rounding bound 4dε·(Σ‖ΔQ‖ + (t+1)‖Q(0)‖)) if larger",
			PredictedName: "δ₁", Predicted: Mul(Mul(Add(Sym("T₁"), Num(1)), Num(perStepRoundoff)), Sym("G₁")), Relation: LE,
		},
		builtinClaim("C2"),
		builtinClaim("C3"),
		{
			ID: "C4", Title: "FP/PP interplay", Provenance: Paper,
			Statement:     "Own-area FP correlations grow (like log t), off-area FP correlations decrease, and the attention pattern is carried by the FP correlations rather than the PP ones. (SPEC §4 also says PP correlations stay bounded; the dynamics do not bear that out — docs/THEORY.md §6 — so it is reported, not asserted.)",
			Regime:        fpRegime(),
			Quantity:      "share of the own-vs-other logit gap carried by FP at the last step (training queries), or 0 if the mean own-area FP correlation ever fell or the mean off-area one ever rose",
			PredictedName: "FP majority", Predicted: Num(0.5), Relation: GE,
			Aux: map[string]Expr{"slope": fpGrowthSlope()},
		},
		builtinClaim("C5"),
		{
			ID: "C6", Title: "phases", Provenance: Paper,
			Statement:     "With a dominant (global) area, local queries first decouple from the global feature (their global-area FP correlation falls), then their global-area mass falls below their own-area mass, then their own-area mass passes ½ and finally 1 − ε — in that order.",
			Regime:        phaseRegime(),
			Quantity:      "number of the four phase events of local queries (global FP falls; global mass < own mass; own mass > ½; own mass > 1 − ε) that are missing or out of order; the detail compares their steps with the heuristic times T(y) = (F(y) − F(ρ₀))/(κ·c·z_4⁴) of docs/THEORY.md §7",
			PredictedName: "violations", Predicted: Num(0), Relation: LE,
			Aux: map[string]Expr{"decouple": decouple, "takeover": takeover, "wide": wide},
		},
		builtinClaim("C7"),
		{
			ID: "C8", Title: "agreement between levels", Provenance: Derived,
			Statement:     "Adjacent levels of SPEC §3 agree within their predicted bounds: GD vs gradient flow within the O(η) first-order gap, finite samples vs population within the O(n^{−1/2}) bound, the finite samples are draws from the setting's law (their statistics within a Bonferroni bound), and the judge's attention measurement is invariant under a common shift of every score (within its rounding bound, docs/AGREEMENT.md §7).",
			Quantity:      "largest ratio measured gap / predicted bound over the agreement checks",
			PredictedName: "bound ratio", Predicted: Num(1), Relation: LE,
		},
	}
}
