//go:build !linux

package dynamics

import "runtime"

// osYield lets other goroutines run (sched_yield where available, see
// exact_pool_linux.go).
func osYield() { runtime.Gosched() }
