package theory

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Frequencies are checked against their binomial standard deviation: a
// 5σ band has a false-alarm rate below 1e-6 per check.
func within5Sigma(t *testing.T, what string, count, n int, p float64) {
	t.Helper()
	sd := math.Sqrt(float64(n) * p * (1 - p))
	if d := math.Abs(float64(count) - float64(n)*p); d > 5*sd {
		t.Errorf("%s: %d of %d, expected %.1f ± %.1f (5σ)", what, count, n, float64(n)*p, 5*sd)
	}
}

func TestSamplerDistribution(t *testing.T) {
	s := validBase()
	s.Clusters[0].Prob, s.Clusters[1].Prob = 0.3, 0.7
	s.Gamma = 0.25
	const n = 20000
	smp := s.Samples(11, n)
	var c0, masked int
	for _, x := range smp {
		if err := s.CheckSample(x); err != nil {
			t.Fatal(err)
		}
		if x.Cluster == 0 {
			c0++
		}
		for _, m := range x.Mask {
			if m {
				masked++
			}
		}
	}
	within5Sigma(t, "cluster 0 frequency", c0, n, 0.3)
	within5Sigma(t, "masked positions", masked, n*s.P, 0.25)
	if !cmp.Equal(smp, s.Samples(11, n)) {
		t.Error("the same seed gave different samples")
	}
	if cmp.Equal(smp[:10], s.Samples(12, 10)) {
		t.Error("different seeds gave the same samples")
	}
}

func TestSamplerZLawsAndFixedMasks(t *testing.T) {
	for _, kind := range []ZKind{ZConstant, ZUniform, ZTwoPoint, ZShared} {
		s := validBase()
		s.P = 9
		s.Clusters = []Cluster{{Areas: []int{0, 0, 0, 1, 1, 1, 2, 2, 2}, Prob: 1}}
		s.Z = ZLaw{kind, 0.5, 2}
		if kind == ZConstant {
			s.Z.U = 0.5
		}
		s.Mask, s.Gamma = MaskFixed, 0.4 // round(3.6) = 4 masked
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		high := 0
		const n = 4000
		for _, x := range s.Samples(3, n) {
			m := 0
			for _, b := range x.Mask {
				if b {
					m++
				}
			}
			if m != 4 {
				t.Fatalf("fixed scheme masked %d positions, want round(0.4·9) = 4", m)
			}
			for j, z := range x.Z {
				if z < s.Z.L || z > s.Z.U {
					t.Fatalf("%s: z = %v outside [L, U]", kind, z)
				}
				switch kind {
				case ZConstant:
					if z != 0.5 {
						t.Fatalf("constant law drew %v", z)
					}
				case ZTwoPoint:
					if z != 0.5 && z != 2 {
						t.Fatalf("two-point law drew %v", z)
					}
					if z == 2 {
						high++
					}
				case ZShared:
					if z != x.Z[0] {
						t.Fatalf("shared law drew different z for areas 0 and %d", j)
					}
				}
			}
		}
		if kind == ZTwoPoint {
			within5Sigma(t, "two-point draws of U", high, 3*n, 0.5)
		}
	}
}

func TestCheckSampleRejects(t *testing.T) {
	s := validBase()
	good := Sample{Cluster: 1, Z: []float64{1, 1}, Mask: []bool{true, false, false, true}}
	if err := s.CheckSample(good); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]Sample{
		"cluster":  {Cluster: 2, Z: []float64{1, 1}, Mask: good.Mask},
		"z length": {Cluster: 1, Z: []float64{1}, Mask: good.Mask},
		"z range":  {Cluster: 1, Z: []float64{1, 3}, Mask: good.Mask},
		"z NaN":    {Cluster: 1, Z: []float64{1, math.NaN()}, Mask: good.Mask},
		"mask":     {Cluster: 1, Z: []float64{1, 1}, Mask: []bool{true}},
	} {
		if s.CheckSample(bad) == nil {
			t.Errorf("%s: CheckSample accepted %+v", name, bad)
		}
	}
}

func TestInitialCorrelations(t *testing.T) {
	s := validBase()
	zero := s.InitialCorrelations(1)
	if a, b := zero.MaxAbs(); a != 0 || b != 0 {
		t.Errorf("zero init has max |A| = %v, |B| = %v", a, b)
	}
	s.Init = Init{InitGaussian, 0.1}
	c := s.InitialCorrelations(1)
	var sum2 float64
	n := 0
	for _, ak := range c.A {
		for _, row := range ak {
			for _, x := range row {
				sum2 += x * x
				n++
			}
		}
	}
	for _, row := range c.B {
		for _, x := range row {
			sum2 += x * x
			n++
		}
	}
	if n != 2*4*2+16 {
		t.Fatalf("%d entries, want K·P·N + P² = 32", n)
	}
	// The sample variance of 32 N(0, 0.01) draws lies within a factor 3 of
	// 0.01 except with probability < 1e-4 (χ²₃₂ quantiles).
	if v := sum2 / float64(n); v < 0.01/3 || v > 0.03 {
		t.Errorf("sample variance %v, want ≈ σ² = 0.01", v)
	}
	if d := c.MaxAbsDiff(s.InitialCorrelations(1)); d != 0 {
		t.Error("InitialCorrelations is not deterministic")
	}
	cl := c.Clone()
	cl.A[0][0][0] += 1
	if c.MaxAbsDiff(cl) != 1 {
		t.Error("Clone shares storage with the original, or MaxAbsDiff is wrong")
	}
}
