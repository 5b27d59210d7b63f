package dynamics

import (
	"errors"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/floats"

	"mimverify/engine"
	"mimverify/internal/mutant"
	"mimverify/theory"
)

// Flow is level 3 of SPEC §3: the gradient-flow ODE dx/dτ = −∇L(x),
// x = (A, B), in the time τ = η·t of a gradient-descent run, integrated by
// the adaptive Dormand–Prince 5(4) method (Integrate). The zero value flows
// on the problem's samples with the default tolerances.
type Flow struct {
	// Objective, when not nil, is the loss that flows; otherwise the
	// empirical loss of the problem's samples, or the population loss when
	// Population is not nil.
	Objective  Objective
	Population *PopulationOptions
	// RelTol and AbsTol are the integrator's tolerances (ODEOptions); 0
	// selects RelTol = 1e-8 and AbsTol = 1e-10.
	RelTol, AbsTol float64
	// MaxSteps bounds the integrator's attempted steps; 0 selects 1e6.
	MaxSteps int
	// Deadline, when not zero, stops the integration with ErrDeadline once
	// passed: a stiff flow (large η·z) can need millions of steps, and its
	// cost cannot be known before it is integrated.
	Deadline time.Time
}

// FlowGap is the a-posteriori estimate of the gap between gradient descent
// with step η and the gradient flow at the same time τ = η·t, at the records
// of a flow trajectory (docs/FLOW.md §3).
type FlowGap struct {
	// Predicted[i] is the first-order prediction of the largest entrywise
	// gap max |GD(t_i) − flow(τ_i)| at record i: ‖η·u(τ_i)‖_∞, where u
	// solves the variational equation u' = −H(x)(u + ∇L(x)/2), u(0) = 0,
	// along the flow. The prediction is exact up to O(η²).
	Predicted []float64
	// Bound[i] is the first-order bound (η/2)·∫_0^τ_i ‖H∇L‖₂ dσ on the
	// Euclidean (hence also the entrywise) gap, valid to first order in η
	// where the loss is convex along the path.
	Bound []float64
	// Deviation[i] = η·u(τ_i): GD(t_i) = flow(τ_i) + Deviation[i] + O(η²).
	Deviation []theory.Correlations
}

// ID returns engine.Flow.
func (*Flow) ID() engine.ID { return engine.Flow }

// Run integrates the flow from p.Init and records the dense-output state at
// τ = η·t for the schedule's steps t, with its loss. The objective must be
// deterministic (a Monte Carlo one must use common random numbers). A
// non-finite gradient is a *theory.NonFiniteError (Step the step nearest to
// the time it appeared); other integration failures (step-size underflow,
// MaxSteps exceeded) are errors wrapping the integrator's.
func (f *Flow) Run(p engine.Problem, sch engine.Schedule, obs engine.Observer) (theory.Trajectory, error) {
	tr, _, err := f.run(p, sch, obs, false)
	return tr, err
}

// RunGap is Run that also integrates, along the flow, the first-order
// estimates of its gap to gradient descent with the setting's step size
// (FlowGap, docs/FLOW.md §3). Each evaluation of the right-hand side costs
// five gradient evaluations instead of one (two Hessian–vector products by
// central differences, Gradient.HessVec).
func (f *Flow) RunGap(p engine.Problem, sch engine.Schedule, obs engine.Observer) (theory.Trajectory, FlowGap, error) {
	return f.run(p, sch, obs, true)
}

func (f *Flow) objective(p engine.Problem) (Objective, error) {
	switch {
	case f.Objective != nil:
		return f.Objective, nil
	case f.Population != nil:
		opt := *f.Population
		opt.Seed = p.Seed
		return NewPopulationObjective(p.Setting, opt)
	}
	return NewSampleObjective(p.Setting, p.Samples)
}

// flowRHS is the right-hand side of the flow, and with withGap of the
// variational equations behind FlowGap: y = (x, u, q) with x' = −∇L(x),
// u' = −H(u + ∇L/2), q' = ½‖H∇L‖₂.
type flowRHS struct {
	grad     *Gradient
	n        int
	withGap  bool
	g, v, h  []float64
	deadline time.Time
}

// ErrDeadline is wrapped by the error of a flow stopped by its Deadline.
var ErrDeadline = errors.New("flow: time budget exceeded")

