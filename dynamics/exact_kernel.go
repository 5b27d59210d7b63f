package dynamics

import (
	"fmt"
	"math"
	"runtime"
	"sync/atomic"

	"mimverify/theory"
)

// This file holds the one gradient kernel of the package: the loss and the
// (A, B) gradient of a weighted set of (cluster, z, mask) terms, with the
// formulas of SPEC §2 derived in docs/DYNAMICS.md. The sample objective
// (level 1) is a set with weights 1/n; the population objective (level 2) is
// either the enumeration of all masks and z quadrature nodes with their
// probabilities as weights, or a common-random-number sample set.
//
// Evaluation (docs/PERFORMANCE.md, issue 12): the rows p of the gradient are
// cut into blocks of rowBlock rows, a function of P only. A task is one row
// block and one chunk of terms (one chunk when there are at least minTasks
// blocks; the chunking is a function of P and the number of terms only,
// minTasks); it visits its terms in order, evaluates their masked queries
// that fall in its rows, and writes only those rows (or, with several
// chunks, a partial of those rows that the block's last chunk to finish sums in
// chunk order).
// Row p of the gradient is therefore summed in an order fixed by P and the
// terms, whatever the number of workers: the result is bit-identical for
// any GOMAXPROCS, and no worker holds a private P×P gradient to reduce.
// A task reads only its own rows of (A, B): it computes their e^B table
// itself, and can apply the descent update to them (step), so that a whole
// step is one parallel phase, run by the set's persistent helpers
// (exact_pool.go; issue 23).
// Keys are stored grouped by area, so the softmax normaliser is a sum over
// areas of e^{z_j A_j} times a contiguous per-area sum of e^{B}, and the B
// gradient is accumulated as a per-area coefficient and multiplied by e^{B}
// once per evaluation.

// A structure is the part of a term that depends on the cluster and the mask
// only: the masked queries with their own area, and the keys grouped by area.
// Its index lists live in the flat arrays of weightedSet.
type structure struct {
	k      int32 // cluster
	q0, q1 int32 // queries: weightedSet.qpos/qarea[q0:q1], in increasing position
	k0, k1 int32 // keys: weightedSet.kpos/karea[k0:k1], grouped by area (masked keys last)
	ko     int32 // weightedSet.koff[ko : ko+N_k+2]: start of each key group, then k1
	qb     int32 // weightedSet.qblk[qb : qb+nblk+1]: first query of each row block, then q1
}

// A term is one structure with one z vector and a weight.
type term struct {
	st int32   // index into weightedSet.structs
	z0 int32   // z vector: weightedSet.zs[z0 : z0+N_k+1]
	w  float64 // probability weight (Σ w = 1 over the set)
}

// chunkBuf holds a gradient in flat form (per cluster P×N_k, and P×P);
// PopulationObjective.GradStdErr accumulates per-term gradients in it.
type chunkBuf struct {
	gA [][]float64 // per cluster, flat P×N_k
	gB []float64   // flat P×P
}

// A partial holds the gradient rows of one row block computed from one
// chunk of terms (when there are several chunks per block).
type partial struct {
	gA [][]float64 // per cluster, rowBlock×N_k
	gB []float64   // rowBlock×P
}

// minTasks is the number of (row block, term chunk) tasks lossGrad aims at:
// when there are fewer row blocks, the terms are cut into chunks (of at
// least minChunkTerms terms), each block's chunks computing partial rows that
// are then summed in chunk order. Both depend only on P and the number of
// terms, never on GOMAXPROCS. Chunks are not free (each task repeats its
// block's e^B transposition, clearing and final product, and the partials
// must be summed: 6–8 % of the CPU time at P = 196 with 3 chunks; since
// issue 23 each also recomputes its block's e^B rows), so
// minTasks is only as large as two workers need: with 12 or more blocks of
// similar cost (P ≥ 177) the blocks alone balance two workers to within one
// block.
const (
	minTasks      = 12
	minChunkTerms = 32
)

