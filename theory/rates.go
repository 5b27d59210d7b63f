package theory

import (
	"math"

	"mimverify/internal/mutant"

	// The formulas below read as formulas with the builders unqualified;
	// this file and claims.go are the only ones that dot-import.
	. "mimverify/theory/expr"
)

// Rates, time scales and their regimes: the derived predictions of claims C2–C7.
// Every formula is derived in docs/THEORY.md (section cited on each function);
// the constants are this project's own (the paper's are not available).
//
// Symbols that Setting.Env binds beyond the setting's own:
//
//	λ     loss scale: 1 (sum) or 1/P (mean)
//	κ     (N_max/(N_max − 1))², the asymptotic rate factor (1 + 1/m)² of m = N_max − 1 off areas;
//	      1 for keys "all" (masked keys are an off area whose FP logit cannot move)
//	c     η·λ·γ·π_min, the slowest per-row learning rate of an FP row
//	z_4   (E z⁴)^{1/4} under the z law (typical z of the early phase)
//	z_2   (E z²)^{1/2} under the z law (the FP correlations' rate per unit of gap, C4)
//	ρ     (P − C_min)/C_min, the largest initial off-area/own-area key ratio (mean field);
//	      (P − n)/n with n = max(1, (1 − γ)·C_min) for keys "all"
//	n_min (1 − γ)·C_min, the mean number of unmasked keys in the smallest area
//	N_g, N_o  the global area size and the other-local size of a global+local layout
//	          (the area of Setting.GlobalArea, whatever its label; N_o = P − N_g − C_loc,
//	          C_loc the smallest local area)
//
// plus "ε", "δ" (accuracy and failure fraction of C3) and "t" (the step).

// Env binds the symbols of the setting that the claims' formulas use
// (docs/THEORY.md §1):
//
//	P        number of positions          K      number of clusters
//	γ        masking probability          η      step size
//	L, U     support of z                 d      embedding dimension
//	N_max    most areas in a cluster      C_min  smallest area size
//	C_max    largest area size            π_min  smallest cluster probability
//	σ        initialisation scale (0 for zero init)
//
// and the rate symbols listed at the top of this file. The judge adds its
// own (ε, δ, t, T₁, the step budget).
func (s *Setting) Env() Env {
	env := Env{"P": float64(s.P), "K": float64(len(s.Clusters)), "γ": s.Gamma, "η": s.Eta,
		"L": s.Z.L, "U": s.Z.U, "d": float64(s.Dim()), "σ": s.Init.Sigma}
	if mutant.On(mutant.SupportSwapped) {
		env["L"], env["U"] = s.Z.U, s.Z.L
	}
	nMax, cMin, cMax, piMin := 0, s.P, 0, 1.0
	for _, c := range s.Clusters {
		nMax = max(nMax, c.NumAreas())
		for _, n := range c.AreaSizes() {
			cMin, cMax = min(cMin, n), max(cMax, n)
		}
		if c.Prob > 0 {
			piMin = math.Min(piMin, c.Prob)
		}
	}
	env["N_max"], env["C_min"], env["C_max"], env["π_min"] = float64(nMax), float64(cMin), float64(cMax), piMin
	s.addRateSymbols(env)
	return env
}

