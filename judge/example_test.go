package judge_test

import (
	"fmt"
	"strings"
	"testing"

	"mimverify/judge"
	"mimverify/judge/judgetest"
	"mimverify/theory"
)

// A user who defines a setting in Go asserts the paper's claims on it in a
// test: AssertClaims runs the engines, reports each failing claim as a test
// error and logs those outside their regime.
func TestUserSetting(t *testing.T) {
	s, err := theory.Grid(4, theory.Blocks(2), theory.Columns(2))
	if err != nil {
		t.Fatal(err)
	}
	s.Eta = 5
	rep := judgetest.AssertClaims(t, s, judge.Options{Claims: []string{"C2", "C3", "C5"}, Samples: 128, Eval: 128})
	if rep != nil && rep.Summary[string(judge.Holds)] != 3 {
		t.Errorf("summary %v: want the three claims asserted and holding", rep.Summary)
	}
}

// Check returns the report that 'mimverify check' prints.
func ExampleCheck() {
	s, _ := theory.Preset("grid4")
	rep, err := judge.Check(s, judge.Options{Claims: []string{"C3", "C6"}, Samples: 128, Eval: 128})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range rep.Results {
		fmt.Println(r.ID, r.Title+":", r.Verdict)
	}
	// Output:
	// C3 area-wide attention: holds
	// C6 phases: not asserted
}

// Claims outside their regime are reported "not asserted", never "holds".
func TestOutsideRegimeIsNotAsserted(t *testing.T) {
	base, _ := theory.Preset("grid4")
	cases := []struct {
		name   string
		mutate func(*theory.Setting)
		opt    judge.Options
		claims []string
		pred   string // a fragment of the failing predicate
	}{
		{"no global area", func(*theory.Setting) {}, judge.Options{}, []string{"C6"}, "K = 1"},
		{"areas masked out on average", func(s *theory.Setting) { s.Gamma = 0.9 }, judge.Options{},
			[]string{"C2", "C3", "C5", "C7"}, "n_min ≥ 1"},
		{"step size beyond the rate regime", func(s *theory.Setting) { s.Eta = 100 }, judge.Options{},
			[]string{"C2", "C3", "C4", "C7"}, "c·U⁴ ≤ 10"},
		{"predicted time beyond the budget", func(*theory.Setting) {}, judge.Options{MaxSteps: 50},
			[]string{"C3", "C5"}, "step budget"},
	}
	for _, c := range cases {
		s := base.Clone()
		c.mutate(&s)
		opt := c.opt
		opt.Claims, opt.Samples, opt.Eval = c.claims, 32, 32
		if opt.MaxSteps == 0 {
			opt.MaxSteps = 300
		}
		rep, err := judge.Check(s, opt)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, r := range rep.Results {
			if r.Verdict != judge.NotAsserted {
				t.Errorf("%s: %s is %q, want not asserted", c.name, r.ID, r.Verdict)
				continue
			}
			found := false
			for _, p := range r.Regime {
				if !p.Holds && strings.Contains(p.Formula, c.pred) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: %s does not name the failing predicate %q: %+v", c.name, r.ID, c.pred, r.Regime)
			}
		}
	}
}
