package main

import (
	"flag"
	"fmt"
	"io"
	"math"

	"mimverify/dynamics"
	"mimverify/engine"
	"mimverify/judge"
	"mimverify/theory"
	"mimverify/theory/expr"
)

// rates runs the exact engine on 256 training samples (seed 1) and
// measures, on 256 held-out samples (seed 99), at round steps: the
// reconstructable loss, 1 − own mass and its δ-quantile, the own and off FP
// correlations and their slope in ln t, the largest |B| over pairs that
// share an area in every cluster and over the others; then the first step
// at which the δ-quantile of own mass reaches 1 − ε for several ε, against
// T*(ε, δ) (docs/THEORY.md §3.4, §4.2).
func rates(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("rates", flag.ContinueOnError)
	preset := fs.String("preset", "default", "the setting")
	var o overrides
	o.register(fs)
	steps := fs.Int("steps", 2000, "gradient steps")
	n := fs.Int("n", 256, "training samples")
	delta := fs.Float64("delta", 0.1, "failure fraction δ of the area-wide time")
	pop := fs.Bool("pop", false, "descend on the population objective instead of the samples")
	table := fs.Bool("v", false, "print the table of measurements at round steps")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := theory.Preset(*preset)
	if err != nil {
		return err
	}
	if err := o.apply(&s); err != nil {
		return err
	}
	var obj dynamics.Objective
	if *pop {
		obj, err = dynamics.NewPopulationObjective(&s, dynamics.PopulationOptions{})
	} else {
		obj, err = dynamics.NewSampleObjective(&s, s.Samples(1, *n))
	}
	if err != nil {
		return err
	}
	sch := roundSchedule(*steps)
	tr, err := dynamics.Descent{Name: engine.Exact, Objective: obj}.Run(engine.Problem{Setting: &s, Init: s.InitialCorrelations(1)}, sch, engine.Observer{})
	if err != nil {
		return err
	}
	m := newRateMeter(&s, s.Samples(99, 256), *delta)
	for i := range tr.Records {
		if err := m.measure(w, &tr.Records[i], *table && printed(tr.Records[i].Step, *steps)); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "%s γ=%.2f η=%g z=%s[%g,%g] loss=%s keys=%s δ=%g\n", s.Name, s.Gamma, s.Eta, s.Z.Kind, s.Z.L, s.Z.U, s.Loss, s.Keys, *delta)
	return m.areaWide(w)
}

// roundSchedule records every step up to 20, then steps growing by 5 %.
func roundSchedule(steps int) engine.Schedule {
	rec := []int{0}
	for t := 0; t < steps; {
		if t < 20 {
			t++
		} else {
			t = int(math.Ceil(float64(t) * 1.05))
		}
		rec = append(rec, min(t, steps))
	}
	return engine.Schedule{Steps: steps, Record: rec}
}

// printed reports whether the table shows step t: 0, the last step, and
// the first record at or after each round number.
func printed(t, steps int) bool {
	if t == 0 || t == steps {
		return true
	}
	for _, b := range []int{10, 20, 50, 100, 200, 500, 1000, 2000, 4000, 5000, 8000, 10000, 16000, 20000} {
		if t >= b && float64(t) < float64(b)*1.05 {
			return true
		}
	}
	return false
}

// rateMeter measures the records of a run.
type rateMeter struct {
	s            *theory.Setting
	eval         []theory.Sample
	delta        float64
	env          expr.Env
	eps          []float64
	first        []int
	lastA        float64
	lastT        int
	gap, env2, k expr.Expr
}

func newRateMeter(s *theory.Setting, eval []theory.Sample, delta float64) *rateMeter {
	m := &rateMeter{s: s, eval: eval, delta: delta, env: s.Env(), eps: []float64{0.5, 0.2, 0.1, 0.05, 0.02}}
	m.first = []int{-1, -1, -1, -1, -1}
	m.gap, _ = prediction("C7", "")
	m.env2, _ = prediction("C2", "")
	m.k, _ = prediction("C4", "slope")
	return m
}

func (m *rateMeter) measure(w io.Writer, r *theory.Record, show bool) error {
	at := judge.MeasureAttention(m.s, r.Correlations, m.eval, 0.1, m.delta, false)
	for i, e := range m.eps {
		if m.first[i] < 0 && at.OwnQuantile >= 1-e {
			m.first[i] = r.Step
		}
	}
	if !show {
		return nil
	}
	fp := judge.SummarizeFP(m.s, r.Correlations)
	bAlways, bConflict := m.ppByClass(r.Correlations)
	t := float64(max(r.Step, 1))
	m.env["t"] = t
	slope := math.NaN()
	if m.lastT > 0 {
		slope = (fp.OwnMean - m.lastA) / math.Log(t/float64(m.lastT))
	}
	gapPred, err := m.gap.Eval(m.env)
	if err != nil {
		return err
	}
	lossPred, err := m.env2.Eval(m.env)
	if err != nil {
		return err
	}
	g := 1 - at.OwnMean
	fmt.Fprintf(w, "t=%6d recl=%.3e irr=%.3e gap=%.4e q=%.4f gap√t=%.3f pred=%.3f recl·t=%.3f env=%.3f Aown=%.3f Aoff=%.3f dA/dlnt=%.3f pred=%.3f B∀=%.3f Bconf=%.3f\n",
		r.Step, at.ReconstructableLoss, at.IrreducibleLoss, g, at.OwnQuantile, g*math.Sqrt(t), gapPred*math.Sqrt(t),
		at.ReconstructableLoss*t, lossPred*t, fp.OwnMean, fp.OffMean, slope, m.k.MustEval(m.env), bAlways, bConflict)
	m.lastA, m.lastT = fp.OwnMean, r.Step
	return nil
}

// ppByClass returns the largest |B| over pairs of distinct positions that
// share an area in every cluster, and over the others (conflict pairs).
func (m *rateMeter) ppByClass(c theory.Correlations) (always, conflict float64) {
	for p := range c.B {
		for q, b := range c.B[p] {
			if p == q {
				continue
			}
			shared := true
			for _, cl := range m.s.Clusters {
				shared = shared && cl.Areas[p] == cl.Areas[q]
			}
			if shared {
				always = math.Max(always, math.Abs(b))
			} else {
				conflict = math.Max(conflict, math.Abs(b))
			}
		}
	}
	return always, conflict
}

// areaWide prints the measured area-wide times against T*(ε, δ).
func (m *rateMeter) areaWide(w io.Writer) error {
	tstar, err := prediction("C3", "")
	if err != nil {
		return err
	}
	for i, e := range m.eps {
		m.env["ε"], m.env["δ"] = e, m.delta
		pred, err := tstar.Eval(m.env)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  ε=%.2f T=%6d T*=%9.1f ratio=%.3f\n", e, m.first[i], pred, float64(m.first[i])/pred)
	}
	return nil
}
