package dynamics

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"mimverify/theory"
)

// This file holds the one gradient kernel of the package: the loss and the
// (A, B) gradient of a weighted set of (cluster, z, mask) terms, with the
// formulas of SPEC §2 derived in docs/DYNAMICS.md. The sample objective
// (level 1) is a set with weights 1/n; the population objective (level 2) is
// either the enumeration of all masks and z quadrature nodes with their
// probabilities as weights, or a common-random-number sample set.

// A structure is the part of a term that depends on the cluster and the mask
// only: the masked queries with their own area, and the keys with their area.
// Its index lists live in the flat arrays of weightedSet.
type structure struct {
	k      int32 // cluster
	q0, q1 int32 // queries: weightedSet.qpos/qarea[q0:q1]
	k0, k1 int32 // keys: weightedSet.kpos/karea[k0:k1]
}

// A term is one structure with one z vector and a weight.
type term struct {
	st int32   // index into weightedSet.structs
	z0 int32   // z vector: weightedSet.zs[z0 : z0+N_k+1]
	w  float64 // probability weight (Σ w = 1 over the set)
}

// chunkBuf holds the partial loss and gradient of one chunk of terms.
type chunkBuf struct {
	loss float64
	gA   [][]float64 // per cluster, flat P×N_k
	gB   []float64   // flat P×P
}

// scratch is the per-worker working memory of the kernel.
type scratch struct {
	e            []float64 // exp(score) per key
	za, s, r, rr []float64 // per area (N_k + 1 entries, the last the "masked key" pseudo-area)
}

// weightedSet is a weighted set of terms with precomputed index lists and
// reusable buffers. LossGrad is not safe for concurrent use.
type weightedSet struct {
	P     int
	nArea []int // N_k per cluster
	scale float64

	structs []structure
	qpos    []int32 // masked query positions
	qarea   []int32 // own area of each query
	kpos    []int32 // key positions
	karea   []int32 // key area; N_k marks a masked key (keys "all"), whose content is 0
	terms   []term
	zs      []float64 // z vectors, each N_k+1 long with a trailing 0 for the masked pseudo-area

	chunk  int        // terms per chunk, a function of len(terms) only
	bufs   []chunkBuf // one per chunk
	losses []float64  // per-term loss, scaled, unweighted
	work   []scratch  // one per worker, grown on demand
	maxK   int        // largest key count
	maxN   int        // largest N_k
	eb     []float64  // exp(B[p][q] − max_q B[p][q]), flat P×P, refreshed by lossGrad
}

// tinySum is the softmax normaliser below which the factored evaluation of
// the attention weights falls back to the direct log-sum-exp: above it, every
// weight lost to underflow (< 1e-308) is < 1e-58 relative to the sum.
const tinySum = 1e-250

// Chunking constants: a chunk holds at least minChunk terms, and there are at
// most maxChunks chunks. The chunk size depends only on the number of terms,
// never on GOMAXPROCS, so the reduction order — and hence every bit of the
// result — is the same whatever the number of workers.
const (
	minChunk  = 32
	maxChunks = 64
)

func newWeightedSet(s *theory.Setting) *weightedSet {
	ws := &weightedSet{P: s.P, scale: s.LossScale(), nArea: make([]int, len(s.Clusters))}
	for k, c := range s.Clusters {
		ws.nArea[k] = c.NumAreas()
		ws.maxN = max(ws.maxN, ws.nArea[k])
	}
	return ws
}

// addStructure appends the index lists of (cluster k, mask) and returns the
// structure's index.
func (ws *weightedSet) addStructure(s *theory.Setting, k int, mask []bool) int32 {
	areas := s.Clusters[k].Areas
	n := ws.nArea[k]
	st := structure{k: int32(k), q0: int32(len(ws.qpos)), k0: int32(len(ws.kpos))}
	for p, m := range mask {
		if m {
			ws.qpos = append(ws.qpos, int32(p))
			ws.qarea = append(ws.qarea, int32(areas[p]))
		}
	}
	for q, m := range mask {
		switch {
		case !m:
			ws.kpos = append(ws.kpos, int32(q))
			ws.karea = append(ws.karea, int32(areas[q]))
		case s.Keys == theory.KeysAll:
			ws.kpos = append(ws.kpos, int32(q))
			ws.karea = append(ws.karea, int32(n))
		}
	}
	st.q1, st.k1 = int32(len(ws.qpos)), int32(len(ws.kpos))
	ws.maxK = max(ws.maxK, int(st.k1-st.k0))
	ws.structs = append(ws.structs, st)
	return int32(len(ws.structs) - 1)
}

