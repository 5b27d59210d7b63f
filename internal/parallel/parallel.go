// Package parallel runs the independent tasks of one computation on a few
// goroutines. The tasks are handed out by an atomic counter, so the order in
// which they run depends on the scheduler; callers that need results
// independent of GOMAXPROCS give each task its own output and fold the
// outputs in task order afterwards.
package parallel

import (
	"sync"
	"sync/atomic"
)

// For calls task(w, i) for every 0 ≤ i < n on up to workers goroutines
// (at least one, at most n), w < workers naming the goroutine (for its
// scratch space), and returns when every call has returned. With one
// worker it runs the tasks in order on the calling goroutine.
func For(n, workers int, task func(w, i int)) {
	workers = max(1, min(workers, n))
	if workers == 1 {
		for i := range n {
			task(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				task(w, i)
			}
		}()
	}
	wg.Wait()
}
