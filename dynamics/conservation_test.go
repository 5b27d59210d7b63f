package dynamics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"mimverify/theory"
)

// Conservation laws of population GD (docs/ORBIT.md §6). Each law is a
// linear functional of the gradient that vanishes at every state; it is
// checked at random (not symmetric) states with the population enumeration,
// where it holds to rounding (1e-13 of the gradient scale: sums of ≤ 16
// entries each exact to ≈ 1e-16), and shown to fail (> 1e-6) where the
// derivation says it does not apply.

type law struct {
	name string
	// residual returns the largest |functional| of the gradient g.
	residual func(s *theory.Setting, g theory.Correlations) float64
}

// rowSumB: Σ_q ∂L/∂B[p][q] = 0 (any setting: adding c to every score of
// row p leaves the softmax unchanged).
var rowSumB = law{"Σ_q B[p][q]", func(s *theory.Setting, g theory.Correlations) float64 {
	worst := 0.0
	for _, row := range g.B {
		sum := 0.0
		for _, v := range row {
			sum += v
		}
		worst = math.Max(worst, math.Abs(sum))
	}
	return worst
}}

// rowSumA: Σ_j ∂L/∂A[k][p][j] = 0 (unmasked keys, z common to all areas).
var rowSumA = law{"Σ_j A[k][p][j]", func(s *theory.Setting, g theory.Correlations) float64 {
	worst := 0.0
	for k := range g.A {
		for _, row := range g.A[k] {
			sum := 0.0
			for _, v := range row {
				sum += v
			}
			worst = math.Max(worst, math.Abs(sum))
		}
	}
	return worst
}}

// areaB: Σ_{q∈P_j} ∂L/∂B[p][q] = (1/z) ∂L/∂A[0][p][j] (one cluster,
// constant z, unmasked keys): the PP correlations slaved to the FP ones.
var areaB = law{"Σ_{q∈P_j} B[p][q] − A[p][j]/z", func(s *theory.Setting, g theory.Correlations) float64 {
	worst := 0.0
	for p := range s.P {
		for j, members := range s.Clusters[0].Members() {
			sum := 0.0
			for _, q := range members {
				sum += g.B[p][q]
			}
			worst = math.Max(worst, math.Abs(sum-g.A[0][p][j]/s.Z.L))
		}
	}
	return worst
}}

func TestConservationLaws(t *testing.T) {
	one := func(z theory.ZKind, keys theory.KeyMode, mask theory.MaskScheme) theory.Setting {
		s := mkSetting(t, 8, []float64{1}, []int{0, 0, 0, 1, 1, 2, 2, 2})
		s.Z = theory.ZLaw{Kind: z, L: 0.7, U: 1.3}
		if z == theory.ZConstant {
			s.Z.U = s.Z.L
		}
		s.Keys, s.Mask = keys, mask
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		return s
	}
	U, All := theory.KeysUnmasked, theory.KeysAll
	Bern, Fix := theory.MaskBernoulli, theory.MaskFixed
	cases := []struct {
		s    theory.Setting
		law  law
		hold bool
	}{
		{one(theory.ZConstant, U, Bern), rowSumB, true},
		{one(theory.ZUniform, U, Fix), rowSumB, true},
		{twoClusterP8(t, theory.ZTwoPoint, Bern, U, theory.LossSum), rowSumB, true},
		{one(theory.ZConstant, All, Bern), rowSumB, true},
		{one(theory.ZConstant, U, Fix), rowSumA, true},
		{one(theory.ZShared, U, Bern), rowSumA, true},
		{twoClusterP8(t, theory.ZConstant, Bern, U, theory.LossMean), rowSumA, true},
		{one(theory.ZUniform, U, Bern), rowSumA, false},
		{one(theory.ZConstant, All, Bern), rowSumA, false},
		{one(theory.ZConstant, U, Bern), areaB, true},
		{one(theory.ZConstant, U, Fix), areaB, true},
		{one(theory.ZShared, U, Bern), areaB, false},
		{one(theory.ZConstant, All, Bern), areaB, false},
		{twoClusterP8(t, theory.ZConstant, Bern, U, theory.LossSum), areaB, false},
	}
	rng := rand.New(rand.NewPCG(31, 32))
	for _, tc := range cases {
		s := tc.s
		name := fmt.Sprintf("%s: K=%d z=%s keys=%s mask=%s", tc.law.name, len(s.Clusters), s.Z.Kind, s.Keys, s.Mask)
		pop := mustPopulation(t, &s, PopulationOptions{Mode: PopulationEnumerate, QuadNodes: 3})
		c := randomCorr(&s, rng, 1)
		g := s.Shape().New()
		pop.LossGrad(c, g)
		a, b := g.MaxAbs()
		r := tc.law.residual(&s, g) / math.Max(a, b)
		t.Logf("%-70s residual %.2g (relative), holds: %v", name, r, tc.hold)
		if tc.hold && !(r <= 1e-13) {
			t.Errorf("%s: law should hold, residual %.3g", name, r)
		}
		if !tc.hold && r < 1e-6 {
			t.Errorf("%s: law should not hold, residual %.3g", name, r)
		}
	}
}
