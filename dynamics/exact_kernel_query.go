package dynamics

import (
	"math"

	"mimverify/internal/fastexp"
	"mimverify/theory"
)

// The per-query evaluation of the exact kernel: the factors e^{z_j A_j − m_A}
// of a block's queries (queryExps), their attention, losses and gradient
// coefficients (blockCoefs), and the direct log-sum-exp fallback for a
// softmax whose factored sum underflows (queryDirect).

// queryExps writes, for each masked query qpos[qi] of a term in one block
// (qlo ≤ qi < qhi, i = qi − qlo), the factors ea[i·ng + j] =
// e^{z_j A[k][p][j] − m_A} of its ng = len(has) key groups (the masked keys'
// group, j = N_k, carries no A: its z_j A_j is 0). m_A is the largest
// z_j A_j over the groups that have keys, so every factor is ≤ 1 (a group
// whose e^{B} sum underflows still counts: its keys may carry the largest
// scores). A group without keys gets the factor 1; its e^{B} sum is 0. The
// exponentials of all the queries are taken in one loop (expNonPosSlice).
func (ws *weightedSet) queryExps(c theory.Correlations, st *structure, z []float64, has []bool, qlo, qhi int, ea []float64) {
	k := int(st.k)
	n, ng := ws.nArea[k], len(has)
	z = z[:ng]
	// Two queries at a time (the last one twice when their number is odd:
	// the same values written twice), so that their maxima are two
	// independent chains.
	for q0 := qlo; q0 < qhi; q0 += 2 {
		q1 := min(q0+1, qhi-1)
		x0 := ea[(q0-qlo)*ng : (q0-qlo+1)*ng]
		x1 := ea[(q1-qlo)*ng : (q1-qlo+1)*ng]
		a0 := c.A[k][ws.qpos[q0]][:n]
		a1 := c.A[k][ws.qpos[q1]][:n]
		a1, x0, x1 = a1[:len(a0)], x0[:ng], x1[:ng]
		// The maximum without a data-dependent branch (which the processor
		// mispredicts about twice per query): groups without keys count as
		// −∞; has[j] is the same for all the term's queries. The sign of a
		// zero maximum does not matter (x − ±0 and e^{±0} have the same
		// bits); a NaN makes the query's loss NaN either way.
		m0, m1 := math.Inf(-1), math.Inf(-1)
		for j := range a0 {
			v0, v1 := z[j]*a0[j], z[j]*a1[j]
			x0[j], x1[j] = v0, v1
			if !has[j] {
				v0, v1 = math.Inf(-1), math.Inf(-1)
			}
			m0, m1 = max(m0, v0), max(m1, v1)
		}
		if ng > n {
			x0[n], x1[n] = 0, 0
			if has[n] {
				m0, m1 = max(m0, 0), max(m1, 0)
			}
		}
		for j := range x0 {
			if has[j] {
				x0[j], x1[j] = x0[j]-m0, x1[j]-m1
			} else {
				x0[j], x1[j] = 0, 0
			}
		}
	}
	expNonPosSlice(ea[:(qhi-qlo)*ng])
}

