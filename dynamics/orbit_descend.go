package dynamics

import (
	"fmt"
	"math"

	"mimverify/engine"
	"mimverify/theory"
)

// OrbitEngine is level 4 (or, with Options.MeanField, level 5) of SPEC §3:
// gradient descent x ← x − η g on the orbit variables of the setting's
// symmetry group, which is exactly population GD on the lifted state
// (docs/ORBIT.md §1, §3). Records hold the lifted (A, B). The zero value is
// the orbit engine with the defaults.
type OrbitEngine struct {
	Options OrbitOptions
	// Used is set by Run: the objective it built (symmetry, mode, terms).
	Used *Orbit
	// Trace, when set, is called at every step t ≤ Steps with the orbit
	// state x_t and the gradient g_t evaluated at it, before the step: the
	// whole path, which the judge's linearised noise propagation walks
	// backwards (docs/SHARP.md §4). The slices are reused: copy what you
	// keep.
	Trace func(t int, x, g []float64)
}

// ID returns engine.MeanField when Options.MeanField, else engine.Orbit.
func (e *OrbitEngine) ID() engine.ID {
	if e.Options.MeanField {
		return engine.MeanField
	}
	return engine.Orbit
}

// symmetricTol is the largest distance, relative to max(1, |entry|), of an
// initial state to its projection that Run accepts as symmetric: a few
// rounding errors of the averaging (Project sums ≤ P² entries).
const symmetricTol = 1e-12

// AsymmetricStart says why the setting's initial state is off the
// symmetric subspace on which the reduced engines run, or "" when it is on
// it (Q(0) = 0). Run finds it too, once the engine has started; the
// commands ask first, so that run, sweep and reduce say it alike and the
// refusal is bad input (exit 2).
func AsymmetricStart(s *theory.Setting) string {
	if s.Init.Kind == theory.InitGaussian {
		return fmt.Sprintf("init.kind = gaussian: a Gaussian start (σ = %g) is not on the symmetric subspace the reduced engines run on", s.Init.Sigma)
	}
	return ""
}

// Run descends from p.Init, which must lie on the symmetric subspace (Q(0)
// = 0 does; a Gaussian initialisation does not, and is an error: the
// orbit dynamics is population GD only from symmetric states).
// Options.Seed is replaced by p.Seed. A NaN or ±Inf in the loss, the
// gradient or the state stops the run with a *theory.NonFiniteError naming
// the orbit variable and a representative entry.
func (e *OrbitEngine) Run(p engine.Problem, sch engine.Schedule, obs engine.Observer) (theory.Trajectory, error) {
	id := e.ID()
	rec, err := engine.NewRecorder(id, p.Setting, sch, obs)
	if err != nil {
		return theory.Trajectory{Engine: string(id)}, err
	}
	c, err := p.Start(id)
	if err != nil {
		return rec.Trajectory(), err
	}
	opt := e.Options
	opt.Seed = p.Seed
	o, err := NewOrbit(p.Setting, opt)
	if err != nil {
		return rec.Trajectory(), err
	}
	e.Used = o
	x := make([]float64, o.Dim())
	o.Project(c, x)
	lift := p.Setting.Shape().New()
	o.Lift(x, lift)
	for i, v := range c.Flat() {
		if d := math.Abs(lift.Flat()[i] - v); !(d <= symmetricTol*math.Max(1, math.Abs(v))) {
			return rec.Trajectory(), fmt.Errorf("%s: the initial state is not symmetric (%s differs from its orbit average by %.3g): the %s engine runs on the symmetric subspace only (start from Q = 0, or use the population engine)", id, p.Setting.Shape().EntryName(i), d, id)
		}
	}
	return o.descend(id, rec, sch, x, e.Trace)
}

// descend is the GD loop of OrbitEngine.Run.
func (o *Orbit) descend(id engine.ID, rec *engine.Recorder, sch engine.Schedule, x []float64, trace func(int, []float64, []float64)) (theory.Trajectory, error) {
	g := make([]float64, o.Dim())
	lift := o.s.Shape().New()
	eta := o.s.Eta
	for t := 0; ; t++ {
		loss, se := o.LossGrad(x, g)
		if trace != nil {
			trace(t, x, g)
		}
		if rec.Wants(t) {
			o.Lift(x, lift)
			if err := rec.Add(t, loss, se, lift); err != nil {
				return rec.Trajectory(), err
			}
		} else if err := finiteLoss(id, t, loss); err != nil {
			return rec.Trajectory(), err
		}
		if t == sch.Steps {
			return rec.Trajectory(), nil
		}
		if err := o.nonFinite(id, t, "gradient of ", g); err != nil {
			return rec.Trajectory(), err
		}
		for i, gi := range g {
			x[i] -= eta * gi
		}
		if err := o.nonFinite(id, t+1, "", x); err != nil {
			return rec.Trajectory(), err
		}
		if err := rec.Stepped(t + 1); err != nil {
			return rec.Trajectory(), err
		}
	}
}

// nonFinite names the first non-finite orbit variable by its index and a
// representative entry.
func (o *Orbit) nonFinite(id engine.ID, step int, what string, v []float64) error {
	i, val, bad := engine.FirstNonFinite(v)
	if !bad {
		return nil
	}
	vr := o.Variables()[i]
	name := "A"
	if vr.Kind == "PP" {
		name = "B"
	}
	for _, r := range vr.Rep {
		name += fmt.Sprintf("[%d]", r)
	}
	return &theory.NonFiniteError{Engine: string(id), Step: step, Quantity: fmt.Sprintf("%sorbit variable %d (%s and its orbit)", what, i, name), Value: val}
}

var _ engine.Engine = (*OrbitEngine)(nil)

// OrbitVariable describes one orbit variable: its kind ("FP" or "PP"), a
// representative entry (FP: k, p, j; PP: p, q), its multiplicity (number of
// entries) and a short meaning.
type OrbitVariable struct {
	Kind    string
	Rep     []int
	Mult    int
	Meaning string
}

// Variables describes the orbit variables in the order of x.
func (o *Orbit) Variables() []OrbitVariable {
	s, sy := &o.s, o.sym
	vars := make([]OrbitVariable, o.Dim())
	seen := make([]bool, o.Dim())
	for k, cl := range s.Clusters {
		for p := range s.P {
			for j, id := range sy.FPOrbit[k][p] {
				if seen[id] {
					continue
				}
				seen[id] = true
				m := "off-area FP"
				if cl.Areas[p] == j {
					m = "own-area FP"
				}
				vars[id] = OrbitVariable{"FP", []int{k, p, j}, o.mult[id], fmt.Sprintf("%s, cluster %d", m, k)}
			}
		}
	}
	for p := range s.P {
		for q := range s.P {
			id := sy.NumFP + int(sy.PPOrbit[p*s.P+q])
			if seen[id] {
				continue
			}
			seen[id] = true
			m := "diagonal PP"
			if p != q {
				same := 0
				for _, cl := range s.Clusters {
					if cl.Areas[p] == cl.Areas[q] {
						same++
					}
				}
				m = fmt.Sprintf("PP, same area in %d of %d clusters", same, len(s.Clusters))
			}
			vars[id] = OrbitVariable{"PP", []int{p, q}, o.mult[id], m}
		}
	}
	return vars
}
