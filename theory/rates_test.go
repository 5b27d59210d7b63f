package theory_test

import (
	"math"
	"strings"
	"testing"

	"mimverify/dynamics"
	"mimverify/theory"
)

func TestRateFormulasPrint(t *testing.T) {
	dec, take, wide := theory.PhaseTimes()
	cases := []struct {
		name string
		e    theory.Expr
		syms []string
	}{
		{"AreaWideTime", theory.AreaWideTime(), []string{"c", "κ", "L", "ε", "δ", "ρ"}},
		{"OwnGapAt", theory.OwnGapAt(), []string{"c", "κ", "L", "t", "ρ"}},
		{"LossEnvelope", theory.LossEnvelope(), []string{"λ", "γ", "P", "U", "t"}},
		{"FPGrowthSlope", theory.FPGrowthSlope(), []string{"L", "κ"}},
		{"PhaseTimes.decouple", dec, []string{"N_g", "N_o", "C_loc", "z_4"}},
		{"PhaseTimes.takeover", take, []string{"C_loc", "P", "c"}},
		{"PhaseTimes.wide", wide, []string{"ε", "z_4"}},
	}
	for _, c := range cases {
		got := strings.Join(c.e.Symbols(), " ")
		for _, s := range c.syms {
			if !strings.Contains(" "+got+" ", " "+s+" ") || !strings.Contains(c.e.String(), s) {
				t.Errorf("%s = %s: symbols %q lack %s", c.name, c.e, got, s)
			}
		}
	}
}

func TestRateValuesOnPresets(t *testing.T) {
	dec, take, wide := theory.PhaseTimes()
	for _, name := range theory.PresetNames() {
		s, err := theory.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		env := theory.RateEnv(&s)
		env["ε"], env["δ"], env["t"] = 0.1, 0.1, 1000
		exprs := []theory.Expr{theory.AreaWideTime(), theory.OwnGapAt(), theory.LossEnvelope(), theory.FPGrowthSlope()}
		if name == "global-local" {
			for _, p := range theory.PhaseRegime() {
				if ok, l, r, _ := p.Eval(env); !ok {
					t.Errorf("global-local outside the phase regime: %s (%v vs %v)", p, l, r)
				}
			}
			exprs = append(exprs, dec, take, wide)
		}
		for _, e := range exprs {
			v, err := e.Eval(env)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
				t.Errorf("%s: %s = %v (%v)", name, e, v, err)
			}
		}
		if name == "global-local" {
			d, k, w := dec.MustEval(env), take.MustEval(env), wide.MustEval(env)
			if !(d < k && k < w) {
				t.Errorf("phase times out of order: %v %v %v", d, k, w)
			}
		}
		for _, p := range theory.AreaWideRegime() {
			if _, _, _, err := p.Eval(env); err != nil || p.Why == "" {
				t.Errorf("%s: predicate %s: %v", name, p, err)
			}
		}
		// The gap envelope decreases like t^{-1/2}.
		env["t"] = 1e6
		g1 := theory.OwnGapAt().MustEval(env)
		env["t"] = 4e6
		if g2 := theory.OwnGapAt().MustEval(env); math.Abs(g1/g2-2) > 0.05 {
			t.Errorf("%s: OwnGapAt ratio over ×4 in t = %v, want ≈ 2", name, g1/g2)
		}
	}
}

// TestRatesBoundMeasured runs GD on a small two-cluster grid and checks the
// measured gap, reconstructable loss and area-wide time against the
// predicted bounds, and the exact conservation Σ_j A = 0 for constant z.
func TestRatesBoundMeasured(t *testing.T) {
	for _, z := range []theory.ZLaw{{Kind: theory.ZUniform, L: 0.5, U: 1.5}, {Kind: theory.ZConstant, L: 1, U: 1}} {
		s, err := theory.Preset("grid4")
		if err != nil {
			t.Fatal(err)
		}
		s.Z = z
		s.Eta = 4
		if err := s.Resolve(); err != nil {
			t.Fatal(err)
		}
		env := theory.RateEnv(&s)
		env["ε"], env["δ"] = 0.2, 0.1
		for _, p := range theory.AreaWideRegime() {
			if ok, l, r, _ := p.Eval(env); !ok {
				t.Fatalf("setting outside the regime: %s (%v vs %v)", p, l, r)
			}
		}
		obj, err := dynamics.NewSampleObjective(&s, theory.Samples(&s, 1, 128))
		if err != nil {
			t.Fatal(err)
		}
		eval := theory.Samples(&s, 99, 256)
		const steps = 400
		tr, err := dynamics.Descend(&s, obj, dynamics.DescendOptions{Steps: steps, RecordEvery: 5})
		if err != nil {
			t.Fatal(err)
		}
		tArea := -1
		prevOwn := math.Inf(-1)
		for _, r := range tr.Records {
			at := theory.MeasureAttention(&s, r.Correlations, eval, 0.1, 0.1, false)
			if tArea < 0 && at.OwnQuantile >= 1-env["ε"] {
				tArea = r.Step
			}
			fp := theory.SummarizeFP(&s, r.Correlations)
			if fp.OwnMean < prevOwn-1e-12 {
				t.Errorf("z %s: A_own decreased at step %d", z.Kind, r.Step)
			}
			prevOwn = fp.OwnMean
			if r.Step < 20 {
				continue
			}
			env["t"] = float64(r.Step)
			if g, b := 1-at.OwnMean, theory.OwnGapAt().MustEval(env); g > b {
				t.Errorf("z %s step %d: gap %v > OwnGapAt %v", z.Kind, r.Step, g, b)
			}
			if l, b := at.ReconstructableLoss, theory.LossEnvelope().MustEval(env); l > b {
				t.Errorf("z %s step %d: reconstructable loss %v > LossEnvelope %v", z.Kind, r.Step, l, b)
			}
			if z.Kind == theory.ZConstant {
				for k := range r.A {
					for p := range r.A[k] {
						sum := 0.0
						for _, a := range r.A[k][p] {
							sum += a
						}
						if math.Abs(sum) > 1e-9 {
							t.Fatalf("step %d: Σ_j A[%d][%d][j] = %v, want 0 (conservation)", r.Step, k, p, sum)
						}
					}
				}
			}
		}
		bound := theory.AreaWideTime().MustEval(env)
		if tArea < 0 || float64(tArea) > bound {
			t.Errorf("z %s: area-wide time %d, bound %v", z.Kind, tArea, bound)
		}
		t.Logf("z %s: T(0.2, 0.1) = %d, T* = %.1f, ratio %.3f", z.Kind, tArea, bound, float64(tArea)/bound)
	}
}
