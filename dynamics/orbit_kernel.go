package dynamics

import (
	"fmt"
	"math"
)

// compute evaluates this problem's loss and gradient accumulators at orbit
// state x (accLoss, accA, accB, accSelf, and each CRN sample's loss in
// sampLoss); fold adds them into the objective's outputs. compute touches
// only the problem's own state, so problems run concurrently. The formulas
// are docs/ORBIT.md §3 (equations (O1)–(O6)).
func (pr *orbProblem) compute(x []float64, grad bool) {
	pr.accLoss, pr.accSelf = 0, 0
	clear(pr.accA)
	clear(pr.accB)
	G := len(pr.groups)
	pr.setBWeights(x)
	blocks, factored := pr.blocks, pr.ctrl != nil && pr.evalControl(x)
	if factored {
		blocks = blocks[:pr.ctrl0]
	}
	if pr.fast {
		blocks = blocks[pr.evalSamples(x, grad):]
	}
	for _, b := range blocks {
		za := b.z[pr.ownArea]
		pr.setWeightsFast(x, b.z)
		bl := 0.0
		if b.c0 < 0 {
			bl = pr.evalEnum(x, b, za, grad)
		}
		for cv := b.c0; cv < b.c1; cv++ {
			w := b.w * pr.cweight[cv]
			bl += pr.cweight[cv] * pr.term(x, b.z, pr.counts[cv*G:(cv+1)*G], za, w, grad)
		}
		pr.accLoss += b.w * bl
		if b.sample >= 0 {
			pr.sampLoss[b.sample] = pr.wLoss * bl
		}
	}
	if factored {
		pr.ctrlAdd(grad)
	}
}

// fold adds the problem's gradient (into g, when non-nil) and CRN sample
// losses (into sampleLoss) as compute left them and returns its loss
// contribution. Folding the problems in a fixed order makes the result
// independent of how compute was scheduled.
func (pr *orbProblem) fold(g, sampleLoss []float64) float64 {
	for i, l := range pr.sampLoss {
		sampleLoss[i] += l
	}
	if g != nil {
		pr.foldGrad(g)
	}
	return pr.wLoss * pr.accLoss
}

// setBWeights tabulates the z-independent factors of the key weights:
// eB_g = exp(x_B(g) − m_B) and, for keys "all", exp(x_self − m_B), with m_B
// the largest of those B variables.
func (pr *orbProblem) setBWeights(x []float64) {
	m := math.Inf(-1)
	for _, gr := range pr.groups {
		m = max(m, x[gr.pp])
	}
	if pr.keysAll {
		m = max(m, x[pr.self])
		pr.eSelf = math.Exp(x[pr.self] - m)
	}
	for g, gr := range pr.groups {
		pr.eB[g] = math.Exp(x[gr.pp] - m)
	}
}

// setWeightsFast sets the key weights for the z vector as products of
// factors ≤ 1: w_g = exp(z_C x_A − m_A)·eB_g with m_A = max(0, max_C z_C x_A),
// masked keys eB_g·e^{−m_A}, the query eSelf·e^{−m_A} — one exponential per
// class instead of two per group (all share the shift m_A + m_B). If the
// products underflow (Z < tinySum in term), term falls back to setWeights.
func (pr *orbProblem) setWeightsFast(x, z []float64) {
	mA := 0.0
	for c, cl := range pr.classes {
		pr.zc[c] = z[cl.area]
		pr.zc2[c] = pr.zc[c] * pr.zc[c]
		pr.eA[c] = pr.zc[c] * x[cl.fp]
		mA = max(mA, pr.eA[c])
	}
	for c := range pr.eA {
		pr.eA[c] = math.Exp(pr.eA[c] - mA)
	}
	for g, gr := range pr.groups {
		pr.w[g] = pr.eA[gr.class] * pr.eB[g]
	}
	if pr.keysAll {
		f := math.Exp(-mA)
		for g := range pr.groups {
			pr.wm[g] = pr.eB[g] * f
		}
		pr.wself = pr.eSelf * f
	}
}

// setWeights sets the per-group key weights for the z vector: unmasked
// keys exp(z_C x_A + x_B − m), masked keys (keys "all") exp(x_B − m), and
// the query itself exp(x_self − m) (in pr.wself). The shift m is the
// largest score over every group, or, with counts non-nil, over the groups
// that have keys in that count vector (the underflow fallback).
func (pr *orbProblem) setWeights(x, z, counts []float64) {
	for c, cl := range pr.classes {
		pr.zc[c] = z[cl.area]
		pr.zc2[c] = pr.zc[c] * pr.zc[c]
	}
	m := math.Inf(-1)
	for g, gr := range pr.groups {
		cl := pr.classes[gr.class]
		su := pr.zc[gr.class]*x[cl.fp] + x[gr.pp]
		pr.w[g], pr.wm[g] = su, x[gr.pp]
		if counts == nil || counts[g] > 0 {
			m = max(m, su)
		}
		if pr.keysAll && (counts == nil || counts[g] < float64(gr.S)) {
			m = max(m, x[gr.pp])
		}
	}
	pr.wself = 0
	if pr.keysAll {
		m = max(m, x[pr.self])
		pr.wself = math.Exp(x[pr.self] - m)
	}
	for g, gr := range pr.groups {
		pr.w[g] = math.Exp(pr.w[g] - m)
		pr.wm[g] = math.Exp(pr.wm[g] - m)
		// Cells without keys of a kind may score above the shift: their
		// weight would overflow and 0·∞ give NaN; they contribute nothing.
		if counts != nil && counts[g] == 0 {
			pr.w[g] = 0
		}
		if counts != nil && counts[g] == float64(gr.S) {
			pr.wm[g] = 0
		}
	}
}

