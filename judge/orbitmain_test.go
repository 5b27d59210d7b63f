package judge_test

import (
	"errors"
	"slices"
	"testing"

	"mimverify/engine"
	"mimverify/judge"
	"mimverify/theory"
)

// The orbit main run (Options.Main) judges the trajectory claims on the
// population law: on global-local, every claim in its regime is asserted
// and holds, C1 and C8 (engines compared on samples) are not asserted, C5
// is measured on the held-out samples, and the run names the orbit engine
// alone. Its measured C3 lies in the band of the exact run's sharp
// prediction, which it estimates.
func TestOrbitMainRun(t *testing.T) {
	s, err := theory.Preset("global-local")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := judge.Check(s, judge.Options{Main: engine.Orbit, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Run.Engines, []engine.ID{engine.Orbit}) {
		t.Errorf("engines %v, want [orbit]", rep.Run.Engines)
	}
	exact, err := judge.Check(s, judge.Options{Seed: 1, Claims: []string{"C3"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		switch r.ID {
		case "C1", "C8":
			if r.Verdict != judge.NotAsserted {
				t.Errorf("%s: %s, want not asserted (no engines compared on samples)", r.ID, r.Verdict)
			}
		default:
			if r.Verdict != judge.Holds {
				t.Errorf("%s: %s (%s)", r.ID, r.Verdict, r.Detail)
			}
		}
		if r.ID == "C3" {
			sh := exact.Results[0].Sharp
			if m := float64(r.Measured); !(m >= float64(sh.Low) && m <= float64(sh.High)) {
				t.Errorf("C3 on the orbit engine at step %g, outside the exact run's sharp band [%g, %g]", m, float64(sh.Low), float64(sh.High))
			}
		}
	}
	if _, err := judge.Check(s, judge.Options{Main: engine.Full}); !errors.Is(err, judge.ErrOptions) {
		t.Errorf("Main = full: got %v, want ErrOptions", err)
	}
}