// addZ appends a z vector (N_k values) and its trailing 0, and returns its offset.
func (ws *weightedSet) addZ(z []float64) int32 {
	off := int32(len(ws.zs))
	ws.zs = append(ws.zs, z...)
	ws.zs = append(ws.zs, 0)
	return off
}

// finish sizes the chunks and allocates the buffers once all terms are added.
func (ws *weightedSet) finish() {
	n := len(ws.terms)
	ws.chunk = max(minChunk, (n+maxChunks-1)/maxChunks)
	nc := (n + ws.chunk - 1) / ws.chunk
	ws.bufs = make([]chunkBuf, nc)
	for i := range ws.bufs {
		b := &ws.bufs[i]
		b.gA = make([][]float64, len(ws.nArea))
		for k, nk := range ws.nArea {
			b.gA[k] = make([]float64, ws.P*nk)
		}
		b.gB = make([]float64, ws.P*ws.P)
	}
	ws.losses = make([]float64, n)
	ws.eb = make([]float64, ws.P*ws.P)
	ws.growWork(1)
}

func (ws *weightedSet) growWork(n int) {
	for len(ws.work) < n {
		ws.work = append(ws.work, scratch{
			e:  make([]float64, ws.maxK),
			za: make([]float64, ws.maxN+1),
			s:  make([]float64, ws.maxN+1),
			r:  make([]float64, ws.maxN+1),
			rr: make([]float64, ws.maxN+1),
		})
	}
}

// checkShape panics with a readable message when c does not have the
// shape of the set's setting.
func (ws *weightedSet) checkShape(name string, c theory.Correlations) {
	ok := len(c.A) == len(ws.nArea) && len(c.B) == ws.P
	for k := 0; ok && k < len(c.A); k++ {
		ok = len(c.A[k]) == ws.P
		for p := 0; ok && p < ws.P; p++ {
			ok = len(c.A[k][p]) == ws.nArea[k]
		}
	}
	for p := 0; ok && p < len(c.B); p++ {
		ok = len(c.B[p]) == ws.P
	}
	if !ok {
		panic(fmt.Sprintf("dynamics: %s correlations do not have the setting's shape (K = %d clusters, P = %d); build them with theory.NewCorrelations", name, len(ws.nArea), ws.P))
	}
}

// lossGrad returns Σ_i w_i ℓ_i and writes the gradient into grad (when
// non-nil). The per-term losses are left in ws.losses.
func (ws *weightedSet) lossGrad(c, grad theory.Correlations) float64 {
	ws.checkShape("input", c)
	withGrad := grad.B != nil
	if withGrad {
		ws.checkShape("gradient", grad)
	}
	for p, row := range c.B {
		m := math.Inf(-1)
		for _, b := range row {
			m = max(m, b)
		}
		eb := ws.eb[p*ws.P : (p+1)*ws.P]
		for q, b := range row {
			eb[q] = expNonPos(b - m)
		}
	}
	nc := len(ws.bufs)
	workers := min(runtime.GOMAXPROCS(0), nc)
	if workers <= 1 {
		for ci := range nc {
			ws.runChunk(c, ci, &ws.work[0], withGrad)
		}
	} else {
		ws.growWork(workers)
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					ci := int(next.Add(1) - 1)
					if ci >= nc {
						return
					}
					ws.runChunk(c, ci, &ws.work[w], withGrad)
				}
			}()
		}
		wg.Wait()
	}
	// Reduce in chunk order.
	loss := 0.0
	for ci := range ws.bufs {
		loss += ws.bufs[ci].loss
	}
	if !withGrad {
		return loss
	}
	for k, nk := range ws.nArea {
		for p := 0; p < ws.P; p++ {
			row := grad.A[k][p]
			copy(row, ws.bufs[0].gA[k][p*nk:(p+1)*nk])
			for ci := 1; ci < nc; ci++ {
				src := ws.bufs[ci].gA[k][p*nk : (p+1)*nk]
				for j := range row {
					row[j] += src[j]
				}
			}
		}
	}
	for p := 0; p < ws.P; p++ {
		row := grad.B[p]
		copy(row, ws.bufs[0].gB[p*ws.P:(p+1)*ws.P])
		for ci := 1; ci < nc; ci++ {
			src := ws.bufs[ci].gB[p*ws.P : (p+1)*ws.P]
			for q := range row {
				row[q] += src[q]
			}
		}
	}
	return loss
}

