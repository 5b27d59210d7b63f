package theory

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustPreset(t *testing.T, name string) Setting {
	t.Helper()
	s, err := Preset(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPresetsAreValid(t *testing.T) {
	for _, name := range PresetNames() {
		s := mustPreset(t, name)
		if err := s.Validate(); err != nil {
			t.Errorf("preset %s is invalid: %v", name, err)
		}
		doc, requires := PresetInfo(name)
		if doc == "" || len(requires) == 0 {
			t.Errorf("preset %s has no description or no required claims", name)
		}
		// C6 needs a global area: a preset that requires it must have one.
		if _, global := s.GlobalArea(); slices.Contains(requires, "C6") != global {
			t.Errorf("preset %s requires %v with global area %v", name, requires, global)
		}
	}
	if _, err := Preset("nope"); err == nil || !strings.Contains(err.Error(), "default") {
		t.Errorf("unknown preset error %v does not list the presets", err)
	}
}

// The default setting must be one where PP correlations alone cannot solve
// the task: at least three clusters, and for some pair of positions, they
// share an area in one cluster and not in another.
func TestDefaultNeedsFeaturePositionCorrelations(t *testing.T) {
	s := mustPreset(t, "default")
	if s.P != 64 || s.Side != 8 || len(s.Clusters) < 3 || s.Gamma != 0.5 || s.Z != (ZLaw{ZUniform, 0.5, 1.5}) {
		t.Fatalf("default is not an 8×8 grid with ≥3 clusters, γ=0.5, z~U[0.5,1.5]: %+v", s)
	}
	for a := 0; a < len(s.Clusters); a++ {
		for b := a + 1; b < len(s.Clusters); b++ {
			if cmp.Equal(s.Clusters[a].Areas, s.Clusters[b].Areas) {
				t.Errorf("clusters %d and %d have the same partition", a, b)
			}
		}
	}
	conflict := false
	for p := 0; p < s.P && !conflict; p++ {
		for q := 0; q < s.P && !conflict; q++ {
			same, diff := false, false
			for _, c := range s.Clusters {
				if c.Areas[p] == c.Areas[q] {
					same = true
				} else {
					diff = true
				}
			}
			conflict = same && diff
		}
	}
	if !conflict {
		t.Error("every pair of positions is together in all clusters or in none: a PP pattern alone could solve the task")
	}
	v := mustPreset(t, "vit14")
	if v.P != 196 || v.Side != 14 || len(v.Clusters) < 3 {
		t.Errorf("vit14 is not a 14×14 grid with ≥3 clusters: P=%d side=%d clusters=%d", v.P, v.Side, len(v.Clusters))
	}
}

func TestGridLabels(t *testing.T) {
	// 4×4 grid, 2×2 blocks: written out by hand.
	want := []int{
		0, 0, 1, 1,
		0, 0, 1, 1,
		2, 2, 3, 3,
		2, 2, 3, 3,
	}
	got, err := gridLabels(4, Blocks(2))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("blocks(2) on 4×4 (-want +got):\n%s", d)
	}
	rows, _ := gridLabels(3, Rows(1))
	cols, _ := gridLabels(3, Columns(2))
	if d := cmp.Diff([]int{0, 0, 0, 1, 1, 1, 2, 2, 2}, rows); d != "" {
		t.Errorf("rows(1) on 3×3:\n%s", d)
	}
	if d := cmp.Diff([]int{0, 0, 1, 0, 0, 1, 0, 0, 1}, cols); d != "" {
		t.Errorf("columns(2) on 3×3 (ragged last band):\n%s", d)
	}
	for _, bad := range []Partition{Blocks(0), Rows(5), {"diagonal", 1}} {
		if _, err := gridLabels(4, bad); err == nil {
			t.Errorf("gridLabels(4, %v) accepted a bad partition", bad)
		}
	}
}

func TestRandomRegionsAreContiguousPartitions(t *testing.T) {
	s, err := RandomRegions(6, 5, 3, 7)
	if err != nil {
		t.Fatal(err)
	}
	for k, c := range s.Clusters {
		if c.NumAreas() != 5 {
			t.Errorf("cluster %d has %d areas, want 5", k, c.NumAreas())
		}
		// Each area must be connected: flood fill from its first member.
		for j, members := range c.Members() {
			seen := map[int]bool{members[0]: true}
			stack := []int{members[0]}
			for len(stack) > 0 {
				p := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				r, col := p/6, p%6
				for _, q := range []int{p - 6, p + 6, p - 1, p + 1} {
					if q < 0 || q >= 36 || (q == p-1 && col == 0) || (q == p+1 && col == 5) || (q/6 != r && q%6 != col) {
						continue
					}
					if c.Areas[q] == j && !seen[q] {
						seen[q] = true
						stack = append(stack, q)
					}
				}
			}
			if len(seen) != len(members) {
				t.Errorf("cluster %d area %d is not contiguous: reached %d of %d cells", k, j, len(seen), len(members))
			}
		}
	}
	again, _ := RandomRegions(6, 5, 3, 7)
	if !cmp.Equal(s, again) {
		t.Error("RandomRegions is not deterministic for a fixed seed")
	}
}

func TestGlobalLocal(t *testing.T) {
	s, err := GlobalLocal(5, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int{0, 0, 0, 0, 0, 1, 1, 2, 2, 2}, s.Clusters[0].Areas); d != "" {
		t.Errorf("global-local labels:\n%s", d)
	}
	if _, err := GlobalLocal(3); err == nil {
		t.Error("GlobalLocal without local areas succeeded")
	}
	if _, err := GlobalLocal(3, 0); err == nil {
		t.Error("GlobalLocal with an empty local area succeeded")
	}
}

// validBase is a small valid setting that each validation case breaks in one
// field.
func validBase() Setting {
	return Setting{
		P: 4,
		Clusters: []Cluster{
			{Areas: []int{0, 0, 1, 1}, Prob: 0.5},
			{Areas: []int{0, 1, 0, 1}, Prob: 0.5},
		},
		Z: ZLaw{ZUniform, 0.5, 1.5}, Gamma: 0.5, Mask: MaskBernoulli, Keys: KeysUnmasked,
		Loss: LossSum, Eta: 1, Init: Init{Kind: InitZero},
	}
}

func TestValidationNamesFieldAndRange(t *testing.T) {
	if base := validBase(); base.Validate() != nil {
		err := base.Validate()
		t.Fatalf("the base case is invalid: %v", err)
	}
	cases := []struct {
		name    string
		mutate  func(*Setting)
		field   string
		allowed string // a fragment of the allowed range
	}{
		{"P too small", func(s *Setting) { s.P = 1 }, "P", "[2, 4096]"},
		{"P too large", func(s *Setting) { s.P = maxP + 1 }, "P", "[2, 4096]"},
		{"side not sqrt P", func(s *Setting) { s.Side = 3 }, "side", "square root"},
		{"no clusters", func(s *Setting) { s.Clusters = nil }, "clusters", "at least one"},
		{"empty areas", func(s *Setting) { s.Clusters[0].Areas = nil }, "clusters[0].areas", "P = 4"},
		{"wrong length", func(s *Setting) { s.Clusters[1].Areas = []int{0, 1, 0} }, "clusters[1].areas", "exactly P = 4"},
		{"negative label", func(s *Setting) { s.Clusters[0].Areas[2] = -1 }, "clusters[0].areas[2]", "[0, P−1 = 3]"},
		{"label ≥ P", func(s *Setting) { s.Clusters[0].Areas[2] = 4 }, "clusters[0].areas[2]", "[0, P−1 = 3]"},
		{"label gap", func(s *Setting) { s.Clusters[0].Areas = []int{0, 0, 2, 2} }, "clusters[0].areas", "0..2 with no gap"},
		{"prob negative", func(s *Setting) { s.Clusters[0].Prob = -0.5; s.Clusters[1].Prob = 1.5 }, "clusters[0].prob", "[0, 1]"},
		{"prob NaN", func(s *Setting) { s.Clusters[0].Prob = math.NaN() }, "clusters[0].prob", "[0, 1]"},
		{"prob sum", func(s *Setting) { s.Clusters[0].Prob = 0.7 }, "clusters[*].prob", "summing to 1"},
		{"z kind", func(s *Setting) { s.Z.Kind = "gaussian" }, "z.kind", "two-point"},
		{"L zero", func(s *Setting) { s.Z.L = 0 }, "z.L", "(0, 1e+06]"},
		{"L NaN", func(s *Setting) { s.Z.L = math.NaN() }, "z.L", "(0, 1e+06]"},
		{"U huge", func(s *Setting) { s.Z.U = math.Inf(1) }, "z.U", "(0, 1e+06]"},
		{"L > U", func(s *Setting) { s.Z.L, s.Z.U = 2, 1 }, "z.U", "at least z.L = 2"},
		{"constant L≠U", func(s *Setting) { s.Z.Kind = ZConstant }, "z.U", "equal to z.L"},
		{"gamma 0", func(s *Setting) { s.Gamma = 0 }, "gamma", "(0, 1)"},
		{"gamma 1", func(s *Setting) { s.Gamma = 1 }, "gamma", "(0, 1)"},
		{"gamma NaN", func(s *Setting) { s.Gamma = math.NaN() }, "gamma", "(0, 1)"},
		{"fixed rounds to 0", func(s *Setting) { s.Mask = MaskFixed; s.Gamma = 0.1 }, "gamma", "round(γP)"},
		{"mask", func(s *Setting) { s.Mask = "half" }, "mask", "bernoulli, fixed"},
		{"keys", func(s *Setting) { s.Keys = "some" }, "keys", "unmasked, all"},
		{"loss", func(s *Setting) { s.Loss = "max" }, "loss", "sum, mean"},
		{"eta zero", func(s *Setting) { s.Eta = 0 }, "eta", "[1e-09, 1e+06]"},
		{"eta inf", func(s *Setting) { s.Eta = math.Inf(1) }, "eta", "[1e-09, 1e+06]"},
		{"init kind", func(s *Setting) { s.Init.Kind = "ones" }, "init.kind", "zero, gaussian"},
		{"zero init with sigma", func(s *Setting) { s.Init.Sigma = 1 }, "init.sigma", "0 (or absent)"},
		{"gaussian sigma 0", func(s *Setting) { s.Init = Init{InitGaussian, 0} }, "init.sigma", "(0, 10]"},
		{"extra dim", func(s *Setting) { s.ExtraDim = -1 }, "extra_dim", "[0, 4096]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := validBase().Clone()
			c.mutate(&s)
			err := s.Validate()
			if err == nil {
				t.Fatal("Validate accepted the bad value")
			}
			if !hasFieldError(err, c.field, c.allowed) {
				t.Fatalf("error %q does not name field %q with allowed range containing %q", err, c.field, c.allowed)
			}
		})
	}
}

