package dynamics

import "fmt"

// This file reads the population law of a masked query's attention off the
// orbit terms: the distribution that the judge's sharp predictions compare
// the measured attention with (docs/SHARP.md §1). It shares the orbit
// kernel's softmax (partition, termAt) but none of the judge's measurement
// code, so a fault in the measurement is not mirrored in the prediction.

// AttentionTerm is one term of the population law of the attention of a
// masked query: one query representative in one cluster, one z vector and
// one vector of unmasked key counts.
type AttentionTerm struct {
	// Cluster, Query and Area are the cluster k, the representative query
	// position p0 and its area a_k(p0).
	Cluster, Query, Area int
	// Weight is the expected number of masked queries per image that the
	// term stands for: |orbit(p0)| · π_k · Pr(p0 masked) · Pr(z, counts).
	// Summed over all terms it is the expected number of masked queries of
	// an image.
	Weight float64
	// Reconstructable reports whether the query's own area has an unmasked
	// key in this term.
	Reconstructable bool
	// Own is the attention mass on the unmasked keys of the query's area.
	Own float64
	// Loss is the query's ½‖ŷ − x‖², before the setting's loss scale.
	Loss float64
	// GapFP and GapPP are the query's own-vs-other logit gaps carried by
	// the FP and the PP correlations (the judge's Attention.FPShare): Δ_FP
	// = z_a A_{k,p0,a} − mean_{q off} z_{j(q)} A_{k,p0,j(q)} and Δ_PP =
	// mean_{q own} B_{p0,q} − mean_{q off} B_{p0,q} over unmasked keys;
	// HasGap is false (and both 0) unless the query has unmasked keys both
	// in and out of its area.
	GapFP, GapPP float64
	HasGap       bool
	// Mass[j] is the expected attention mass on the unmasked keys of area
	// j of the cluster (areas lumped into one class share the class's mass
	// equally). The slice is reused between calls.
	Mass []float64
}

// EachAttention calls f with every term of the population law of the
// masked queries' attention at the orbit state x. With exact enumeration
// and the mean field the terms are those LossGrad sums; in CRN mode they
// are the plain common-random-number draws (weight 1/n each, without the
// control variates, which are differences and not a law), so the law is
// then a Monte Carlo sample of CRNSamples draws per representative.
func (o *Orbit) EachAttention(x []float64, f func(AttentionTerm)) {
	for _, pr := range o.probs {
		pr.eachAttention(o, x, f)
	}
}

func (pr *orbProblem) eachAttention(o *Orbit, x []float64, f func(AttentionTerm)) {
	t := AttentionTerm{Cluster: pr.k, Query: pr.p0, Area: pr.ownArea, Mass: make([]float64, len(pr.areaClass))}
	pr.setBWeights(x)
	pr.eachTerm(o, func(z []float64) { pr.setWeightsFast(x, z) }, func(z, n []float64, w float64) {
		t.Weight = w
		pr.attentionTerm(x, z, n, &t)
		f(t)
	})
}

// eachTerm calls emit with the z vector, the unmasked key counts and the
// weight (expected masked queries per image) of every term of the law
// EachAttention reads, calling block first with each block's z.
func (pr *orbProblem) eachTerm(o *Orbit, block func(z []float64), emit func(z, n []float64, w float64)) {
	perQuery := pr.wLoss / o.s.LossScale()
	G := len(pr.groups)
	for _, b := range pr.blocks {
		if o.mode == OrbitCRN && b.sample < 0 {
			continue // the control variates' quadrature at the mean counts
		}
		block(b.z)
		switch {
		case b.c0 < 0:
			pr.enum.each(func(n []float64, w float64) { emit(b.z, n, perQuery*b.w*w) })
		case o.mode == OrbitCRN:
			emit(b.z, pr.counts[b.c0*G:(b.c0+1)*G], perQuery*b.w*pr.cweight[b.c0]) // the draw, not its control
		default:
			for cv := b.c0; cv < b.c1; cv++ {
				emit(b.z, pr.counts[cv*G:(cv+1)*G], perQuery*b.w*pr.cweight[cv])
			}
		}
	}
}

// GapGradients writes into dFP and dPP (len Dim(), overwritten) the
// gradients in x of Σ Weight·GapFP and Σ Weight·GapPP over the terms of
// EachAttention that have HasGap. The gaps are linear in x and the weights
// do not depend on it, so these are constants of the law: the judge's FP
// share A/(|A| + |B|) is differentiated with them (docs/SHARP.md §4).
func (o *Orbit) GapGradients(dFP, dPP []float64) {
	if len(dFP) != o.Dim() || len(dPP) != o.Dim() {
		panic(fmt.Sprintf("dynamics: orbit: gap gradients of length %d and %d, must be Dim() = %d", len(dFP), len(dPP), o.Dim()))
	}
	clear(dFP)
	clear(dPP)
	for _, pr := range o.probs {
		pr.eachTerm(o, func([]float64) {}, func(z, n []float64, w float64) { pr.gapCoefficients(z, n, w, dFP, dPP) })
	}
}

