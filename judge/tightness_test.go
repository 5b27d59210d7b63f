package judge_test

import (
	"fmt"
	"math"
	"testing"

	"mimverify/judge"
	"mimverify/theory"
)

// tightnessCase is one check of the tightness test: a setting and its
// training images (0: the CLI's default).
type tightnessCase struct {
	s       theory.Setting
	samples int
}

// tightnessSettings are the presets and the sweep grid of the tightness
// test: grid4 with γ on both sides of ½ and keys "all"; and global-local
// at n = 1024, where C6's phase times are resolved to within 25 % (issue
// 10's goal for them: at n = 256 their band spans ±25 % itself).
func tightnessSettings(t *testing.T) []tightnessCase {
	var out []tightnessCase
	for _, name := range []string{"default", "global-local", "grid4"} {
		s, err := theory.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tightnessCase{s: s})
	}
	gl := out[1]
	gl.s.Name, gl.samples = "global-local n=1024", 1024
	out = append(out, gl)
	for _, edit := range []struct {
		name string
		f    func(*theory.Setting)
	}{
		{"gamma=0.3", func(s *theory.Setting) { s.Gamma = 0.3 }},
		{"gamma=0.6", func(s *theory.Setting) { s.Gamma = 0.6 }},
		{"keys=all", func(s *theory.Setting) { s.Keys = theory.KeysAll }},
	} {
		s, _ := theory.Preset("grid4")
		edit.f(&s)
		s.Name = "grid4 " + edit.name
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		out = append(out, tightnessCase{s: s})
	}
	return out
}

// TestSharpTightness runs the check on the presets and the grid and
// asserts, for every claim with an asserted sharp prediction inside its
// regime, that the measured value lies in the derived band, and that
// measured/predicted lies in [0.8, 1.25] — for the crossing times of C3
// and C6 wherever their band itself lies within [0.8, 1.25]·predicted
// (issue 10 item 2; docs/SHARP.md §5). The table it logs is §5's.
func TestSharpTightness(t *testing.T) {
	if testing.Short() {
		t.Skip("runs six checks")
	}
	asserted := 0
	table := "| setting | claim | measured | sharp prediction | band | SE/prediction | ratio |\n|---|---|---|---|---|---|---|\n"
	c6 := 0
	for _, tc := range tightnessSettings(t) {
		s := tc.s
		rep, err := judge.Check(s, judge.Options{Seed: 1, Samples: tc.samples, Claims: []string{"C2", "C3", "C4", "C5", "C6", "C7"}, NoControls: true})
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		for _, r := range rep.Results {
			sh := r.Sharp
			_, global := s.GlobalArea()
			if !sh.Available() {
				if r.ID != "C6" || global {
					t.Errorf("%s %s: no sharp prediction: %s", s.Name, r.ID, sh.Note)
				}
				continue
			}
			pred, lo, hi, ratio := float64(sh.Predicted), float64(sh.Low), float64(sh.High), float64(sh.Ratio)
			table += fmt.Sprintf("| %s | %s | %.4g | %.4g | [%.4g, %.4g] | %.3g | %.3f |\n", s.Name, r.ID, float64(sh.Measured), pred, lo, hi, float64(sh.SE)/math.Abs(pred), ratio)
			if r.Verdict == judge.NotAsserted {
				continue // outside the regime: reported, not asserted
			}
			if !sh.Inside {
				t.Errorf("%s %s: measured %.4g outside the sharp band (%s)", s.Name, r.ID, float64(sh.Measured), sh.Band)
			}
			// The ratio is asserted where the measurement resolves 20 %:
			// for a curve, SE ≤ 10 % of the prediction (a 20 % deviation
			// is then ≥ 2 SE); for a band without an SE (the crossing
			// times of C3 and C6, C5's quantile), where the band lies
			// within [0.8, 1.25]·predicted (docs/SHARP.md §5).
			resolved := float64(sh.SE) <= 0.1*math.Abs(pred)
			if math.IsNaN(float64(sh.SE)) {
				resolved = lo >= 0.8*pred && hi <= 1.25*pred
			}
			if resolved && !(ratio >= 0.8 && ratio <= 1.25) {
				t.Errorf("%s %s: measured/predicted = %.3f, outside [0.8, 1.25]", s.Name, r.ID, ratio)
			}
			if resolved {
				asserted++
				if r.ID == "C6" {
					c6++
				}
			}
		}
	}
	if asserted < 4 || c6 == 0 {
		t.Errorf("the ratio was asserted %d times, %d of them for C6's phase times: the test asserts almost nothing", asserted, c6)
	}
	t.Log("\n" + table)
}
