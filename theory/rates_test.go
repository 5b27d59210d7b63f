package theory

import (
	"math"
	"strings"
	"testing"

	"mimverify/theory/expr"
)

func TestRateFormulasPrint(t *testing.T) {
	dec, take, wide := phaseTimes()
	cases := []struct {
		name string
		e    expr.Expr
		syms []string
	}{
		{"AreaWideTime", areaWideTime(), []string{"c", "κ", "L", "ε", "δ", "ρ"}},
		{"OwnGapAt", ownGapAt(), []string{"c", "κ", "L", "t", "ρ"}},
		{"LossEnvelope", lossEnvelope(), []string{"λ", "γ", "P", "U", "t"}},
		{"FPGrowthSlope", fpGrowthSlope(), []string{"L", "κ"}},
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
	dec, take, wide := phaseTimes()
	for _, name := range PresetNames() {
		s, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		env := s.Env()
		env["ε"], env["δ"], env["t"] = 0.1, 0.1, 1000
		exprs := []expr.Expr{areaWideTime(), ownGapAt(), lossEnvelope(), fpGrowthSlope()}
		if name == "global-local" {
			for _, p := range phaseRegime() {
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
		for _, p := range areaWideRegime() {
			if _, _, _, err := p.Eval(env); err != nil || p.Why == "" {
				t.Errorf("%s: predicate %s: %v", name, p, err)
			}
		}
		// The gap envelope decreases like t^{-1/2}.
		env["t"] = 1e6
		g1 := ownGapAt().MustEval(env)
		env["t"] = 4e6
		if g2 := ownGapAt().MustEval(env); math.Abs(g1/g2-2) > 0.05 {
			t.Errorf("%s: OwnGapAt ratio over ×4 in t = %v, want ≈ 2", name, g1/g2)
		}
	}
}

func TestEnvBindsSettingSymbols(t *testing.T) {
	s, _ := Preset("default")
	env := s.Env()
	// 4×4 blocks, bands of 2 rows of 8 and of 2 columns of 8: every area has 16 cells.
	if env["C_min"] != 16 || env["C_max"] != 16 || env["N_max"] != 4 || env["P"] != 64 {
		t.Errorf("Env(default) = %v", env)
	}
}

// TestGlobalAreaIgnoresLabels relabels the global-local preset's areas and
// checks that the global area, and every symbol of Env, follow the layout
// rather than the labels.
func TestGlobalAreaIgnoresLabels(t *testing.T) {
	s, err := Preset("global-local")
	if err != nil {
		t.Fatal(err)
	}
	g, ok := s.GlobalArea()
	if !ok {
		t.Fatal("global-local has no global area")
	}
	env := s.Env()
	for perm := range [3]int{} {
		r := s.Clone()
		// Rotate the labels: area j becomes (j + perm) mod 3.
		for p, a := range r.Clusters[0].Areas {
			r.Clusters[0].Areas[p] = (a + perm) % 3
		}
		rg, ok := r.GlobalArea()
		if !ok || rg != (g+perm)%3 {
			t.Errorf("rotation %d: global area %d, %v; want %d", perm, rg, ok, (g+perm)%3)
		}
		renv := r.Env()
		for k, v := range env {
			if renv[k] != v {
				t.Errorf("rotation %d: %s = %v, want %v", perm, k, renv[k], v)
			}
		}
	}
}
