package dynamics

import (
	"errors"
	"fmt"
	"math"

	"mimverify/theory"
)

// FlowOptions configures Flow and FlowGapBound.
type FlowOptions struct {
	// Steps is the number of gradient steps the flow stands for: it is
	// integrated over τ ∈ [0, η·Steps]. Must be ≥ 0.
	Steps int
	// RecordEvery sets the records: at the times τ = η·t for the steps
	// t = 0, RecordEvery, 2·RecordEvery, …, and Steps, the steps a gradient
	// descent run with the same options records. Must be ≥ 0; 0 records
	// only t = 0 and t = Steps.
	RecordEvery int
	// Init is the state at τ = 0; the zero value means zero correlations.
	// Otherwise it must have the setting's shape. It is not modified.
	Init theory.Correlations
	// RelTol and AbsTol are the integrator's tolerances (see ODEOptions);
	// 0 selects RelTol = 1e-8 and AbsTol = 1e-10.
	RelTol, AbsTol float64
	// MaxSteps bounds the integrator's attempted steps; 0 selects 1e6.
	MaxSteps int
	// Progress, when not nil, is called at every record with its step and
	// Steps.
	Progress func(step, steps int)
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
	// where the loss is convex along the path (one-sided Lipschitz constant
	// Λ ≤ 0 of −∇L).
	Bound []float64
	// Deviation[i] = η·u(τ_i): GD(t_i) = flow(τ_i) + Deviation[i] + O(η²).
	Deviation []theory.Correlations
}

// Flow integrates the gradient-flow ODE dx/dτ = −∇L(x) of obj, x = (A, B),
// in the time τ = η·t of a gradient-descent run with s.Eta and opt.Steps
// steps, with the adaptive Dormand–Prince 5(4) integrator (Integrate), and
// returns its trajectory (Engine "flow"). Each record is the dense-output
// state at τ = η·Step, its loss and loss standard error from obj, and a copy
// of the correlations. obj must be deterministic (the same loss and gradient
// for the same state): a Monte Carlo objective must use common random
// numbers.
//
// Like Descend, Flow does not validate the whole setting (the objective
// did): it checks η > 0 finite, the options and the shape of Init. A
// non-finite gradient is returned as a *theory.NonFiniteError (Engine "flow",
// Step the step nearest to the time it appeared, Quantity e.g. "gradient of
// A[0][3][1]"); other integration failures (step-size underflow, MaxSteps
// exceeded, bad options) as errors wrapping the integrator's. On error the
// records made so far are returned with it.
func Flow(s *theory.Setting, obj Objective, opt FlowOptions) (theory.Trajectory, error) {
	tr, _, err := runFlow(s, obj, opt, false)
	return tr, err
}

// FlowGapBound is Flow that also integrates, along the flow, the first-order
// estimates of its gap to gradient descent with step s.Eta (see FlowGap and
// docs/FLOW.md §3). The Hessian–vector products H·v the estimates need are
// central directional differences of the gradient,
// H v ≈ (∇L(x + δv) − ∇L(x − δv))/(2δ), so every evaluation of the
// right-hand side costs five gradient evaluations instead of one.
func FlowGapBound(s *theory.Setting, obj Objective, opt FlowOptions) (theory.Trajectory, FlowGap, error) {
	return runFlow(s, obj, opt, true)
}

// flowRecordSteps returns the recorded steps 0, every, 2·every, …, steps.
func flowRecordSteps(steps, every int) []int {
	if every <= 0 {
		every = steps
	}
	rec := []int{0}
	if steps == 0 {
		return rec
	}
	for t := every; t < steps; t += every {
		rec = append(rec, t)
	}
	return append(rec, steps)
}

// corrEntryName names entry i of the flattening of c.
func corrEntryName(c theory.Correlations, i int) string {
	for k, ak := range c.A {
		for p, row := range ak {
			if i < len(row) {
				return fmt.Sprintf("A[%d][%d][%d]", k, p, i)
			}
			i -= len(row)
		}
	}
	for p, row := range c.B {
		if i < len(row) {
			return fmt.Sprintf("B[%d][%d]", p, i)
		}
		i -= len(row)
	}
	return fmt.Sprintf("entry %d (out of range)", i)
}

