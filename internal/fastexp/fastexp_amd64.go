//go:build amd64 && !purego

package fastexp

import "golang.org/x/sys/cpu"

// avx512 says whether NonPos uses the AVX-512 loop (a variable so that the
// tests can compare both paths on one machine).
var avx512 = cpu.X86.HasAVX512F

//go:noescape
func nonPosAVX512(x *float64, n int, tab *[16]float64) int

// NonPos is nonPosGo, eight at a time in AVX-512 when the
// CPU has it (the same operations in the same order: the same bits,
// TestNonPosSlice); a group of eight with an argument outside (−708, 0]
// and the last entries take the Go loop.
func NonPos(x []float64) {
	i := 0
	for avx512 && len(x)-i >= 8 {
		i += nonPosAVX512(&x[i], len(x)-i, &table)
		if len(x)-i >= 8 {
			nonPosGo(x[i : i+8])
			i += 8
		}
	}
	nonPosGo(x[i:])
}
