package empirical

import (
	"math"
	"testing"

	"pgregory.net/rapid"
)

// gemmNN against its definition: the bits of gemmNNGo over the whole of C
// whatever the tiles (assembly on this CPU when it has AVX-512), and within
// the fused chain's error bound of a sum taken in higher precision. The
// shapes cross the 4-row and 8/16-column tile edges, the strides exceed
// the widths, and C's padding must stay untouched.
func TestGemmNN(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m, n, k := rapid.IntRange(0, 13).Draw(t, "m"), rapid.IntRange(0, 41).Draw(t, "n"), rapid.IntRange(0, 37).Draw(t, "k")
		lda, ldb, ldc := k+rapid.IntRange(0, 3).Draw(t, "pa"), n+rapid.IntRange(0, 3).Draw(t, "pb"), n+rapid.IntRange(0, 3).Draw(t, "pc")
		gen := rapid.Float64Range(-4, 4)
		a := rapid.SliceOfN(gen, m*lda, m*lda).Draw(t, "a")
		b := rapid.SliceOfN(gen, k*ldb, k*ldb).Draw(t, "b")
		const pad = -7.25
		fill := func() []float64 {
			c := make([]float64, m*ldc)
			for i := range c {
				c[i] = pad
			}
			return c
		}
		got, want := fill(), fill()
		gemmNN(m, n, k, a, lda, b, ldb, got, ldc)
		gemmNNGo(0, m, 0, n, k, a, lda, b, ldb, want, ldc)
		for i := range m {
			for j := range ldc {
				g, w := got[i*ldc+j], want[i*ldc+j]
				if j >= n && g != pad {
					t.Fatalf("C[%d][%d] (padding) written: %v", i, j, g)
				}
				if math.Float64bits(g) != math.Float64bits(w) {
					t.Fatalf("C[%d][%d] = %v, the Go chain gives %v", i, j, g, w)
				}
				if j < n {
					checkChainError(t, a[i*lda:i*lda+k], b, ldb, j, g)
				}
			}
		}
	})
}

// checkChainError compares c with Σ_k a_k b_{k,j} summed in a two-float
// (value, error) accumulation; the fused chain's error is at most
// γ_k·Σ|a_k b_kj| with γ_k = k·u/(1 − k·u), u = 2⁻⁵³ (one rounding per
// term), plus k·2⁻¹⁰⁷⁴ for roundings in the subnormal range, where the
// error is absolute, plus u·|sum| for the precise sum's own final rounding.
// The factor 1 + 10⁻⁷ on γ_k covers the roundings of abs and of the bound
// itself (k ≤ 37 terms: a relative k·u < 10⁻¹⁴).
func checkChainError(t *rapid.T, a, b []float64, ldb, j int, c float64) {
	hi, lo, abs := 0.0, 0.0, 0.0
	for kk, x := range a {
		p := x * b[kk*ldb+j]
		pe := math.FMA(x, b[kk*ldb+j], -p)
		s := hi + p
		bb := s - hi
		lo += (hi - (s - bb)) + (p - bb) + pe
		hi = s
		abs += math.Abs(p)
	}
	ku := float64(len(a)) * 0x1p-53
	if bound := ku/(1-ku)*abs*1.0000001 + float64(len(a))*0x1p-1074 + 0x1p-53*math.Abs(hi+lo); !(math.Abs(c-(hi+lo)) <= bound) {
		t.Fatalf("column %d: chain %v, precise sum %v: error above γ_k·Σ|ab| = %v", j, c, hi+lo, bound)
	}
}
