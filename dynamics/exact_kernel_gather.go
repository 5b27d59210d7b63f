package dynamics

import (
	"math"

	"mimverify/theory"
)

// The gather and scatter loops of the exact kernel over a group of queries
// sharing one key list, the per-term evaluation of GradStdErr, and the
// kernel's exponential.

func gather8(ebT []float64, kp []int32, r *[groupMax]int, out []float64, stride int) {
	const m = rowBlock - 1
	r0, r1, r2, r3, r4, r5, r6, r7 := r[0]&m, r[1]&m, r[2]&m, r[3]&m, r[4]&m, r[5]&m, r[6]&m, r[7]&m
	var t0, t1, t2, t3, t4, t5, t6, t7 float64
	for _, q := range kp {
		e := (*[rowBlock]float64)(ebT[int(q)*rowBlock:])
		t0 += e[r0]
		t1 += e[r1]
		t2 += e[r2]
		t3 += e[r3]
		t4 += e[r4]
		t5 += e[r5]
		t6 += e[r6]
		t7 += e[r7]
	}
	out[0], out[stride], out[2*stride], out[3*stride] = t0, t1, t2, t3
	out[4*stride], out[5*stride], out[6*stride], out[7*stride] = t4, t5, t6, t7
}

func gather4(ebT []float64, kp []int32, r0, r1, r2, r3 int) (t0, t1, t2, t3 float64) {
	r0, r1, r2, r3 = r0&(rowBlock-1), r1&(rowBlock-1), r2&(rowBlock-1), r3&(rowBlock-1)
	for _, q := range kp {
		e := (*[rowBlock]float64)(ebT[int(q)*rowBlock:])
		t0 += e[r0]
		t1 += e[r1]
		t2 += e[r2]
		t3 += e[r3]
	}
	return
}

func gather2(ebT []float64, kp []int32, r0, r1 int) (float64, float64) {
	r0, r1 = r0&(rowBlock-1), r1&(rowBlock-1)
	// Two partial sums per row (even and odd keys).
	var t0, t1, u0, u1 float64
	i := 0
	for ; i+2 <= len(kp); i += 2 {
		e := (*[rowBlock]float64)(ebT[int(kp[i])*rowBlock:])
		f := (*[rowBlock]float64)(ebT[int(kp[i+1])*rowBlock:])
		t0 += e[r0]
		t1 += e[r1]
		u0 += f[r0]
		u1 += f[r1]
	}
	if i < len(kp) {
		e := (*[rowBlock]float64)(ebT[int(kp[i])*rowBlock:])
		t0 += e[r0]
		t1 += e[r1]
	}
	return t0 + u0, t1 + u1
}

func gather1(ebT []float64, kp []int32, r0 int) float64 {
	r0 &= rowBlock - 1
	// Four partial sums (keys i mod 4), for instruction-level parallelism.
	var t0, t1, t2, t3 float64
	i := 0
	for ; i+4 <= len(kp); i += 4 {
		k4 := (*[4]int32)(kp[i:])
		t0 += ebT[int(k4[0])*rowBlock+r0]
		t1 += ebT[int(k4[1])*rowBlock+r0]
		t2 += ebT[int(k4[2])*rowBlock+r0]
		t3 += ebT[int(k4[3])*rowBlock+r0]
	}
	for ; i < len(kp); i++ {
		t0 += ebT[int(kp[i])*rowBlock+r0]
	}
	return (t0 + t1) + (t2 + t3)
}

func scatter8(cT []float64, kp []int32, r *[groupMax]int, cf []float64, stride int) {
	const m = rowBlock - 1
	r0, r1, r2, r3, r4, r5, r6, r7 := r[0]&m, r[1]&m, r[2]&m, r[3]&m, r[4]&m, r[5]&m, r[6]&m, r[7]&m
	c0, c1, c2, c3 := cf[0], cf[stride], cf[2*stride], cf[3*stride]
	c4, c5, c6, c7 := cf[4*stride], cf[5*stride], cf[6*stride], cf[7*stride]
	for _, q := range kp {
		e := (*[rowBlock]float64)(cT[int(q)*rowBlock:])
		e[r0] += c0
		e[r1] += c1
		e[r2] += c2
		e[r3] += c3
		e[r4] += c4
		e[r5] += c5
		e[r6] += c6
		e[r7] += c7
	}
}

