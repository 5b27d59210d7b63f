package dynamics

import (
	"fmt"
	"testing"

	"gonum.org/v1/gonum/floats"

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
					floats.AddScaled(x, -s.Eta, g)
				}
				b.ReportMetric(float64(o.NumTerms()), "terms")
			})
		}
	}
}

// BenchmarkOrbitCRN measures one orbit evaluation (CRN over the counts,
// z drawn with a quadrature control variate, DefaultCRNSamples per query
// representative) beside one population CRN evaluation (DefaultCRNSamples
// images) on the default and vit14 presets at Q = 0, reporting the loss
// standard error of each: the efficiency at equal standard error is
// (t_pop·se_pop²)/(t_orbit·se_orbit²).
func BenchmarkOrbitCRN(b *testing.B) {
	for _, name := range []string{"default", "vit14"} {
		s, err := theory.Preset(name)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name+"/orbit", func(b *testing.B) {
			o, err := NewOrbit(&s, OrbitOptions{})
			if err != nil {
				b.Fatal(err)
			}
			x := make([]float64, o.Dim())
			g := make([]float64, o.Dim())
			var se float64
			cpu0 := processCPU()
			for b.Loop() {
				_, se = o.LossGrad(x, g)
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(se, "stderr")
		})
		b.Run(name+"/population", func(b *testing.B) {
			p, err := NewPopulationObjective(&s, PopulationOptions{Mode: PopulationCRN})
			if err != nil {
				b.Fatal(err)
			}
			c := s.Shape().New()
			g := s.Shape().New()
			var se float64
			for b.Loop() {
				_, se = p.LossGrad(c, g)
			}
			b.ReportMetric(se, "stderr")
		})
	}
}

// BenchmarkOrbitEnumStored measures the P = 1024 step of BenchmarkOrbitStep
// with the count vectors stored (the default within orbitEnumStoreBytes)
// and generated on the fly (the fallback beyond it), alternately.
func BenchmarkOrbitEnumStored(b *testing.B) {
	s := gridOneCluster(b, 32)
	for _, stored := range []bool{true, false} {
		name := "stored"
		if !stored {
			name = "generated"
		}
		b.Run(name, func(b *testing.B) {
			o, err := NewOrbit(&s, OrbitOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if !stored {
				for _, pr := range o.probs {
					pr.enum.vecs, pr.enum.prob = nil, nil
				}
			}
			x := make([]float64, o.Dim())
			g := make([]float64, o.Dim())
			for b.Loop() {
				o.LossGrad(x, g)
				floats.AddScaled(x, -s.Eta, g)
			}
		})
	}
}