// rowBlock is the number of gradient rows of one task: 16 (the row loops,
// exact_kernel_rows_amd64.s, hold a key's 16 transposed entries, two 64-byte
// cache lines, in eight registers), large enough that a term has about
// γ·rowBlock queries in a block to share the key-index loads, small enough
// that the block's buffers stay in L1/L2 and P = 196 has 13 blocks.
const rowBlock = 16

// scratch is the per-worker working memory of the kernel. Its float64
// buffers are separate allocations padded by a cache line on each
// side (padded), so two workers' per-term writes never share a cache line;
// view's row tables (rewritten once per task) and dOn (in the struct, in
// ws.work; written once per block and on the rare direct path) are not
// padded.
type scratch struct {
	e        []float64 // exp(score) per key (termLossGrad, direct path)
	za, s, r []float64 // per area (N_k + 1 entries, the last the "masked key" pseudo-area)

	row []float64 // 8×P: eight rows of e^{B − m} before their transposition into ebT
	ebT []float64 // P×rowBlock: ebT[q*rowBlock+i] = exp(B[p0+i][q] − max_q' B[p0+i][q'])
	cT  []float64 // P×rowBlock: accumulated B-gradient coefficient of (p0+i, q)
	dB  []float64 // rowBlock×P: B-gradient of queries that took the direct path
	dOn [rowBlock]bool
	tg  []float64 // (maxN+1)×rowBlock: per key group, the sums of ebT over its keys for the block's rows
	cg  []float64 // (maxN+1)×rowBlock: per key group, the B coefficient of each row's query
	ea  []float64 // rowBlock×(maxN+1): e^{z_j A_j − m_A} of the block's queries (queryExps)

	view theory.Correlations // gradient rows of the current task when they go to a partial

	// The vector path (exact_kernel_vec.go), when vec is set for the task:
	// per cluster, the block's A rows and A gradient, [j·rowBlock + r];
	// per key group, the factors, S_j and r_j of the block's rows; cleared
	// A rows for the portable fallbacks, and a view of them.
	vec          bool
	cgTab        []float64 // keyBatch terms' B coefficients, then a row of zeros (keySums)
	va           vecArgs   // the per-query assembly's arguments (vecQueries; the invariant ones set by initVecArgs)
	vecA, vecGA  [][]float64
	eaT, sT, rrT []float64
	tmp          []float64
	tmpA         [][][]float64

	_ [64]byte // the workers' scratch structs lie side by side in weightedSet.work: no cache line shared
}

// padded returns a zeroed slice of n float64 that shares no cache line with
// any other allocation.
func padded(n int) []float64 {
	return make([]float64, n+16)[8 : 8+n : 8+n]
}

// weightedSet is a weighted set of terms with precomputed index lists and
// reusable buffers. LossGrad is not safe for concurrent use.
type weightedSet struct {
	P     int
	nArea []int // N_k per cluster
	scale float64
	keys  theory.KeyMode

	structs []structure
	qpos    []int32  // masked query positions
	qarea   []int32  // own area of each query
	kpos    []int32  // key positions, grouped by area
	kposX   []uint16 // kpos[i]·rowBlock, the keys' offsets in ebT (gatherGroups in AVX-512; < 65 536 for P ≤ 4096)
	karea   []int32  // key area; N_k marks a masked key (keys "all"), whose content is 0
	koff    []int32  // key group starts of each structure (see structure.ko)
	hasKeys []bool   // parallel to koff: whether each key group has keys
	qblk    []int32  // row-block query starts of each structure (see structure.qb)
	qmask   []uint16 // parallel to qblk: the rows (bit p − b·rowBlock) of each block's queries
	terms   []term
	zs      []float64 // z vectors, each N_k+1 long with a trailing 0 for the masked pseudo-area

	nblk   int       // number of row blocks, ⌈P/rowBlock⌉
	tch    int       // term chunks per row block (a function of P and len(terms) only)
	tchunk int       // terms per chunk
	parts  []partial // with tch > 1: per (block, chunk) partial gradient rows
	qoff   []int     // block-major offsets into qloss: qoff[b·(len(terms)+1) + i] starts term i's queries of row block b
	qloss  []float64 // ℓ_p of every (term, masked query), unscaled, by row block (qlossOf)
	losses []float64 // per-term loss, scaled, unweighted
	work   []scratch // one per worker, grown on demand
	maxK   int       // largest key count
	maxN   int       // largest N_k

	rowArea [][]int64 // per cluster, the own area of each row (−1 past P): the vector path's lanes
	kl      keyLists  // the vector path's per-key lists of coefficient rows (exact_kernel_keysums.go)
	vd      []vecDesc // the vector path's per-term descriptors (exact_kernel_vec.go)

	pool      *pool          // persistent helpers (exact_pool.go), started on first parallel step
	workerFn  func(w int)    // ws.worker, bound once (no allocation per step)
	cur       stepArgs       // the current step's arguments
	next      atomic.Int64   // the current step's next task
	blkDone   []atomic.Int32 // with tch > 1: per block, the chunks finished this step
	nonFinite atomic.Bool    // a task's updated rows were not finite
	ph        phaseState     // descendSteps' state (exact_phase.go)
}

