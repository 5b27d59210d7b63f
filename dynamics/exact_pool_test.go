package dynamics

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"mimverify/engine"
	"mimverify/theory"
)

// helperGoroutines counts the pool helpers alive in the process (all
// weighted sets), from the stacks of all goroutines.
func helperGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return bytes.Count(buf[:n], []byte("dynamics.(*pool).loop("))
		}
		buf = make([]byte, 2*len(buf))
	}
}

// waitHelpers polls helperGoroutines until it is want or a few seconds
// have passed (a stopped helper returns after its wake-up; a cleanup runs
// after a garbage collection), and returns the last count.
func waitHelpers(want int, gc bool) int {
	n := helperGoroutines()
	for deadline := time.Now().Add(5 * time.Second); n != want && time.Now().Before(deadline); n = helperGoroutines() {
		if gc {
			runtime.GC()
		}
		time.Sleep(10 * time.Millisecond)
	}
	return n
}

// TestPoolHelpersStop checks the helper goroutines' lifetime: an
// evaluation at GOMAXPROCS = 3 starts two, release stops them (and the
// next evaluation starts them again), a Descent run (the engines' runs)
// leaves none of its own behind, and an objective that is dropped without
// release has its helpers stopped by its cleanup after a collection.
func TestPoolHelpersStop(t *testing.T) {
	old := runtime.GOMAXPROCS(3)
	defer runtime.GOMAXPROCS(old)
	base := waitHelpers(0, true)
	s, err := theory.Preset("vit14")
	if err != nil {
		t.Fatal(err)
	}
	smp := s.Samples(1, 16)
	o := mustSample(t, &s, smp)
	c, g := s.Shape().New(), s.Shape().New()
	o.LossGrad(c, g)
	if n := helperGoroutines(); n != base+2 {
		t.Fatalf("%d helpers after an evaluation at GOMAXPROCS = 3, want %d", n, base+2)
	}
	o.release()
	if n := helperGoroutines(); n != base {
		t.Fatalf("%d helpers after release, want %d", n, base)
	}
	o.LossGrad(c, g)
	if n := helperGoroutines(); n != base+2 {
		t.Fatalf("%d helpers after an evaluation following release, want %d", n, base+2)
	}
	o.release()
	if _, err := (Exact{}).Run(engine.Problem{Setting: &s, Samples: smp}, engine.Every(5, 2), engine.Observer{}); err != nil {
		t.Fatal(err)
	}
	if n := helperGoroutines(); n != base {
		t.Fatalf("%d helpers after an exact run, want %d", n, base)
	}
	func() {
		o := mustSample(t, &s, smp)
		o.LossGrad(c, g)
	}()
	if n := waitHelpers(base, true); n != base {
		t.Fatalf("%d helpers 5 s after dropping an objective, want %d", n, base)
	}
}

// TestStepFusedMatchesUpdate checks that the fused step (lossGradStep: the
// update c ← c − η·grad done by the kernel's tasks) gives the same bits as
// LossGrad followed by Descent.Run's update, over four steps, at
// GOMAXPROCS 1, 2 and 3, with term chunks (grid4: 8 per block; default with
// 300 samples: 3) and without (vit14), and for a population objective; and
// that it reports a non-finite update (η = +Inf: 0·∞ is NaN).
func TestStepFusedMatchesUpdate(t *testing.T) {
	old := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(old)
	for _, tc := range []struct {
		preset string
		n      int
		pop    bool
	}{{"grid4", 256, false}, {"default", 300, false}, {"vit14", 40, false}, {"default", 0, true}} {
		s, err := theory.Preset(tc.preset)
		if err != nil {
			t.Fatal(err)
		}
		mk := func() interface {
			Objective
			stepper
		} {
			if tc.pop {
				o, err := NewPopulationObjective(&s, PopulationOptions{Mode: PopulationCRN, Seed: 3, CRNSamples: 200})
				if err != nil {
					t.Fatal(err)
				}
				return o
			}
			return mustSample(t, &s, s.Samples(5, tc.n))
		}
		for _, procs := range []int{1, 2, 3} {
			runtime.GOMAXPROCS(procs)
			name := fmt.Sprintf("%s n=%d pop=%v GOMAXPROCS=%d", tc.preset, tc.n, tc.pop, procs)
			ref, fused := mk(), mk()
			c1, g1 := s.Shape().New(), s.Shape().New()
			c2, g2 := s.Shape().New(), s.Shape().New()
			for step := range 4 {
				l1, se1 := ref.LossGrad(c1, g1)
				x := c1.Flat()
				for i, gi := range g1.Flat() {
					x[i] -= s.Eta * gi
				}
				l2, se2, finite := fused.lossGradStep(c2, g2, s.Eta)
				if !finite {
					t.Fatalf("%s step %d: fused step reports a non-finite state", name, step)
				}
				if d := cmp.Diff([]float64{l1, se1}, []float64{l2, se2}); d != "" {
					t.Fatalf("%s step %d: loss, stderr differ (-LossGrad +fused):\n%s", name, step, d)
				}
				if d := cmp.Diff(g1.Flat(), g2.Flat()); d != "" {
					t.Fatalf("%s step %d: gradients differ (-LossGrad +fused):\n%s", name, step, d)
				}
				if d := cmp.Diff(c1.Flat(), c2.Flat()); d != "" {
					t.Fatalf("%s step %d: updated states differ (-LossGrad +fused):\n%s", name, step, d)
				}
			}
			if _, _, finite := fused.lossGradStep(c2, g2, math.Inf(1)); finite {
				t.Errorf("%s: fused step with η = +Inf reports a finite state", name)
			}
			if r, ok := fused.(releaser); ok {
				r.release()
			}
		}
	}
}