// addRateSymbols binds the symbols of the rate formulas.
func (s *Setting) addRateSymbols(env Env) {
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
	if mutant.On(mutant.KappaInverted) {
		kappa = 1 / kappa
	}
	env["λ"] = lam
	env["κ"] = kappa
	env["c"] = s.Eta * lam * s.Gamma * env["π_min"]
	env["z_4"] = math.Pow(zMoment(s.Z, 4), 0.25)
	env["z_2"] = math.Sqrt(zMoment(s.Z, 2))
	env["ρ"] = (float64(s.P) - env["C_min"]) / env["C_min"]
	if s.Keys == KeysAll {
		n := math.Max((1-s.Gamma)*env["C_min"], 1)
		env["ρ"] = (float64(s.P) - n) / n
	}
	env["n_min"] = (1 - s.Gamma) * env["C_min"]
	// Global+local layout: the global area is the one of GlobalArea, the
	// same whatever its label; without one, N_g is the largest area of
	// cluster 0 (the phase regime then fails on N_g > C_loc or on K = 1).
	sizes := s.Clusters[0].AreaSizes()
	g, ok := s.GlobalArea()
	if !ok {
		for j, n := range sizes {
			if n > sizes[g] {
				g = j
			}
		}
	}
	ng, cloc := float64(sizes[g]), float64(s.P)
	for j, n := range sizes {
		if j != g {
			cloc = math.Min(cloc, float64(n))
		}
	}
	if len(sizes) == 1 {
		cloc = 0
	}
	env["N_g"] = ng
	env["C_loc"] = cloc
	env["N_o"] = float64(s.P) - ng - cloc
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

// ownGapAt is the predicted upper envelope of the root-mean-square (hence
// also of the mean) gap 1 − S_own of reconstructable masked queries at step t
// (docs/THEORY.md §3, C7(i)), from the two-area solution
// F(y) − F(1/ρ) = κ·c·L⁴·t with y = S_own/(1 − S_own) and F(y) ≤ y²/2 + 6y:
//
//	1 − own(t) ≤ 1/max(1, √max(0, 36 + 2·(κ·c·L⁴·t − ρ − 3·log ρ)) − 5)   ~ 1/(L²·√(2·κ·c·t))
func ownGapAt() Expr {
	tau := Sub(Sub(Mul(symKappa, symC, PowN(symL, 4), symT), Sym("ρ")), Mul(Num(3), Log(Sym("ρ"))))
	root := Sqrt(Max(Num(0), Add(Num(36), Mul(Num(2), tau))))
	return Div(Num(1), Max(Num(1), Sub(root, Num(5))))
}

// lossEnvelope is the predicted upper envelope of the reconstructable loss at
// step t (docs/THEORY.md §3, C7(ii) and §5, C2): γ·P masked queries per image,
// each with loss ≤ λ·U²·(1 − S_own)²:
//
//	L_rec(t) ≤ λ·γ·P·U²·ownGapAt(t)²   ~ P·U²/(2·κ·η·π_min·L⁴·t)
func lossEnvelope() Expr {
	return Mul(Sym("λ"), Sym("γ"), Sym("P"), PowN(symU, 2), PowN(ownGapAt(), 2))
}

// fpGrowthSlope is the asymptotic slope dA_own/d ln t of the own-area FP
// correlation (docs/THEORY.md §3, C7(iii)): 1/(2·L·√κ) = (N_max − 1)/(2·L·N_max).
func fpGrowthSlope() Expr {
	return Div(Num(1), Mul(Num(2), symL, Sqrt(symKappa)))
}

// areaWideTime is T*(ε, δ), an upper bound on the number of steps after which
// a fraction ≥ 1 − δ of reconstructable masked queries have own-area mass
// ≥ 1 − ε (docs/THEORY.md §4, C3):
//
//	T*(ε, δ) = (1/(2·κ·ε²) + 1/ε + log(1/ε) + ρ/4)/(c·L⁴·δ)
func areaWideTime() Expr {
	inner := Add(Div(Num(1), Mul(Num(2), symKappa, PowN(symEps, 2))), Div(Num(1), symEps), Log(Div(Num(1), symEps)), Div(Sym("ρ"), Num(4)))
	return Div(inner, Mul(symC, PowN(symL, 4), symDelta))
}

// rateRegime returns the predicates under which the rate formulas ownGapAt,
// lossEnvelope and fpGrowthSlope (C7, C2) are asserted (docs/THEORY.md §2).
func rateRegime() []Predicate {
	return []Predicate{
		{Left: Sym("N_max"), Op: GE, Right: Num(2),
			Why: "some cluster has an off area, so that the own-area mass is not trivially 1 and κ is defined"},
		{Left: Sym("n_min"), Op: GE, Right: Num(1),
			Why: "mean field: the smallest area keeps on average at least one unmasked patch (γ not too close to 1)"},
		{Left: Mul(symC, PowN(symU, 4)), Op: LE, Right: Num(10),
			Why: "step size small enough that GD follows the gradient flow the rates are derived for (threshold checked numerically, §2)"},
	}
}

// fpRegime returns the predicates under which C4's "FP carries the
// attention" is asserted (docs/THEORY.md §6.1): rateRegime plus
// z_2²·(C_min − 1) ≥ 1. With one cluster of equal areas of C positions and
// a constant z, the FP and PP parts of the own-vs-other logit gap grow in
// the fixed ratio z²·(C − 1)·P/(P − 1) from a zero start, so the FP share
// is z²k/(z²k + 1) at every step and ≥ ½ exactly when z²k ≥ 1; the
// predicate asks it with C_min, without the factor P/(P − 1) > 1, and E z²
// for z. falsify found the claim false without it (docs/FALSIFY.md §6).
func fpRegime() []Predicate {
	return append(rateRegime(), Predicate{
		Left: Mul(PowN(Sym("z_2"), 2), Sub(Sym("C_min"), Num(1)), Sym("π_min")), Op: GE, Right: Num(1),
		Why: "the FP part of the logit gap outgrows the PP part: their ratio is z²·(C − 1)·P/(P − 1) for one cluster of equal areas at constant z, and a cluster's FP correlations grow with its probability π_k while the PP ones, shared, grow with all clusters' (§6.1; found by falsify)",
	})
}

// areaWideRegime returns the predicates under which areaWideTime is asserted
// (C3, docs/THEORY.md §4): rateRegime plus the condition that the
// logarithmic correction of a non-constant z law, 1 + (U − L)·log(1/ε)/L,
// is covered by the slack (z_4/L)⁴ the bound already takes by using L.
func areaWideRegime() []Predicate {
	return append(rateRegime(), Predicate{
		Left:  Add(Num(1), Div(Mul(Sub(symU, symL), Log(Div(Num(1), symEps))), symL)),
		Op:    LE,
		Right: PowN(Div(Sym("z_4"), symL), 4),
		Why:   "ε not so small that the log t correction of a spread z law exceeds the L⁴ slack of the bound (§4.3)",
	})
}

// phaseRegime returns the predicates under which phaseTimes is compared with
// measured events (C6, docs/THEORY.md §7): one cluster, a global area larger
// than every local area, the rate regime, and a run long enough to see the
// last phase: its heuristic time within the run's t steps. Without the last
// one, falsify found C6 "failing" on a run that stopped before the last
// event could happen (global-local 6+2+2, η = 0.1: heuristic 28 927 steps
// against a budget of 5000; docs/FALSIFY.md §6).
func phaseRegime() []Predicate {
	_, _, wide := phaseTimes()
	return append(rateRegime(),
		Predicate{Left: Sym("K"), Op: EQ, Right: Num(1), Why: "the two-area reduction is derived for one cluster"},
		Predicate{Left: Sym("N_g"), Op: GT, Right: Sym("C_loc"), Why: "the global area dominates a local query's initial attention"},
		Predicate{Left: wide, Op: LE, Right: Sym("t"), Why: "the run is long enough to see the last phase: its heuristic time T((1 − ε)/ε) is within the run's t steps (found by falsify)"},
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

// phaseTimes predicts, on a global+local layout (see Setting.GlobalArea),
// the steps at which a local query's own-area mass overtakes the global
// mass (decouple), passes ½ (takeover) and passes 1 − ε (wide), from the
// two-area reduction of docs/THEORY.md §7 (C6; heuristic: a prediction, not a
// bound). With F(y) = y²/2 + 3y + 3 log y − 1/y and ρ₀ = C_loc/(P − C_loc):
//
//	T(y) = (F(y) − F(ρ₀))/(κ·c·z_4⁴),  decouple y = N_g/(N_g + N_o), takeover y = 1, wide y = (1 − ε)/ε
func phaseTimes() (decouple, takeover, wide Expr) {
	yDec := Div(Sym("N_g"), Add(Sym("N_g"), Sym("N_o")))
	yWide := Div(Sub(Num(1), symEps), symEps)
	return phaseTime(yDec), phaseTime(Num(1)), phaseTime(yWide)
}