// directQueries counts the queries that the kernel's fallbacks sent to
// queryDirect (for the tests; not SampleGrads' and GradOn's, which take it
// for every query: an atomic counter shared by the workers was 10 % of
// queryDirect's time there).
var directQueries atomic.Int64

// tinySum is the softmax normaliser below which the factored evaluation of
// the attention weights falls back to the direct log-sum-exp: above it, every
// weight lost to underflow (< 1e-308) is < 1e-58 relative to the sum.
const tinySum = 1e-250

func newWeightedSet(s *theory.Setting) *weightedSet {
	ws := &weightedSet{P: s.P, scale: s.LossScale(), nArea: make([]int, len(s.Clusters)), keys: s.Keys}
	for k, c := range s.Clusters {
		ws.nArea[k] = c.NumAreas()
		ws.maxN = max(ws.maxN, ws.nArea[k])
	}
	ws.nblk = (s.P + rowBlock - 1) / rowBlock
	ws.rowArea = rowAreas(s, ws.nblk)
	return ws
}

// addStructure appends the index lists of (cluster k, mask) and returns the
// structure's index. Keys are grouped by area (in increasing position within
// an area), masked keys (keys "all") last.
func (ws *weightedSet) addStructure(s *theory.Setting, k int, mask []bool) int32 {
	areas := s.Clusters[k].Areas
	n := ws.nArea[k]
	st := structure{k: int32(k), q0: int32(len(ws.qpos)), k0: int32(len(ws.kpos)),
		ko: int32(len(ws.koff)), qb: int32(len(ws.qblk))}
	for b := 0; b <= ws.nblk; b++ {
		ws.qblk = append(ws.qblk, int32(len(ws.qpos)))
		ws.qmask = append(ws.qmask, 0)
		for p := b * rowBlock; b < ws.nblk && p < min((b+1)*rowBlock, ws.P); p++ {
			if mask[p] {
				ws.qmask[len(ws.qmask)-1] |= 1 << (p - b*rowBlock)
				ws.qpos = append(ws.qpos, int32(p))
				ws.qarea = append(ws.qarea, int32(areas[p]))
			}
		}
	}
	for j := 0; j <= n; j++ {
		ws.koff = append(ws.koff, int32(len(ws.kpos)))
		for q, m := range mask {
			if (j < n && !m && areas[q] == j) || (j == n && m && s.Keys == theory.KeysAll) {
				ws.kpos = append(ws.kpos, int32(q))
				ws.kposX = append(ws.kposX, uint16(q*rowBlock))
				ws.karea = append(ws.karea, int32(j))
			}
		}
	}
	ws.koff = append(ws.koff, int32(len(ws.kpos)))
	for i := int(st.ko); i < len(ws.koff); i++ {
		ws.hasKeys = append(ws.hasKeys, i+1 < len(ws.koff) && ws.koff[i] < ws.koff[i+1])
	}
	st.q1, st.k1 = int32(len(ws.qpos)), int32(len(ws.kpos))
	ws.maxK = max(ws.maxK, int(st.k1-st.k0))
	ws.structs = append(ws.structs, st)
	return int32(len(ws.structs) - 1)
}

