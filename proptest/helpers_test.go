package proptest

import (
	"math"

	"mimverify/dynamics"
	"mimverify/empirical"
	"mimverify/engine"
	"mimverify/judge"
	"mimverify/theory"
)

// descend runs gradient descent on obj from init, recording every k steps.
func descend(s *theory.Setting, obj dynamics.Objective, steps, every int, init theory.Correlations) (theory.Trajectory, error) {
	return dynamics.Descent{Name: engine.Exact, Objective: obj}.Run(engine.Problem{Setting: s, Init: init}, engine.Every(steps, every), engine.Observer{})
}

// train runs the full model as the CLI does, from the seed's initial state.
func train(s *theory.Setting, samples []theory.Sample, seed uint64, steps, every int) (theory.Trajectory, error) {
	return (&empirical.Full{}).Run(engine.NewProblem(s, samples, seed), engine.Every(steps, every), engine.Observer{})
}

// predictedSampleGap is the first-order RMS distance after the path between
// the exact recursion on n samples and the population one
// (docs/AGREEMENT.md §2).
func predictedSampleGap(s *theory.Setting, path []theory.Record, pool []theory.Sample, n int) float64 {
	spread, err := judge.SampleSpread(s, path, pool)
	if err != nil {
		return math.NaN()
	}
	return spread / math.Sqrt(float64(n))
}

func dist2(a, b theory.Correlations) float64 {
	x, y := a.Flat(), b.Flat()
	d := 0.0
	for i := range x {
		d += (x[i] - y[i]) * (x[i] - y[i])
	}
	return math.Sqrt(d)
}
