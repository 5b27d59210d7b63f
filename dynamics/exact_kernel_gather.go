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

// exp2Table[i] = 2^{i/64}.
var exp2Table = func() (t [64]float64) {
	for i := range t {
		t[i] = math.Exp2(float64(i) / 64)
	}
	return
}()

// expNonPosSliceGo sets x[i] = e^{x[i]} for every i, for x[i] ≤ 0 (any x[i]
// is accepted), to within 2 ulp (tested against math.Exp): x = (64m +
// i)·ln2/64 + r with i ∈ [0, 64), |r| ≤ ln2/128 (Cody–Waite: the high part
// of ln2/64 has 32 significant bits, so m·ln2hi/64 is exact), e^x = 2^m ·
// 2^{i/64} · e^r with 2^{i/64} from a table and a degree-5 polynomial for e^r
// (truncation error |r|^6/6! < 4e-17), evaluated by Estrin's scheme. Below
// −708 (near underflow), NaN, or above 0 it defers to math.Exp. It is several
// times faster than math.Exp, and the kernel's exponentials are a large part
// of its cost. The float64 conversions forbid fused multiply-adds
// (GOAMD64=v3), which the assembly does not do either. One loop: the
// exponentials are independent, and the loop lets the processor overlap
// them. It is the definition of expNonPosSlice, which runs eight at a time
// in AVX-512 when the CPU has it (exact_kernel_rows_amd64.go).
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