// TestSampleNoAllocsParallel checks that a step on the pool allocates
// nothing once the helpers are running (GOMAXPROCS = 2).
func TestSampleNoAllocsParallel(t *testing.T) {
	old := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(old)
	s, _ := theory.Preset("vit14")
	o := mustSample(t, &s, s.Samples(1, 32))
	defer o.release()
	c, g := s.Shape().New(), s.Shape().New()
	o.LossGrad(c, g)
	if n := testing.AllocsPerRun(5, func() { o.lossGradStep(c, g, s.Eta) }); n != 0 {
		t.Errorf("a fused step allocates %v times at GOMAXPROCS = 2, want 0", n)
	}
}

// plainObjective hides an objective's fused step and release, so that
// Descent.Run takes the unfused path.
type plainObjective struct{ Objective }

// TestDescendFusedMatchesUnfused runs Descent on vit14 with the kernel's
// fused step (records every 7 steps: the other steps are fused) and with
// the unfused path, and compares the trajectories bit for bit.
func TestDescendFusedMatchesUnfused(t *testing.T) {
	s, _ := theory.Preset("vit14")
	smp := s.Samples(2, 24)
	sch := engine.Every(20, 7)
	fused, err := descend(&s, mustSample(t, &s, smp), sch, theory.Correlations{}, engine.Observer{})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := descend(&s, plainObjective{mustSample(t, &s, smp)}, sch, theory.Correlations{}, engine.Observer{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(plain.Records, fused.Records); d != "" {
		t.Errorf("trajectories differ (-unfused +fused):\n%s", d)
	}
}

// hugeStepper is hugeObjective with a fused step: the update overflows.
type hugeStepper struct{ hugeObjective }

func (h hugeStepper) lossGradStep(c, grad theory.Correlations, eta float64) (float64, float64, bool) {
	l, se := h.LossGrad(c, grad)
	x := c.Flat()
	finite := true
	for i, g := range grad.Flat() {
		x[i] -= eta * g
		finite = finite && !math.IsInf(x[i], 0) && !math.IsNaN(x[i])
	}
	return l, se, finite
}

// TestDescendFusedNonFinite checks that an overflow in a fused update (at
// step 1, not recorded: 0 − 2·10^8·10^300 is −∞) stops the run with the
// error of the unfused path.
func TestDescendFusedNonFinite(t *testing.T) {
	s, _ := theory.Preset("grid4")
	s.Eta = 1e8
	sch := engine.Every(4, 3)
	trajF, errF := descend(&s, hugeStepper{}, sch, theory.Correlations{}, engine.Observer{})
	trajP, errP := descend(&s, hugeObjective{}, sch, theory.Correlations{}, engine.Observer{})
	var nf *theory.NonFiniteError
	if !errors.As(errF, &nf) || nf.Step != 2 || nf.Quantity != "A[0][0][0]" {
		t.Fatalf("fused: error %v, want a NonFiniteError on A[0][0][0] at step 2", errF)
	}
	if errP == nil || errF.Error() != errP.Error() {
		t.Errorf("fused error %v, unfused %v", errF, errP)
	}
	if d := cmp.Diff(trajP, trajF); d != "" {
		t.Errorf("trajectories differ (-unfused +fused):\n%s", d)
	}
}

// A helper that finishes a step's last task and is descheduled before it
// signals the caller must not release the caller of the next step: its
// wake-up belongs to its own step's generation. The hook holds the helper
// in that gap once, while the caller of the next step parks; the next
// step's slow task must have finished when run returns.
func TestPoolLateSignalOfPreviousStep(t *testing.T) {
	pl := newPool()
	defer pl.stop()
	held := false
	pl.afterLastTask = func() {
		if !held { // only the first step's last helper, the test's own goroutine order
			held = true
			time.Sleep(5 * time.Millisecond)
		}
	}
	pl.run(1, func(int) {})
	var done atomic.Int32
	pl.run(1, func(w int) {
		if w == 1 {
			time.Sleep(20 * time.Millisecond)
		}
		done.Add(1)
	})
	if n := done.Load(); n != 2 {
		t.Fatalf("run returned with %d of 2 tasks done: the previous step's late signal released it", n)
	}
}
