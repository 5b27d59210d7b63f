package dynamics

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A pool is the set of persistent helper goroutines of one weightedSet
// (docs/PERFORMANCE.md, issue 23): instead of starting goroutines for each
// phase of each step (two or three fork–joins per step, each a cross-core
// wake-up costing tens of microseconds on a virtual machine), the helpers
// live as long as the set's engine, wait for the next step by spinning
// briefly on a generation counter and then parking on a channel, and take
// the step's tasks from an atomic counter alongside the calling goroutine.
// A step is one fork (publish the job, advance the generation, wake the
// parked helpers) and one join (the last helper to finish releases the
// caller).
//
// The pool holds no reference to the weightedSet between steps (the job is
// cleared after each), so an abandoned set can be collected; a cleanup
// registered by the set then stops its helpers (weightedSet.startPool).
// stop ends them at once; run after stop starts new ones.
type pool struct {
	mu      sync.Mutex // serialises run and stop
	helpers []*helper
	alive   sync.WaitGroup // helper goroutines not yet returned

	// gen is the step's generation << 16 | the number of helpers taking
	// part in it: one word, so that a helper that reads it late cannot
	// take the next step's count for its own step. Advanced once per step,
	// and by stop.
	gen      atomic.Uint64
	stopping atomic.Bool
	job      func(w int)  // the current step's work for worker w (written before gen)
	pending  atomic.Int32 // helpers of the current step still working
	// waiting is the generation of the step whose caller is parked on
	// done (0: none), so that only that step's last helper signals it: a
	// helper of the step before, late between its last task and its
	// signal, finds another generation and stays silent.
	waiting atomic.Uint64
	// afterLastTask, nil outside the tests, runs in the helper that
	// finished a step's last task, before it signals the caller
	// (TestPoolLateSignalOfPreviousStep); set before the pool first runs.
	afterLastTask func()
	done          chan struct{}
}

// A helper is one persistent goroutine; wake carries one token when the
// helper has parked and a step (or stop) needs it.
type helper struct {
	wake   chan struct{}
	parked atomic.Bool
}

// Spin budgets before parking: a helper waits this long for the next step
// (the caller's work between two steps — the per-term loss sums, the
// descent's bookkeeping — takes a few to a few tens of microseconds), the
// caller this long for the helpers to finish their last task (at most one
// task: about 0.15 ms at P = 196; at P = 1024, 0.6 ms, the caller parks
// and a wake-up is small against a 20 ms step).
const (
	helperSpin = 200 * time.Microsecond
	callerSpin = 300 * time.Microsecond
	tightPolls = 2000 // about 2–10 µs of polling before yielding
)

// maxHelpers is the largest number of helpers of a step (the width of the
// count in pool.gen).
const maxHelpers = 1<<16 - 1

func newPool() *pool { return &pool{done: make(chan struct{}, 1)} }

// run calls job(0) on the calling goroutine and job(1), …, job(n) on n
// helpers, concurrently, and returns when all have returned. The job hands
// out its tasks itself (an atomic counter), so a helper that starts late
// just finds fewer tasks left.
func (pl *pool) run(n int, job func(w int)) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	n = min(n, maxHelpers)
	if n == 0 {
		job(0)
		return
	}
	pl.stopping.Store(false)
	for len(pl.helpers) < n {
		h := &helper{wake: make(chan struct{}, 1)}
		pl.helpers = append(pl.helpers, h)
		pl.alive.Add(1)
		go pl.loop(len(pl.helpers), h, pl.gen.Load())
	}
	pl.job = job
	pl.pending.Store(int32(n))
	pl.gen.Store((pl.gen.Load()>>16+1)<<16 | uint64(n))
	for _, h := range pl.helpers[:n] {
		if h.parked.CompareAndSwap(true, false) {
			h.wake <- struct{}{}
		}
	}
	job(0)
	pl.join()
	pl.job = nil
}

// join waits until the step's helpers are done: spinning for callerSpin,
// then parked on done, which the last helper signals.
func (pl *pool) join() {
	if spinUntil(callerSpin, func() bool { return pl.pending.Load() == 0 }) {
		return
	}
	g := pl.gen.Load()
	pl.waiting.Store(g)
	if pl.pending.Load() == 0 && pl.waiting.CompareAndSwap(g, 0) {
		return
	}
	<-pl.done
}

// spinUntil polls cond for up to d and reports whether it became true:
// first tightly (the other side is usually a few microseconds away), then
// yielding between polls — the processor to the process's other runnable
// goroutines (runtime.Gosched: the judge runs engines concurrently, and a
// spinning helper must not hold off another run's work), and the core to
// other runnable threads (osYield), so that on an oversubscribed machine
// the spinning thread does not hold off the one it waits for.
func spinUntil(d time.Duration, cond func() bool) bool {
	for range tightPolls {
		if cond() {
			return true
		}
	}
	t0 := time.Now()
	for !cond() {
		if time.Since(t0) > d {
			return false
		}
		runtime.Gosched()
		osYield()
	}
	return true
}

// loop is helper w's goroutine (w ≥ 1): wait for a generation after seen,
// work if among the step's active helpers, repeat until stop.
func (pl *pool) loop(w int, h *helper, seen uint64) {
	defer pl.alive.Done()
	for {
		seen = pl.await(h, seen)
		if pl.stopping.Load() {
			return
		}
		if w > int(seen&maxHelpers) {
			continue
		}
		pl.job(w)
		if pl.pending.Add(-1) == 0 {
			if pl.afterLastTask != nil {
				pl.afterLastTask()
			}
			if pl.waiting.CompareAndSwap(seen, 0) {
				pl.done <- struct{}{}
			}
		}
	}
}

// await returns the generation once it differs from seen: spinning for
// helperSpin, then parked on h.wake. The parked flag and the generation are
// written and read in opposite orders by the helper and by run/stop, so
// either run sees the flag and sends a token, or the helper sees the new
// generation and takes its flag back (if run took it first, its token is
// on the way and is consumed).
func (pl *pool) await(h *helper, seen uint64) uint64 {
	if spinUntil(helperSpin, func() bool { return pl.gen.Load() != seen }) {
		return pl.gen.Load()
	}
	h.parked.Store(true)
	if pl.gen.Load() != seen && h.parked.CompareAndSwap(true, false) {
		return pl.gen.Load()
	}
	<-h.wake
	return pl.gen.Load()
}

// stop ends the helpers and waits for them to return. The pool can run
// again afterwards (with new helpers).
func (pl *pool) stop() {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if len(pl.helpers) == 0 {
		return
	}
	pl.stopping.Store(true)
	pl.gen.Store((pl.gen.Load()>>16 + 1) << 16)
	for _, h := range pl.helpers {
		if h.parked.CompareAndSwap(true, false) {
			h.wake <- struct{}{}
		}
	}
	pl.alive.Wait()
	pl.helpers = nil
}