// sameShape reports whether c and o have the same shape.
func sameShape(c, o theory.Correlations) bool {
	if len(c.A) != len(o.A) || len(c.B) != len(o.B) {
		return false
	}
	for k := range c.A {
		if len(c.A[k]) != len(o.A[k]) {
			return false
		}
		for p := range c.A[k] {
			if len(c.A[k][p]) != len(o.A[k][p]) {
				return false
			}
		}
	}
	for p := range c.B {
		if len(c.B[p]) != len(o.B[p]) {
			return false
		}
	}
	return true
}

// flowEval evaluates the gradient of an Objective on flat states.
type flowEval struct {
	obj    Objective
	x, g   theory.Correlations // scratch state and gradient
	xp, gp []float64           // scratch flat vectors for differences
	gm     []float64
}

// grad writes ∇L(x) into dst.
func (e *flowEval) grad(x, dst []float64) {
	e.x.SetFlat(x)
	e.obj.LossGrad(e.x, e.g)
	e.g.Flatten(dst[:0])
}

// hessVec writes a central directional difference of the gradient,
// H(x)·v ≈ (∇L(x + δv) − ∇L(x − δv))/(2δ), into dst, with
// δ = ε^{1/3}·max(1, ‖x‖_∞)/‖v‖_∞.
func (e *flowEval) hessVec(x, v, dst []float64) {
	vmax, xmax := 0.0, 1.0
	for i := range v {
		vmax = math.Max(vmax, math.Abs(v[i]))
		xmax = math.Max(xmax, math.Abs(x[i]))
	}
	if vmax == 0 {
		clear(dst)
		return
	}
	d := 6.0554544523933395e-06 * xmax / vmax // cbrt(2⁻⁵²)
	for i := range x {
		e.xp[i] = x[i] + d*v[i]
	}
	e.grad(e.xp, e.gp)
	for i := range x {
		e.xp[i] = x[i] - d*v[i]
	}
	e.grad(e.xp, e.gm)
	for i := range dst {
		dst[i] = (e.gp[i] - e.gm[i]) / (2 * d)
	}
}