// blockCoefs evaluates the masked queries qpos[qlo:qhi] of a term in the
// block starting at row p0 (query i = qi − qlo in row r = qpos[qi] − p0)
// from their factors sc.ea[i·ng + j] = e^{z_j A_j − m_A} (queryExps) and the
// per-group sums T_j = sc.tg[j·rowBlock + r] = Σ_{q∈group j} e^{B[p][q] − m_p}
// (the areas j < N_k, then the masked keys with keys "all"). For each query
// it writes ℓ_p into ql[i], adds weight × ∂ℓ_p/∂A[k][p][·] into grad.A, and
// writes into sc.cg[j·rowBlock + r] the B-gradient coefficient of each key
// group, weight·e^{z_j A_j − m_A}(r_j − r̄)/Σ, so that
// ∂ℓ_p/∂B[p][q] = e^{B[p][q] − m_p} · cg[j(q)·rowBlock + r] (SPEC §2). A
// query whose factored normaliser underflows is evaluated by queryDirect
// instead, its coefficients left (cleared by the caller) at 0.
func (ws *weightedSet) blockCoefs(c, grad theory.Correlations, st *structure, z []float64, ng, qlo, qhi, p0 int, sc *scratch, weight float64, ql []float64) {
	k := int(st.k)
	n := ws.nArea[k]
	S, rr, zg := sc.s[:ng], sc.r[:ng], z[:ng]
	dd := sc.za[:n] // S_j z_j − z_a 1{j=a} (sc.za is free outside queryDirect)
	gA := grad.A[k]
	for qi := qlo; qi < qhi; qi++ {
		i := qi - qlo
		p, a := int(ws.qpos[qi]), int(ws.qarea[qi])
		r := p - p0
		ea, T := sc.ea[i*ng:(i+1)*ng], sc.tg[r:]
		sum := 0.0
		for j, e := range ea {
			S[j] = e * T[j*rowBlock]
			sum += S[j]
		}
		if sum < tinySum {
			directQueries.Add(1)
			ql[i] = ws.queryDirect(c, st, z, qi, sc, weight, gA[p][:n], sc.directRow(r, ws.P))
			continue
		}
		inv := 1 / sum
		// r_j = z_j (S_j z_j − z_a 1{j=a}), r̄ = Σ_j S_j r_j, ℓ_p = ½ Σ_j (S_j z_j − z_a 1{j=a})²;
		// masked keys have r = 0 and add nothing to r̄ or ℓ_p.
		// Two passes, so that the own area's correction is not a branch in
		// the loop (mispredicted about once per query); the same operations
		// in the same order.
		for j := range dd {
			sj := S[j] * inv
			S[j] = sj
			dd[j] = sj * zg[j]
		}
		dd[a] -= zg[a]
		lp, rbar := 0.0, 0.0
		for j, d := range dd {
			rr[j] = zg[j] * d
			lp += d * d
			rbar += S[j] * rr[j]
		}
		ql[i] = 0.5 * lp
		coef := weight * inv
		garow, cf := gA[p][:n], sc.cg[r:]
		for j := range garow {
			dr := rr[j] - rbar
			cf[j*rowBlock] = coef * dr * ea[j]
			garow[j] += weight * zg[j] * S[j] * dr
		}
		if ng > n {
			cf[n*rowBlock] = coef * (0 - rbar) * ea[n]
		}
	}
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
// per key): it returns ℓ_p and adds weight × the
// gradient of ℓ_p into garow (A[k][p][·]) and gbrow (B[p][·]). The kernel
// uses it when the factored weights underflow; SampleGrads and GradOn for
// every query. The keys are taken group by group (they are stored grouped
// by area, the masked keys last): per-group sums in a register instead of
// an addition into S[j] through memory per key, the maximum and the shift by
// rowMax and subRow, the B coefficient once per group — the same operations
// on each value in the same order as key by key, so the same bits
// (TestQueryDirectBits), at about half the time.
func (ws *weightedSet) queryDirect(c theory.Correlations, st *structure, z []float64, qi int, sc *scratch, weight float64, garow, gbrow []float64) float64 {
	k := int(st.k)
	n := ws.nArea[k]
	p, a := int(ws.qpos[qi]), int(ws.qarea[qi])
	ng := ws.keyGroups(k)
	koff := ws.koff[st.ko : int(st.ko)+ng+1]
	k0 := int(koff[0])
	e := sc.e[:int(koff[ng])-k0]
	za, S, rr := sc.za[:n+1], sc.s[:n+1], sc.r[:n+1]
	arow, brow := c.A[k][p][:n], c.B[p][:ws.P]
	for j, aj := range arow {
		za[j] = z[j] * aj
	}
	za[n] = 0
	for j := range ng {
		zj, ej := za[j], e[int(koff[j])-k0:int(koff[j+1])-k0]
		for i, q := range ws.kpos[koff[j]:koff[j+1]] {
			ej[i] = zj + brow[q]
		}
	}
	subRow(e, e, rowMax(e))
	fastexp.NonPos(e)
	sum := 0.0
	clear(S)
	for j := range ng {
		s := 0.0
		for _, x := range e[int(koff[j])-k0 : int(koff[j+1])-k0] {
			s += x
			sum += x
		}
		S[j] = s
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
	coef := weight * inv
	for j := range ng {
		f, ej := coef*(rr[j]-rbar), e[int(koff[j])-k0:int(koff[j+1])-k0]
		for i, q := range ws.kpos[koff[j]:koff[j+1]] {
			gbrow[q] += ej[i] * f
		}
	}
	for j := range garow[:n] {
		garow[j] += weight * z[j] * S[j] * (rr[j] - rbar)
	}
	return 0.5 * lp
}
