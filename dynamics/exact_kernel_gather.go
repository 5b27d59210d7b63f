package dynamics

import (
	"math"

	"mimverify/theory"
)

// The per-term evaluation of GradStdErr and the kernel's exponential (the
// gather and scatter loops are in exact_kernel_rows.go).

// termLossGrad returns the unscaled loss Σ_{p∈M} ℓ_p of one term and adds
// weight × its gradient into gA (per cluster, flat P×N_k)
// and gB (flat P×P). It evaluates every query by the direct log-sum-exp
// (queryDirect), independently of the e^B table: it serves
// PopulationObjective.GradStdErr, which needs the gradient term by term.
func (ws *weightedSet) termLossGrad(c theory.Correlations, t term, gA [][]float64, gB []float64, sc *scratch, weight float64) float64 {
	st := &ws.structs[t.st]
	k := int(st.k)
	n := ws.nArea[k]
	P := ws.P
	z := ws.zs[t.z0 : int(t.z0)+n+1]
	loss := 0.0
	for qi := int(st.q0); qi < int(st.q1); qi++ {
		if st.k0 == st.k1 {
			// No keys: ŷ_p = 0, ℓ_p = ½ z_a², no dependence on (A, B).
			za := z[ws.qarea[qi]]
			loss += 0.5 * za * za
			continue
		}
		p := int(ws.qpos[qi])
		loss += ws.queryDirect(c, st, z, qi, sc, weight, gA[k][p*n:(p+1)*n], gB[p*P:(p+1)*P])
	}
	return loss
}

// exp2Table[i] = 2^{i/64} (math.Exp2: within 1.005u, TestExpNonPos).
var exp2Table = func() (t [64]float64) {
	for i := range t {
		t[i] = math.Exp2(float64(i) / 64)
	}
	return
}()

// expNonPosSliceGo sets every entry v of x to e^v, to within 4.4u relative
// (u = 2⁻⁵³; 4.9e-16) for v ∈ (−708, 0] (TestExpNonPos); below −708 (near
// underflow), NaN, or above 0 it defers to math.Exp. With k = round(64v/ln2)
// = 64m + i, i ∈ [0, 64), and r = v − k·ln2/64 (|r| ≤ (1 + 3e-11)·ln2/128,
// the excess from the rounding of v·64/ln2), e^v = 2^m · 2^{i/64} · e^r, 2^{i/64} from
// exp2Table and e^r from a degree-5 polynomial by Estrin's scheme. The
// relative error, term by term:
//   - table entry: math.Exp2(i/64), within 1.005u of 2^{i/64} (all 64
//     entries measured against 300-bit values, TestExpNonPos);
//   - reduction: k·ln2hi/64 is exact (ln2hi has 32 significant bits, |k| <
//     2¹⁷) and so is v minus it (Sterbenz); the last subtraction, the
//     rounding of k·ln2lo/64 and the < 2⁻⁸⁶ left of ln2 by hi + lo move r by
//     < 0.006u absolutely, so e^r by < 0.006u relatively;
//   - polynomial: truncation |r|⁶/6!·e^|r| < 3.6e-17 (0.32u); the roundings
//     of 1 + r and of the final sum, each ≤ u relative to the result (in
//     [0.994, 1.006]); the other roundings act on terms < 1.5e-5 (< 0.001u);
//   - product 2^{i/64}·p: u; the scaling by 2^m adds m to the exponent bits,
//     exactly (e^v > e^{−708} is a normal number).
//
// Sum: 1.005 + 0.006 + 0.32 + 2 + 0.001 + 1 = 4.33u; the products of these
// small factors add O(u²): ≤ 4.4u. The float64 conversions forbid fused
// multiply-adds (GOAMD64=v3), which the assembly does not do either: the
// roundings are the ones counted. One loop: the exponentials are
// independent, and the loop lets the processor overlap them. It is several
// times faster than math.Exp; the kernel takes its e^B table (fillEB) and the
// per-query factors e^{z_j A_j − m_A} (queryExps) through it, by
// expNonPosSlice, which runs eight at a time in AVX-512 when the CPU has it
// (exact_kernel_rows_amd64.go); the direct log-sum-exp path (queryDirect)
// calls math.Exp.
func expNonPosSliceGo(x []float64) {
	const (
		invLn2N = 64 / math.Ln2
		ln2hiN  = 6.93147180369123816490e-01 / 64
		ln2loN  = 1.90821492927058770002e-10 / 64
		shift   = 0x1.8p52
	)
	for i, v := range x {
		if !(v > -708 && v <= 0) {
			x[i] = math.Exp(v)
			continue
		}
		kf := float64(v*invLn2N) + shift
		k := int64(math.Float64bits(kf) - math.Float64bits(shift))
		kf -= shift
		r := (v - float64(kf*ln2hiN)) - float64(kf*ln2loN)
		r2 := r * r
		p := (1 + r) + float64(r2*((1.0/2+float64(r*(1.0/6)))+float64(r2*(1.0/24+float64(r*(1.0/120))))))
		t := exp2Table[k&63] * p
		x[i] = math.Float64frombits(math.Float64bits(t) + uint64(k>>6)<<52)
	}
}