// keyGroups is the number of key groups of a term of cluster k: its areas,
// and with keys "all" the masked keys as one more group.
func (ws *weightedSet) keyGroups(k int) int {
	if ws.keys == theory.KeysAll {
		return ws.nArea[k] + 1
	}
	return ws.nArea[k]
}

// addZ appends a z vector (N_k values) and its trailing 0, and returns its offset.
func (ws *weightedSet) addZ(z []float64) int32 {
	off := int32(len(ws.zs))
	ws.zs = append(ws.zs, z...)
	ws.zs = append(ws.zs, 0)
	return off
}

// finish allocates the buffers once all terms are added.
func (ws *weightedSet) finish() {
	n := len(ws.terms)
	// The per-query losses by row block, then term: the workers of a step
	// write disjoint stretches, where term-major rows had neighbouring
	// blocks' queries share cache lines — written by two cores at once,
	// that false sharing cost 11–18 % of the two-core step at P = 196
	// (docs/PERFORMANCE.md, issue 23, "False sharing").
	ws.qoff = make([]int, ws.nblk*(n+1))
	off := 0
	for b := range ws.nblk {
		row := ws.qoff[b*(n+1) : (b+1)*(n+1)]
		for i, t := range ws.terms {
			row[i] = off
			qb := int(ws.structs[t.st].qb) + b
			off += int(ws.qblk[qb+1] - ws.qblk[qb])
		}
		row[n] = off
	}
	ws.qloss = make([]float64, off)
	ws.losses = make([]float64, n)
	ws.tch = 1
	if ws.nblk < minTasks {
		ws.tch = max(1, min((minTasks+ws.nblk-1)/ws.nblk, n/minChunkTerms))
	}
	ws.tchunk = (n + ws.tch - 1) / ws.tch
	if ws.tch > 1 {
		ws.blkDone = make([]atomic.Int32, ws.nblk)
		ws.parts = make([]partial, ws.nblk*ws.tch)
		for i := range ws.parts {
			ws.parts[i].gB = padded(rowBlock * ws.P)
			ws.parts[i].gA = make([][]float64, len(ws.nArea))
			for k, nk := range ws.nArea {
				ws.parts[i].gA[k] = padded(rowBlock * nk)
			}
		}
	}
	if vecOn() {
		ws.buildVec() // here, not in the first step, when the CPU takes the vector path
	}
	ws.growWork(1)
}

func (ws *weightedSet) growWork(n int) {
	nr := ws.maxN + 1
	for len(ws.work) < n {
		view := theory.Correlations{A: make([][][]float64, len(ws.nArea)), B: make([][]float64, ws.P)}
		for k := range view.A {
			view.A[k] = make([][]float64, ws.P)
		}
		ws.work = append(ws.work, scratch{
			view: view,
			e:    padded(ws.maxK),
			za:   padded(nr),
			s:    padded(nr),
			r:    padded(nr),
			row:  padded(8 * ws.P),
			ebT:  padded(ws.P * rowBlock),
			cT:   padded((ws.P + 3) / 4 * 4 * rowBlock), // keySums works on groups of four keys
			dB:   padded(rowBlock * ws.P),
			tg:   padded(nr * rowBlock),
			cg:   padded(nr * rowBlock),
			ea:   padded(rowBlock * nr),
		})
		ws.vecScratch(&ws.work[len(ws.work)-1])
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
		panic(fmt.Sprintf("dynamics: %s correlations do not have the setting's shape (K = %d clusters, P = %d); build them with Setting.Shape().New()", name, len(ws.nArea), ws.P))
	}
}

// lossGrad returns Σ_i w_i ℓ_i and writes the gradient into grad, which
// has c's shape (every Objective computes both: no caller wants the loss
// alone). The per-term losses are left in ws.losses.
func (ws *weightedSet) lossGrad(c, grad theory.Correlations) float64 {
	loss, _ := ws.step(c, grad, 0, false)
	return loss
}

