package dynamics

import (
	"fmt"
	"math"

	"mimverify/theory"
)

// buildTerms fills the blocks of every problem: the mean field (counts at
// their means), the exact enumeration of the count vectors, or common random
// numbers, with the z nodes of the setting's law (docs/ORBIT.md §4–5).
func (o *Orbit) buildTerms(opt OrbitOptions) error {
	s := &o.s
	if o.mf {
		o.mode = "meanfield"
		for _, pr := range o.probs {
			pr.counts = make([]float64, len(pr.groups))
			for g, gr := range pr.groups {
				pr.counts[g] = float64(gr.S) * unmaskedFraction(s)
			}
			pr.cweight = []float64{1}
			pr.addZBlocks(s, opt.QuadNodes, 1)
			pr.setConstants()
		}
		return nil
	}
	total := 0.0
	for _, pr := range o.probs {
		zs, _ := zNodeTable(s, s.Clusters[pr.k].NumAreas(), opt.QuadNodes)
		total += float64(len(zs)) * pr.countVectors(s)
	}
	o.mode = opt.Mode
	if o.mode == OrbitAuto {
		o.mode = OrbitCRN
		if total <= float64(opt.MaxTerms) {
			o.mode = OrbitEnumerate
		}
	}
	if o.mode == OrbitEnumerate {
		if total > float64(opt.MaxTerms) {
			return fmt.Errorf("dynamics: orbit option Mode = \"enumerate\": setting %q needs %.4g terms > MaxTerms = %d (raise MaxTerms or use mode crn)", s.Name, total, opt.MaxTerms)
		}
		budget := orbitEnumStoreBytes
		for _, pr := range o.probs {
			pr.enumerate(s)
			budget = pr.enum.store(budget)
			pr.addZBlocksRange(s, opt.QuadNodes, -1, -1) // c0 < 0: the enumeration
			pr.exact = true
			pr.setConstants()
		}
		return nil
	}
	rng := theory.NewRand(opt.Seed, theory.StreamCRN)
	o.nSamples = opt.CRNSamples
	o.sampleLoss = make([]float64, o.nSamples)
	for _, pr := range o.probs {
		pr.exact = true
		pr.setConstants()
		pr.sampleCRN(s, rng, o.nSamples)
		pr.addControl(s, opt.QuadNodes, o.nSamples)
	}
	return nil
}

// unmaskedFraction is the probability that a key q ≠ p0 is unmasked given
// that the query p0 is masked.
func unmaskedFraction(s *theory.Setting) float64 {
	if s.Mask == theory.MaskFixed {
		return float64(s.P-s.NumFixedMasked()) / float64(s.P-1)
	}
	return 1 - s.Gamma
}

// addZBlocks adds one block per z node covering the first nc count vectors.
func (pr *orbProblem) addZBlocks(s *theory.Setting, quadNodes, nc int) {
	pr.addZBlocksRange(s, quadNodes, 0, nc)
}

func (pr *orbProblem) addZBlocksRange(s *theory.Setting, quadNodes, c0, c1 int) {
	zs, ws := zNodeTable(s, s.Clusters[pr.k].NumAreas(), quadNodes)
	for i, z := range zs {
		pr.blocks = append(pr.blocks, orbBlock{z: z, w: ws[i], c0: c0, c1: c1, sample: -1})
	}
}

