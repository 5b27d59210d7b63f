package dynamics

import (
	"math"
	"os"
	"testing"
	"time"

	"gonum.org/v1/gonum/floats"

	"mimverify/theory"
)

// benchSettings are the settings of the step benchmarks: the presets grid4
// (P = 16), default (P = 64) and vit14 (P = 196), and two larger grids of
// three clusters × 4 areas (blocks of side/2, bands of side/4 rows, bands of
// side/4 columns; η = 10): 20×20 (P = 400) and 32×32 (P = 1024).
func benchSettings(b testing.TB) []struct {
	name string
	s    theory.Setting
} {
	b.Helper()
	var out []struct {
		name string
		s    theory.Setting
	}
	for _, bc := range []struct {
		name, preset string
		side         int
	}{{"P16", "grid4", 0}, {"P64", "default", 0}, {"P196", "vit14", 0}, {"P400", "", 20}, {"P1024", "", 32}} {
		var s theory.Setting
		var err error
		if bc.preset != "" {
			s, err = theory.Preset(bc.preset)
		} else {
			s, err = theory.Grid(bc.side, theory.Blocks(bc.side/2), theory.Rows(bc.side/4), theory.Columns(bc.side/4))
			s.Eta = 10
		}
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, struct {
			name string
			s    theory.Setting
		}{bc.name, s})
	}
	return out
}

// BenchmarkExactStep measures one gradient step of the level-1 engine: one
// SampleObjective.LossGrad on n = 256 samples (theory.Samples seed 1) plus
// the update (A, B) ← (A, B) − η∇, at P = 16, 64, 196, 400 and 1024 (see
// benchSettings). ns/pair is the time per (masked query, key) pair of the
// step (wall time: divide by the number of cores used for CPU time);
// cpu-ns/op is the process's CPU time per step (getrusage, all threads), less
// disturbed than the wall time by other jobs on a shared machine.
func BenchmarkExactStep(b *testing.B) {
	for _, bc := range benchSettings(b) {
		b.Run(bc.name, func(b *testing.B) {
			s := bc.s
			samples := s.Samples(1, 256)
			obj, err := NewSampleObjective(&s, samples)
			if err != nil {
				b.Fatal(err)
			}
			// (query, key) pairs per step, for the ns/pair metric.
			pairs := 0
			for _, smp := range samples {
				nm := 0
				for _, m := range smp.Mask {
					if m {
						nm++
					}
				}
				nk := s.P - nm
				if s.Keys == theory.KeysAll {
					nk = s.P
				}
				pairs += nm * nk
			}
			b.ReportAllocs()
			benchDescend(b, &s, obj)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(pairs), "ns/pair")
		})
	}
}

// benchDescend runs b.N steps of gradient descent with obj from (A, B) = 0
// (continuing the descent across iterations): one LossGrad plus the update
// (A, B) ← (A, B) − η∇ per iteration, fused into the kernel's tasks as in
// Descent.Run when obj has a fused step (stepper), in phases as Descent.Run
// takes the steps between records when the objective takes them
// (exact_phase.go; MIMVERIFY_BENCH_NOPHASES=1: one step at a time, for
// comparison). It reports cpu-ns/op, the process's CPU time per step
// (getrusage, all threads; less disturbed than the wall time by other jobs
// on a shared machine), and min-ns/step, the shortest single step (of a
// phase: its time per step): on a shared machine, the best estimate of an
// uncontended step (a step during which the process had its cores). With
// phases, one untimed phase of one step comes first (below).
func benchDescend(b *testing.B, s *theory.Setting, obj Objective) {
	c := s.Shape().New()
	g := s.Shape().New()
	if r, ok := obj.(releaser); ok {
		defer r.release()
	}
	st, fused := obj.(stepper)
	best := time.Duration(math.MaxInt64)
	if ph, ok := obj.(phaser); ok && ph.phased() && os.Getenv("MIMVERIFY_BENCH_NOPHASES") != "1" {
		// One phase of one step before the clock starts: the objective's
		// one-off work — its helper goroutines, and the phases' snapshot
		// of (A, B), whose first touch is ~50 ms of page faults at
		// P = 1024 on this VM — is not a step's (it was 0.25 ms per step
		// of a 200-step run, serial, so it also lowered the two-core
		// speed-up).
		if !ph.descendSteps(c, g, s.Eta, 1) {
			b.Fatal("a non-finite loss or state")
		}
		b.ResetTimer()
		cpu0 := processCPU()
		// As Descent.Run between records: phases of maxPhase steps, the
		// shortest step being a phase's time per step.
		for i := 0; i < b.N; {
			n := min(maxPhase, b.N-i)
			t0 := time.Now()
			if !ph.descendSteps(c, g, s.Eta, n) {
				b.Fatal("a non-finite loss or state")
			}
			best = min(best, time.Since(t0)/time.Duration(n))
			i += n
		}
		b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		b.ReportMetric(float64(best.Nanoseconds()), "min-ns/step")
		return
	}
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		t0 := time.Now()
		if fused {
			st.lossGradStep(c, g, s.Eta)
		} else {
			obj.LossGrad(c, g)
			floats.AddScaled(c.Flat(), -s.Eta, g.Flat()) // x − ηg: the same bits as x −= η·g
		}
		best = min(best, time.Since(t0))
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(best.Nanoseconds()), "min-ns/step")
}

// BenchmarkPopulationStep measures one gradient step of the level-2 engine
// (dynamics.Population) in common-random-number mode with the default
// DefaultCRNSamples = 4096 samples (seed 1): one PopulationObjective.LossGrad
// (loss, standard error, gradient) plus the update, at the P of
// BenchmarkExactStep. ns/pair is the time per (masked query, key) pair of the
// step. P = 1024 (about a second of CPU per step) runs only with
// MIMVERIFY_BENCH_P1024=1 (make bench sets it, with -benchtime 1x).
func BenchmarkPopulationStep(b *testing.B) {
	for _, bc := range benchSettings(b) {
		b.Run(bc.name, func(b *testing.B) {
			if bc.s.P == 1024 && os.Getenv("MIMVERIFY_BENCH_P1024") != "1" {
				b.Skip("P = 1024: set MIMVERIFY_BENCH_P1024=1 (about a second of CPU per step)")
			}
			s := bc.s
			obj, err := NewPopulationObjective(&s, PopulationOptions{Mode: PopulationCRN, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			pairs := 0
			for _, t := range obj.ws.terms {
				st := obj.ws.structs[t.st]
				pairs += int(st.q1-st.q0) * int(st.k1-st.k0)
			}
			b.ReportAllocs()
			b.ResetTimer()
			benchDescend(b, &s, obj)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(pairs), "ns/pair")
		})
	}
}
