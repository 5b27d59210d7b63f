package theory

import "math"

// Rates, time scales and their regimes: the derived predictions of claims C2–C7.
// Every formula is derived in docs/THEORY.md (section cited on each function);
// the constants are this project's own (the paper's are not available).
//
// Symbols beyond SettingEnv (bound by RateEnv):
//
//	λ     loss scale: 1 (sum) or 1/P (mean)
//	κ     (N_max/(N_max − 1))², the asymptotic rate factor (1 + 1/m)² of m = N_max − 1 off areas;
//	      1 for keys "all" (masked keys are an off area whose FP logit cannot move)
//	c     η·λ·γ·π_min, the slowest per-row learning rate of an FP row
//	z_4   (E z⁴)^{1/4} under the z law (typical z of the early phase)
//	ρ     (P − C_min)/C_min, the largest initial off-area/own-area key ratio (mean field);
//	      (P − n)/n with n = max(1, (1 − γ)·C_min) for keys "all"
//	n_min (1 − γ)·C_min, the mean number of unmasked keys in the smallest area
//	N_g, N_o  the global area size and the other-local size of a global+local layout
//	          (cluster 0, area 0 is global; N_o = P − N_g − C_loc, C_loc the smallest local area)
//
// plus "ε", "δ" (accuracy and failure fraction of C3) and "t" (the step).

// RateEnv extends SettingEnv(s) with the symbols the rate formulas use
// (docs/THEORY.md §1).
func RateEnv(s *Setting) Env {
	env := SettingEnv(s)
	lam := s.LossScale()
	nMax := env["N_max"]
	kappa := 4.0
	if nMax >= 2 {
		kappa = (nMax / (nMax - 1)) * (nMax / (nMax - 1))
	}
	if s.Keys == KeysAll {
		// Masked keys form a pseudo-area whose logit A cannot lower: κ = 1 (§3.3).
		kappa = 1
	}
	env["λ"] = lam
	env["κ"] = kappa
	env["c"] = s.Eta * lam * s.Gamma * env["π_min"]
	env["z_4"] = math.Pow(zMoment(s.Z, 4), 0.25)
	env["ρ"] = (float64(s.P) - env["C_min"]) / env["C_min"]
	if s.Keys == KeysAll {
		n := math.Max((1-s.Gamma)*env["C_min"], 1)
		env["ρ"] = (float64(s.P) - n) / n
	}
	env["n_min"] = (1 - s.Gamma) * env["C_min"]
	// Global+local layout: area 0 of cluster 0 is the global area.
	sizes := s.Clusters[0].AreaSizes()
	ng, cloc := float64(sizes[0]), float64(s.P)
	for _, n := range sizes[1:] {
		cloc = math.Min(cloc, float64(n))
	}
	if len(sizes) == 1 {
		cloc = 0
	}
	env["N_g"] = ng
	env["C_loc"] = cloc
	env["N_o"] = float64(s.P) - ng - cloc
	return env
}

// zMoment returns E[z^k] under the law.
func zMoment(z ZLaw, k float64) float64 {
	switch z.Kind {
	case ZUniform, ZShared:
		if z.U == z.L {
			return math.Pow(z.L, k)
		}
		return (math.Pow(z.U, k+1) - math.Pow(z.L, k+1)) / ((k + 1) * (z.U - z.L))
	case ZTwoPoint:
		return (math.Pow(z.L, k) + math.Pow(z.U, k)) / 2
	}
	return math.Pow(z.L, k)
}

var (
	symC     = Sym("c")
	symKappa = Sym("κ")
	symL     = Sym("L")
	symU     = Sym("U")
	symEps   = Sym("ε")
	symDelta = Sym("δ")
	symT     = Sym("t")
)

// OwnGapAt is the predicted upper envelope of the root-mean-square (hence
// also of the mean) gap 1 − S_own of reconstructable masked queries at step t
// (docs/THEORY.md §3, C7(i)), from the two-area solution
// F(y) − F(1/ρ) = κ·c·L⁴·t with y = S_own/(1 − S_own) and F(y) ≤ y²/2 + 6y:
//
//	1 − own(t) ≤ 1/max(1, √max(0, 36 + 2·(κ·c·L⁴·t − ρ − 3·log ρ)) − 5)   ~ 1/(L²·√(2·κ·c·t))
func OwnGapAt() Expr {
	tau := Sub(Sub(Mul(symKappa, symC, PowN(symL, 4), symT), Sym("ρ")), Mul(Num(3), Log(Sym("ρ"))))
	root := Sqrt(Max(Num(0), Add(Num(36), Mul(Num(2), tau))))
	return Div(Num(1), Max(Num(1), Sub(root, Num(5))))
}

// LossEnvelope is the predicted upper envelope of the reconstructable loss at
// step t (docs/THEORY.md §3, C7(ii) and §5, C2): γ·P masked queries per image,
// each with loss ≤ λ·U²·(1 − S_own)²:
//
//	L_rec(t) ≤ λ·γ·P·U²·OwnGapAt(t)²   ~ P·U²/(2·κ·η·π_min·L⁴·t)
func LossEnvelope() Expr {
	return Mul(Sym("λ"), Sym("γ"), Sym("P"), PowN(symU, 2), PowN(OwnGapAt(), 2))
}