// runChunk evaluates the terms of chunk ci into its buffer.
func (ws *weightedSet) runChunk(c theory.Correlations, ci int, sc *scratch, withGrad bool) {
	b := &ws.bufs[ci]
	if withGrad {
		for k := range b.gA {
			clear(b.gA[k])
		}
		clear(b.gB)
	}
	lo := ci * ws.chunk
	hi := min(lo+ws.chunk, len(ws.terms))
	loss := 0.0
	for i := lo; i < hi; i++ {
		t := ws.terms[i]
		var l float64
		if withGrad {
			l = ws.termLossGrad(c, t, b.gA, b.gB, sc, t.w*ws.scale)
		} else {
			l = ws.termLossGrad(c, t, nil, nil, sc, 0)
		}
		l *= ws.scale
		ws.losses[i] = l
		loss += t.w * l
	}
	b.loss = loss
}

// termLossGrad returns the unscaled loss Σ_{p∈M} ℓ_p of one term and, when
// gB is non-nil, adds weight × its gradient into gA (per cluster, flat P×N_k)
// and gB (flat P×P). The formulas are SPEC §2, derived in docs/DYNAMICS.md
// §3–4: masked keys (keys "all") sit in the pseudo-area N_k with z = 0, so
// they carry r = 0 and enter B's gradient as π_{p,q}(0 − r̄).
func (ws *weightedSet) termLossGrad(c theory.Correlations, t term, gA [][]float64, gB []float64, sc *scratch, weight float64) float64 {
	st := ws.structs[t.st]
	k := int(st.k)
	n := ws.nArea[k]
	z := ws.zs[t.z0 : int(t.z0)+n+1]
	kpos := ws.kpos[st.k0:st.k1]
	karea := ws.karea[st.k0:st.k1]
	karea = karea[:len(kpos)]
	e := sc.e[:len(kpos)]
	za, S, r := sc.za[:n+1], sc.s[:n+1], sc.r[:n+1]
	ck := c.A[k]
	P := ws.P
	loss := 0.0
	for qi := st.q0; qi < st.q1; qi++ {
		p := int(ws.qpos[qi])
		a := int(ws.qarea[qi])
		zself := z[a]
		if len(kpos) == 0 {
			// No keys: ŷ_p = 0, ℓ_p = ½ z_a², no dependence on (A, B).
			loss += 0.5 * zself * zself
			continue
		}
		arow := ck[p][:n]
		brow := c.B[p][:P]
		ebrow := ws.eb[p*P : (p+1)*P]
		// Scores s_{p,q} = z_{j(q)} A[k][p][j(q)] + B[p][q]. The softmax
		// weights factor as exp(z_j A_j − m_A) · exp(B_q − m_B): the second
		// factor is tabulated once per call (ws.eb), so only N_k + 1
		// exponentials are needed per query instead of one per key. Both
		// factors are ≤ 1; if their products underflow (sum < tinySum, only
		// when A or B spans hundreds of units) the direct log-sum-exp is
		// used instead.
		amax := 0.0 // za[n] = 0, the masked pseudo-area
		for j, aj := range arow {
			za[j] = z[j] * aj
			amax = max(amax, za[j])
		}
		za[n] = 0
		for j := range za {
			za[j] = expNonPos(za[j] - amax)
		}
		clear(S)
		sum := 0.0
		for i, q := range kpos {
			j := karea[i]
			v := za[j] * ebrow[q]
			e[i] = v
			S[j] += v
			sum += v
		}
		if sum < tinySum {
			for j, aj := range arow {
				za[j] = z[j] * aj
			}
			za[n] = 0
			mx := math.Inf(-1)
			for i, q := range kpos {
				v := za[karea[i]] + brow[q]
				e[i] = v
				if v > mx {
					mx = v
				}
			}
			sum = 0
			clear(S)
			for i, j := range karea {
				v := math.Exp(e[i] - mx)
				e[i] = v
				S[j] += v
				sum += v
			}
		}
		inv := 1 / sum
		// r_j = z_j (S_j z_j − z_a 1{j=a}), r̄ = Σ_j S_j r_j, ℓ_p = ½ Σ_j (S_j z_j − z_a 1{j=a})².
		lp, rbar := 0.0, 0.0
		for j := range S {
			S[j] *= inv
			d := S[j] * z[j]
			if j == a {
				d -= zself
			}
			r[j] = z[j] * d
			lp += d * d
			rbar += S[j] * r[j]
		}
		loss += 0.5 * lp
		if gB == nil {
			continue
		}
		// ∂ℓ_p/∂B[p][q] = π_{p,q} (r_{j(q)} − r̄).
		gbrow := gB[p*P : (p+1)*P]
		coef := weight * inv
		rr := sc.rr[:n+1]
		for j := range rr {
			rr[j] = coef * (r[j] - rbar)
		}
		for i, q := range kpos {
			gbrow[q] += e[i] * rr[karea[i]]
		}
		// ∂ℓ_p/∂A[k][p][j] = z_j S_j (r_j − r̄).
		garow := gA[k][p*n : (p+1)*n]
		for j := range garow {
			garow[j] += weight * z[j] * S[j] * (r[j] - rbar)
		}
	}
	return loss
}