// step is lossGrad and, when update is set, the descent step c ← c − η·grad
// as well, fused into the row-block tasks (each task updates the rows it
// computed, which no other task reads); finite reports whether the updated
// c is finite (always true without update). With a finite c and η > 0
// finite, a non-finite gradient entry makes its updated entry non-finite,
// so finite also covers the gradient. The whole evaluation is one parallel
// phase (one fork–join on the set's pool): every task fills the e^B rows of
// its own block, and with several term chunks per block the chunk that
// finishes last sums the block's partials (and updates its rows).
func (ws *weightedSet) step(c, grad theory.Correlations, eta float64, update bool) (loss float64, finite bool) {
	workers := ws.prepare(c, grad, ws.nblk*ws.tch)
	ws.cur = stepArgs{c: c, grad: grad, eta: eta, update: update}
	ws.next.Store(0)
	ws.nonFinite.Store(false)
	if workers <= 1 {
		ws.worker(0)
	} else {
		ws.startPool().run(workers-1, ws.workerFn)
	}
	ws.cur = stepArgs{}
	return ws.sumLosses(), !ws.nonFinite.Load()
}

// prepare checks the shapes of c and grad and readies the scratch of the
// workers of an evaluation with the given number of tasks, which it
// returns (at most GOMAXPROCS).
func (ws *weightedSet) prepare(c, grad theory.Correlations, tasks int) (workers int) {
	ws.checkShape("input", c)
	ws.checkShape("gradient", grad)
	workers = min(runtime.GOMAXPROCS(0), tasks)
	ws.growWork(workers)
	if vecOn() && ws.kl.start == nil && ws.vecFits() {
		ws.buildVec() // once, on the first step that takes the vector path (rowLoops set after finish)
	}
	return workers
}

// stepArgs are the arguments of the current step, read by its tasks.
type stepArgs struct {
	c, grad theory.Correlations
	eta     float64
	update  bool
}

// startPool returns the set's pool, creating it on first use with a
// cleanup that stops its helpers once the set is unreachable (the helpers
// hold no reference to it between steps).
func (ws *weightedSet) startPool() *pool {
	if ws.pool == nil {
		ws.pool = newPool()
		ws.workerFn = ws.worker
		runtime.AddCleanup(ws, (*pool).stop, ws.pool)
	}
	return ws.pool
}

// release stops the set's helper goroutines (the engine's run is over); a
// later evaluation starts new ones.
func (ws *weightedSet) release() {
	if ws.pool != nil {
		ws.pool.stop()
	}
}

// worker takes the step's tasks, (row block b, term chunk ch) numbered
// b·tch + ch, from the shared counter until none is left. Each task writes
// only its own rows, so the result does not depend on the number of workers
// or on the schedule.
func (ws *weightedSet) worker(w int) {
	sc := &ws.work[w]
	n := int64(ws.nblk * ws.tch)
	for {
		i := ws.next.Add(1) - 1
		if i >= n {
			return
		}
		ws.task(int(i), sc)
	}
}

// task runs term chunk ch on row block b (i = b·tch + ch). With several
// chunks per block it writes a partial; the block's last chunk to finish
// (the atomic counter orders the partials' writes before it) sums them in
// chunk order.
func (ws *weightedSet) task(i int, sc *scratch) {
	a := &ws.cur
	b, ch := i/ws.tch, i%ws.tch
	if ws.tch == 1 {
		ws.runBlock(a.c, a.grad, b, ch, sc)
	} else {
		ws.runBlock(a.c, ws.partialView(b, ch, sc), b, ch, sc)
		if ws.blkDone[b].Add(1) < int32(ws.tch) {
			return
		}
		ws.blkDone[b].Store(0)
		ws.reduceBlock(a.grad, b)
	}
	if a.update && !ws.updateBlock(a.c, a.grad, a.eta, b) {
		ws.nonFinite.Store(true)
	}
}

// updateBlock sets c ← c − η·grad on the rows of block b and reports
// whether the new rows are finite. The update is written as Descent.Run's,
// x −= η·g: the same bits.
func (ws *weightedSet) updateBlock(c, grad theory.Correlations, eta float64, b int) bool {
	P := ws.P
	chk := 0.0
	for p := b * rowBlock; p < min((b+1)*rowBlock, P); p++ {
		chk += updateRow(c.B[p][:P], grad.B[p][:P], eta)
		for k, nk := range ws.nArea {
			chk += updateRow(c.A[k][p][:nk], grad.A[k][p][:nk], eta)
		}
	}
	return chk == 0
}

