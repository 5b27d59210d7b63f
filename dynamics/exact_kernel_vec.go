package dynamics

import (
	"math/bits"
	"sync/atomic"

	"mimverify/theory"
)

// The per-query work of the exact kernel across the rows of a block
// (issue 27): on amd64 with AVX-512 (rowLoops == 2), queryExps and
// blockCoefs of a term's queries in one row block run as one assembly
// routine (exact_kernel_vec_amd64.s), eight rows per vector, the rows
// without a query of the term masked off — or, for a term with at most
// eight queries in the block, one vector of its queries' rows
// (blockQueries8AVX512; issue 27's lanes: about 60 % of the (term, block)
// pairs at γ = ½). It does, per query, the
// operations of queryExps, the exponential (internal/fastexp's nonPosGo) and
// blockCoefs in their order, without fused multiply-adds: the same bits
// (TestVecQueriesMatchGo, and every bit-identity test of the kernel). Its
// tables are transposed like ebT, entry [j·rowBlock + r] for key group j and
// row r of the block: the block's A rows (vecA, filled once per task), the
// factors e^{z_j A_j − m_A}, and the A gradient (vecGA), accumulated over
// the task's terms in term order and written into the gradient's rows at the
// task's end — the same additions, in the same order, as into cleared rows.
// A query whose factored normaliser underflows takes queryDirect, and a term
// whose block has an exponent argument outside fastexp's polynomial range
// (below −708, or NaN) takes the portable queryExps and blockCoefs whole;
// either writes its A gradient into cleared rows of sc.tmp first, then adds
// them to vecGA (x + (0 + g) has the bits of x + g: vecGA is never −0).

// vecStart fills sc.vecA with the rows p0..p1 of every cluster's A and
// clears sc.vecGA, at the start of a task in vector mode.
func (ws *weightedSet) vecStart(c theory.Correlations, p0, p1 int, sc *scratch) {
	for k, n := range ws.nArea {
		aT, gT := sc.vecA[k][:n*rowBlock], sc.vecGA[k][:n*rowBlock]
		clear(gT)
		for p := p0; p < p1; p++ {
			for j, a := range c.A[k][p][:n] {
				aT[j*rowBlock+p-p0] = a
			}
		}
	}
}

// vecEnd writes the A gradient accumulated in sc.vecGA into rows p0..p1 of
// grad.
func (ws *weightedSet) vecEnd(grad theory.Correlations, p0, p1 int, sc *scratch) {
	for k, n := range ws.nArea {
		gT := sc.vecGA[k][:n*rowBlock]
		for p := p0; p < p1; p++ {
			row := grad.A[k][p][:n]
			for j := range row {
				row[j] = gT[j*rowBlock+p-p0]
			}
		}
	}
}

// vecFallbacks counts the terms that the vector path left to the portable
// one (for the tests).
var vecFallbacks atomic.Int64

// vecSlowBy counts, for the tests, the terms that left the vector path by
// routine — [0] the two halves of blockQueriesAVX512, [1] the one vector of
// blockQueries8AVX512 (at most eight queries) — and way: [·][0] some
// queries to queryDirect, [·][1] the whole term to the portable path.
var vecSlowBy [2][2]atomic.Int64

// blockQueries evaluates the masked queries qpos[qlo:qhi] of a term in the
// block at row p0 (queryExps and blockCoefs): losses into ql, B
// coefficients into sc.cg (every row of its ng groups), A gradient into
// grad.A. (The vector path is vecTerm.)
func (ws *weightedSet) blockQueries(c, grad theory.Correlations, st *structure, z []float64, has []bool, qlo, qhi, p0 int, sc *scratch, weight float64, ql []float64) {
	ng := len(has)
	clear(sc.cg[:ng*rowBlock])
	ws.queryExps(c, st, z, has, qlo, qhi, sc.ea)
	ws.blockCoefs(c, grad, st, z, ng, qlo, qhi, p0, sc, weight, ql)
}

