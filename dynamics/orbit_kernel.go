package dynamics

import (
	"math"

	"mimverify/theory"
)

// eval adds this problem's loss contribution (returned) and gradient (into
// g, when non-nil) at orbit state x; CRN blocks also add their loss into
// sampleLoss. The formulas are docs/ORBIT.md §3 (equations (O1)–(O6)).
func (pr *orbProblem) eval(s *theory.Setting, x, g, sampleLoss []float64, mf bool) float64 {
	pr.accLoss, pr.accSelf = 0, 0
	clear(pr.accA)
	clear(pr.accB)
	G := len(pr.groups)
	for _, b := range pr.blocks {
		za := b.z[pr.ownArea]
		pr.setWeights(x, b.z, nil)
		bl := 0.0
		for cv := b.c0; cv < b.c1; cv++ {
			w := b.w * pr.cweight[cv]
			bl += pr.cweight[cv] * pr.term(x, b.z, pr.counts[cv*G:(cv+1)*G], za, w, g != nil)
		}
		pr.accLoss += b.w * bl
		if b.sample >= 0 {
			sampleLoss[b.sample] += pr.wLoss * bl
		}
	}
	if g != nil {
		for _, out := range pr.fpOut {
			g[out.o] = pr.wGrad * pr.accA[out.idx]
		}
		for _, out := range pr.ppOut {
			if out.idx < 0 {
				g[out.o] += pr.wGrad * pr.accSelf
			} else {
				g[out.o] += pr.wGrad * pr.accB[out.idx]
			}
		}
	}
	return pr.wLoss * pr.accLoss
}

// setWeights sets the per-group key weights for the z vector: unmasked
// keys exp(z_C x_A + x_B − m), masked keys (keys "all") exp(x_B − m), and
// the query itself exp(x_self − m) (in pr.wself). The shift m is the
// largest score over every group, or, with counts non-nil, over the groups
// that have keys in that count vector (the underflow fallback).
func (pr *orbProblem) setWeights(x, z, counts []float64) {
	for c, cl := range pr.classes {
		pr.zc[c] = z[cl.area]
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
	for g := range pr.groups {
		pr.w[g] = math.Exp(pr.w[g] - m)
		pr.wm[g] = math.Exp(pr.wm[g] - m)
	}
}

// term evaluates one count vector n (unmasked keys per group) at the
// current weights, adds weight × its gradient into the accumulators when
// grad, and returns ℓ_{p0}. With pr.exact the within-class second moments of
// the counts (multivariate hypergeometric given the group totals) are used;
// otherwise (mean field) every cell holds exactly its share.
func (pr *orbProblem) term(x, z, n []float64, za, weight float64, grad bool) float64 {
	Z, keys := pr.partition(n)
	if !keys {
		return 0.5 * za * za // no keys: ŷ = 0
	}
	if Z < tinySum {
		pr.setWeights(x, z, n)
		defer pr.setWeights(x, z, nil)
		Z, _ = pr.partition(n)
	}
	inv := 1 / Z
	sumQ := 0.0
	for c, cl := range pr.classes {
		m := float64(cl.m)
		q := pr.T[c] * pr.T[c] / m
		if pr.exact && cl.m > 1 {
			for g := cl.g0; g < cl.g1; g++ {
				q += m * pr.w[g] * pr.w[g] * pr.hyperVar(g, n[g], m)
			}
		}
		pr.gA[c] = pr.zc[c] * pr.zc[c] * q * inv * inv // z_C² Σ_{i∈C} S_i²
		sumQ += pr.gA[c]
	}
	ta := pr.T[0] * inv // S_a; the own class is class 0
	za2 := za * za
	rbar := sumQ - za2*ta
	loss := 0.5*sumQ - za2*ta + 0.5*za2
	if !grad {
		return loss
	}
	for c, cl := range pr.classes {
		m := float64(cl.m)
		own := 0.0
		if cl.own {
			own = za2
		}
		tc := pr.T[c] * inv
		pr.accA[c] += weight * pr.zc[c] / m * (pr.gA[c] - own*ta - rbar*tc)
		z2 := pr.zc[c] * pr.zc[c]
		for g := cl.g0; g < cl.g1; g++ {
			S := float64(pr.groups[g].S)
			r := n[g] * pr.T[c] / m
			if pr.exact && cl.m > 1 {
				r += pr.w[g] * m * pr.hyperVar(g, n[g], m)
			}
			gb := pr.w[g] * inv / S * (z2*r*inv - own*n[g] - rbar*n[g])
			if pr.keysAll {
				gb -= (S - n[g]) / S * pr.wm[g] * inv * rbar
			}
			pr.accB[g] += weight * gb
		}
	}
	if pr.keysAll {
		pr.accSelf -= weight * pr.wself * inv * rbar
	}
	return loss
}

// partition sets the class masses T_C = Σ_{g∈C} n_g w_g and returns the
// softmax normaliser Z and whether there is any key.
func (pr *orbProblem) partition(n []float64) (Z float64, keys bool) {
	for c, cl := range pr.classes {
		t := 0.0
		for g := cl.g0; g < cl.g1; g++ {
			t += n[g] * pr.w[g]
			keys = keys || n[g] > 0
		}
		pr.T[c] = t
		Z += t
	}
	if pr.keysAll {
		for g, gr := range pr.groups {
			Z += (float64(gr.S) - n[g]) * pr.wm[g]
		}
		Z += pr.wself
		keys = true
	}
	return Z, keys
}

// hyperVar is the variance of one area's count in group g given the group
// total n: hypergeometric, n draws from S = m·s keys of which s are the
// area's: n (1/m)(1 − 1/m)(S − n)/(S − 1).
func (pr *orbProblem) hyperVar(g int, n, m float64) float64 {
	S := float64(pr.groups[g].S)
	return n / m * (1 - 1/m) * (S - n) / (S - 1)
}
