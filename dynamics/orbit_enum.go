package dynamics

import (
	"math"

	"mimverify/theory"
)

// orbitEnumStoreBytes is the memory, over all problems of one Orbit, that
// the exact enumeration may spend on storing its count vectors and their
// probabilities (≈ (G+1)·8 bytes per vector, G groups): stored, an
// evaluation reads them instead of regenerating them with the odometer
// (≈ 10 ns per vector and z node with two groups, beside ≈ 14 ns for the
// rest of the evaluation, docs/ORBIT.md §7). Beyond it (many
// groups, or enumerations near MaxTerms) they are generated on the fly, a
// chunk at a time, so memory stays O(Σ_g S_g + orbitChunk·G) per problem.
// 64 MB is small beside the other engines' states at the P where
// enumerations get that large, and holds 2.8 million vectors with two
// groups (the default MaxTerms is 2^20). The results do not depend on it:
// both ways yield the same vectors and probabilities, bit for bit, in the
// same order, and the kernel sums them in that order.
const orbitEnumStoreBytes = 64 << 20

// orbitChunk is the number of count vectors the enumeration kernel
// (evalEnum) processes per pass: long enough to amortise the loops over
// groups and classes, short enough for its scratch (≈ (G + 2C + 6)·8 bytes
// per vector) to stay in the level-1/2 cache.
const orbitChunk = 512

// orbEnum is the exact enumeration of the count vectors of one problem:
// the odometer over N_g ∈ [lo_g, hi_g] (fixed masks: the last group
// determined by Σ_g N_g = U), with probability norm·Π_g tab_g[N_g]. It is
// produced in chunks of orbitChunk vectors, column-major (count of group
// g of the chunk's i-th vector at g·orbitChunk + i), generated on the fly
// or, when store found room, read from vecs and prob.
type orbEnum struct {
	lo, hi   []int
	tab      [][]float64
	fixedU   int // U for fixed masks, −1 for bernoulli
	norm     float64
	count    int // vectors of positive probability
	idx      []int
	done     bool      // the odometer is exhausted
	n        []float64 // each's vector
	vecs     []float64 // stored chunks (orbitChunk·G each, the last padded), or nil
	prob     []float64 // stored probabilities (count), or nil
	cols, cp []float64 // one generated chunk: counts and probabilities
}

// enumerate sets up the count vectors and their probabilities: independent
// binomials (bernoulli masks, tails of mass ≤ orbitTailEps dropped) or the
// multivariate hypergeometric law of U = P − round(γP) unmasked keys among
// the P − 1 (fixed masks: Π_g C(S_g, N_g) scaled per group, normalised by
// its sum over the vectors — exact up to rounding), docs/ORBIT.md §4.
func (pr *orbProblem) enumerate(s *theory.Setting) {
	G := len(pr.groups)
	e := &orbEnum{lo: make([]int, G), hi: make([]int, G), tab: make([][]float64, G), fixedU: -1, norm: 1,
		idx: make([]int, G), n: make([]float64, G), cols: make([]float64, orbitChunk*G), cp: make([]float64, orbitChunk)}
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
		// Count again: scaled by norm, the smallest products may underflow
		// to 0, and vectors of probability 0 are skipped.
		e.norm, e.count = 1/sum, 0
		e.each(func([]float64, float64) { e.count++ })
	}
	pr.enum = e
	pr.newEnumScratch()
}

// store keeps the count vectors and their probabilities if they fit in
// budget bytes, and returns the budget left.
func (e *orbEnum) store(budget int) int {
	G := len(e.lo)
	chunks := (e.count + orbitChunk - 1) / orbitChunk
	need := (chunks*orbitChunk*G + e.count) * 8
	if need > budget {
		return budget
	}
	vecs := make([]float64, 0, chunks*orbitChunk*G)
	prob := make([]float64, 0, e.count)
	for c := 0; ; c++ {
		cols, p := e.chunk(c)
		if len(p) == 0 {
			break
		}
		vecs = append(vecs, cols[:orbitChunk*G]...)
		prob = append(prob, p...)
	}
	e.vecs, e.prob = vecs, prob
	return budget - need
}

// chunk returns chunk c of the enumeration (column-major counts, stride
// orbitChunk; probabilities: its length, 0 past the end). Chunks must be
// asked for in order from 0 unless stored; the generated chunk's slices
// are reused.
func (e *orbEnum) chunk(c int) (cols, prob []float64) {
	G := len(e.lo)
	if e.prob != nil {
		if c*orbitChunk >= len(e.prob) {
			return nil, nil
		}
		return e.vecs[c*orbitChunk*G : (c+1)*orbitChunk*G], e.prob[c*orbitChunk : min((c+1)*orbitChunk, len(e.prob))]
	}
	if c == 0 {
		copy(e.idx, e.lo)
		e.done = false
	}
	return e.cols, e.cp[:e.generate(e.cols, e.cp)]
}

// generate writes the next vectors of positive probability (up to
// len(prob)) into cols (column g at g·orbitChunk) and prob, and returns how
// many.
func (e *orbEnum) generate(cols, prob []float64) int {
	idx, lo, hi, tab := e.idx, e.lo, e.hi, e.tab
	G, U := len(idx), e.fixedU
	free := G // groups enumerated freely (fixed: the last is determined)
	if U >= 0 {
		free = G - 1
	}
	k, done := 0, e.done
	for k < len(prob) && !done {
		w := e.norm
		if U >= 0 {
			last := U
			for _, v := range idx[:free] {
				last -= v
			}
			if last < 0 || last > hi[G-1] {
				w = 0
			} else {
				idx[G-1] = last
			}
		}
		for g := 0; g < G && w > 0; g++ {
			w *= tab[g][idx[g]]
		}
		if w > 0 {
			for g, v := range idx {
				cols[g*orbitChunk+k] = float64(v)
			}
			prob[k] = w
			k++
		}
		g := 0
		for ; g < free; g++ {
			if idx[g]++; idx[g] <= hi[g] {
				break
			}
			idx[g] = lo[g]
		}
		done = g == free
	}
	e.done = done
	return k
}

// each calls f with every count vector of positive probability and its
// probability (its slice is reused). It is not reentrant (nor to be called
// during an evaluation: they share the generated chunk).
func (e *orbEnum) each(f func(n []float64, w float64)) {
	for c := 0; ; c++ {
		cols, prob := e.chunk(c)
		if len(prob) == 0 {
			return
		}
		for i, w := range prob {
			for g := range e.n {
				e.n[g] = cols[g*orbitChunk+i]
			}
			f(e.n, w)
		}
	}
}