// addControl turns the n CRN samples into control-variate estimates
// (docs/ORBIT.md §4): each sample (z_i, n_i) becomes F(z_i, n_i) −
// F(z_i, n̄) with n̄ the mean counts, and the exact E_z F(z, n̄) is added by
// the z quadrature, so the estimate stays unbiased (up to the quadrature
// error) while the variance due to z is removed to first order. Used when
// z is random and its quadrature has at most 4n nodes (the terms grow at
// most sixfold: 2n for the pairs, ≤ 4n for the quadrature).
func (pr *orbProblem) addControl(s *theory.Setting, quadNodes, n int) {
	zs, _ := zNodeTable(s, s.Clusters[pr.k].NumAreas(), quadNodes)
	if len(zs) < 2 || len(zs) > 4*n {
		return
	}
	G := len(pr.groups)
	mean := make([]float64, G)
	for g, gr := range pr.groups {
		mean[g] = float64(gr.S) * unmaskedFraction(s)
	}
	counts := make([]float64, 0, (2*n+1)*G)
	cweight := make([]float64, 0, 2*n+1)
	for i := range pr.blocks {
		b := &pr.blocks[i]
		counts = append(counts, pr.counts[b.c0*G:b.c1*G]...)
		counts = append(counts, mean...)
		cweight = append(cweight, 1, -1)
		b.c0, b.c1 = 2*i, 2*i+2
	}
	pr.counts = append(counts, mean...)
	pr.cweight = append(cweight, 1)
	pr.addZBlocksRange(s, quadNodes, 2*n, 2*n+1)
}

// countVectors returns the number of count vectors enumeration sums over.
func (pr *orbProblem) countVectors(s *theory.Setting) float64 {
	n := 1.0
	for g, gr := range pr.groups {
		if s.Mask == theory.MaskFixed {
			if g < len(pr.groups)-1 {
				n *= float64(gr.S + 1)
			}
			continue
		}
		lo, hi := trimTails(binomPMF(gr.S, 1-s.Gamma), orbitTailEps)
		n *= float64(hi - lo + 1)
	}
	return n
}

// orbitEnumStoreBytes is the memory, over all problems of one Orbit, that
// the exact enumeration may spend on storing its count vectors and their
// probabilities ((G+1)·8 bytes per vector, G groups): stored, an evaluation
// reads them instead of regenerating them (the odometer and the closure
// cost ≈ 25 % of the per-vector time with two groups, docs/ORBIT.md §7).
// Beyond it (many groups, or enumerations near MaxTerms) they are
// generated on the fly, so memory stays O(Σ_g S_g) per problem. 64 MB is
// small beside the other engines' states at the P where enumerations get
// that large, and holds 2.8 million vectors with two groups (the default
// MaxTerms is 2^20). The results do not depend on it: both ways yield the
// same vectors and probabilities, bit for bit, in the same order.
const orbitEnumStoreBytes = 64 << 20

// orbEnum is the exact enumeration of the count vectors of one problem:
// the odometer over N_g ∈ [lo_g, hi_g] (fixed masks: the last group
// determined by Σ_g N_g = U), with probability norm·Π_g tab_g[N_g],
// generated on the fly or, when store found room, read from vecs and prob.
type orbEnum struct {
	lo, hi []int
	tab    [][]float64
	fixedU int // U for fixed masks, −1 for bernoulli
	norm   float64
	count  int // vectors of positive probability
	idx    []int
	n      []float64
	vecs   []float64 // stored count vectors (count·G), or nil
	prob   []float64 // their probabilities
}

// store keeps the count vectors and their probabilities if they fit in
// budget bytes, and returns the budget left.
func (e *orbEnum) store(budget int) int {
	G := len(e.lo)
	need := e.count * (G + 1) * 8
	if need > budget {
		return budget
	}
	vecs := make([]float64, 0, e.count*G)
	prob := make([]float64, 0, e.count)
	e.each(func(n []float64, w float64) {
		vecs = append(vecs, n...)
		prob = append(prob, w)
	})
	e.vecs, e.prob = vecs, prob
	return budget - need
}

