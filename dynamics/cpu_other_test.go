//go:build !unix

package dynamics

// processCPU is 0 where getrusage is not available (cpu-ns/op reads 0).
func processCPU() int64 { return 0 }
