package dynamics

import (
	"errors"
	"fmt"
	"math"

	"mimverify/theory"
)

// MaxSteps bounds DescendOptions.Steps.
const MaxSteps = 1 << 30

// DescendOptions configures Descend.
type DescendOptions struct {
	// Steps is the number of gradient steps, in [0, MaxSteps].
	Steps int
	// RecordEvery records the state every RecordEvery steps, in [1, MaxSteps];
	// step 0 and the last step are always recorded.
	RecordEvery int
	// RecordSteps, when not empty, replaces RecordEvery: the state is
	// recorded at exactly these steps (strictly increasing, in [0, Steps]),
	// plus step 0 and the last step — for example the log-spaced schedule of
	// theory.LogSchedule, which resolves early phases and late rates alike.
	RecordSteps []int
	// Init is (A, B) at step 0; the zero value means theory.NewCorrelations
	// (Q(0) = 0). It must have the setting's shape and is not modified.
	Init theory.Correlations
	// Engine names the engine in the Trajectory and in errors, e.g. "exact"
	// or "population".
	Engine string
	// Progress, when non-nil, is called after each step with (step, Steps).
	Progress func(step, steps int)
}

// Descend runs gradient descent (A, B) ← (A, B) − η ∇L(A, B) with η = s.Eta
// on the objective for opt.Steps steps. It records step 0, every
// opt.RecordEvery-th step and the last step: the step t, the time η·t, the
// loss and its standard error at that state (before that step's update) and a
// deep copy of (A, B). A NaN or ±Inf in the loss, in the gradient or in the
// updated state stops the run with a *theory.NonFiniteError naming the
// quantity (e.g. "gradient of A[0][3][1]"); the records up to that point are
// returned with it.
//
// Descend does not validate the whole setting (the objective did): only η > 0
// finite and the shape of Init are checked, so a setting with an
// out-of-range but finite η can be used to probe divergence.
func Descend(s *theory.Setting, obj Objective, opt DescendOptions) (theory.Trajectory, error) {
	traj := theory.Trajectory{Engine: opt.Engine}
	if s == nil || obj == nil {
		return traj, errors.New("dynamics: descend: nil setting or objective")
	}
	if opt.Steps < 0 || opt.Steps > MaxSteps {
		return traj, fmt.Errorf("dynamics: descend option Steps = %d: must be an integer in [0, %d]", opt.Steps, MaxSteps)
	}
	if len(opt.RecordSteps) > 0 {
		for i, t := range opt.RecordSteps {
			if t < 0 || t > opt.Steps || (i > 0 && t <= opt.RecordSteps[i-1]) {
				return traj, fmt.Errorf("dynamics: descend option RecordSteps[%d] = %d: must be strictly increasing steps in [0, Steps = %d]", i, t, opt.Steps)
			}
		}
	} else if opt.RecordEvery < 1 || opt.RecordEvery > MaxSteps {
		return traj, fmt.Errorf("dynamics: descend option RecordEvery = %d: must be an integer in [1, %d]", opt.RecordEvery, MaxSteps)
	}
	next := 0 // index of the next step of RecordSteps
	record := func(t int) bool {
		if t == 0 || t == opt.Steps {
			return true
		}
		if len(opt.RecordSteps) == 0 {
			return t%opt.RecordEvery == 0
		}
		for next < len(opt.RecordSteps) && opt.RecordSteps[next] < t {
			next++
		}
		return next < len(opt.RecordSteps) && opt.RecordSteps[next] == t
	}
	eta := s.Eta
	if math.IsNaN(eta) || math.IsInf(eta, 0) || eta <= 0 {
		return traj, fmt.Errorf("dynamics: descend: eta = %g: must be a finite step size > 0", eta)
	}
	var c theory.Correlations
	if opt.Init.A == nil && opt.Init.B == nil {
		c = theory.NewCorrelations(s)
	} else {
		if err := checkShape(s, opt.Init); err != nil {
			return traj, fmt.Errorf("dynamics: descend option Init: %w", err)
		}
		c = theory.NewCorrelations(s)
		copyCorr(c, opt.Init)
	}
	grad := theory.NewCorrelations(s)
	fail := func(step int, q string, v float64) (theory.Trajectory, error) {
		return traj, &theory.NonFiniteError{Engine: opt.Engine, Step: step, Quantity: q, Value: v}
	}
	for t := 0; ; t++ {
		loss, se := obj.LossGrad(c, grad)
		if !isFinite(loss) {
			return fail(t, "loss", loss)
		}
		if record(t) {
			traj.Records = append(traj.Records, theory.Record{
				Step: t, Time: eta * float64(t), Loss: loss, LossStdErr: se, Correlations: c.Clone(),
			})
		}
		if t == opt.Steps {
			return traj, nil
		}
		for k := range grad.A {
			for p, row := range grad.A[k] {
				crow := c.A[k][p]
				for j, g := range row {
					if !isFinite(g) {
						return fail(t, fmt.Sprintf("gradient of A[%d][%d][%d]", k, p, j), g)
					}
					crow[j] -= eta * g
					if !isFinite(crow[j]) {
						return fail(t+1, fmt.Sprintf("A[%d][%d][%d]", k, p, j), crow[j])
					}
				}
			}
		}
		for p, row := range grad.B {
			crow := c.B[p]
			for q, g := range row {
				if !isFinite(g) {
					return fail(t, fmt.Sprintf("gradient of B[%d][%d]", p, q), g)
				}
				crow[q] -= eta * g
				if !isFinite(crow[q]) {
					return fail(t+1, fmt.Sprintf("B[%d][%d]", p, q), crow[q])
				}
			}
		}
		if opt.Progress != nil {
			opt.Progress(t+1, opt.Steps)
		}
	}
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// checkShape reports whether c has the shape of s's correlations.
func checkShape(s *theory.Setting, c theory.Correlations) error {
	if len(c.A) != len(s.Clusters) {
		return fmt.Errorf("A has %d clusters, the setting %d", len(c.A), len(s.Clusters))
	}
	for k, cl := range s.Clusters {
		if len(c.A[k]) != s.P {
			return fmt.Errorf("A[%d] has %d rows, must be P = %d", k, len(c.A[k]), s.P)
		}
		n := cl.NumAreas()
		for p, row := range c.A[k] {
			if len(row) != n {
				return fmt.Errorf("A[%d][%d] has %d entries, must be N_%d = %d", k, p, len(row), k, n)
			}
		}
	}
	if len(c.B) != s.P {
		return fmt.Errorf("B has %d rows, must be P = %d", len(c.B), s.P)
	}
	for p, row := range c.B {
		if len(row) != s.P {
			return fmt.Errorf("B[%d] has %d entries, must be P = %d", p, len(row), s.P)
		}
	}
	return nil
}

// copyCorr copies src into dst (same shape).
func copyCorr(dst, src theory.Correlations) {
	for k := range src.A {
		for p := range src.A[k] {
			copy(dst.A[k][p], src.A[k][p])
		}
	}
	for p := range src.B {
		copy(dst.B[p], src.B[p])
	}
}
