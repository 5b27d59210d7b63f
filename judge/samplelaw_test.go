package judge

import (
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/stat"

	"mimverify/theory"
)

// lawSettings covers each mask and z law: default (Bernoulli, uniform z,
// three clusters), and grid4 variants.
func lawSettings(t *testing.T) []theory.Setting {
	var out []theory.Setting
	for _, edit := range []func(*theory.Setting){
		nil,
		func(s *theory.Setting) { s.Mask = theory.MaskFixed },
		func(s *theory.Setting) { s.Z = theory.ZLaw{Kind: theory.ZTwoPoint, L: 0.5, U: 1.5} },
		func(s *theory.Setting) { s.Z = theory.ZLaw{Kind: theory.ZShared, L: 0.5, U: 1.5} },
		func(s *theory.Setting) {
			s.Z = theory.ZLaw{Kind: theory.ZConstant, L: 1, U: 1}
			s.Gamma = 0.3
			s.Clusters[0].Prob, s.Clusters[1].Prob = 0.7, 0.3
		},
	} {
		name := "grid4"
		if edit == nil {
			name = "default"
		}
		s, err := theory.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(&s)
		}
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// TestSampleLawPasses: samples drawn by the sampler pass on every law,
// for 20 seeds (a 0.27 % false-alarm rate each: all must pass).
func TestSampleLawPasses(t *testing.T) {
	for i, s := range lawSettings(t) {
		for seed := uint64(1); seed <= 20; seed++ {
			c := sampleLawCheck(&s, s.Samples(seed, 256))
			if c.Measured > c.Predicted() {
				t.Errorf("setting %d, seed %d: %s: %.3g > %.3g", i, seed, c.Name, c.Measured, c.Predicted())
			}
		}
	}
}

// TestSampleLawCatches: samples off the law in one respect fail.
func TestSampleLawCatches(t *testing.T) {
	set := lawSettings(t)
	def, fixed, shared, unequal := set[0], set[1], set[3], set[4]
	for _, c := range []struct {
		name string
		s    theory.Setting
		edit func(smp []theory.Sample)
	}{
		{"the last cluster never drawn", def, func(smp []theory.Sample) {
			for i := range smp {
				smp[i].Cluster = min(smp[i].Cluster, 1)
				smp[i].Z = smp[i].Z[:def.Clusters[smp[i].Cluster].NumAreas()]
			}
		}},
		{"clusters drawn uniformly, not 0.7/0.3", unequal, func(smp []theory.Sample) {
			for i := range smp {
				smp[i].Cluster = i % 2
			}
		}},
		{"one z per image", def, func(smp []theory.Sample) {
			for i := range smp {
				for j := range smp[i].Z {
					smp[i].Z[j] = smp[i].Z[0]
				}
			}
		}},
		{"masked with 1 − γ", unequal, func(smp []theory.Sample) {
			for i := range smp {
				for p := range smp[i].Mask {
					smp[i].Mask[p] = !smp[i].Mask[p]
				}
			}
		}},
		{"a fixed mask one short", fixed, func(smp []theory.Sample) {
			p := slices.Index(smp[3].Mask, true)
			smp[3].Mask[p] = false
		}},
		{"shared z differing between areas", shared, func(smp []theory.Sample) {
			smp[0].Z[1] = (smp[0].Z[0] + shared.Z.L) / 2
		}},
		// Each area's law kept, the areas coupled: a two-point z drawn
		// once per image (issue 19's "two-point z drawn once for all
		// areas"), which the within-image spread does not test.
		{"two-point z drawn once per image", set[2], func(smp []theory.Sample) {
			for i := range smp {
				for j := range smp[i].Z {
					smp[i].Z[j] = smp[i].Z[0]
				}
			}
		}},
		// Every marginal kept, z tied to the cluster: the same z values,
		// the highest given to cluster 0's images first (as many at U as
		// before, each area's law the same two points).
		{"z high in cluster 0, low in cluster 1", set[2], func(smp []theory.Sample) {
			var all []float64
			for _, x := range smp {
				all = append(all, x.Z...)
			}
			slices.Sort(all)
			slices.Reverse(all)
			for _, k := range []int{0, 1} {
				for i := range smp {
					if smp[i].Cluster == k {
						n := copy(smp[i].Z, all)
						all = all[n:]
					}
				}
			}
		}},
		// Every marginal kept, the joint law changed: positions p and
		// p + 32 share their mask (issue 19's γ = ½ "fast path").
		{"positions p and p + 32 masked together", def, func(smp []theory.Sample) {
			for i := range smp {
				copy(smp[i].Mask[32:], smp[i].Mask[:32])
			}
		}},
	} {
		smp := c.s.Samples(1, 256)
		c.edit(smp)
		chk := sampleLawCheck(&c.s, smp)
		if !(chk.Measured > chk.Predicted()) {
			t.Errorf("%s: not caught: %s: %.3g ≤ %.3g", c.name, chk.Name, chk.Measured, chk.Predicted())
		}
		t.Logf("%s: %s", c.name, chk.Name)
	}
}

// The independence statistics are calibrated: over 200 sample sets of the
// sampler, on default (uniform z, three clusters) and grid4 with two-point
// z, each statistic's z has mean 0 and standard deviation 1 within four
// standard errors of each (|mean| < 4/√200 = 0.28, sd in [0.8, 1.2]), so
// that the Bonferroni bound gives the family its stated α. And crossStat
// alone catches z tied to the cluster with every marginal kept.
func TestIndependenceStatsCalibrated(t *testing.T) {
	set := lawSettings(t)
	for _, s := range []theory.Setting{set[0], set[2]} {
		for name, f := range map[string]func(*theory.Setting, []theory.Sample) []lawStat{"zPairStat": zPairStat, "crossStat": crossStat} {
			var zs []float64
			for seed := uint64(1); seed <= 200; seed++ {
				st := f(&s, s.Samples(seed, 256))
				if len(st) != 1 {
					t.Fatalf("%s on %s: %d statistics, want 1", name, s.Name, len(st))
				}
				zs = append(zs, st[0].z)
			}
			mean, sd := stat.MeanStdDev(zs, nil)
			t.Logf("%s on %s (z %s): mean %.3f, sd %.3f", name, s.Name, s.Z.Kind, mean, sd)
			if math.Abs(mean) > 0.28 || sd < 0.8 || sd > 1.2 {
				t.Errorf("%s on %s: z has mean %.3f and sd %.3f over 200 sets, want ≈ 0 and 1", name, s.Name, mean, sd)
			}
		}
	}
	s := set[2]
	smp := s.Samples(1, 256)
	for i := range smp { // the high z to cluster 0, as many at U in all
		if smp[i].Cluster == 1 {
			for j := range smp[i].Z {
				if smp[i].Z[j] == s.Z.U {
					smp[i].Z[j] = s.Z.L
					for k := range smp {
						if smp[k].Cluster == 0 && slices.Contains(smp[k].Z, s.Z.L) {
							smp[k].Z[slices.Index(smp[k].Z, s.Z.L)] = s.Z.U
							break
						}
					}
				}
			}
		}
	}
	if z := crossStat(&s, smp)[0].z; z < 6 {
		t.Errorf("crossStat: z = %.3g for z tied to the cluster, want ≫ 4", z)
	}
}
