package empirical

import "math"

// gemmNN sets C = A·B for row-major A (m×k, stride lda), B (k×n, stride
// ldb) and C (m×n, stride ldc), each entry the fused multiply-add chain
//
//	c_ij = fma(a_{i,k−1}, b_{k−1,j}, … fma(a_{i,1}, b_{1,j}, fma(a_{i,0}, b_{0,j}, 0)) …),
//
// one rounding per term, in increasing k. That chain defines the result:
// the AVX-512 tiles (gemm_amd64.s) compute exactly it for 4×16 and 4×8
// blocks of C, and gemmNNGo the rest (and everything under -tags purego or
// on other CPUs), so the bits do not depend on the CPU's extensions nor on
// how C is tiled. It replaces gonum's Dgemm on the full model's products
// (the scores, Σ_q ∂ℓ/∂s_{p,q} h_q, the residuals against the features and
// ∇Q = E_pos W), whose SSE2 dot kernel ran at ≈ 7 GFlop/s (docs/PERFORMANCE.md,
// "Full d×d model").
func gemmNN(m, n, k int, a []float64, lda int, b []float64, ldb int, c []float64, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if lda < k || ldb < n || ldc < n || len(a) < (m-1)*lda+k || len(b) < (k-1)*ldb+n || len(c) < (m-1)*ldc+n {
		panic("empirical: gemmNN: slices too short for their shapes")
	}
	i := 0
	if k > 0 {
		i = gemmTiles(m, n, k, a, lda, b, ldb, c, ldc)
	}
	gemmNNGo(i, m, 0, n, k, a, lda, b, ldb, c, ldc)
}

// gemmNNGo computes the rows i0 ≤ i < i1 and columns j0 ≤ j < j1 of C = A·B
// by the fused chain of gemmNN.
func gemmNNGo(i0, i1, j0, j1, k int, a []float64, lda int, b []float64, ldb int, c []float64, ldc int) {
	for i := i0; i < i1; i++ {
		arow := a[i*lda : i*lda+k]
		crow := c[i*ldc+j0 : i*ldc+j1]
		clear(crow)
		for kk, x := range arow {
			brow := b[kk*ldb+j0 : kk*ldb+j1]
			for j, y := range brow {
				crow[j] = math.FMA(x, y, crow[j])
			}
		}
	}
}
