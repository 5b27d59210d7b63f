package judge

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"

	"mimverify/theory"
	"mimverify/theory/expr"
)

// The measurement instrument's self-check (docs/AGREEMENT.md §7). The
// claims C2, C3, C5, C6 and C7 read attention masses that attend computes,
// and a fault in attend moves the measured side of all of them alike,
// where no comparison between engines can see it. One property of the true
// measurement is known exactly: a score of query p on key q is
// z_{j(q)}·A_{k,p,j(q)} + B_{p,q} (unmasked key) or B_{p,q} (masked key,
// keys "all"), with coefficient 1 on B_{p,q} for every key, so adding a
// constant c to every PP correlation adds c to every score of every query
// and leaves every softmax mass unchanged. The check measures the main
// run's last record as it is and with every B_{p,q} + c, and compares the
// masses against the floating-point rounding bound of that shift.

// instrumentShift is the c added to every PP correlation: beyond exp's
// range (≈ 709.78) on its own, so that a softmax that exponentiates scores
// without subtracting their maximum overflows on every preset, and small
// enough that the rounding it costs (≈ 2cu) stays near 10⁻¹³.
const instrumentShift = 1000

// expKappa is κ, the relative error of math.Exp in units of u = 2⁻⁵³ that
// the bound allows. The portable Exp documents less than 1 ulp (κ = 2);
// the amd64 assembly documents no bound, and its largest error measured
// over 10⁶ arguments in [−746, 0] was 2.8u (TestExpAccuracy checks 2·10⁴
// of them against κ on the machine that runs the tests). κ enters the
// bound as κu next to 2cu ≈ 2000u: its margin costs nothing.
const expKappa = 8

// instrumentBound is the derived bound on the largest change of a mass
// (docs/AGREEMENT.md §7): u·(2c + 5S + 4N + κ − 1), with u = 2⁻⁵³, c the
// shift, S a bound on |z·A| + |B| over the scores, N the positions (at
// least the keys of any query), κ the error of exp. It holds while
// instrumentValid does.
var instrumentBound = expr.Mul(expr.Sym("u"), expr.Add(
	expr.Mul(expr.Num(2), expr.Sym("c")), expr.Mul(expr.Num(5), expr.Sym("S")),
	expr.Mul(expr.Num(4), expr.Sym("N")), expr.Sym("κ"), expr.Neg(expr.Num(1))))

// instrumentValid reports whether the bound's "− 1" — one u more than
// the first-order κ − 2 — covers the second-order terms, underflow and the
// rounding of the bound's own evaluation: u·(4c + 25S + 42N² + 2κ²) ≤ ¼
// (docs/AGREEMENT.md §7). It fails only for scores beyond ~10¹⁴ or P
// beyond ~10⁶, and for a non-finite S.
func instrumentValid(env expr.Env) bool {
	c, S, N, k := env["c"], env["S"], env["N"], env["κ"]
	return env["u"]*(4*c+25*S+42*N*N+2*k*k) <= 0.25
}

// softmaxShiftCheck is C8's instrument self-check at the record rec of the
// main run, measured on the samples the claims are measured on. ok is false
// when it cannot be made: a state or samples of the wrong shape, or a
// state outside instrumentValid.
func softmaxShiftCheck(s *theory.Setting, rec *theory.Record, samples []theory.Sample) (check AgreementCheck, ok bool) {
	c := rec.Correlations
	if s.Shape().Check(c) != nil || len(samples) == 0 {
		return AgreementCheck{}, false
	}
	for _, smp := range samples {
		if s.CheckSample(smp) != nil {
			return AgreementCheck{}, false
		}
	}
	env := instrumentEnv(s, c, samples, instrumentShift)
	if !instrumentValid(env) {
		return AgreementCheck{}, false
	}
	dev := shiftDeviation(s, c, shiftPP(c, instrumentShift), samples)
	return AgreementCheck{
		Name: fmt.Sprintf("measurement instrument: softmax shift invariance at step %d (every PP correlation + %g; S = %.3g, N = %g)",
			rec.Step, env["c"], env["S"], env["N"]),
		Quantity: fmt.Sprintf("max|Δ mass| under scores + %g", env["c"]),
		Measured: dev, Bound: instrumentBound, Env: env}, true
}

// instrumentEnv binds the bound's symbols for the state c on the samples
// with the shift shift. S = max|z|·max|A| + max|B| bounds |z·A| + |B| for
// every score of every query (the rounding of this product and sum is one
// of the second-order terms instrumentValid covers).
func instrumentEnv(s *theory.Setting, c theory.Correlations, samples []theory.Sample, shift float64) expr.Env {
	zmax := 0.0
	for _, smp := range samples {
		for _, z := range smp.Z {
			zmax = math.Max(zmax, math.Abs(z))
		}
	}
	amax, bmax := c.MaxAbs()
	// The derivation bounds the rounding of B + c by u(|B| + |c|): c enters
	// as |shift|.
	return expr.Env{"u": 0x1p-53, "c": math.Abs(shift), "S": zmax*amax + bmax, "N": float64(s.P), "κ": expKappa}
}

// shiftPP returns a copy of the state c with shift added to every PP
// correlation B_{p,q} (each sum rounded once).
func shiftPP(c theory.Correlations, shift float64) theory.Correlations {
	d := c.Clone()
	for _, row := range d.B {
		floats.AddConst(shift, row)
	}
	return d
}

// shiftDeviation returns the largest |x' − x| over the masses that attend
// gives every masked query of the samples on c (x) and on d (x'): its mass
// on the unmasked keys of each area (what C2, C3, C6 and C7 read) and on
// each key (C5's total variation). It is +Inf when a mass is not finite on
// either state: C8 takes the largest ratio to the bound, and a NaN there
// would leave C8 not asserted instead of failed.
func shiftDeviation(s *theory.Setting, c, d theory.Correlations, samples []theory.Sample) float64 {
	pi, piD := make([]float64, s.P), make([]float64, s.P)
	worst := 0.0
	for _, smp := range samples {
		for p, masked := range smp.Mask {
			if !masked {
				continue
			}
			areas := attend(s, c, smp, p, pi)
			areasD := attend(s, d, smp, p, piD)
			worst = math.Max(worst, math.Max(maxAbsDiff(areas, areasD), maxAbsDiff(pi, piD)))
		}
	}
	return worst
}

// maxAbsDiff returns max_i |x_i − y_i|, or +Inf when a difference is not
// finite (a NaN included).
func maxAbsDiff(x, y []float64) float64 {
	worst := 0.0
	for i := range x {
		d := math.Abs(x[i] - y[i])
		if math.IsNaN(d) || math.IsInf(d, 0) {
			return math.Inf(1)
		}
		worst = max(worst, d)
	}
	return worst
}
