package dynamics

import (
	"fmt"
	"strings"
	"testing"

	"mimverify/theory"
)

// orbitWork is the inherent work of one CRN evaluation of the orbit
// engine (LossGrad with the gradient), counted from its problems. A draw
// (one z vector) of a problem with N classes and G key groups holds one
// term, or two with the control variate (its counts and the mean counts,
// docs/ORBIT.md §4), which share the draw's N + 1 exponentials
// (e^{z_C A_C − m} per class and e^{−m}) and its 3N + 1 operations of
// exponent arguments; each term costs 19N + 4G + 11 lane operations (+ 5G
// + 2 for keys "all"): the Go definition of the lane kernels
// (orbit_crn_lanes.go: the class sums 2G, the class work 19N + 10, the
// group accumulation 2G + 1). Per evaluation: G exponentials for e^B, and
// the control's expectation: its tensor rule's nodes, each a draw of one
// term at the mean counts, or the factored rule's model
// ctrlCostNodes·N·n·numMom operations (Work's).
type orbitWork struct {
	Problems, Draws, Terms int
	Exps, LaneOps, Ctl     float64
}

func countOrbitWork(o *Orbit) orbitWork {
	var w orbitWork
	for _, pr := range o.probs {
		N, G := float64(len(pr.classes)), float64(len(pr.groups))
		draws, terms, nodes := 0, 0, 0
		for i, b := range pr.blocks {
			switch {
			case b.sample >= 0:
				draws++
				terms += b.c1 - b.c0
			case pr.ctrl == nil && i >= pr.ctrl0:
				nodes++ // the control's tensor rule, one term at the mean counts
			}
		}
		perTerm := 19*N + 4*G + 11
		if pr.keysAll {
			perTerm += 5*G + 2
		}
		w.Problems++
		w.Draws += draws
		w.Terms += terms
		w.Exps += float64(draws+nodes)*(N+1) + G
		w.LaneOps += float64(draws+nodes)*(3*N+1) + float64(terms+nodes)*perTerm
		if pr.ctrl != nil {
			w.Ctl += ctrlCostNodes * N * float64(len(pr.ctrl.zn)*numMom)
		}
	}
	return w
}

// TestOrbitWork counts the inherent work of one orbit evaluation on the
// CRN presets (docs/PERFORMANCE.md §Roofline of the orbit evaluation
// prints its table): every problem must take the lane kernels (fast) and
// hold exactly NumSamples draws, so the count is of the kernel that runs.
func TestOrbitWork(t *testing.T) {
	var log strings.Builder
	fmt.Fprintf(&log, "| preset | problems | draws | terms | exps | lane-ops | control ops |\n|---|---|---|---|---|---|---|\n")
	for _, name := range []string{"default", "vit14", "coverage"} {
		o := mustPresetOrbit(t, name, OrbitOptions{Mode: OrbitCRN})
		w := countOrbitWork(o)
		for _, pr := range o.probs {
			if !pr.fast {
				t.Errorf("%s: problem (p0 %d, cluster %d) does not take the lane kernels", name, pr.p0, pr.k)
			}
		}
		if w.Draws != o.NumSamples()*len(o.probs) || (w.Terms != w.Draws && w.Terms != 2*w.Draws) {
			t.Errorf("%s: %d draws and %d terms counted, want %d × %d problems, one or two terms each", name, w.Draws, w.Terms, o.NumSamples(), len(o.probs))
		}
		fmt.Fprintf(&log, "| %s | %d | %d | %d | %.0f | %.0f | %.0f |\n", name, w.Problems, w.Draws, w.Terms, w.Exps, w.LaneOps, w.Ctl)
	}
	t.Log("inherent work of one orbit evaluation (CRN, default draws):\n" + log.String())
}

// mustPresetOrbit builds the orbit objective of a preset, or fails the test.
func mustPresetOrbit(t testing.TB, name string, opt OrbitOptions) *Orbit {
	t.Helper()
	s, err := theory.Preset(name)
	if err != nil {
		t.Fatal(err)
	}
	o, err := NewOrbit(&s, opt)
	if err != nil {
		t.Fatal(err)
	}
	return o
}