// gapCoefficients adds w times the coefficients of logitGaps' Δ_FP and Δ_PP
// for count vector n at z.
func (pr *orbProblem) gapCoefficients(z, n []float64, w float64, dFP, dPP []float64) {
	var ownKeys, offKeys float64
	for g, gr := range pr.groups {
		if gr.class == 0 {
			ownKeys += n[g]
		} else {
			offKeys += n[g]
		}
	}
	if ownKeys == 0 || offKeys == 0 {
		return
	}
	own := pr.classes[0]
	dFP[own.fp] += w * z[own.area]
	for g, gr := range pr.groups {
		if gr.class == 0 {
			dPP[gr.pp] += w * n[g] / ownKeys
			continue
		}
		cl := pr.classes[gr.class]
		dFP[cl.fp] -= w * n[g] * z[cl.area] / offKeys
		dPP[gr.pp] -= w * n[g] / offKeys
	}
}

// attentionTerm fills t's attention fields for count vector n at the
// weights of z set by setWeightsFast (restored on return).
func (pr *orbProblem) attentionTerm(x, z, n []float64, t *AttentionTerm) {
	za := z[pr.ownArea]
	own := pr.classes[0] // the own area is class 0, alone
	ownKeys := 0.0
	for g := own.g0; g < own.g1; g++ {
		ownKeys += n[g]
	}
	t.Reconstructable = ownKeys > 0
	pr.logitGaps(x, n, ownKeys, t)
	clear(t.Mass)
	Z, keys := pr.partition(n)
	if !keys {
		t.Own, t.Loss = 0, 0.5*za*za // no keys: ŷ = 0
		return
	}
	fallback := Z < tinySum
	if fallback {
		pr.setWeights(x, z, n)
		Z, _ = pr.partition(n)
	}
	t.Loss = pr.termAt(n, Z, za, 0, false) // leaves T[c] = T_C/Z
	t.Own = pr.T[0]
	for j, c := range pr.areaClass {
		t.Mass[j] = pr.T[c] / float64(pr.classes[c].m)
	}
	if fallback {
		pr.setWeightsFast(x, z)
	}
}

// logitGaps sets t's Δ_FP and Δ_PP for count vector n (ownKeys of them in
// the own area) at the z of the current block (pr.zc, set with the
// weights). Keys of one group share their B variable, and areas lumped in
// a class share their A variable and z, so the sums over keys are sums
// over groups weighted by their counts.
func (pr *orbProblem) logitGaps(x, n []float64, ownKeys float64, t *AttentionTerm) {
	var fpOff, ppOwn, ppOff, offKeys float64
	for g, gr := range pr.groups {
		if gr.class == 0 {
			ppOwn += n[g] * x[gr.pp]
			continue
		}
		offKeys += n[g]
		fpOff += n[g] * pr.zc[gr.class] * x[pr.classes[gr.class].fp]
		ppOff += n[g] * x[gr.pp]
	}
	t.HasGap = ownKeys > 0 && offKeys > 0
	t.GapFP, t.GapPP = 0, 0
	if t.HasGap {
		t.GapFP = pr.zc[0]*x[pr.classes[0].fp] - fpOff/offKeys
		t.GapPP = ppOwn/ownKeys - ppOff/offKeys
	}
}

// Work returns the cost of one LossGrad, counted in (term, key group)
// pairs of the general kernel (term: about a dozen operations per key group
// and class of a term): a term of term's kernel or of the enumeration
// counts its key groups plus classes; a CRN draw of the lane kernels
// (orbit_crn_lanes.go) counts them at orbitLanePairCost per term; the
// factored control (§4.1) its model's ctrlCostNodes·N·n·numMom operations
// at orbitCtrlOpCost (docs/PERFORMANCE.md, issue 27, "Second pass"). It is
// the cost model of an orbit step, for callers that budget a run before it
// starts; NumTerms still counts the terms held (memory).
func (o *Orbit) Work() float64 {
	w := 0.0
	for _, pr := range o.probs {
		w += pr.work()
	}
	return w
}

// Costs relative to a pair of term (docs/PERFORMANCE.md, issue 27, "Second
// pass"; TestOrbitWorkCalibration checks the whole): a draw's term in the
// lane kernels, per key group and class, 0.05–0.1 on the CRN presets (the
// most on the smallest problems, whose fixed per-draw work weighs most);
// one operation of the factored control's cost model, 0.05–0.12 with its
// moments in AVX-512.
const (
	orbitLanePairCost = 0.1
	orbitCtrlOpCost   = 0.1
)

// work is Work for one problem.
func (pr *orbProblem) work() float64 {
	gn := float64(len(pr.groups) + len(pr.classes))
	blocks, w := pr.blocks, 0.0
	if pr.ctrl != nil {
		w += orbitCtrlOpCost * ctrlCostNodes * float64(len(pr.classes)*len(pr.ctrl.zn)*numMom)
		blocks = blocks[:pr.ctrl0]
	}
	for _, b := range blocks {
		t := float64(b.c1 - b.c0)
		if b.c0 < 0 {
			t = float64(pr.enum.count)
		}
		if pr.fast && b.sample >= 0 {
			t *= orbitLanePairCost
		}
		w += t * gn
	}
	return w
}

// AttentionWork returns the cost of one EachAttention pass in Work's units:
// each of its terms (in CRN mode the plain draws, without their control
// pairs) goes through term's kernel once.
func (o *Orbit) AttentionWork() float64 {
	w := 0.0
	for _, pr := range o.probs {
		gn := float64(len(pr.groups) + len(pr.classes))
		for _, b := range pr.blocks {
			switch {
			case o.mode == OrbitCRN && b.sample < 0:
			case b.c0 < 0:
				w += float64(pr.enum.count) * gn
			case o.mode == OrbitCRN:
				w += gn
			default:
				w += float64(b.c1-b.c0) * gn
			}
		}
	}
	return w
}