func runFlow(s *theory.Setting, obj Objective, opt FlowOptions, withGap bool) (theory.Trajectory, FlowGap, error) {
	tr := theory.Trajectory{Engine: "flow"}
	var gap FlowGap
	if s == nil {
		return tr, gap, errors.New("flow: nil setting")
	}
	if obj == nil {
		return tr, gap, errors.New("flow: nil objective")
	}
	if math.IsNaN(s.Eta) || math.IsInf(s.Eta, 0) || s.Eta <= 0 {
		return tr, gap, fmt.Errorf("flow: eta = %v: must be finite and > 0", s.Eta)
	}
	if opt.Steps < 0 {
		return tr, gap, fmt.Errorf("flow: Steps = %d: must be ≥ 0", opt.Steps)
	}
	if opt.RecordEvery < 0 {
		return tr, gap, fmt.Errorf("flow: RecordEvery = %d: must be ≥ 0 (0 records only steps 0 and Steps)", opt.RecordEvery)
	}
	eta := s.Eta
	x0 := theory.NewCorrelations(s)
	if opt.Init.A != nil || opt.Init.B != nil {
		if !sameShape(opt.Init, x0) {
			return tr, gap, errors.New("flow: Init does not have the setting's shape (K clusters × P × N_k for A, P × P for B)")
		}
		for k := range x0.A {
			for p := range x0.A[k] {
				copy(x0.A[k][p], opt.Init.A[k][p])
			}
		}
		for p := range x0.B {
			copy(x0.B[p], opt.Init.B[p])
		}
	}
	n := x0.Len()
	dim := n
	if withGap {
		dim = 2*n + 1 // x, u, q
	}
	y0 := make([]float64, dim)
	x0.Flatten(y0[:0])
	for i, v := range y0[:n] {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return tr, gap, &theory.NonFiniteError{Engine: "flow", Step: 0, Quantity: "initial " + corrEntryName(x0, i), Value: v}
		}
	}

	ev := &flowEval{obj: obj, x: theory.NewCorrelations(s), g: theory.NewCorrelations(s)}
	var gbuf, vbuf, hbuf []float64
	if withGap {
		ev.xp, ev.gp, ev.gm = make([]float64, n), make([]float64, n), make([]float64, n)
		gbuf, vbuf, hbuf = make([]float64, n), make([]float64, n), make([]float64, n)
	}
	f := func(tau float64, y, dy []float64) error {
		x := y[:n]
		if !withGap {
			ev.grad(x, dy)
			for i := range dy {
				dy[i] = -dy[i]
			}
			return nil
		}
		u := y[n : 2*n]
		ev.grad(x, gbuf)
		for i := range gbuf {
			dy[i] = -gbuf[i]
			vbuf[i] = u[i] + gbuf[i]/2
		}
		// u' = −H(u + g/2)
		ev.hessVec(x, vbuf, hbuf)
		for i := range hbuf {
			dy[n+i] = -hbuf[i]
		}
		// q' = ½‖H g‖₂
		ev.hessVec(x, gbuf, hbuf)
		ss := 0.0
		for _, h := range hbuf {
			ss += h * h
		}
		dy[2*n] = math.Sqrt(ss) / 2
		return nil
	}

	steps := flowRecordSteps(opt.Steps, opt.RecordEvery)
	times := make([]float64, len(steps))
	for i, t := range steps {
		times[i] = eta * float64(t)
	}
	scratch := theory.NewCorrelations(s)
	out := func(i int, tau float64, y []float64) error {
		rec := theory.Record{Step: steps[i], Time: tau, Correlations: theory.NewCorrelations(s)}
		rec.Correlations.SetFlat(y[:n])
		rec.Loss, rec.LossStdErr = obj.LossGrad(rec.Correlations, scratch)
		if math.IsNaN(rec.Loss) || math.IsInf(rec.Loss, 0) {
			return &theory.NonFiniteError{Engine: "flow", Step: steps[i], Quantity: "loss", Value: rec.Loss}
		}
		tr.Records = append(tr.Records, rec)
		if withGap {
			dev := theory.NewCorrelations(s)
			dev.SetFlat(y[n : 2*n])
			m := 0.0
			for _, ak := range dev.A {
				for _, row := range ak {
					for j := range row {
						row[j] *= eta
						m = math.Max(m, math.Abs(row[j]))
					}
				}
			}
			for _, row := range dev.B {
				for j := range row {
					row[j] *= eta
					m = math.Max(m, math.Abs(row[j]))
				}
			}
			gap.Deviation = append(gap.Deviation, dev)
			gap.Predicted = append(gap.Predicted, m)
			gap.Bound = append(gap.Bound, eta*y[2*n])
		}
		if opt.Progress != nil {
			opt.Progress(steps[i], opt.Steps)
		}
		return nil
	}
	odeOpt := ODEOptions{RelTol: opt.RelTol, AbsTol: opt.AbsTol, MaxSteps: opt.MaxSteps}
	if odeOpt.RelTol == 0 {
		odeOpt.RelTol = 1e-8
	}
	if odeOpt.AbsTol == 0 {
		odeOpt.AbsTol = 1e-10
	}
	_, err := Integrate(f, 0, y0, times, odeOpt, out)
	if err != nil {
		var nd *NonFiniteDerivativeError
		var nf *theory.NonFiniteError
		switch {
		case errors.As(err, &nf):
			return tr, gap, nf
		case errors.As(err, &nd):
			q := "gradient of " + corrEntryName(x0, nd.Index%n)
			if nd.Index == 2*n {
				q = "gap bound integrand ‖H∇L‖₂/2"
			} else if nd.Index >= n {
				q = "gap estimate (Hessian-vector product) at " + corrEntryName(x0, nd.Index%n)
			}
			return tr, gap, &theory.NonFiniteError{Engine: "flow", Step: int(math.Round(nd.T / eta)), Quantity: q, Value: nd.Value}
		}
		return tr, gap, fmt.Errorf("flow: %w", err)
	}
	return tr, gap, nil
}
