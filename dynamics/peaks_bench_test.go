package dynamics

import (
	"math"
	"testing"
)

// The machine peaks of docs/PERFORMANCE.md's roofline (`make peaks`),
// measured with the kernels the project itself runs: expNonPosSlice (the
// exact and orbit kernels' exponential, AVX-512 when the CPU has it), a
// memory triad, and Go's scalar multiply-add throughput (what the Go
// loops of the kernels can reach without assembly).

// BenchmarkPeakExp reports ns per exponential of expNonPosSlice on a
// cache-resident slice of arguments in [−40, 0].
func BenchmarkPeakExp(b *testing.B) {
	const n = 4096
	src, buf := make([]float64, n), make([]float64, n)
	for i := range src {
		src[i] = -40 * float64(i) / n
	}
	for b.Loop() {
		copy(buf, src)
		expNonPosSlice(buf)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/exp")
}

// BenchmarkPeakTriad reports the memory bandwidth of a[i] = b[i] + s·c[i]
// over 3 × 32 MB (beyond the caches), counting 24 bytes per element.
func BenchmarkPeakTriad(b *testing.B) {
	const n = 4 << 20
	x, y, z := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range y {
		y[i], z[i] = float64(i), 1
	}
	for b.Loop() {
		for i := range x {
			x[i] = y[i] + 3*z[i]
		}
	}
	b.ReportMetric(24*n*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GB/s")
}

// BenchmarkPeakFMA reports the GFLOP/s of Go's scalar math.FMA with eight
// independent chains (2 flops each).
func BenchmarkPeakFMA(b *testing.B) {
	const n = 1 << 16
	var a [8]float64
	for i := range a {
		a[i] = float64(i)
	}
	for b.Loop() {
		for range n {
			for j := range a {
				a[j] = math.FMA(a[j], 0.999999, 1e-9)
			}
		}
	}
	if math.IsNaN(a[0] + a[7]) {
		b.Fatal("NaN")
	}
	b.ReportMetric(2*8*n*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
}

// BenchmarkPeakRowAdds reports the lane additions per second (G/s) of the
// exact kernel's gather row loop (gatherRows: AVX-512 or AVX2 when the CPU
// has it) over 196 keys of a cache-resident 196 × rowBlock table: the
// attainable rate of the step's pair work (one add per pair and row).
func BenchmarkPeakRowAdds(b *testing.B) {
	const nk = 196
	ebT := make([]float64, nk*rowBlock)
	kp := make([]int32, nk)
	for i := range kp {
		kp[i] = int32((i * 37) % nk)
		for r := range rowBlock {
			ebT[i*rowBlock+r] = 1 / float64(1+i+r)
		}
	}
	var out [rowBlock]float64
	const reps = 64
	for b.Loop() {
		for range reps {
			gatherRows(ebT, kp, &out)
		}
	}
	if out[0] <= 0 {
		b.Fatal("empty sum")
	}
	b.ReportMetric(reps*nk*rowBlock*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "Gadd/s")
}