// updateRowGo sets x −= η·g and returns Σ 0·x over the new x: ±0 when every
// entry is finite, NaN otherwise (0·±∞ and 0·NaN are NaN). Four chains: one
// would make the additions' latency the loop's cost. It is the definition
// of updateRow, which does it in AVX-512 when the CPU has it.
func updateRowGo(x, g []float64, eta float64) float64 {
	x = x[:len(g)]
	var c0, c1, c2, c3 float64
	i := 0
	for ; i+4 <= len(g); i += 4 {
		x[i] -= eta * g[i]
		x[i+1] -= eta * g[i+1]
		x[i+2] -= eta * g[i+2]
		x[i+3] -= eta * g[i+3]
		c0, c1, c2, c3 = c0+0*x[i], c1+0*x[i+1], c2+0*x[i+2], c3+0*x[i+3]
	}
	for ; i < len(g); i++ {
		x[i] -= eta * g[i]
		c0 += 0 * x[i]
	}
	return (c0 + c1) + (c2 + c3)
}

// addInOrder returns l + xs[0] + xs[1] + …, added left to right (not
// floats.Sum, whose order differs: these are the losses' bits).
func addInOrder(l float64, xs []float64) float64 {
	for _, x := range xs {
		l += x
	}
	return l
}

// sumLosses sums the per-query losses per term, in query order (row block
// by row block), into ws.losses (scaled) and returns the weighted total, in
// term order. It is the step's serial part (Σ|M| additions: 25 163 at
// P = 196, n = 256), so four terms are summed side by side: four
// independent addition chains, each term's in its own order (the same bits
// as one term at a time).
func (ws *weightedSet) sumLosses() float64 {
	n := len(ws.terms)
	i := 0
	for ; i+4 <= n; i += 4 {
		var l0, l1, l2, l3 float64
		for b := range ws.nblk {
			q0, q1, q2, q3 := ws.qlossOf(i, b), ws.qlossOf(i+1, b), ws.qlossOf(i+2, b), ws.qlossOf(i+3, b)
			m := min(len(q0), len(q1), len(q2), len(q3))
			for j := range m {
				l0 += q0[j]
				l1 += q1[j]
				l2 += q2[j]
				l3 += q3[j]
			}
			l0, l1, l2, l3 = addInOrder(l0, q0[m:]), addInOrder(l1, q1[m:]), addInOrder(l2, q2[m:]), addInOrder(l3, q3[m:])
		}
		ws.losses[i], ws.losses[i+1], ws.losses[i+2], ws.losses[i+3] = l0*ws.scale, l1*ws.scale, l2*ws.scale, l3*ws.scale
	}
	for ; i < n; i++ {
		l := 0.0
		for b := range ws.nblk {
			l = addInOrder(l, ws.qlossOf(i, b))
		}
		ws.losses[i] = l * ws.scale
	}
	loss := 0.0
	for i, t := range ws.terms {
		loss += t.w * ws.losses[i]
	}
	return loss
}

// qlossOf returns the losses of term i's queries in row block b.
func (ws *weightedSet) qlossOf(i, b int) []float64 {
	o := ws.qoff[b*(len(ws.terms)+1)+i:]
	return ws.qloss[o[0]:o[1]:o[1]]
}

// partialView returns sc.view with the rows of block b pointing into the
// partial gradient of (block b, term chunk ch).
func (ws *weightedSet) partialView(b, ch int, sc *scratch) theory.Correlations {
	part := &ws.parts[b*ws.tch+ch]
	P := ws.P
	for i := 0; i < min(rowBlock, P-b*rowBlock); i++ {
		p := b*rowBlock + i
		sc.view.B[p] = part.gB[i*P : (i+1)*P]
		for k, nk := range ws.nArea {
			sc.view.A[k][p] = part.gA[k][i*nk : (i+1)*nk]
		}
	}
	return sc.view
}

