package dynamics

import (
	"math"

	"mimverify/theory"
)

// The per-query evaluation of the exact kernel: a group of queries of one
// term sharing its key list (group), one query's attention, loss and
// gradient coefficients (queryCoef), and the direct log-sum-exp fallback
// for a softmax whose factored sum underflows (queryDirect).

// group evaluates the g ∈ {1, 2, 4} queries qpos[qi:qi+g] of one term,
// sharing the loads of its key indices: the per-area sums
// T_j = Σ_{q ∈ keys of area j} e^{B[p][q] − m_p}, the per-query statistics
// (queryCoef), then the B-gradient coefficients into sc.cT.
func (ws *weightedSet) group(c, grad theory.Correlations, st *structure, z []float64, qi, g, p0 int, sc *scratch, weight float64, ql []float64) {
	n := ws.nArea[st.k]
	ng := n // key groups: the areas, and the masked keys with keys "all"
	if ws.keys == theory.KeysAll {
		ng++
	}
	nr := n + 1
	koff := ws.koff[st.ko : int(st.ko)+n+2]
	var r [groupMax]int
	for m := 0; m < g; m++ {
		r[m] = int(ws.qpos[qi+m]) - p0
	}
	has := sc.has[:ng]
	for j := range has {
		has[j] = koff[j+1] > koff[j]
	}
	tg, cg := sc.tg[:g*nr], sc.cg[:g*nr]
	for j := 0; j < ng; j++ {
		kp := ws.kpos[koff[j]:koff[j+1]]
		switch g {
		case 8:
			gather8(sc.ebT, kp, &r, tg[j:], nr)
		case 4:
			tg[j], tg[nr+j], tg[2*nr+j], tg[3*nr+j] = gather4(sc.ebT, kp, r[0], r[1], r[2], r[3])
		case 2:
			tg[j], tg[nr+j] = gather2(sc.ebT, kp, r[0], r[1])
		default:
			tg[j] = gather1(sc.ebT, kp, r[0])
		}
	}
	for m := 0; m < g; m++ {
		ql[m] = ws.queryCoef(c, grad, st, z, has, qi+m, r[m], tg[m*nr:m*nr+ng], cg[m*nr:m*nr+ng], sc, weight)
	}
	if grad.B == nil {
		return
	}
	for j := 0; j < ng; j++ {
		kp := ws.kpos[koff[j]:koff[j+1]]
		switch g {
		case 8:
			scatter8(sc.cT, kp, &r, cg[j:], nr)
		case 4:
			scatter4(sc.cT, kp, r[0], r[1], r[2], r[3], cg[j], cg[nr+j], cg[2*nr+j], cg[3*nr+j])
		case 2:
			scatter2(sc.cT, kp, r[0], r[1], cg[j], cg[nr+j])
		default:
			scatter1(sc.cT, kp, r[0], cg[j])
		}
	}
}