func (r *flowRHS) eval(tau float64, y, dy []float64) error {
	if !r.deadline.IsZero() && time.Now().After(r.deadline) {
		return fmt.Errorf("%w at τ = %.6g", ErrDeadline, tau)
	}
	if mutant.On(mutant.LearningRate) {
		defer floats.Scale(0.7, dy) // dy is scaled once eval has filled it
	}
	n := r.n
	if !r.withGap {
		r.grad.At(y, dy)
		for i := range dy {
			dy[i] = -dy[i]
		}
		return nil
	}
	x, u := y[:n], y[n:2*n]
	r.grad.At(x, r.g)
	for i, gi := range r.g {
		dy[i] = -gi
		r.v[i] = u[i] + gi/2
	}
	r.grad.HessVec(x, r.v, r.h)
	for i, hi := range r.h {
		dy[n+i] = -hi
	}
	r.grad.HessVec(x, r.g, r.h)
	ss := 0.0
	for _, hi := range r.h {
		ss += hi * hi
	}
	dy[2*n] = math.Sqrt(ss) / 2
	return nil
}

func (f *Flow) run(p engine.Problem, sch engine.Schedule, obs engine.Observer, withGap bool) (theory.Trajectory, FlowGap, error) {
	var gap FlowGap
	rec, err := engine.NewRecorder(engine.Flow, p.Setting, sch, obs)
	if err != nil {
		return theory.Trajectory{Engine: string(engine.Flow)}, gap, err
	}
	x0, err := p.Start(engine.Flow)
	if err != nil {
		return rec.Trajectory(), gap, err
	}
	obj, err := f.objective(p)
	if err != nil {
		return rec.Trajectory(), gap, err
	}
	sh, eta := p.Setting.Shape(), p.Setting.Eta
	n := sh.Len()
	rhs := &flowRHS{grad: NewGradient(sh, obj), n: n, withGap: withGap, deadline: f.Deadline}
	y0 := x0.Flat()
	if withGap {
		y0 = append(y0, make([]float64, n+1)...) // x, u, q
		rhs.g, rhs.v, rhs.h = make([]float64, n), make([]float64, n), make([]float64, n)
	}
	times := make([]float64, len(sch.Record))
	for i, t := range sch.Record {
		times[i] = eta * float64(t)
	}
	scratch := sh.New()
	out := func(i int, tau float64, y []float64) error {
		c := sh.View(y[:n])
		loss, se := obj.LossGrad(c, scratch)
		if err := rec.Add(sch.Record[i], loss, se, c); err != nil {
			return err
		}
		if withGap {
			dev := sh.New()
			for j, u := range y[n : 2*n] {
				dev.Flat()[j] = eta * u
			}
			gap.Deviation = append(gap.Deviation, dev)
			gap.Predicted = append(gap.Predicted, floats.Norm(dev.Flat(), math.Inf(1)))
			gap.Bound = append(gap.Bound, eta*y[2*n])
		}
		return rec.Stepped(sch.Record[i])
	}
	opt := ODEOptions{RelTol: f.RelTol, AbsTol: f.AbsTol, MaxSteps: f.MaxSteps}
	if opt.RelTol == 0 {
		opt.RelTol = 1e-8
	}
	if opt.AbsTol == 0 {
		opt.AbsTol = 1e-10
	}
	_, err = Integrate(rhs.eval, 0, y0, times, opt, out)
	return rec.Trajectory(), gap, flowError(err, sh, n, eta)
}

// flowError turns the integrator's errors into the engine's.
func flowError(err error, sh theory.Shape, n int, eta float64) error {
	var nd *NonFiniteDerivativeError
	var nf *theory.NonFiniteError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &nf):
		return nf
	case errors.As(err, &nd):
		q := "gradient of " + sh.EntryName(nd.Index%n)
		if nd.Index == 2*n {
			q = "gap bound integrand ‖H∇L‖₂/2"
		} else if nd.Index >= n {
			q = "gap estimate (Hessian-vector product) at " + sh.EntryName(nd.Index%n)
		}
		return &theory.NonFiniteError{Engine: string(engine.Flow), Step: int(math.Round(nd.T / eta)), Quantity: q, Value: nd.Value}
	}
	return fmt.Errorf("flow: %w", err)
}