// FPGrowthSlope is the asymptotic slope dA_own/d ln t of the own-area FP
// correlation (docs/THEORY.md §3, C7(iii)): 1/(2·L·√κ) = (N_max − 1)/(2·L·N_max).
func FPGrowthSlope() Expr {
	return Div(Num(1), Mul(Num(2), symL, Sqrt(symKappa)))
}

// AreaWideTime is T*(ε, δ), an upper bound on the number of steps after which
// a fraction ≥ 1 − δ of reconstructable masked queries have own-area mass
// ≥ 1 − ε (docs/THEORY.md §4, C3):
//
//	T*(ε, δ) = (1/(2·κ·ε²) + 1/ε + log(1/ε) + ρ/4)/(c·L⁴·δ)
func AreaWideTime() Expr {
	inner := Add(Div(Num(1), Mul(Num(2), symKappa, PowN(symEps, 2))), Div(Num(1), symEps), Log(Div(Num(1), symEps)), Div(Sym("ρ"), Num(4)))
	return Div(inner, Mul(symC, PowN(symL, 4), symDelta))
}

// RateRegime returns the predicates under which the rate formulas OwnGapAt,
// LossEnvelope and FPGrowthSlope (C7, C2) are asserted (docs/THEORY.md §2).
func RateRegime() []Predicate {
	return []Predicate{
		{Left: Sym("N_max"), Op: "≥", Right: Num(2),
			Why: "some cluster has an off area, so that the own-area mass is not trivially 1 and κ is defined"},
		{Left: Sym("n_min"), Op: "≥", Right: Num(1),
			Why: "mean field: the smallest area keeps on average at least one unmasked patch (γ not too close to 1)"},
		{Left: Mul(symC, PowN(symU, 4)), Op: "≤", Right: Num(10),
			Why: "step size small enough that GD follows the gradient flow the rates are derived for (threshold checked numerically, §2)"},
	}
}

// AreaWideRegime returns the predicates under which AreaWideTime is asserted
// (C3, docs/THEORY.md §4): RateRegime plus the condition that the
// logarithmic correction of a non-constant z law, 1 + (U − L)·log(1/ε)/L,
// is covered by the slack (z_4/L)⁴ the bound already takes by using L.
func AreaWideRegime() []Predicate {
	return append(RateRegime(), Predicate{
		Left:  Add(Num(1), Div(Mul(Sub(symU, symL), Log(Div(Num(1), symEps))), symL)),
		Op:    "≤",
		Right: PowN(Div(Sym("z_4"), symL), 4),
		Why:   "ε not so small that the log t correction of a spread z law exceeds the L⁴ slack of the bound (§4.3)",
	})
}

// PhaseRegime returns the predicates under which PhaseTimes is compared with
// measured events (C6, docs/THEORY.md §7): one cluster, a global area larger
// than every local area, and the rate regime.
func PhaseRegime() []Predicate {
	return append(RateRegime(),
		Predicate{Left: Sym("K"), Op: "=", Right: Num(1), Why: "the two-area reduction is derived for one cluster"},
		Predicate{Left: Sym("N_g"), Op: ">", Right: Sym("C_loc"), Why: "the global area dominates a local query's initial attention"},
	)
}

// phaseF is F(y) = y²/2 + 3y + 3·log y − 1/y, the antiderivative of
// (1 + y)³/y² that times the two-area reduction (docs/THEORY.md §7).
func phaseF(y Expr) Expr {
	return Add(Div(PowN(y, 2), Num(2)), Mul(Num(3), y), Mul(Num(3), Log(y)), Neg(Div(Num(1), y)))
}

// phaseTime is the reduced-dynamics time for the own/rest odds y = S_own/(1 − S_own)
// to go from its initial value ρ₀ = C_loc/(P − C_loc) to y.
func phaseTime(y Expr) Expr {
	rho0 := Div(Sym("C_loc"), Sub(Sym("P"), Sym("C_loc")))
	return Div(Sub(phaseF(y), phaseF(rho0)), Mul(symKappa, symC, PowN(Sym("z_4"), 4)))
}

// PhaseTimes predicts, on a global+local layout (cluster 0, area 0 global),
// the steps at which a local query's own-area mass overtakes the global
// mass (decouple), passes ½ (takeover) and passes 1 − ε (wide), from the
// two-area reduction of docs/THEORY.md §7 (C6; heuristic: a prediction, not a
// bound). With F(y) = y²/2 + 3y + 3 log y − 1/y and ρ₀ = C_loc/(P − C_loc):
//
//	T(y) = (F(y) − F(ρ₀))/(κ·c·z_4⁴),  decouple y = N_g/(N_g + N_o), takeover y = 1, wide y = (1 − ε)/ε
func PhaseTimes() (decouple, takeover, wide Expr) {
	yDec := Div(Sym("N_g"), Add(Sym("N_g"), Sym("N_o")))
	yWide := Div(Sub(Num(1), symEps), symEps)
	return phaseTime(yDec), phaseTime(Num(1)), phaseTime(yWide)
}