// reduceBlock writes the rows of block b of grad: the sum of the block's
// partial gradients in term-chunk order.
func (ws *weightedSet) reduceBlock(grad theory.Correlations, b int) {
	P := ws.P
	parts := ws.parts[b*ws.tch : (b+1)*ws.tch]
	for i := 0; i < min(rowBlock, P-b*rowBlock); i++ {
		p := b*rowBlock + i
		row := grad.B[p][:P]
		copy(row, parts[0].gB[i*P:(i+1)*P])
		for _, part := range parts[1:] {
			for q, x := range part.gB[i*P : (i+1)*P] {
				row[q] += x
			}
		}
		for k, nk := range ws.nArea {
			row := grad.A[k][p][:nk]
			copy(row, parts[0].gA[k][i*nk:(i+1)*nk])
			for _, part := range parts[1:] {
				for j, x := range part.gA[k][i*nk : (i+1)*nk] {
					row[j] += x
				}
			}
		}
	}
}

// runBlock evaluates, for the terms of chunk ch in order, the masked
// queries in rows [p0, p0+rowBlock) of block b: their losses into qloss and
// rows p0.. of grad (which no other task touches).
func (ws *weightedSet) runBlock(c, grad theory.Correlations, b, ch int, sc *scratch) {
	p0 := b * rowBlock
	p1 := min(p0+rowBlock, ws.P)
	P := ws.P
	checkRows(sc.ebT, P)
	checkRows(sc.cT, P)
	for h := 0; h < p1-p0; h += 8 {
		// Eight rows of e^{B − m} at a time, transposed into ebT.
		nr := min(8, p1-p0-h)
		for r := range nr {
			ws.fillEB(c, p0+h+r, sc.row[r*P:(r+1)*P])
		}
		transposeIn(sc.ebT[h:], sc.row, P, nr)
	}
	clear(sc.cT)
	sc.dOn = [rowBlock]bool{}
	if sc.vec = vecOn() && ws.kl.start != nil; sc.vec {
		ws.vecStart(c, p0, p1, sc)
	} else {
		for k := range grad.A {
			for p := p0; p < p1; p++ {
				clear(grad.A[k][p])
			}
		}
	}
	ws.runTerms(c, grad, b, ch, sc)
	if sc.vec {
		ws.vecEnd(grad, p0, p1, sc)
	}
	// ∂L/∂B[p][q] = e^{B[p][q] − m_p} · (accumulated coefficient) + direct-path terms.
	for h := 0; h < p1-p0; h += 8 {
		productOut(grad.B[p0+h:min(p0+h+8, p1)], sc.ebT[h:], sc.cT[h:], P)
	}
	for i := 0; i < p1-p0; i++ {
		row := grad.B[p0+i][:P]
		if sc.dOn[i] {
			for q, d := range sc.dB[i*P : (i+1)*P] {
				row[q] += d
			}
		}
	}
}

// rowMaxGo returns max(−∞, x...) with four independent chains (Go's max is
// a dependency chain of several instructions per element): max is exact,
// commutative and associative — a NaN anywhere gives NaN, +0 beats −0 — so
// the order does not change the result. It is the definition of rowMax,
// which does it in AVX-512 when the CPU has it (exact_kernel_rows_amd64.s).
func rowMaxGo(x []float64) float64 {
	m0, m1, m2, m3 := math.Inf(-1), math.Inf(-1), math.Inf(-1), math.Inf(-1)
	i := 0
	for ; i+4 <= len(x); i += 4 {
		m0, m1, m2, m3 = max(m0, x[i]), max(m1, x[i+1]), max(m2, x[i+2]), max(m3, x[i+3])
	}
	for ; i < len(x); i++ {
		m0 = max(m0, x[i])
	}
	return max(max(m0, m1), max(m2, m3))
}

// fillEB writes exp(B[p][q] − max_q' B[p][q']) of row p into eb (P
// entries) and returns it.
func (ws *weightedSet) fillEB(c theory.Correlations, p int, eb []float64) []float64 {
	row := c.B[p][:ws.P]
	eb = eb[:len(row)]
	subRow(eb, row, rowMax(row))
	expNonPosSlice(eb)
	return eb
}

