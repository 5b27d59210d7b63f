//go:build !amd64 || purego

package empirical

// gemmTiles computes no tile where there is no assembly: gemmNNGo does all
// of C.
func gemmTiles(m, n, k int, a []float64, lda int, b []float64, ldb int, c []float64, ldc int) int {
	return 0
}
