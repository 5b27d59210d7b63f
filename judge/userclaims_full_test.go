package judge

import (
	"encoding/json"
	"math"
	"slices"
	"testing"

	"mimverify/engine"
	"mimverify/theory"
	"mimverify/theory/expr"
)

// userPair is a true and a false claim on own_mass_deficit (which has a
// reduced-ODE counterpart, so both get a sharp band).
func userPair(t *testing.T) []theory.ClaimSpec {
	t.Helper()
	specs, err := theory.ParseClaims([]byte(`claims:
- id: U1
  statement: the deficit is below one half
  observable: own_mass_deficit
  relation: "<="
  predicted: "0.5"
- id: U2
  statement: the deficit is below 1e-6
  observable: own_mass_deficit
  relation: "<="
  predicted: "1e-6"
`), ClaimVocabulary())
	if err != nil {
		t.Fatal(err)
	}
	return specs
}

// TestUserClaimsWithFull: under --with-full the user claims are judged on
// the full model's run too (U1/full, U2/full), with the main run's
// verdicts, a sharp band, the engine named full, and measured values equal
// to the exact run's within 1e-9 relative (the full model is the exact
// recursion to rounding, C1: ≤ (T + 1)·1e-13 per record over a few
// hundred steps); the report fails for U2 and for U2/full alike.
func TestUserClaimsWithFull(t *testing.T) {
	s, _ := theory.Preset("grid4")
	rep, err := Check(s, Options{Samples: 64, Eval: 16, Seed: 1, Claims: []string{"C7"}, WithFull: true, NoControls: true, UserClaims: userPair(t)})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]ClaimResult{}
	for _, r := range rep.Results {
		byID[r.ID] = r
	}
	for _, id := range []string{"U1", "U2"} {
		main, full := byID[id], byID[id+"/full"]
		m, f := float64(main.Measured), float64(full.Measured)
		switch {
		case full.ID == "":
			t.Fatalf("no %s/full in %d results", id, len(rep.Results))
		case full.Verdict != main.Verdict || !full.Sharp.Available() || full.Sharp.Inside != main.Sharp.Inside:
			t.Errorf("%s/full: %s (sharp %+v); main run %s (sharp inside %v)", id, full.Verdict, full.Sharp, main.Verdict, main.Sharp.Inside)
		case math.Abs(m-f) > 1e-9*math.Abs(m):
			t.Errorf("%s: measured %v on the exact run, %v on the full model", id, m, f)
		case !slices.Equal(full.Engines, []engine.ID{engine.Full}) || !slices.Equal(main.Engines, []engine.ID{engine.Exact}):
			t.Errorf("%s engines %v, %s/full engines %v", id, main.Engines, id, full.Engines)
		}
	}
	if byID["U2"].Verdict != Fails {
		t.Errorf("U2: %s, want fails", byID["U2"].Verdict)
	}
	failing := map[string]bool{}
	for _, r := range rep.Reasons {
		failing[r.Claim] = true
	}
	if rep.Status != StatusFails || !failing["U2"] || !failing["U2/full"] {
		t.Errorf("status %s, reasons %+v: want fails naming U2 and U2/full", rep.Status, rep.Reasons)
	}
}

// A user claim names the engine whose run it read: the external run's on
// an external trajectory, not the exact recursion's.
func TestUserClaimEngineExternal(t *testing.T) {
	s, _ := theory.Preset("grid4")
	samples := s.Samples(1, 32)
	tr := externalRun(t, engine.Exact, s, samples, engine.Every(100, 10))
	rep, err := CheckTrajectory(s, tr, samples, Options{Eval: 8, Seed: 1, Claims: []string{"C2"}, NoControls: true, NoSharp: true, UserClaims: userPair(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if !slices.Equal(r.Engines, []engine.ID{External}) {
			t.Errorf("%s on an external run: engines %v, want [external]", r.ID, r.Engines)
		}
	}
}

// A claim whose regime or prediction cannot be evaluated is not asserted
// with its measured and predicted values unknown — NaN, which JSON writes
// null — not 0, which would read as a measurement: built-in and user
// claims alike.
func TestUnevaluableClaimIsNaN(t *testing.T) {
	ev := syntheticEvidence(t)
	c := theory.Claims()[6] // C7
	c.Regime = append(slices.Clone(c.Regime), expr.Predicate{Left: expr.Sym("nowhere"), Op: expr.GE, Right: expr.Num(1)})
	u := userPair(t)[0]
	u.Regime = c.Regime
	for _, r := range []ClaimResult{Evaluate(&c, ev), EvaluateUser(&u, ev)} {
		js, err := json.Marshal(struct {
			M Float `json:"measured"`
			P Float `json:"predicted"`
		}{r.Measured, r.Predicted})
		if r.Verdict != NotAsserted || err != nil || string(js) != `{"measured":null,"predicted":null}` {
			t.Errorf("%s: %s, %s (%v); want not asserted with null values", r.ID, r.Verdict, js, err)
		}
	}
}
