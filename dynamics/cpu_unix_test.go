//go:build unix

package dynamics

import "syscall"

// processCPU returns the process's user + system CPU time in ns (all
// threads): on a shared machine the CPU time per operation is less
// disturbed by other jobs than the wall time (cpu-ns/op; at -cpu 2 it is
// the sum over both cores).
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
