package dynamics

import (
	"sync/atomic"

	"mimverify/internal/mutant"
	"mimverify/theory"
)

// A phase is a run of consecutive descent steps none of which is recorded,
// taken with no barrier between its steps (issue 23: "one fork–join per
// step, or none"; docs/PERFORMANCE.md, "Phases"). It rests on a property
// of the loss (SPEC §2; docs/DYNAMICS.md §4, and §8 "Phases"): query p's
// attention, loss and gradient read only row p of B and of each A[k], so
// the rows of (A, B) descend independently of one another, and row block
// b's step t + 1 needs only block b's step t. The workers take blocks — the least advanced free
// one, worker 1 from the end so that a block tends to stay in one core's
// cache — and advance each by up to phaseChunk steps before letting it go.
// A block's step is exactly the single step's work on its rows (runBlock on
// each term chunk, the partials' sum in chunk order, updateBlock), so the
// state after a phase has the bits of the same steps taken one at a time,
// at any GOMAXPROCS (TestPhasesMatchSingleSteps).
//
// What a phase does not compute is the loss of its steps, which nothing
// records: each block checks that its per-query losses are finite instead
// (the loss is a positively weighted sum of them, each at most 2·max z²,
// so it is finite exactly when they are). A non-finite loss or state in any
// block stops the phase and restores (A, B) to its start, and Descent.Run
// takes those steps one at a time, which finds and names the first
// non-finite quantity as before.
type phaseState struct {
	steps    int            // the phase's length
	prog     []atomic.Int32 // per block: steps taken
	held     []atomic.Bool  // per block: a worker is advancing it
	snapped  []bool         // per block: its rows are in snap (written by its first holder)
	snap     theory.Correlations
	bad      atomic.Bool // a block met a non-finite loss or state
	workerFn func(w int) // ws.phaseWorker, bound once
}

const (
	// maxPhase bounds a phase's length: an observer's Step (a progress
	// display, a time budget) runs after each phase, so at most this many
	// steps late.
	maxPhase = 64
	// phaseChunk is how many steps a worker advances a block by before
	// letting it go: the phase's end waits for at most one such chunk of
	// one block.
	phaseChunk = 2
)

// phased reports whether the set takes phases with the given number of
// workers: only with at least two row blocks per worker, which the blocks
// alone can balance (with fewer, the single steps' term chunks spread
// the work better).
func (ws *weightedSet) phased(workers int) bool { return ws.nblk >= 2*workers }

// descendSteps takes n ≥ 1 fused descent steps c ← c − η·∇L(c) as a phase
// and reports whether every loss and state on the way was finite; when not,
// c is as it was at the call. grad holds the last step's gradient.
func (ws *weightedSet) descendSteps(c, grad theory.Correlations, eta float64, n int) bool {
	workers := ws.prepare(c, grad, ws.nblk)
	ph := &ws.ph
	if ph.prog == nil {
		ph.prog = make([]atomic.Int32, ws.nblk)
		ph.held = make([]atomic.Bool, ws.nblk)
		ph.snapped = make([]bool, ws.nblk)
		ph.snap = c.Clone()
		ph.workerFn = ws.phaseWorker
	}
	ph.steps = n
	for b := range ws.nblk {
		ph.prog[b].Store(0)
		ph.snapped[b] = false
	}
	ph.bad.Store(false)
	ws.cur = stepArgs{c: c, grad: grad, eta: eta, update: true}
	if workers <= 1 {
		ws.phaseWorker(0)
	} else {
		ws.startPool().run(workers-1, ph.workerFn)
	}
	ws.cur = stepArgs{}
	if !ph.bad.Load() {
		return true
	}
	for b, ok := range ph.snapped {
		if ok {
			ws.copyRows(c, ph.snap, b)
		}
	}
	return false
}

// phaseWorker advances blocks until none is left free and unfinished.
func (ws *weightedSet) phaseWorker(w int) {
	ph, sc := &ws.ph, &ws.work[w]
	for !ph.bad.Load() {
		b := ph.claim(w)
		if b < 0 {
			return
		}
		done := int(ph.prog[b].Load())
		if done == 0 {
			ws.copyRows(ph.snap, ws.cur.c, b)
			ph.snapped[b] = true
		}
		todo := min(phaseChunk, ph.steps-done)
		for k := range todo {
			if mutant.On(mutant.PhaseLostStep) && b == 0 && done+k == 0 {
				continue
			}
			if !ws.blockStep(b, sc) {
				ph.bad.Store(true)
				break
			}
		}
		ph.prog[b].Store(int32(done + todo))
		ph.held[b].Store(false)
	}
}

// claim returns a free block with the fewest steps taken (ties: the lowest
// for worker 1's peers, the highest for worker 1), now held by the caller,
// or −1 when every block is finished or held.
func (ph *phaseState) claim(w int) int {
	for {
		best, least := -1, int32(ph.steps)
		for i := range ph.prog {
			b := i
			if w == 1 {
				b = len(ph.prog) - 1 - i
			}
			if p := ph.prog[b].Load(); p < least && !ph.held[b].Load() {
				best, least = b, p
			}
		}
		if best < 0 {
			return -1
		}
		if ph.held[best].CompareAndSwap(false, true) {
			if ph.prog[best].Load() < int32(ph.steps) {
				return best
			}
			ph.held[best].Store(false)
		}
	}
}

// blockStep is one fused step on the rows of block b, all its term chunks
// in order (the single step's task, exact_kernel.go, by one worker), and
// reports whether the block's losses and updated rows are finite.
func (ws *weightedSet) blockStep(b int, sc *scratch) bool {
	a := &ws.cur
	if ws.tch == 1 {
		ws.runBlock(a.c, a.grad, b, 0, sc)
	} else {
		for ch := range ws.tch {
			ws.runBlock(a.c, ws.partialView(b, ch, sc), b, ch, sc)
		}
		ws.reduceBlock(a.grad, b)
	}
	n := len(ws.terms)
	chk := 0.0
	for _, l := range ws.qloss[ws.qoff[b*(n+1)]:ws.qoff[b*(n+1)+n]] {
		chk += 0 * l
	}
	return chk == 0 && ws.updateBlock(a.c, a.grad, a.eta, b)
}

// copyRows copies the rows of block b of src into dst.
func (ws *weightedSet) copyRows(dst, src theory.Correlations, b int) {
	for p := b * rowBlock; p < min((b+1)*rowBlock, ws.P); p++ {
		copy(dst.B[p], src.B[p])
		for k := range ws.nArea {
			copy(dst.A[k][p], src.A[k][p])
		}
	}
}
