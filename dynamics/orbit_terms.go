package dynamics

import (
	"errors"
	"fmt"
	"math"

	"mimverify/internal/mutant"
	"mimverify/theory"
)

// MaxOrbitTerms bounds the terms NewOrbit builds in any mode: a setting
// beyond it (2²⁶ terms, some 20 GB at judge/cost.go's 300 bytes a term) is
// refused with ErrTooManyTerms before anything is allocated, whatever
// memory the caller allows. With i.i.d. z the z table alone has
// nodes^areas entries: 4¹⁶ ≈ 4.3e9 for 16 areas at the default 4 nodes.
const MaxOrbitTerms = 1 << 26

// ErrTooManyTerms is wrapped by NewOrbit's and PredictOrbit's refusal of a
// setting whose expectation has more than MaxOrbitTerms terms.
var ErrTooManyTerms = errors.New("too many terms to hold")

// orbitZNodes is len(zNodeTable(s, n, quadNodes)), counted without building
// the table: one area's nodes for a z common to the areas, else the tensor
// rule's nodes^n.
func orbitZNodes(s *theory.Setting, n, quadNodes int) float64 {
	k := float64(quadNodes)
	switch {
	case constantZ(s):
		k = 1
	case s.Z.Kind == theory.ZTwoPoint:
		k = 2
	}
	if s.Z.Kind == theory.ZShared || k == 1 {
		return k
	}
	return math.Pow(k, float64(n))
}

// resolveMode returns the mode of the orbit level: opt.Mode, or for auto
// enumeration when its terms fit in opt.MaxTerms, else CRN.
func (o *Orbit) resolveMode(opt OrbitOptions) string {
	if opt.Mode != OrbitAuto {
		return opt.Mode
	}
	total := 0.0
	for _, pr := range o.probs {
		total += orbitZNodes(&o.s, o.s.Clusters[pr.k].NumAreas(), opt.QuadNodes) * pr.countVectors(&o.s)
	}
	if total <= float64(opt.MaxTerms) {
		return OrbitEnumerate
	}
	return OrbitCRN
}

// termCount is the number of terms buildTerms builds in o.mode, counted
// before they are built: z nodes for the mean field, z nodes × count
// vectors for the enumeration (an upper bound for fixed masks, whose
// vectors of probability 0 are skipped), and for CRN the draws, doubled
// with the control variate's pairs plus its z nodes where addControl uses
// it.
func (o *Orbit) termCount(opt OrbitOptions) float64 {
	t := 0.0
	for _, pr := range o.probs {
		t += o.problemTerms(pr, opt)
	}
	return t
}

// problemTerms is termCount for one problem.
func (o *Orbit) problemTerms(pr *orbProblem, opt OrbitOptions) float64 {
	s := &o.s
	nz := orbitZNodes(s, s.Clusters[pr.k].NumAreas(), opt.QuadNodes)
	n := float64(opt.CRNSamples)
	switch {
	case o.mf:
		return nz
	case o.mode == OrbitEnumerate:
		return nz * pr.countVectors(s)
	case nz >= 2 && nz <= 4*n:
		return 2*n + nz
	}
	return n
}

// checkTermCount refuses, before anything is built, an enumeration over
// opt.MaxTerms and any mode over MaxOrbitTerms.
func (o *Orbit) checkTermCount(opt OrbitOptions) error {
	t := o.termCount(opt)
	if o.mode == OrbitEnumerate && t > float64(opt.MaxTerms) {
		return fmt.Errorf("dynamics: orbit option Mode = \"enumerate\": setting %q needs %.4g terms > MaxTerms = %d (raise MaxTerms or use mode crn)", o.s.Name, t, opt.MaxTerms)
	}
	if t <= MaxOrbitTerms {
		return nil
	}
	why := "use the orbit level's CRN mode"
	if o.mf {
		why = fmt.Sprintf("with z i.i.d. over the areas the mean field integrates z on a tensor rule of %d nodes per area, nodes^areas terms: use fewer quadrature nodes, or the orbit level (its CRN mode draws z)", opt.QuadNodes)
	}
	return fmt.Errorf("dynamics: orbit: setting %q needs %.4g terms, more than %d can be held (%w): %s", o.s.Name, t, MaxOrbitTerms, ErrTooManyTerms, why)
}

// buildTerms fills the blocks of every problem: the mean field (counts at
// their means), the exact enumeration of the count vectors, or common random
// numbers, with the z nodes of the setting's law (docs/ORBIT.md §4–5).
func (o *Orbit) buildTerms(opt OrbitOptions) error {
	s := &o.s
	if o.mf {
		o.mode = "meanfield"
		if err := o.checkTermCount(opt); err != nil {
			return err
		}
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
	o.mode = o.resolveMode(opt)
	if err := o.checkTermCount(opt); err != nil {
		return err
	}
	if o.mode == OrbitEnumerate {
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
		pr.sampLoss = make([]float64, o.nSamples)
		pr.addControl(s, opt.QuadNodes, o.nSamples)
		pr.fast = pr.crnFast()
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
	// Counted before the table is built: with many areas the tensor rule
	// has nodes^areas entries (4¹⁶ for 16 areas), far more than 4n.
	nz := orbitZNodes(s, s.Clusters[pr.k].NumAreas(), quadNodes)
	if nz < 2 || nz > float64(4*n) {
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
	pr.ctrl0 = len(pr.blocks)
	pr.addZBlocksRange(s, quadNodes, 2*n, 2*n+1)
	// With i.i.d. z the tensor rule's sum factors over the areas (§4.1):
	// used when cheaper than the tensor (≈ ctrlCostNodes trapezoid nodes
	// of N·n one-area moments against n^N terms of G + N operations).
	if s.Z.Kind == theory.ZShared {
		return
	}
	zn, zw := zNodes1(s, quadNodes)
	if nz*float64(G+len(pr.classes)) > ctrlCostNodes*float64(len(pr.classes)*len(zn)*numMom) {
		pr.ctrl = pr.newControl(zn, zw, mean)
	}
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
			if mutant.On(mutant.OrbitZSpread) {
				z[j] = halfSpread(s, z[j])
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
