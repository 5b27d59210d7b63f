package judge

import (
	"maps"
	"math"

	"mimverify/theory"
	"mimverify/theory/expr"
)

// figures returns the curves and phase events the reports draw.
func figures(s *theory.Setting, ev *Evidence, eps float64) ([]Series, []Event) {
	n := len(ev.Measures)
	x := make([]float64, n)
	for i, m := range ev.Measures {
		x[i] = float64(m.Step)
	}
	col := func(f func(m *Measure) float64) []Float {
		y := make([]Float, n)
		for i := range ev.Measures {
			y[i] = Float(f(&ev.Measures[i]))
		}
		return y
	}
	// predicted evaluates a claim's prediction along the steps.
	predicted := func(id string) []Float {
		e := claimByID(id).Predicted
		env := maps.Clone(ev.Env)
		y := make([]Float, n)
		for i := range x {
			env["t"] = x[i]
			y[i] = Float(evalOrNaN(e, env))
		}
		return y
	}
	X := Floats(x)
	series := []Series{
		{Figure: "loss", Name: "training loss", X: X, Y: col(func(m *Measure) float64 { return m.Loss })},
		{Figure: "loss", Name: "reconstructable part", X: X, Y: col(func(m *Measure) float64 { return m.Attention.ReconstructableLoss })},
		{Figure: "loss", Name: "irreducible part", X: X, Y: col(func(m *Measure) float64 { return m.Attention.IrreducibleLoss })},
		{Figure: "loss", Name: "predicted envelope ℒ*(t) (C2)", X: X, Y: predicted("C2")},
		{Figure: "attention mass on own area", Name: "mean", X: X, Y: col(func(m *Measure) float64 { return m.Attention.OwnMean })},
		{Figure: "attention mass on own area", Name: "δ-quantile", X: X, Y: col(func(m *Measure) float64 { return m.Attention.OwnQuantile })},
		{Figure: "attention mass on own area", Name: "fraction of queries ≥ 1 − ε", X: X, Y: col(func(m *Measure) float64 { return m.Attention.OwnReached })},
		{Figure: "attention mass on own area", Name: "on the other areas (mean)", X: X, Y: col(offAreaMass)},
		{Figure: "attention mass on own area", Name: "1 − ε", X: X, Y: col(func(*Measure) float64 { return 1 - eps })},
		{Figure: "1 − attention mass on own area", Name: "1 − mean (measured)", X: X, Y: col(func(m *Measure) float64 { return 1 - m.Attention.OwnMean })},
		{Figure: "1 − attention mass on own area", Name: "predicted ε*(t) (C7)", X: X, Y: predicted("C7")},
		{Figure: "FP correlations", Name: "own area (mean)", X: X, Y: col(func(m *Measure) float64 { return m.FP.OwnMean })},
		{Figure: "FP correlations", Name: "other areas (mean)", X: X, Y: col(func(m *Measure) float64 { return m.FP.OffMean })},
		{Figure: "PP correlations", Name: "max |B|", X: X, Y: col(func(m *Measure) float64 { return m.FP.MaxAbsB })},
		{Figure: "PP correlations", Name: "FP share of the logit gap (C4)", X: X, Y: col(func(m *Measure) float64 { return m.Attention.FPShare })},
	}
	series = append(series, sharpSeries(ev, X)...)
	g, global := s.GlobalArea()
	if global {
		series = append(series,
			Series{Figure: "local queries (global layout)", Name: "mass on the global area", X: X,
				Y: col(func(m *Measure) float64 { gm, _ := localMass(m, g); return gm })},
			Series{Figure: "local queries (global layout)", Name: "mass on own area", X: X,
				Y: col(func(m *Measure) float64 { _, om := localMass(m, g); return om })})
	}
	// The records are log-spaced: every figure has a log step axis, and the
	// decaying quantities a log y axis, where the rates are straight lines.
	for i := range series {
		series[i].LogX = true
		switch series[i].Figure {
		case "loss", "1 − attention mass on own area":
			series[i].LogY = true
		}
	}
	return series, phaseEvents(ev, eps).Events(s.Eta, global)
}

// sharpSeries returns the reduced ODE's curves (docs/SHARP.md) beside the
// measured ones, when the sharp predictions were made: the reconstructable
// loss, 1 − the mean own-area mass and the fraction at or above 1 − ε.
func sharpSeries(ev *Evidence, X []Float) []Series {
	sh := ev.Sharp
	if sh == nil || len(sh.Measures) != len(ev.Measures) {
		return nil
	}
	col := func(f func(p *PopMeasure) float64) []Float {
		y := make([]Float, len(sh.Measures))
		for i := range sh.Measures {
			y[i] = Float(f(&sh.Measures[i]))
		}
		return y
	}
	return []Series{
		{Figure: "loss", Name: "reconstructable part, reduced ODE (sharp)", X: X, Y: col(func(p *PopMeasure) float64 { return p.ReconstructableLoss })},
		{Figure: "attention mass on own area", Name: "fraction ≥ 1 − ε, reduced ODE (sharp)", X: X, Y: col(func(p *PopMeasure) float64 { return p.OwnReached })},
		{Figure: "1 − attention mass on own area", Name: "1 − mean, reduced ODE (sharp)", X: X, Y: col(func(p *PopMeasure) float64 { return 1 - p.OwnMean })},
	}
}

func evalOrNaN(e expr.Expr, env expr.Env) float64 {
	v, err := e.Eval(env)
	if err != nil {
		return math.NaN()
	}
	return v
}

// offAreaMass is the mean attention mass that reconstructable queries put
// on the unmasked patches of areas other than their own.
func offAreaMass(m *Measure) float64 {
	sum, n := 0.0, 0
	for _, byArea := range m.Attention.MassByArea {
		for j, row := range byArea {
			if math.IsNaN(row[j]) {
				continue
			}
			for i, x := range row {
				if i != j {
					sum += x
				}
			}
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}
