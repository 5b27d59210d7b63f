package dynamics

import (
	"fmt"
	"testing"

	"mimverify/theory"
)

// gridOneCluster is a side×side grid cut into 4 equal blocks (one cluster),
// z ≡ 1, γ = 0.5, η = 10.
func gridOneCluster(tb testing.TB, side int) theory.Setting {
	tb.Helper()
	s, err := theory.Grid(side, theory.Blocks(side/2))
	if err != nil {
		tb.Fatal(err)
	}
	s.Z = theory.ZLaw{Kind: theory.ZConstant, L: 1, U: 1}
	s.Eta = 10
	if err := s.Validate(); err != nil {
		tb.Fatal(err)
	}
	return s
}

// BenchmarkOrbitStep measures one orbit GD step (LossGrad + update) on one
// cluster of 4 equal areas with constant z: exact enumeration (P = 196,
// 1024) and the mean field.
func BenchmarkOrbitStep(b *testing.B) {
	for _, side := range []int{14, 32} {
		for _, mf := range []bool{false, true} {
			name := fmt.Sprintf("P%d", side*side)
			if mf {
				name += "-meanfield"
			}
			b.Run(name, func(b *testing.B) {
				s := gridOneCluster(b, side)
				o, err := NewOrbit(&s, OrbitOptions{MeanField: mf})
				if err != nil {
					b.Fatal(err)
				}
				x := make([]float64, o.Dim())
				g := make([]float64, o.Dim())
				b.ReportAllocs()
				for b.Loop() {
					o.LossGrad(x, g)
					for i := range x {
						x[i] -= s.Eta * g[i]
					}
				}
				b.ReportMetric(float64(o.NumTerms()), "terms")
			})
		}
	}
}

// BenchmarkOrbitDefault measures one orbit step on the default preset
// (uniform z: CRN over counts and z, DefaultCRNSamples per query
// representative) beside one population CRN step at the same sample count.
func BenchmarkOrbitDefault(b *testing.B) {
	s, err := theory.Preset("default")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("orbit-crn", func(b *testing.B) {
		o, err := NewOrbit(&s, OrbitOptions{})
		if err != nil {
			b.Fatal(err)
		}
		x := make([]float64, o.Dim())
		g := make([]float64, o.Dim())
		for b.Loop() {
			o.LossGrad(x, g)
		}
	})
	b.Run("population-crn", func(b *testing.B) {
		p, err := NewPopulationObjective(&s, PopulationOptions{Mode: PopulationCRN})
		if err != nil {
			b.Fatal(err)
		}
		c := s.Shape().New()
		g := s.Shape().New()
		for b.Loop() {
			p.LossGrad(c, g)
		}
	})
}
