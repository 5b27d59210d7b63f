package empirical

import (
	"os"
	"testing"

	"gonum.org/v1/gonum/mat"

	"mimverify/theory"
)

// BenchmarkGDStep measures one full-batch GD step (loss and gradient at Q,
// then the update) on n = 256 samples, from a non-trivial Q (after one step
// from zero, so that the attention is not uniform), at P = 16 (grid4), 64
// (default), 196 (vit14), 400 and 1024 (three clusters × 4 areas on 20×20
// and 32×32 grids, η = 10, as in dynamics.BenchmarkExactStep). P = 1024
// takes tens of seconds per step and runs only with MIMVERIFY_BENCH_P1024=1
// (make bench sets it, with -benchtime 1x).
func BenchmarkGDStep(b *testing.B) {
	for _, c := range []struct {
		name, preset string
		side         int
	}{
		{"P16", "grid4", 0}, {"P64", "default", 0}, {"P196", "vit14", 0}, {"P400", "", 20}, {"P1024", "", 32},
	} {
		b.Run(c.name, func(b *testing.B) {
			if c.side == 32 && os.Getenv("MIMVERIFY_BENCH_P1024") != "1" {
				b.Skip("P = 1024: set MIMVERIFY_BENCH_P1024=1 (tens of seconds per step)")
			}
			var s theory.Setting
			var err error
			if c.preset != "" {
				s, err = theory.Preset(c.preset)
			} else {
				s, err = theory.Grid(c.side, theory.Blocks(c.side/2), theory.Rows(c.side/4), theory.Columns(c.side/4))
				s.Eta = 10
			}
			if err != nil {
				b.Fatal(err)
			}
			samples := s.Samples(1, 256)
			e := NewEmbedding(&s, 1)
			m, err := NewModel(&s, e)
			if err != nil {
				b.Fatal(err)
			}
			d := e.D
			q := mat.NewDense(d, d, nil)
			grad := mat.NewDense(d, d, nil)
			step := func() {
				m.LossGrad(q, samples, grad)
				grad.Scale(-s.Eta, grad)
				q.Add(q, grad)
			}
			step()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				step()
			}
		})
	}
}

// BenchmarkGemmNN measures the full model's score product at vit14's shape
// (≈ 100 masked queries × 100 keys × d = 218), reporting GFlop/s (2mnk
// flops per product): the AVX-512 tiles where the CPU has them, and the Go
// chain that defines them ("go").
func BenchmarkGemmNN(b *testing.B) {
	const m, n, k = 100, 100, 218
	a, bm, c := make([]float64, m*k), make([]float64, k*n), make([]float64, m*n)
	for i := range a {
		a[i] = float64(i%7) - 3
	}
	for i := range bm {
		bm[i] = float64(i%5) - 2
	}
	report := func(b *testing.B) {
		b.ReportMetric(2*m*n*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFlop/s")
	}
	b.Run("tiles", func(b *testing.B) {
		for range b.N {
			gemmNN(m, n, k, a, k, bm, n, c, n)
		}
		report(b)
	})
	b.Run("go", func(b *testing.B) {
		for range b.N {
			gemmNNGo(0, m, 0, n, k, a, k, bm, n, c, n)
		}
		report(b)
	})
}