// expNonPos returns e^x for x ≤ 0 (any x is accepted), to within 2 ulp
// (tested against math.Exp): Cody–Waite reduction x = k ln 2 + r with
// |r| ≤ ln2/2 and a degree-13 Taylor polynomial for e^r (truncation
// error |r|^14/14! < 4e-18), evaluated by Estrin's scheme for
// instruction-level parallelism. Below −708 (near underflow), NaN, or above 0 it defers to
// math.Exp. It is about 3× faster than math.Exp here, and the kernel's
// exponentials dominate its cost.
func expNonPos(x float64) float64 {
	if !(x > -708 && x <= 0) {
		return math.Exp(x)
	}
	const (
		log2e = 1.44269504088896338700e+00
		ln2hi = 6.93147180369123816490e-01
		ln2lo = 1.90821492927058770002e-10
	)
	k := math.Floor(x*log2e + 0.5)
	hi := x - k*ln2hi
	r := hi - k*ln2lo
	r2 := r * r
	r4 := r2 * r2
	r8 := r4 * r4
	// e^r = Σ_{i≤13} r^i/i!, Estrin: pairs (c0 + c1 r), (c2 + c3 r), ...
	p01 := 1 + r
	p23 := 1.0/2 + r*(1.0/6)
	p45 := 1.0/24 + r*(1.0/120)
	p67 := 1.0/720 + r*(1.0/5040)
	p89 := 1.0/40320 + r*(1.0/362880)
	p1011 := 1.0/3628800 + r*(1.0/39916800)
	p1213 := 1.0/479001600 + r*(1.0/6227020800)
	q0 := p01 + r2*p23
	q1 := p45 + r2*p67
	q2 := p89 + r2*p1011
	q3 := p1213
	p := (q0 + r4*q1) + r8*(q2+r4*q3)
	return math.Float64frombits(math.Float64bits(p) + uint64(int64(k))<<52)
}
