package parallel

import (
	"sync/atomic"
	"testing"
)

// Every task runs exactly once, on a worker index below the number of
// workers, for task counts below, at and above it.
func TestForRunsEachTaskOnce(t *testing.T) {
	for _, n := range []int{0, 1, 3, 64} {
		for _, workers := range []int{0, 1, 2, 5} {
			runs := make([]atomic.Int32, n)
			var badWorker atomic.Bool
			For(n, workers, func(w, i int) {
				if w < 0 || w >= max(1, workers) {
					badWorker.Store(true)
				}
				runs[i].Add(1)
			})
			for i := range runs {
				if c := runs[i].Load(); c != 1 {
					t.Errorf("n = %d, workers = %d: task %d ran %d times", n, workers, i, c)
				}
			}
			if badWorker.Load() {
				t.Errorf("n = %d, workers = %d: a worker index out of range", n, workers)
			}
		}
	}
}
