package judge

import (
	"slices"
	"strings"
	"testing"

	"mimverify/theory"
)

// The controls' reasons: a control that goes the wrong way fails the check
// only while the main run holds (a failing main run has shown the judge's
// power, and a wrong model may fail its negative control too).
func TestControlReasons(t *testing.T) {
	holds := []ClaimResult{{ID: "C2", Verdict: Holds}}
	fails := []ClaimResult{{ID: "C2", Verdict: Fails}}
	neg := ControlResult{Kind: NegativeControl, Name: "other samples", Judged: []string{"C2"}}
	pos := ControlResult{Kind: PositiveControl, Name: "η × 1.3", Judged: []string{"C2"}}
	negBad, posBad := neg, pos
	negBad.Rejected, negBad.OK = []string{"C2"}, false
	neg.OK, pos.OK, pos.Rejected = true, true, []string{"C2"}
	posBad.OK = false
	for _, c := range []struct {
		name     string
		results  []ClaimResult
		controls []ControlResult
		want     Status
	}{
		{"all as they must", holds, []ControlResult{neg, pos}, StatusHolds},
		{"positive passes", holds, []ControlResult{neg, posBad}, StatusFails},
		{"negative rejected: reported, not gated", holds, []ControlResult{negBad, pos}, StatusHolds},
		{"main fails: no power reason", fails, []ControlResult{negBad, posBad}, StatusFails},
	} {
		o := Decide(c.results, c.controls, "")
		power := slices.ContainsFunc(o.Reasons, func(r Reason) bool { return r.Kind == ReasonPower })
		wantPower := c.want == StatusFails && c.results[0].Verdict == Holds
		if o.Status != c.want || power != wantPower {
			t.Errorf("%s: status %s, reasons %v; want %s with power reasons %v", c.name, o.Status, o.Reasons, c.want, wantPower)
		}
	}
}

// On grid4 the right model on an independent sample set passes the sharp
// bands and models learning at η·(1 ± 0.3) are rejected: the judge has the
// power its controls claim, on a real check.
func TestControlsOnGrid4(t *testing.T) {
	if testing.Short() {
		t.Skip("a check with its controls")
	}
	s, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Check(s, Options{Claims: []string{"C2", "C3", "C7"}, Samples: 128, Eval: 128})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Controls) != 8 || rep.Controls[3].Kind != Invariant || rep.Controls[7].Kind != Invariant {
		t.Fatalf("%d controls, want 3 runs and the 5 invariants (held-out, quantile, early stop, standard errors, steps)", len(rep.Controls))
	}
	for _, c := range rep.Controls {
		if !c.OK {
			t.Errorf("%s", c.Line())
		}
	}
	if rep.Failed() {
		t.Errorf("the check fails: %v", rep.Outcome().Reasons)
	}
	// A positive control stopped early, once its records so far left a
	// curve band, is rejected by the same claims when run to the end.
	defer func(k int) { controlCheckEvery = k }(controlCheckEvery)
	controlCheckEvery = 1 << 30
	full, err := Check(s, Options{Claims: []string{"C2", "C3", "C7"}, Samples: 128, Eval: 128})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range rep.Controls {
		f := full.Controls[i]
		if f.Stopped != 0 || (c.Stopped > 0 && !subset(c.Rejected, f.Rejected)) {
			t.Errorf("%s: stopped at %d rejected by %v; run to the end (stopped %d) by %v", c.Name, c.Stopped, c.Rejected, f.Stopped, f.Rejected)
		}
		if c.Kind == PositiveControl && c.Stopped == 0 {
			t.Errorf("%s was not stopped early on grid4: %s", c.Name, c.Line())
		}
	}
	rep2, err := Check(s, Options{Claims: []string{"C2", "C3", "C7"}, Samples: 128, Eval: 128, NoControls: true})
	if err != nil || len(rep2.Controls) != 0 {
		t.Errorf("NoControls: %d controls, %v", len(rep2.Controls), err)
	}
}

// The held-out invariant: copies of the training samples fail it,
// independent draws pass it, and a setting whose draws coincide too often
// to tell is not checked (and says so).
func TestHeldOutDisjoint(t *testing.T) {
	for _, name := range []string{"grid4", "default"} {
		s, err := theory.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, z := range []theory.ZKind{theory.ZUniform, theory.ZConstant} {
			s.Z.Kind = z
			if z == theory.ZConstant {
				s.Z.U = s.Z.L
			}
			train, held := s.Samples(1, 256), s.Samples(1+1<<32, 256)
			if c := heldOutDisjoint(&s, train, held); !c.OK {
				t.Errorf("%s, z %s: independent draws fail: %s", name, z, c.Line())
			}
			if c := heldOutDisjoint(&s, train, s.Samples(1, 256)); c.OK {
				t.Errorf("%s, z %s: the training set as held-out passes: %s", name, z, c.Line())
			}
		}
	}
	tiny, err := theory.Grid(2, theory.Blocks(1))
	if err != nil {
		t.Fatal(err)
	}
	tiny.Z = theory.ZLaw{Kind: theory.ZConstant, L: 1, U: 1}
	if err := tiny.Resolve(); err != nil {
		t.Fatal(err)
	}
	if c := heldOutDisjoint(&tiny, tiny.Samples(1, 64), tiny.Samples(1, 64)); !c.OK || !strings.Contains(c.Name, "not checked") {
		t.Errorf("P = 4, constant z: %s", c.Line())
	}
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
