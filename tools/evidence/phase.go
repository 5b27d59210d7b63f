package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"mimverify/dynamics"
	"mimverify/engine"
	"mimverify/judge"
	"mimverify/theory"
)

// phase runs the exact engine on a global+local layout (512 training
// samples, seed 1) and reports the first steps of the four C6 events of
// local queries — their global-area FP correlation falls, their global-area
// mass falls below their own-area mass, their own-area mass passes ½ and
// 1 − ε — measured on 512 held-out samples (seed 99), beside the heuristic
// times of docs/THEORY.md §7.
func phase(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("phase", flag.ContinueOnError)
	g := fs.Int("g", 10, "size of the global area")
	ls := fs.String("l", "3,3", "sizes of the local areas")
	var o overrides
	o.register(fs)
	steps := fs.Int("steps", 4000, "gradient steps")
	eps := fs.Float64("eps", 0.1, "ε of the last event")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var locals []int
	for _, f := range strings.Split(*ls, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("-l %s: %w", *ls, err)
		}
		locals = append(locals, n)
	}
	s, err := theory.GlobalLocal(*g, locals...)
	if err != nil {
		return err
	}
	if err := o.apply(&s); err != nil {
		return err
	}
	global, ok := s.GlobalArea()
	if !ok {
		return errors.New("the layout has no global area (one more than twice as large as every other)")
	}
	obj, err := dynamics.NewSampleObjective(&s, s.Samples(1, 512))
	if err != nil {
		return err
	}
	tr, err := dynamics.Descent{Name: engine.Exact, Objective: obj}.Run(engine.Problem{Setting: &s}, phaseSchedule(*steps), engine.Observer{})
	if err != nil {
		return err
	}
	ev := localEvents(&s, &tr, s.Samples(99, 512), global, *eps)
	env := s.Env()
	env["ε"] = *eps
	pred := map[string]float64{}
	for _, name := range []string{"decouple", "takeover", "wide"} {
		e, err := prediction("C6", name)
		if err != nil {
			return err
		}
		if pred[name], err = e.Eval(env); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "global=%d locals=%v η=%g z=%s[%g,%g]\n", *g, locals, s.Eta, s.Z.Kind, s.Z.L, s.Z.U)
	fmt.Fprintf(w, "  events: Ag falls %d, Sg<Sown %d (pred %.1f), Sown>1/2 %d (pred %.1f), Sown>1-ε %d (pred %.1f)\n",
		ev[0], ev[1], pred["decouple"], ev[2], pred["takeover"], ev[3], pred["wide"])
	return nil
}

// phaseSchedule records every step up to 100, then every 5.
func phaseSchedule(steps int) engine.Schedule {
	rec := []int{0}
	for t := 0; t < steps; {
		if t < 100 {
			t++
		} else {
			t += 5
		}
		rec = append(rec, min(t, steps))
	}
	return engine.Schedule{Steps: steps, Record: rec}
}

// localEvents returns the first recorded steps of the four events of the
// local queries (−1 when an event does not happen).
func localEvents(s *theory.Setting, tr *theory.Trajectory, eval []theory.Sample, global int, eps float64) [4]int {
	ev := [4]int{-1, -1, -1, -1}
	first := func(i, t int, cond bool) {
		if ev[i] < 0 && cond {
			ev[i] = t
		}
	}
	prevAg := 0.0
	for i, r := range tr.Records {
		at := judge.MeasureAttention(s, r.Correlations, eval, 0.1, 0.1, false)
		sg, so, cnt := 0.0, 0.0, 0.0
		for j, m := range at.MassByArea[0] {
			if j == global || math.IsNaN(m[global]) {
				continue
			}
			sg, so, cnt = sg+m[global], so+m[j], cnt+1
		}
		sg, so = sg/cnt, so/cnt
		ag, np := 0.0, 0.0
		for p, a := range s.Clusters[0].Areas {
			if a != global {
				ag, np = ag+r.A[0][p][global], np+1
			}
		}
		ag /= np
		if i > 0 {
			first(0, r.Step, ag < prevAg)
		}
		prevAg = ag
		first(1, r.Step, sg < so)
		first(2, r.Step, so > 0.5)
		first(3, r.Step, so > 1-eps)
	}
	return ev
}
