package empirical

import (
	"testing"

	"gonum.org/v1/gonum/mat"

	"mimverify/theory"
)

// BenchmarkGDStep measures one full-batch GD step (loss and gradient at Q,
// then the update) on n = 256 samples, from a non-trivial Q (after one step
// from zero, so that the attention is not uniform).
func BenchmarkGDStep(b *testing.B) {
	for _, c := range []struct{ name, preset string }{
		{"P16", "grid4"}, {"P64", "default"}, {"P196", "vit14"},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, err := theory.Preset(c.preset)
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
