//go:build amd64 && !purego

package empirical

import "golang.org/x/sys/cpu"

//go:noescape
func gemm4x16AVX512(a *[4]*float64, b *float64, ldb int, k int, c *[4]*float64)

//go:noescape
func gemm4x8AVX512(a *[4]*float64, b *float64, ldb int, k int, c *[4]*float64, mask int)

// gemmAVX512 says whether gemmTiles uses the AVX-512 tiles (a variable so
// that the tests can compare both paths on one machine).
var gemmAVX512 = cpu.X86.HasAVX512F

// gemmTiles computes all of C in AVX-512 tiles of four rows (fewer for
// the last, by repeating its last row) by 16 columns, then 8, then the
// leftover columns under a mask, and returns m; it returns 0, leaving
// every row to the caller, when the CPU lacks AVX-512. gemmNN has checked
// the shapes: the assembly does no bounds checks (the masked tile reads
// and writes only the columns < n).
func gemmTiles(m, n, k int, a []float64, lda int, b []float64, ldb int, c []float64, ldc int) int {
	if !gemmAVX512 {
		return 0
	}
	var ar, cr [4]*float64
	var rows [4]int
	for i := 0; i < m; i += 4 {
		for r := range rows {
			rows[r] = min(i+r, m-1)
			ar[r] = &a[rows[r]*lda]
		}
		for j := 0; j < n; {
			for r, row := range rows {
				cr[r] = &c[row*ldc+j]
			}
			if j+16 <= n {
				gemm4x16AVX512(&ar, &b[j], ldb, k, &cr)
				j += 16
			} else {
				gemm4x8AVX512(&ar, &b[j], ldb, k, &cr, 1<<min(8, n-j)-1)
				j += 8
			}
		}
	}
	return m
}