// subRowGo sets dst[i] = src[i] − m: the definition of subRow.
func subRowGo(dst, src []float64, m float64) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = x - m
	}
}

// noKeyLosses writes the losses of queries qlo…qhi of a term without keys:
// ŷ_p = 0, so ℓ_p = ½ z_a², with no dependence on (A, B).
func (ws *weightedSet) noKeyLosses(z []float64, qlo, qhi int, ql []float64) {
	for qi := qlo; qi < qhi; qi++ {
		za := z[ws.qarea[qi]]
		ql[qi-qlo] = 0.5 * za * za
	}
}

// blockTerm evaluates the masked queries qpos[qlo:qhi] of term t (all in the
// block starting at row p0) and writes their unscaled losses ℓ_p into ql
// (one per query). For every key group j it sums e^{B − m} over the group's
// keys for all the block's rows at once (gatherRows: T_j of each query), then
// evaluates each query (queryExps, blockCoefs), and adds weight × their
// gradient: A rows into grad.A, and the B coefficients of all the queries,
// one per (row, group), into sc.cT (scatterGroups) or sc.dB. (The vector
// path's is vecTerm.)
func (ws *weightedSet) blockTerm(c, grad theory.Correlations, t term, st *structure, qlo, qhi, p0 int, sc *scratch, weight float64, ql []float64) {
	k := int(st.k)
	n := ws.nArea[k]
	z := ws.zs[t.z0 : int(t.z0)+n+1]
	if st.k0 == st.k1 {
		ws.noKeyLosses(z, qlo, qhi, ql)
		return
	}
	ng := ws.keyGroups(k)
	koff := ws.koff[st.ko : int(st.ko)+ng+1]
	has := ws.hasKeys[st.ko : int(st.ko)+ng]
	tg, cg := sc.tg[:ng*rowBlock], sc.cg[:ng*rowBlock]
	gatherGroups(sc.ebT, ws.kpos, ws.kposX, koff, tg)
	ws.blockQueries(c, grad, st, z, has, qlo, qhi, p0, sc, weight, ql)
	scatterGroups(sc.cT, ws.kpos, koff, cg)
}

// runTerms evaluates the terms of chunk ch on block b in order (runTerm),
// the B coefficients accumulated into sc.cT by scatterGroups, or, on the
// vector path (vecTerm), by keySums after each batch of keyBatch terms.
func (ws *weightedSet) runTerms(c, grad theory.Correlations, b, ch int, sc *scratch) {
	t0 := ch * ws.tchunk
	t1 := min(t0+ws.tchunk, len(ws.terms))
	if !sc.vec {
		for i := t0; i < t1; i++ {
			ws.runTerm(c, grad, b, i, sc)
		}
		return
	}
	kl := &ws.kl
	cg := sc.cg
	rows := (ws.maxN + 1) * rowBlock
	for bt := kl.chunk[ch]; bt < kl.chunk[ch+1]; bt++ {
		tb, te := kl.start[bt], kl.start[bt+1]
		for i := tb; i < te; i++ {
			sc.cg = sc.cgTab[(i-tb)*rows : (i-tb+1)*rows]
			if !ws.vecTerm(c, b, i, sc) {
				clear(sc.cg) // no query in the block: its keys' lists still read the rows
			}
		}
		keySums(sc.cT, sc.cgTab, kl.gOff[bt*(kl.ngrp+1):(bt+1)*(kl.ngrp+1)], kl.gKey[bt*4*kl.ngrp:(bt+1)*4*kl.ngrp], kl.ent, kl.zero)
	}
	sc.cg = cg
}

// runTerm evaluates term i's masked queries in block b (blockTerm) and
// reports whether it has any.
func (ws *weightedSet) runTerm(c, grad theory.Correlations, b, i int, sc *scratch) bool {
	t := ws.terms[i]
	st := &ws.structs[t.st]
	qlo, qhi := int(ws.qblk[int(st.qb)+b]), int(ws.qblk[int(st.qb)+b+1])
	if qlo == qhi {
		return false
	}
	ws.blockTerm(c, grad, t, st, qlo, qhi, b*rowBlock, sc, t.w*ws.scale, ws.qlossOf(i, b))
	return true
}
