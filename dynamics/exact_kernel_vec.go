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
// pairs at γ = ½). It does, per query, the operations of gatherGroups (the
// key groups' sums of e^B, taken group by group inside the loop of
// exponentials), queryExps, the exponential (internal/fastexp's nonPosGo)
// and blockCoefs in their order, without fused multiply-adds: the same bits
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

// vecDesc is what the vector path needs of a term whatever the row block,
// gathered once (buildVecDescs): per (term, block), vecTerm then reads one
// descriptor instead of walking the term, its structure and their index
// lists (that walk, with the per-call checks, was about 5 % of the step at
// P = 196).
type vecDesc struct {
	z      *float64 // zs[z0:], N_k + 1 entries
	has    *bool    // hasKeys[ko:], ng entries
	koff   *int32   // koff[ko:], ng + 1 entries
	weight float64  // w·scale
	qb     int32    // the structure's qblk and qmask entries
	k      int32    // the cluster
	ng     int32    // key groups: N_k, or N_k + 1 with keys "all"; 0 for a term without keys
}

// buildVec builds the vector path's key lists and term descriptors, when
// the set fits its 16-bit offsets (vecFits; otherwise ws.kl.start stays nil:
// no vector path).
func (ws *weightedSet) buildVec() {
	ws.buildKeyLists()
	if ws.kl.start != nil {
		ws.buildVecDescs()
	}
}

// buildVecDescs fills ws.vd from the terms and checks, once, what the
// assembly relies on and does not check per call: each term's key groups
// are valid lists of ws.kpos and fit the per-group tables (maxN + 1 groups),
// and each (term, block)'s losses are as many as the bits of its row mask.
func (ws *weightedSet) buildVecDescs() {
	ws.vd = make([]vecDesc, len(ws.terms))
	for i, t := range ws.terms {
		st := &ws.structs[t.st]
		n := ws.nArea[st.k]
		ng := ws.keyGroups(int(st.k))
		koff := ws.koff[st.ko : int(st.ko)+ng+1]
		if st.k0 == st.k1 {
			ng = 0 // no keys (no key list reads this term's coefficients)
		} else if ng > ws.maxN+1 || koff[0] < 0 || int(koff[ng]) > len(ws.kpos) || koff[ng] < koff[0] {
			panic("dynamics: buildVecDescs: key groups do not match their tables")
		}
		ws.vd[i] = vecDesc{z: &ws.zs[t.z0 : int(t.z0)+n+1][0], has: &ws.hasKeys[st.ko : int(st.ko)+len(koff)-1][0], koff: &koff[0],
			weight: t.w * ws.scale, qb: st.qb, k: st.k, ng: int32(ng)}
		for b := range ws.nblk {
			if len(ws.qlossOf(i, b)) != bits.OnesCount16(ws.qmask[int(st.qb)+b]) {
				panic("dynamics: buildVecDescs: row mask does not match the queries")
			}
		}
	}
}

// vecTerm is runTerm on the vector path, with blockTerm's work inlined
// (their calls and arguments were a tenth of the step): term i's masked
// queries in block b, their B coefficients into sc.cg (every row of its key
// groups) and A gradient into sc.vecGA. It reports whether the term has
// queries in the block.
func (ws *weightedSet) vecTerm(c theory.Correlations, b, i int, sc *scratch) bool {
	d := &ws.vd[i]
	qb := int(d.qb) + b
	mask := uint64(ws.qmask[qb]) // the rows of the term's queries in the block
	if mask == 0 {
		return false
	}
	ql := ws.qlossOf(i, b)
	if d.ng == 0 {
		// No keys: as blockTerm.
		ws.noKeyLosses(ws.zs[ws.terms[i].z0:], int(ws.qblk[qb]), int(ws.qblk[qb+1]), ql)
		return true
	}
	if direct := vecQueries(ws, sc, d, mask, b*rowBlock, ql); direct != 0 {
		vecSlowBy[b2i(len(ql) <= 8)][b2i(direct < 0)].Add(1)
		t := &ws.terms[i]
		st := &ws.structs[t.st]
		n := ws.nArea[st.k]
		ws.vecSlow(c, st, ws.zs[t.z0:int(t.z0)+n+1], ws.hasKeys[st.ko:int(st.ko)+int(d.ng)],
			int(ws.qblk[qb]), int(ws.qblk[qb+1]), b*rowBlock, sc, d.weight, ql, direct)
	}
	return true
}

// vecSlow finishes a term that the vector path left to the portable code:
// all of it (direct < 0) or the queries of the rows in direct (queryDirect).
func (ws *weightedSet) vecSlow(c theory.Correlations, st *structure, z []float64, has []bool, qlo, qhi, p0 int, sc *scratch, weight float64, ql []float64, direct int) {
	k := int(st.k)
	tmp := ws.tmpView(k, qlo, qhi, p0, sc)
	if direct < 0 {
		// Portable path for the whole term (rare: see above), from the
		// group sums, which blockQueries8AVX512 keeps in registers.
		vecFallbacks.Add(1)
		ng := len(has)
		gatherGroups(sc.ebT, ws.kpos, ws.kposX, ws.koff[st.ko:int(st.ko)+ng+1], sc.tg[:ng*rowBlock])
		ws.blockQueries(c, tmp, st, z, has, qlo, qhi, p0, sc, weight, ql)
		ws.foldTmp(k, uint64(ws.qmask[int(st.qb)+p0/rowBlock]), sc)
		return
	}
	for qi := qlo; qi < qhi; qi++ {
		p := int(ws.qpos[qi])
		if direct>>(p-p0)&1 != 0 {
			directQueries.Add(1)
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