// term evaluates one count vector n (unmasked keys per group) at the
// current weights, adds weight × its gradient into the accumulators when
// grad, and returns ℓ_{p0}. With pr.exact the within-class second moments of
// the counts (multivariate hypergeometric given the group totals) are used;
// otherwise (mean field) every cell holds exactly its share. Equations
// (O1)–(O6) of docs/ORBIT.md §3. term, termAt, termGrad and partition round
// every product that enters a sum explicitly (float64 conversions, no fused
// multiply-add at GOAMD64=v3), as the enumeration kernel does: evalEnum
// gives their bits (orbit_enum_kernel.go).
func (pr *orbProblem) term(x, z, n []float64, za, weight float64, grad bool) float64 {
	Z, keys := pr.partition(n)
	if !keys {
		return 0.5 * za * za // no keys: ŷ = 0
	}
	if Z >= tinySum {
		return pr.termAt(n, Z, za, weight, grad)
	}
	pr.setWeights(x, z, n)
	Z, _ = pr.partition(n)
	l := pr.termAt(n, Z, za, weight, grad)
	pr.setWeightsFast(x, z)
	return l
}

// termAt is term at the normaliser Z of the current weights.
func (pr *orbProblem) termAt(n []float64, Z, za, weight float64, grad bool) float64 {
	inv := 1 / Z
	G := len(pr.groups)
	w, u, V, T, gA := pr.w[:G], pr.u[:G], pr.V[:G], pr.T, pr.gA
	n = n[:G]
	hv, cls, gS, mg := pr.hv[:G], pr.gcls[:G], pr.gS[:G], pr.m[:G]
	invm, zc2 := pr.invm[:len(T)], pr.zc2[:len(T)]
	gA = gA[:len(T)]
	// Normalised masses t_C = T_C/Z (computed before squaring: T² and
	// 1/Z² may under- and overflow separately), kept in T for this term,
	// and per-key attention u_g = w_g/Z.
	for c := range T {
		T[c] *= inv
		gA[c] = T[c] * T[c] * invm[c]
	}
	// Q_C/Z² = t_C²/m + m Σ_g u_g² V_g (O2), stored as z_C² Q_C / Z² in gA.
	for g, ng := range n {
		ug := w[g] * inv // ≤ 1/n_g when n_g > 0
		if ng == 0 {
			ug = 0 // an absent cell (its w/Z may be huge) contributes nothing
		}
		u[g] = ug
		v := hv[g] * ng * (gS[g] - ng)
		V[g] = v
		gA[cls[g]] += float64(mg[g] * ug * ug * v)
	}
	sumQ := 0.0
	for c := range gA {
		gA[c] *= zc2[c]
		sumQ += gA[c]
	}
	ta := T[0] // S_a; the own class is class 0
	za2 := za * za
	rbar := sumQ - float64(za2*ta)
	loss := float64(0.5*sumQ) - float64(za2*ta) + float64(0.5*za2)
	if grad {
		pr.termGrad(n, za2, ta, rbar, inv, weight)
	}
	return loss
}

// termGrad adds weight × the gradient of one term, (O5)–(O6), from the
// normalised masses and per-key attention that term left in T and u.
func (pr *orbProblem) termGrad(n []float64, za2, ta, rbar, inv, weight float64) {
	G := len(pr.groups)
	w, V, T, gA, cls := pr.u[:G], pr.V[:G], pr.T, pr.gA, pr.gcls[:G]
	acc := pr.accA
	for c := range acc {
		acc[c] += float64(weight * pr.zc[c] * pr.invm[c] * (gA[c] - float64(pr.own[c]*za2*ta) - float64(rbar*T[c])))
	}
	accB := pr.accB[:G]
	for g := range accB {
		c := cls[g]
		r := float64(n[g]*T[c]*pr.invm[c]) + float64(w[g]*pr.m[g]*V[g])
		gb := w[g] * pr.invS[g] * (float64(pr.zc2[c]*r) - float64((float64(pr.own[c]*za2)+rbar)*n[g]))
		if pr.keysAll {
			gb -= float64((pr.gS[g] - n[g]) * pr.invS[g] * pr.wm[g] * inv * rbar)
		}
		accB[g] += float64(weight * gb)
	}
	if pr.keysAll {
		pr.accSelf -= float64(weight * pr.wself * inv * rbar)
	}
}

