package dynamics

import "mimverify/theory"

// The per-term evaluation of GradStdErr (the gather and scatter loops are in
// exact_kernel_rows.go; the kernel's exponential is internal/fastexp).

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