// enumerate sets up the count vectors and their probabilities: independent
// binomials (bernoulli masks, tails of mass ≤ orbitTailEps dropped) or the
// multivariate hypergeometric law of U = P − round(γP) unmasked keys among
// the P − 1 (fixed masks: Π_g C(S_g, N_g) scaled per group, normalised by
// its sum over the vectors — exact up to rounding), docs/ORBIT.md §4.
func (pr *orbProblem) enumerate(s *theory.Setting) {
	G := len(pr.groups)
	e := &orbEnum{lo: make([]int, G), hi: make([]int, G), tab: make([][]float64, G), fixedU: -1, norm: 1,
		idx: make([]int, G), n: make([]float64, G)}
	for g, gr := range pr.groups {
		if s.Mask == theory.MaskFixed {
			lc := make([]float64, gr.S+1)
			m := math.Inf(-1)
			for n := range lc {
				lc[n] = logChoose(gr.S, n)
				m = max(m, lc[n])
			}
			e.tab[g] = make([]float64, gr.S+1)
			for n, l := range lc {
				e.tab[g][n] = math.Exp(l - m)
			}
			e.hi[g] = gr.S
			continue
		}
		e.tab[g] = binomPMF(gr.S, 1-s.Gamma)
		e.lo[g], e.hi[g] = trimTails(e.tab[g], orbitTailEps)
	}
	if s.Mask == theory.MaskFixed {
		e.fixedU = s.P - s.NumFixedMasked()
	}
	sum := 0.0
	e.each(func(_ []float64, w float64) {
		sum += w
		e.count++
	})
	if e.fixedU >= 0 {
		e.norm = 1 / sum
	}
	pr.enum = e
}

// each calls f with every count vector of positive probability and its
// probability (its slice is reused).
func (e *orbEnum) each(f func(n []float64, w float64)) {
	G := len(e.lo)
	if e.prob != nil {
		for i, w := range e.prob {
			copy(e.n, e.vecs[i*G:(i+1)*G])
			f(e.n, w)
		}
		return
	}
	copy(e.idx, e.lo)
	free := G // groups enumerated freely (fixed: the last is determined)
	if e.fixedU >= 0 {
		free = G - 1
	}
	for {
		w := e.norm
		if e.fixedU >= 0 {
			last := e.fixedU
			for g := range free {
				last -= e.idx[g]
			}
			if last < 0 || last > e.hi[G-1] {
				w = 0
			} else {
				e.idx[G-1] = last
			}
		}
		for g := 0; g < G && w > 0; g++ {
			e.n[g] = float64(e.idx[g])
			w *= e.tab[g][e.idx[g]]
		}
		if w > 0 {
			f(e.n, w)
		}
		g := 0
		for ; g < free; g++ {
			if e.idx[g]++; e.idx[g] <= e.hi[g] {
				break
			}
			e.idx[g] = e.lo[g]
		}
		if g == free {
			return
		}
	}
}

// sampleCRN draws n (z, counts) samples, one block each with weight 1/n.
func (pr *orbProblem) sampleCRN(s *theory.Setting, rng interface {
	Float64() float64
	IntN(int) int
}, n int) {
	N := s.Clusters[pr.k].NumAreas()
	G := len(pr.groups)
	U := s.P - s.NumFixedMasked()
	for i := range n {
		z := make([]float64, N)
		L, Up := s.Z.L, s.Z.U
		shared := L + (Up-L)*rng.Float64()
		for j := range z {
			switch s.Z.Kind {
			case theory.ZConstant:
				z[j] = L
			case theory.ZUniform:
				z[j] = L + (Up-L)*rng.Float64()
			case theory.ZTwoPoint:
				z[j] = L
				if rng.Float64() < 0.5 {
					z[j] = Up
				}
			case theory.ZShared:
				z[j] = shared
			}
		}
		c0 := len(pr.cweight)
		if s.Mask == theory.MaskFixed {
			// Selection sampling of U unmasked keys among the P − 1.
			need, left := U, s.P-1
			for g := range G {
				c := 0
				for range pr.groups[g].S {
					if rng.IntN(left) < need {
						c++
						need--
					}
					left--
				}
				pr.counts = append(pr.counts, float64(c))
			}
		} else {
			for g := range G {
				c := 0
				for range pr.groups[g].S {
					if rng.Float64() >= s.Gamma {
						c++
					}
				}
				pr.counts = append(pr.counts, float64(c))
			}
		}
		pr.cweight = append(pr.cweight, 1)
		pr.blocks = append(pr.blocks, orbBlock{z: z, w: 1 / float64(n), c0: c0, c1: c0 + 1, sample: i})
	}
}