// vecTerm is runTerm on the vector path, with blockTerm's work inlined
// (their calls and arguments were a tenth of the step): term i's masked
// queries in block b, their B coefficients into sc.cg (every row of its key
// groups) and A gradient into sc.vecGA. It reports whether the term has
// queries in the block.
func (ws *weightedSet) vecTerm(c theory.Correlations, b, i int, sc *scratch) bool {
	t := &ws.terms[i]
	st := &ws.structs[t.st]
	qb := int(st.qb) + b
	qlo, qhi := int(ws.qblk[qb]), int(ws.qblk[qb+1])
	if qlo == qhi {
		return false
	}
	ql := ws.qlossOf(i, b)
	k := int(st.k)
	n := ws.nArea[k]
	z := ws.zs[t.z0 : int(t.z0)+n+1]
	if st.k0 == st.k1 {
		// No keys (no key list reads this term's coefficients): as blockTerm.
		ws.noKeyLosses(z, qlo, qhi, ql)
		return true
	}
	ng := n
	if ws.keys == theory.KeysAll {
		ng++
	}
	koff := ws.koff[st.ko : int(st.ko)+ng+1]
	has := ws.hasKeys[st.ko : int(st.ko)+ng]
	p0, weight := b*rowBlock, t.w*ws.scale
	mask := uint64(ws.qmask[qb]) // the rows of qpos[qlo:qhi]
	if direct := vecQueries(ws, sc, k, z, has, koff, mask, p0, weight, ql); direct != 0 {
		vecSlowBy[b2i(len(ql) <= 8)][b2i(direct < 0)].Add(1)
		ws.vecSlow(c, st, z, has, qlo, qhi, p0, sc, weight, ql, direct)
	}
	return true
}

// vecSlow finishes a term that the vector path left to the portable code:
// all of it (direct < 0) or the queries of the rows in direct (queryDirect).
func (ws *weightedSet) vecSlow(c theory.Correlations, st *structure, z []float64, has []bool, qlo, qhi, p0 int, sc *scratch, weight float64, ql []float64, direct int) {
	k := int(st.k)
	tmp := ws.tmpView(k, qlo, qhi, p0, sc)
	if direct < 0 {
		// Portable path for the whole term (rare: see above).
		vecFallbacks.Add(1)
		ws.blockQueries(c, tmp, st, z, has, qlo, qhi, p0, sc, weight, ql)
		ws.foldTmp(k, uint64(ws.qmask[int(st.qb)+p0/rowBlock]), sc)
		return
	}
	for qi := qlo; qi < qhi; qi++ {
		p := int(ws.qpos[qi])
		if direct>>(p-p0)&1 != 0 {
			ql[qi-qlo] = ws.queryDirect(c, st, z, qi, sc, weight, tmp.A[k][p], sc.directRow(p-p0, ws.P))
		}
	}
	ws.foldTmp(k, uint64(direct), sc)
}

// tmpView returns a Correlations whose A[k] rows of the queries
// qpos[qlo:qhi] are cleared rows of sc.tmp (B is not set).
func (ws *weightedSet) tmpView(k, qlo, qhi, p0 int, sc *scratch) theory.Correlations {
	n := ws.nArea[k]
	for _, p := range ws.qpos[qlo:qhi] {
		r := int(p) - p0
		row := sc.tmp[r*ws.maxN : r*ws.maxN+n]
		clear(row)
		sc.tmpA[k][p] = row
	}
	return theory.Correlations{A: sc.tmpA}
}

// foldTmp adds the rows of sc.tmp of the rows in mask to sc.vecGA[k].
func (ws *weightedSet) foldTmp(k int, mask uint64, sc *scratch) {
	n := ws.nArea[k]
	gT := sc.vecGA[k][:n*rowBlock]
	for ; mask != 0; mask &= mask - 1 {
		r := bits.TrailingZeros64(mask)
		for j, g := range sc.tmp[r*ws.maxN : r*ws.maxN+n] {
			gT[j*rowBlock+r] += g
		}
	}
}

// vecScratch allocates the vector path's tables of one worker.
func (ws *weightedSet) vecScratch(sc *scratch) {
	nr := ws.maxN + 1
	sc.vecA = make([][]float64, len(ws.nArea))
	sc.vecGA = make([][]float64, len(ws.nArea))
	sc.tmpA = make([][][]float64, len(ws.nArea))
	for k, n := range ws.nArea {
		sc.vecA[k] = padded(n * rowBlock)
		sc.vecGA[k] = padded(n * rowBlock)
		sc.tmpA[k] = make([][]float64, ws.P)
	}
	sc.tmp = padded(rowBlock * ws.maxN)
	sc.cgTab = padded((keyBatch*(ws.maxN+1) + 1) * rowBlock)
	sc.eaT = padded(nr * rowBlock)
	sc.sT = padded(nr * rowBlock)
	sc.rrT = padded(nr * rowBlock)
	initVecArgs(ws, sc)
}

// rowAreas returns, per cluster, the own area of every row, padded to whole
// row blocks with −1 (the vector path's per-lane areas).
func rowAreas(s *theory.Setting, nblk int) [][]int64 {
	out := make([][]int64, len(s.Clusters))
	for k, c := range s.Clusters {
		out[k] = make([]int64, nblk*rowBlock)
		for p := range out[k] {
			out[k][p] = -1
			if p < len(c.Areas) {
				out[k][p] = int64(c.Areas[p])
			}
		}
	}
	return out
}

// b2i is 1 for true, 0 for false.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
