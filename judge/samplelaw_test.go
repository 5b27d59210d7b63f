package judge

import (
	"slices"
	"testing"

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
	}
}