// partition sets the class masses T_C = Σ_{g∈C} n_g w_g and returns the
// softmax normaliser Z and whether there is any key.
func (pr *orbProblem) partition(n []float64) (Z float64, keys bool) {
	G := len(pr.groups)
	T, w, cls := pr.T, pr.w[:G], pr.gcls[:G]
	clear(T)
	for g, ng := range n[:G] {
		t := float64(ng * w[g])
		T[cls[g]] += t
		Z += t
		keys = keys || ng > 0
	}
	if pr.keysAll {
		for g, gr := range pr.groups {
			Z += float64((float64(gr.S) - n[g]) * pr.wm[g])
		}
		Z += pr.wself
		keys = true
	}
	return Z, keys
}

// setConstants tabulates the per-group and per-class constants of term:
// 1/S, m, the class, and hv_g with V_g = hv_g·n(S − n) the variance of one
// area's count in group g given the group total n — hypergeometric, n draws
// from S = m·s keys of which s are the area's: n (1/m)(1 − 1/m)(S − n)/(S − 1)
// (O3); hv = 0 for m = 1 and for the mean field.
func (pr *orbProblem) setConstants() {
	G, C := len(pr.groups), len(pr.classes)
	pr.gS, pr.invS, pr.m, pr.hv, pr.V = make([]float64, G), make([]float64, G), make([]float64, G), make([]float64, G), make([]float64, G)
	pr.gcls = make([]int, G)
	pr.invm, pr.own, pr.zc2 = make([]float64, C), make([]float64, C), make([]float64, C)
	for c, cl := range pr.classes {
		pr.invm[c] = 1 / float64(cl.m)
		if cl.own {
			pr.own[c] = 1
		}
	}
	for g, gr := range pr.groups {
		m := float64(pr.classes[gr.class].m)
		S := float64(gr.S)
		pr.gS[g], pr.invS[g], pr.m[g], pr.gcls[g] = S, 1/S, m, gr.class
		if pr.exact && m > 1 {
			pr.hv[g] = 1 / m * (1 - 1/m) / (S - 1)
		}
	}
}

// GradStdErr writes into se (len Dim()) the standard error of each
// coordinate of the CRN gradient at x: the sample standard deviation of the
// per-sample gradients (SampleGradients) divided by √n. For enumeration
// and the mean field it writes zeros. It costs about one LossGrad and
// n·Dim() numbers of memory.
func (o *Orbit) GradStdErr(x, se []float64) {
	clear(se)
	n, D := o.nSamples, o.Dim()
	if o.mode != OrbitCRN || n < 2 {
		return
	}
	per := make([]float64, n*D)
	o.SampleGradients(x, per)
	fn := float64(n)
	for j := range se {
		sum, sq := 0.0, 0.0
		for i := range n {
			v := per[i*D+j]
			sum += v
			sq += v * v
		}
		mean := sum / fn
		se[j] = math.Sqrt(math.Max(sq-fn*mean*mean, 0) / (fn - 1) / fn)
	}
}

// NumSamples returns the number n of CRN samples per query representative
// (0 for enumeration and the mean field).
func (o *Orbit) NumSamples() int {
	if o.mode != OrbitCRN {
		return 0
	}
	return o.nSamples
}

// SampleGradients writes into per (NumSamples() rows of Dim(), overwritten)
// each CRN sample's contribution to the gradient at x, summed over the
// query representatives: the samples are i.i.d., and LossGrad's gradient is
// their mean plus the control variates' exact part, the same for every
// sample. It panics unless the mode is CRN and per has that length.
func (o *Orbit) SampleGradients(x, per []float64) {
	D := o.Dim()
	if o.mode != OrbitCRN || len(per) != o.nSamples*D || len(x) != D {
		panic(fmt.Sprintf("dynamics: orbit: sample gradients in mode %s with %d numbers for %d samples of %d", o.mode, len(per), o.nSamples, D))
	}
	clear(per)
	for _, pr := range o.probs {
		pr.sampleGrads(x, per, D)
	}
}

// sampleGrads adds each CRN sample's gradient contribution of this problem
// into per (n rows of D).
func (pr *orbProblem) sampleGrads(x, per []float64, D int) {
	G := len(pr.groups)
	pr.setBWeights(x)
	for _, b := range pr.blocks {
		if b.sample < 0 {
			continue
		}
		clear(pr.accA)
		clear(pr.accB)
		pr.accSelf = 0
		pr.setWeightsFast(x, b.z)
		for cv := b.c0; cv < b.c1; cv++ {
			pr.term(x, b.z, pr.counts[cv*G:(cv+1)*G], b.z[pr.ownArea], pr.cweight[cv], true)
		}
		pr.foldGrad(per[b.sample*D : (b.sample+1)*D])
	}
}

// foldGrad adds the problem's accumulated gradient into g (per entry, by
// orbit): every class and group, weighted by the share of its variable's
// entries it stands for (setFold; docs/ORBIT.md §3.1).
func (pr *orbProblem) foldGrad(g []float64) {
	for c, cl := range pr.classes {
		g[cl.fp] += pr.foldA[c] * pr.accA[c]
	}
	for i, gr := range pr.groups {
		g[gr.pp] += pr.foldB[i] * pr.accB[i]
	}
	if pr.keysAll {
		g[pr.self] += pr.foldSelf * pr.accSelf
	}
}