func hasFieldError(err error, field, allowed string) bool {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		var fe *FieldError
		if errors.As(e, &fe) && fe.Field == field && strings.Contains(fe.Allowed, allowed) {
			return true
		}
	}
	return false
}

func TestResolveFillsDefaults(t *testing.T) {
	s := Setting{P: 2, Clusters: []Cluster{{Areas: []int{0, 1}}, {Areas: []int{0, 0}}}, Z: ZLaw{Kind: ZConstant, L: 1}, Gamma: 0.5, Eta: 1}
	if err := s.Resolve(); err != nil {
		t.Fatal(err)
	}
	want := Setting{P: 2, Clusters: []Cluster{{Areas: []int{0, 1}, Prob: 0.5}, {Areas: []int{0, 0}, Prob: 0.5}},
		Z: ZLaw{ZConstant, 1, 1}, Gamma: 0.5, Mask: MaskBernoulli, Keys: KeysUnmasked, Loss: LossSum, Eta: 1, Init: Init{Kind: InitZero}}
	if d := cmp.Diff(want, s); d != "" {
		t.Errorf("resolved setting (-want +got):\n%s", d)
	}
	if s.Dim() != 2+2+1 {
		t.Errorf("Dim = %d, want P + ΣN_k = 5", s.Dim())
	}
}

func TestConfigRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, name := range PresetNames() {
		s := mustPreset(t, name)
		s.Init = Init{InitGaussian, 0.01}
		s.Keys, s.Loss, s.Mask = KeysAll, LossMean, MaskFixed
		for _, ext := range []string{".json", ".yaml"} {
			path := filepath.Join(dir, name+ext)
			data, err := MarshalConfig(s, ext == ".yaml")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			back, err := LoadConfig(path)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if d := cmp.Diff(s, back); d != "" {
				t.Errorf("%s round trip (-wrote +read):\n%s", path, d)
			}
		}
	}
}

func TestConfigPresetOverride(t *testing.T) {
	s, err := ParseConfig([]byte("preset: default\ngamma: 0.3\nkeys: all\nz: {kind: two-point, L: 1, U: 2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	def := mustPreset(t, "default")
	if s.Gamma != 0.3 || s.Keys != KeysAll || s.Z != (ZLaw{ZTwoPoint, 1, 2}) {
		t.Errorf("overrides not applied: %+v", s)
	}
	if !cmp.Equal(s.Clusters, def.Clusters) || s.Eta != def.Eta {
		t.Error("fields not overridden were not taken from the preset")
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"unknown field", `{"P": 4, "gama": 0.5}`, `unknown field "gama"`},
		{"wrong type", `{"P": "four"}`, "P"},
		{"unknown preset", `preset: huge`, `unknown preset "huge"`},
		{"not a mapping", `[1, 2]`, "mapping"},
		{"bad yaml", "P: [", "YAML"},
		{"invalid value", `{"preset": "grid4", "gamma": 1.5}`, "gamma = 1.5: must be a masking probability"},
		{"missing everything", `{}`, "P: required (an integer in [2, 4096])"},
	}
	for _, c := range cases {
		_, err := ParseConfig([]byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("loading a missing file: %v", err)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("preset: default\ngamma: 0.3\n"))
	f.Add([]byte(`{"P": 4, "clusters": [{"areas": [0,0,1,1]}], "z": {"kind": "uniform", "L": 1, "U": 2}, "gamma": 0.5, "eta": 1}`))
	f.Add([]byte("P: 2\nclusters:\n- areas: [0, 1]\n  prob: 1\nz: {kind: constant, L: 1}\ngamma: 0.5\neta: 1\n"))
	f.Add([]byte("{{{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseConfig(data)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("ParseConfig returned an invalid setting: %v", err)
		}
		out, err := MarshalConfig(s, false)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseConfig(out)
		if err != nil {
			t.Fatalf("re-reading a written config failed: %v", err)
		}
		if !cmp.Equal(s, back) {
			t.Fatalf("round trip changed the setting:\n%s", cmp.Diff(s, back))
		}
	})
}
