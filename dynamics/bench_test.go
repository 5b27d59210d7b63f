package dynamics

import (
	"testing"

	"mimverify/theory"
)

// BenchmarkExactStep measures one gradient step of the level-1 engine: one
// SampleObjective.LossGrad on n = 256 samples (theory.Samples seed 1) plus
// the update (A, B) ← (A, B) − η∇, at P = 16 (grid4), 64 (default) and 196
// (vit14).
func BenchmarkExactStep(b *testing.B) {
	for _, bc := range []struct{ name, preset string }{{"P16", "grid4"}, {"P64", "default"}, {"P196", "vit14"}} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := theory.Preset(bc.preset)
			if err != nil {
				b.Fatal(err)
			}
			obj, err := NewSampleObjective(&s, s.Samples(1, 256))
			if err != nil {
				b.Fatal(err)
			}
			c := s.Shape().New()
			g := s.Shape().New()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				obj.LossGrad(c, g)
				for k := range c.A {
					for p := range c.A[k] {
						for j := range c.A[k][p] {
							c.A[k][p][j] -= s.Eta * g.A[k][p][j]
						}
					}
				}
				for p := range c.B {
					for q := range c.B[p] {
						c.B[p][q] -= s.Eta * g.B[p][q]
					}
				}
			}
		})
	}
}