// queryCoef evaluates masked query qpos[qi] (row r of the block) from the
// per-group sums T (T_j for the areas j < N_k, then the masked keys with
// keys "all"; has[j] says whether group j has keys): it returns ℓ_p, adds
// weight × ∂ℓ_p/∂A[k][p][·] into grad.A, and writes into cf the B-gradient
// coefficient of each key group, weight·e^{z_j A_j − m_A}(r_j − r̄)/Σ, so
// that ∂ℓ_p/∂B[p][q] = e^{B[p][q] − m_p} · cf[j(q)] (SPEC §2). If the
// factored normaliser underflows it defers to queryDirect and sets cf to 0.
func (ws *weightedSet) queryCoef(c, grad theory.Correlations, st *structure, z []float64, has []bool, qi, r int, T, cf []float64, sc *scratch, weight float64) float64 {
	k := int(st.k)
	p, a := int(ws.qpos[qi]), int(ws.qarea[qi])
	arow := c.A[k][p]
	n := len(arow)
	ng := len(T)
	ea, S, rr := sc.za[:ng], sc.s[:ng], sc.r[:ng]
	zf := z // z with its trailing 0, for queryDirect
	cf, has, z = cf[:ng], has[:ng], z[:ng]
	// m_A is the largest z_j A_j over the groups that have keys, so every
	// factor e^{z_j A_j − m_A} is ≤ 1 (a group whose e^{B} sum underflowed
	// still counts: its keys may carry the largest scores). The masked
	// keys' group (j = N_k) carries no A: its z_j A_j is 0.
	amax := math.Inf(-1)
	for j, aj := range arow[:min(n, ng)] {
		x := z[j] * aj
		ea[j] = x
		if has[j] && !(x <= amax) {
			amax = x
		}
	}
	if ng > n {
		ea[n] = 0
		if has[n] && !(0 <= amax) {
			amax = 0
		}
	}
	sum := 0.0
	for j, x := range ea {
		e := 0.0
		if has[j] {
			e = expNonPos(x - amax)
		}
		ea[j] = e
		S[j] = e * T[j]
		sum += S[j]
	}
	if sum < tinySum {
		clear(cf)
		var garow, gbrow []float64
		if grad.B != nil {
			garow, gbrow = grad.A[k][p][:n], sc.directRow(r, ws.P)
		}
		return ws.queryDirect(c, st, zf, qi, sc, weight, garow, gbrow)
	}
	inv := 1 / sum
	// r_j = z_j (S_j z_j − z_a 1{j=a}), r̄ = Σ_j S_j r_j, ℓ_p = ½ Σ_j (S_j z_j − z_a 1{j=a})²;
	// masked keys have r = 0 and add nothing to r̄ or ℓ_p.
	lp, rbar := 0.0, 0.0
	za := z[a]
	for j := range rr[:n] {
		sj := S[j] * inv
		S[j] = sj
		d := sj * z[j]
		if j == a {
			d -= za
		}
		rr[j] = z[j] * d
		lp += d * d
		rbar += sj * rr[j]
	}
	if grad.B == nil {
		return 0.5 * lp
	}
	coef := weight * inv
	garow := grad.A[k][p][:n]
	for j := range garow {
		dr := rr[j] - rbar
		cf[j] = coef * dr * ea[j]
		garow[j] += weight * z[j] * S[j] * dr
	}
	if ng > n {
		cf[n] = coef * (0 - rbar) * ea[n]
	}
	return 0.5 * lp
}

// directRow returns row r of sc.dB, the block's direct-path B gradient,
// cleared on its first use in the block.
func (sc *scratch) directRow(r, P int) []float64 {
	db := sc.dB[r*P : (r+1)*P]
	if !sc.dOn[r] {
		clear(db)
		sc.dOn[r] = true
	}
	return db
}

// queryDirect evaluates masked query qpos[qi] of a structure with keys by
// the direct log-sum-exp exp(s_{p,q} − max s) over its keys (one exponential
// per key): it returns ℓ_p and, when garow is not nil, adds weight × the
// gradient of ℓ_p into garow (A[k][p][·]) and gbrow (B[p][·]). The kernel
// uses it when the factored weights underflow.
func (ws *weightedSet) queryDirect(c theory.Correlations, st *structure, z []float64, qi int, sc *scratch, weight float64, garow, gbrow []float64) float64 {
	directQueries.Add(1)
	k := int(st.k)
	n := ws.nArea[k]
	p, a := int(ws.qpos[qi]), int(ws.qarea[qi])
	kpos, karea := ws.kpos[st.k0:st.k1], ws.karea[st.k0:st.k1]
	karea = karea[:len(kpos)]
	e := sc.e[:len(kpos)]
	za, S, rr := sc.za[:n+1], sc.s[:n+1], sc.r[:n+1]
	arow, brow := c.A[k][p][:n], c.B[p][:ws.P]
	for j, aj := range arow {
		za[j] = z[j] * aj
	}
	za[n] = 0
	mx := math.Inf(-1)
	for i, q := range kpos {
		e[i] = za[karea[i]] + brow[q]
		mx = max(mx, e[i])
	}
	sum := 0.0
	clear(S)
	for i, j := range karea {
		e[i] = math.Exp(e[i] - mx)
		S[j] += e[i]
		sum += e[i]
	}
	inv := 1 / sum
	lp, rbar := 0.0, 0.0
	for j := range S {
		S[j] *= inv
		d := S[j] * z[j]
		if j == a {
			d -= z[a]
		}
		rr[j] = z[j] * d
		lp += d * d
		rbar += S[j] * rr[j]
	}
	if garow == nil {
		return 0.5 * lp
	}
	coef := weight * inv
	for i, q := range kpos {
		gbrow[q] += e[i] * (coef * (rr[karea[i]] - rbar))
	}
	for j := range garow[:n] {
		garow[j] += weight * z[j] * S[j] * (rr[j] - rbar)
	}
	return 0.5 * lp
}

// The group loops below read and update one key's rowBlock transposed
// entries (two cache lines) per key index: gatherG returns, for each of the
// group's rows r_m, Σ_{q∈kp} ebT[q·rowBlock + r_m]; scatterG adds c_m to
// cT[q·rowBlock + r_m] for every q ∈ kp. The rows of a group are distinct.
