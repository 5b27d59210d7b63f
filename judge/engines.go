package judge

import (
	"mimverify/dynamics"
	"mimverify/empirical"
	"mimverify/engine"
)

// EngineSpec describes an engine of the registry: what `mimverify run
// --engine ID` runs and what the claims' measurements name.
type EngineSpec struct {
	ID engine.ID
	// Level is the engine's level in the hierarchy of SPEC §3.
	Level   int
	Summary string
	// OnSamples reports whether the engine trains on the problem's fixed
	// sample set (the others use the population expectation, or may).
	OnSamples bool
	// Flags lists the options of EngineOptions that apply, by the name of
	// the CLI flag that sets them; the CLI rejects the others.
	Flags []string
	// New builds the engine from the options that apply to it.
	New func(o EngineOptions) (engine.Engine, error)
}

// EngineOptions are the engine-specific options a user may set; each
// engine reads those its EngineSpec.Flags lists. The zero value is the
// defaults.
type EngineOptions struct {
	SGD   bool // full: SGD with fresh samples (--sgd)
	Batch int  // full: the SGD batch size (--batch)
	// Population configures the population expectation (--population,
	// --quad-nodes); OnPopulation makes the flow use it (--on population).
	Population   dynamics.PopulationOptions
	OnPopulation bool
	RelTol       float64 // flow: the integrator's relative tolerance (--rtol)
}

// Engines is the registry, by level. A new engine is one file in the
// package that owns its mathematics plus one line here
// (docs/ARCHITECTURE.md).
var Engines = []EngineSpec{
	{engine.Full, 0, "GD on the full d×d key–query matrix Q", true, []string{"sgd", "batch"},
		func(o EngineOptions) (engine.Engine, error) { return &empirical.Full{SGD: o.SGD, Batch: o.Batch}, nil }},
	{engine.Exact, 1, "GD on the correlations (A, B), the same samples", true, nil,
		func(EngineOptions) (engine.Engine, error) { return dynamics.Exact{}, nil }},
	{engine.Population, 2, "GD on (A, B) under the population expectation", false, []string{"population", "quad-nodes"},
		func(o EngineOptions) (engine.Engine, error) { return &dynamics.Population{Options: o.Population}, nil }},
	{engine.Flow, 3, "the gradient-flow ODE at τ = η·t (samples, or --on population)", true, []string{"rtol", "on", "population", "quad-nodes"},
		newFlow},
	{engine.Orbit, 4, "population GD on the symmetric subspace, in orbit variables (docs/ORBIT.md)", false, []string{"quad-nodes"},
		func(o EngineOptions) (engine.Engine, error) {
			return &dynamics.OrbitEngine{Options: dynamics.OrbitOptions{QuadNodes: o.Population.QuadNodes}}, nil
		}},
	{engine.MeanField, 5, "the orbit dynamics with the unmasked counts at their means: the large-area limit", false, []string{"quad-nodes"},
		func(o EngineOptions) (engine.Engine, error) {
			return &dynamics.OrbitEngine{Options: dynamics.OrbitOptions{MeanField: true, QuadNodes: o.Population.QuadNodes}}, nil
		}},
}

func newFlow(o EngineOptions) (engine.Engine, error) {
	f := &dynamics.Flow{RelTol: o.RelTol}
	if o.OnPopulation {
		pop := o.Population
		f.Population = &pop
	}
	return f, nil
}

// EngineByID returns the registry's entry of an engine.
func EngineByID(id engine.ID) (EngineSpec, bool) {
	for _, e := range Engines {
		if e.ID == id {
			return e, true
		}
	}
	return EngineSpec{}, false
}
