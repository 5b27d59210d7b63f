package dynamics

import (
	"errors"
	"fmt"

	"mimverify/theory"
)

// DescendOrbit runs gradient descent x ← x − η g on the orbit variables with
// η = s.Eta (s the orbit's setting), which is exactly population GD on the
// lifted state (docs/ORBIT.md §3). Options and records are those of
// Descend: opt.Init (if set) is projected onto the symmetric subspace, and
// each record holds the lifted (A, B). A non-finite loss, gradient or state
// stops the run with a *theory.NonFiniteError naming the orbit variable.
func DescendOrbit(o *Orbit, opt DescendOptions) (theory.Trajectory, error) {
	traj := theory.Trajectory{Engine: opt.Engine}
	if o == nil {
		return traj, errors.New("dynamics: descend orbit: nil orbit")
	}
	s := &o.s
	if opt.Steps < 0 || opt.Steps > MaxSteps {
		return traj, fmt.Errorf("dynamics: descend option Steps = %d: must be an integer in [0, %d]", opt.Steps, MaxSteps)
	}
	if len(opt.RecordSteps) == 0 && (opt.RecordEvery < 1 || opt.RecordEvery > MaxSteps) {
		return traj, fmt.Errorf("dynamics: descend option RecordEvery = %d: must be an integer in [1, %d]", opt.RecordEvery, MaxSteps)
	}
	rec := map[int]bool{0: true, opt.Steps: true}
	for _, t := range opt.RecordSteps {
		rec[t] = true
	}
	x := make([]float64, o.Dim())
	if opt.Init.A != nil || opt.Init.B != nil {
		if err := checkShape(s, opt.Init); err != nil {
			return traj, fmt.Errorf("dynamics: descend option Init: %w", err)
		}
		o.Project(opt.Init, x)
	}
	g := make([]float64, o.Dim())
	eta := s.Eta
	for t := 0; ; t++ {
		loss, se := o.LossGrad(x, g)
		if !isFinite(loss) {
			return traj, &theory.NonFiniteError{Engine: opt.Engine, Step: t, Quantity: "loss", Value: loss}
		}
		if rec[t] || (len(opt.RecordSteps) == 0 && t%opt.RecordEvery == 0) {
			c := theory.NewCorrelations(s)
			o.Lift(x, c)
			traj.Records = append(traj.Records, theory.Record{Step: t, Time: eta * float64(t), Loss: loss, LossStdErr: se, Correlations: c})
		}
		if t == opt.Steps {
			return traj, nil
		}
		for i, gi := range g {
			if !isFinite(gi) {
				return traj, &theory.NonFiniteError{Engine: opt.Engine, Step: t, Quantity: fmt.Sprintf("gradient of orbit variable %d", i), Value: gi}
			}
			x[i] -= eta * gi
			if !isFinite(x[i]) {
				return traj, &theory.NonFiniteError{Engine: opt.Engine, Step: t + 1, Quantity: fmt.Sprintf("orbit variable %d", i), Value: x[i]}
			}
		}
		if opt.Progress != nil {
			opt.Progress(t+1, opt.Steps)
		}
	}
}

// FlowOrbit integrates the gradient flow dx/dτ = −g(x) in orbit coordinates
// over τ ∈ [0, η·opt.Steps] with the adaptive Dormand–Prince integrator
// (Integrate), recording like Flow (Engine "flow"): the lift of the
// symmetric subspace's flow, which is the population gradient flow from a
// symmetric start (docs/ORBIT.md §1). opt.Init, if set, is projected.
func FlowOrbit(o *Orbit, opt FlowOptions) (theory.Trajectory, error) {
	tr := theory.Trajectory{Engine: "flow"}
	if o == nil {
		return tr, errors.New("flow: nil orbit")
	}
	s := &o.s
	if opt.Steps < 0 || opt.RecordEvery < 0 {
		return tr, fmt.Errorf("flow: Steps = %d, RecordEvery = %d: must be ≥ 0", opt.Steps, opt.RecordEvery)
	}
	x0 := make([]float64, o.Dim())
	if opt.Init.A != nil || opt.Init.B != nil {
		if err := checkShape(s, opt.Init); err != nil {
			return tr, fmt.Errorf("flow: Init: %w", err)
		}
		o.Project(opt.Init, x0)
	}
	rtol, atol := opt.RelTol, opt.AbsTol
	if rtol == 0 {
		rtol = 1e-8
	}
	if atol == 0 {
		atol = 1e-10
	}
	steps := flowRecordSteps(opt.Steps, opt.RecordEvery)
	times := make([]float64, len(steps))
	for i, t := range steps {
		times[i] = s.Eta * float64(t)
	}
	f := func(_ float64, y, dy []float64) error {
		o.LossGrad(y, dy)
		for i := range dy {
			dy[i] = -dy[i]
		}
		return nil
	}
	out := func(i int, tau float64, y []float64) error {
		loss, se := o.LossGrad(y, nil)
		c := theory.NewCorrelations(s)
		o.Lift(y, c)
		tr.Records = append(tr.Records, theory.Record{Step: steps[i], Time: tau, Loss: loss, LossStdErr: se, Correlations: c})
		if opt.Progress != nil {
			opt.Progress(steps[i], opt.Steps)
		}
		return nil
	}
	_, err := Integrate(f, 0, x0, times, ODEOptions{RelTol: rtol, AbsTol: atol, MaxSteps: opt.MaxSteps}, out)
	if err != nil {
		return tr, fmt.Errorf("flow (orbit): %w", err)
	}
	return tr, nil
}

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