func scatter4(cT []float64, kp []int32, r0, r1, r2, r3 int, c0, c1, c2, c3 float64) {
	r0, r1, r2, r3 = r0&(rowBlock-1), r1&(rowBlock-1), r2&(rowBlock-1), r3&(rowBlock-1)
	for _, q := range kp {
		e := (*[rowBlock]float64)(cT[int(q)*rowBlock:])
		e[r0] += c0
		e[r1] += c1
		e[r2] += c2
		e[r3] += c3
	}
}

func scatter2(cT []float64, kp []int32, r0, r1 int, c0, c1 float64) {
	r0, r1 = r0&(rowBlock-1), r1&(rowBlock-1)
	for _, q := range kp {
		e := (*[rowBlock]float64)(cT[int(q)*rowBlock:])
		e[r0] += c0
		e[r1] += c1
	}
}

func scatter1(cT []float64, kp []int32, r0 int, c0 float64) {
	r0 &= rowBlock - 1
	for _, q := range kp {
		cT[int(q)*rowBlock+r0] += c0
	}
}

// termLossGrad returns the unscaled loss Σ_{p∈M} ℓ_p of one term and, when
// gB is non-nil, adds weight × its gradient into gA (per cluster, flat P×N_k)
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
		var garow, gbrow []float64
		if gB != nil {
			p := int(ws.qpos[qi])
			garow, gbrow = gA[k][p*n:(p+1)*n], gB[p*P:(p+1)*P]
		}
		loss += ws.queryDirect(c, st, z, qi, sc, weight, garow, gbrow)
	}
	return loss
}

// expNonPos returns e^x for x ≤ 0 (any x is accepted), to within 2 ulp
// (tested against math.Exp): x = (64m + i)·ln2/64 + r with i ∈ [0, 64),
// |r| ≤ ln2/128 (Cody–Waite: the high part of ln2/64 has 32 significant
// bits, so m·ln2hi/64 is exact), e^x = 2^m · 2^{i/64} · e^r with 2^{i/64}
// from a table and a degree-5 polynomial for e^r (truncation error
// |r|^6/6! < 4e-17), evaluated by Estrin's scheme. Below −708 (near
// underflow), NaN, or above 0 it defers to math.Exp. It is several times
// faster than math.Exp, and the kernel's exponentials are a large part of
// its cost.
func expNonPos(x float64) float64 {
	if !(x > -708 && x <= 0) {
		return math.Exp(x)
	}
	const (
		invLn2N = 64 / math.Ln2
		ln2hiN  = 6.93147180369123816490e-01 / 64 // 0x3fe62e42fee00000 / 64
		ln2loN  = 1.90821492927058770002e-10 / 64
		shift   = 0x1.8p52 // adding it rounds to an integer, kept in the low bits
	)
	kf := x*invLn2N + shift
	k := int64(math.Float64bits(kf) - math.Float64bits(shift)) // round(x·64/ln2) ≤ 0
	kf -= shift
	r := (x - kf*ln2hiN) - kf*ln2loN
	r2 := r * r
	p := (1 + r) + r2*((1.0/2+r*(1.0/6))+r2*(1.0/24+r*(1.0/120)))
	t := exp2Table[k&63] * p
	return math.Float64frombits(math.Float64bits(t) + uint64(k>>6)<<52)
}

// exp2Table[i] = 2^{i/64}.
var exp2Table = func() (t [64]float64) {
	for i := range t {
		t[i] = math.Exp2(float64(i) / 64)
	}
	return
}()
