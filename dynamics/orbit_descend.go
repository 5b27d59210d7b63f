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
