package judge

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"mimverify/engine"
	"mimverify/theory"
)

// checkSchedule is the schedule Check's main run recorded: its log-spaced
// schedule cut at the step where the run settled (rep.Run.Steps).
func checkSchedule(s *theory.Setting, opt Options, last int) engine.Schedule {
	opt.defaults()
	r := newRun(s, opt)
	sch := engine.Schedule{Steps: last}
	for _, st := range r.schedule.Record {
		if st <= last {
			sch.Record = append(sch.Record, st)
		}
	}
	return sch
}

// externalRun runs engine id on the setting's samples with the schedule.
func externalRun(t *testing.T, id engine.ID, s theory.Setting, samples []theory.Sample, sch engine.Schedule) theory.Trajectory {
	t.Helper()
	spec, _ := EngineByID(id)
	eng, err := spec.New(EngineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := eng.Run(engine.NewProblem(&s, samples, 1), sch, engine.Observer{})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestCheckTrajectoryMatchesCheck: the exact recursion's trajectory on
// Check's own samples and recorded steps, judged as an external run, gives
// Check's measured values bit for bit and its verdicts (C2, C3, C5, C7: the same
// measurement of the same records); the full model's, which agrees with it
// to rounding (C1: ≤ (T₁ + 1)·1e-13 relative per record compared, a few
// hundred steps here), gives the same verdicts and values within 1e-9
// relative — far above that rounding, far below any real difference. C1
// and C8 are not asserted, saying why.
func TestCheckTrajectoryMatchesCheck(t *testing.T) {
	s, _ := theory.Preset("grid4")
	opt := Options{Samples: 64, Eval: 16, Seed: 1, Claims: []string{"C2", "C3", "C5", "C7"}}
	want, err := Check(s, opt)
	if err != nil {
		t.Fatal(err)
	}
	samples := s.Samples(1, 64)
	sch := checkSchedule(&s, opt, want.Run.Steps)
	for _, id := range []engine.ID{engine.Exact, engine.Full} {
		tr := externalRun(t, id, s, samples, sch)
		extOpt := opt
		extOpt.Claims = append(slices.Clone(opt.Claims), "C1", "C8")
		got, err := CheckTrajectory(s, tr, samples, extOpt)
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]ClaimResult{}
		for _, r := range got.Results {
			byID[r.ID] = r
		}
		for _, w := range want.Results {
			g := byID[w.ID]
			m, gm := float64(w.Measured), float64(g.Measured)
			close := m == gm || (id == engine.Full && math.Abs(m-gm) <= 1e-9*math.Abs(m))
			if g.Verdict != w.Verdict || !close || g.Sharp.Inside != w.Sharp.Inside {
				t.Errorf("%s trajectory, %s: %s %v (sharp inside %v); check %s %v (%v)", id, w.ID, g.Verdict, gm, g.Sharp.Inside, w.Verdict, m, w.Sharp.Inside)
			}
		}
		for _, c := range []string{"C1", "C8"} {
			if r := byID[c]; r.Verdict != NotAsserted || !strings.Contains(r.Detail, "needs mimverify's engines") {
				t.Errorf("%s: %s (%s), want not asserted for want of the engines", c, r.Verdict, r.Detail)
			}
		}
	}
}

// TestCheckTrajectorySlowedFailsSharp: a run trained at 0.6 of the
// setting's step size — still well inside every envelope — fails the sharp
// bands of C2 and C7 when judged against the setting it claims.
func TestCheckTrajectorySlowedFailsSharp(t *testing.T) {
	s, _ := theory.Preset("grid4")
	slow := s.Clone()
	slow.Eta *= 0.6
	samples := s.Samples(1, 64)
	tr := externalRun(t, engine.Exact, slow, samples, engine.LogSpaced(300, 60))
	rep, err := CheckTrajectory(s, tr, samples, Options{Samples: 64, Eval: 16, Seed: 1, Claims: []string{"C2", "C7"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.Verdict != Fails || !r.Sharp.Available() || r.Sharp.Inside {
			t.Errorf("%s on a slowed run: %s, sharp %+v; want fails outside the band", r.ID, r.Verdict, r.Sharp)
		}
	}
}

// Bad external input is ErrOptions, naming what is wrong.
func TestCheckTrajectoryBadInput(t *testing.T) {
	s, _ := theory.Preset("grid4")
	samples := s.Samples(1, 8)
	tr := externalRun(t, engine.Exact, s, samples, engine.Every(20, 10))
	other, _ := theory.Preset("default")
	for _, c := range []struct {
		name    string
		tr      theory.Trajectory
		samples []theory.Sample
		want    string
	}{
		{"no records", theory.Trajectory{}, samples, "no records"},
		{"not from 0", theory.Trajectory{Records: tr.Records[1:]}, samples, "records[0].step = 10: must be 0"},
		{"steps back", theory.Trajectory{Records: []theory.Record{tr.Records[0], tr.Records[2], tr.Records[1]}}, samples, "records[2].step = 10: must be greater"},
		{"no samples", tr, nil, "samples: none given"},
		{"other setting's samples", tr, other.Samples(1, 4), "samples[0]"},
	} {
		_, err := CheckTrajectory(s, c.tr, c.samples, Options{})
		if !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrOptions containing %q", c.name, err, c.want)
		}
	}
}
