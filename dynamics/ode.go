package dynamics

import (
	"errors"
	"fmt"
	"math"

	"mimverify/theory"
)

// ODEOptions configures Integrate. The zero value selects the defaults noted
// on each field.
type ODEOptions struct {
	// RelTol and AbsTol are the relative and absolute tolerances of the
	// local error control: a step is accepted when the RMS over components
	// of err_i / (AbsTol + RelTol·max(|y_i|, |y_i^new|)) is at most 1.
	// RelTol must lie in [1e-14, 1) and AbsTol in (0, 1e10]; 0 selects the
	// defaults RelTol = 1e-6, AbsTol = 1e-9.
	RelTol, AbsTol float64
	// InitialStep is the first trial step; 0 selects it automatically
	// (Hairer–Nørsett–Wanner's starting-step algorithm). Must be ≥ 0.
	InitialStep float64
	// MaxStep bounds every step; 0 means no bound other than the span of
	// the integration. Must be ≥ 0.
	MaxStep float64
	// MaxSteps bounds the number of attempted steps (accepted plus
	// rejected); 0 selects 1e6. Must be ≥ 0.
	MaxSteps int
	// FixedStep, when > 0, disables the error control: the integrator takes
	// steps of exactly FixedStep (the last one shortened to land on the final
	// output time) and accepts them all. Used to measure the order of the
	// method. Must be ≥ 0.
	FixedStep float64
}

// ODEStats counts the work Integrate did.
type ODEStats struct {
	// Accepted and Rejected count the steps.
	Accepted, Rejected int
	// Evals counts the evaluations of f.
	Evals int
	// LastStep is the size of the last accepted step.
	LastStep float64
}

// NonFiniteDerivativeError is returned by Integrate when f produced a NaN or
// ±Inf: component Index of the derivative at time T had the value Value.
type NonFiniteDerivativeError struct {
	T     float64
	Index int
	Value float64
}

func (e *NonFiniteDerivativeError) Error() string {
	return fmt.Sprintf("ode: derivative component %d is %v at t = %.17g", e.Index, e.Value, e.T)
}

// ErrStepUnderflow is wrapped by the error Integrate returns when the step
// size the error control asks for falls below the floating-point resolution
// of t.
var ErrStepUnderflow = errors.New("ode: step size underflow")

// ErrMaxSteps is wrapped by the error Integrate returns when MaxSteps steps
// were attempted before the last output time was reached.
var ErrMaxSteps = errors.New("ode: MaxSteps exceeded")

// Step-size control constants (Hairer–Nørsett–Wanner, dopri5.f defaults).
const (
	odeSafety = 0.9
	odeFacMin = 0.2 // hnew/h ≥ 0.2
	odeFacMax = 10  // hnew/h ≤ 10
)

func (o ODEOptions) resolve() (ODEOptions, error) {
	bad := func(name string, v float64, allowed string) error {
		return fmt.Errorf("ode: %s = %v: must be %s", name, v, allowed)
	}
	fin := theory.Finite
	if o.RelTol == 0 {
		o.RelTol = 1e-6
	}
	if o.AbsTol == 0 {
		o.AbsTol = 1e-9
	}
	if !fin(o.RelTol) || o.RelTol < 1e-14 || o.RelTol >= 1 {
		return o, bad("RelTol", o.RelTol, "in [1e-14, 1) (0 selects 1e-6)")
	}
	if !fin(o.AbsTol) || o.AbsTol <= 0 || o.AbsTol > 1e10 {
		return o, bad("AbsTol", o.AbsTol, "in (0, 1e10] (0 selects 1e-9)")
	}
	if !fin(o.InitialStep) || o.InitialStep < 0 {
		return o, bad("InitialStep", o.InitialStep, "finite and ≥ 0 (0 selects it automatically)")
	}
	if !fin(o.MaxStep) || o.MaxStep < 0 {
		return o, bad("MaxStep", o.MaxStep, "finite and ≥ 0 (0 means unbounded)")
	}
	if !fin(o.FixedStep) || o.FixedStep < 0 {
		return o, bad("FixedStep", o.FixedStep, "finite and ≥ 0 (0 means adaptive steps)")
	}
	if o.MaxSteps < 0 {
		return o, fmt.Errorf("ode: MaxSteps = %d: must be ≥ 0 (0 selects 1e6)", o.MaxSteps)
	}
	if o.MaxSteps == 0 {
		o.MaxSteps = 1000000
	}
	return o, nil
}

// Integrate solves y' = f(t, y), y(t0) = y0 ∈ Rⁿ forward in time with the
// Dormand–Prince 5(4) embedded Runge–Kutta pair (FSAL, local extrapolation:
// the fifth-order solution is propagated) under the Hairer–Nørsett–Wanner
// step-size control, and reports the solution at the requested output times
// through out(i, times[i], y) using the method's fourth-order continuous
// extension, so that output times do not constrain the steps. The slice
// passed to out is reused; copy it to keep it.
//
// f writes the derivative at (t, y) into dy and must not retain y or dy.
// times must be finite, non-decreasing and ≥ t0; an output time equal to t0
// reports y0. The last step ends exactly at the last output time.
//
// Errors: bad options (naming the option and its allowed range), an error
// from f or out (returned unchanged), a non-finite derivative (*NonFiniteDerivativeError
// naming t; in adaptive mode, a non-finite derivative at an intermediate
// stage first rejects the step and retries with a step 5× shorter, and is
// reported only when the step would underflow), a step-size underflow
// (ErrStepUnderflow) and MaxSteps exceeded (ErrMaxSteps).
func Integrate(f func(t float64, y, dy []float64) error, t0 float64, y0 []float64, times []float64,
	opt ODEOptions, out func(i int, t float64, y []float64) error) (st ODEStats, err error) {
	opt, err = opt.resolve()
	if err != nil {
		return st, err
	}
	if err := checkODEInput(t0, y0, times); err != nil {
		return st, err
	}
	if len(times) == 0 {
		return st, nil
	}
	d := newDopri(f, len(y0))
	defer func() { st.Evals = d.evals }()
	r := &odeRun{d: d, opt: opt, times: times, out: out, t: t0, y: make([]float64, len(y0))}
	copy(r.y, y0)
	if err := r.reportInitial(); err != nil || r.next == len(times) {
		return st, err
	}
	if err := r.start(); err != nil {
		return st, err
	}
	err = r.run()
	return r.st, err
}

// checkODEInput checks the initial condition and the output times.
func checkODEInput(t0 float64, y0, times []float64) error {
	if math.IsNaN(t0) || math.IsInf(t0, 0) {
		return fmt.Errorf("ode: t0 = %v: must be finite", t0)
	}
	for i, t := range times {
		if math.IsNaN(t) || math.IsInf(t, 0) || t < t0 || (i > 0 && t < times[i-1]) {
			return fmt.Errorf("ode: times[%d] = %v: output times must be finite, ≥ t0 = %v and non-decreasing", i, t, t0)
		}
	}
	if len(y0) == 0 {
		return errors.New("ode: empty state y0")
	}
	for i, v := range y0 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("ode: y0[%d] = %v: must be finite", i, v)
		}
	}
	return nil
}

// odeRun is the state of one call of Integrate.
type odeRun struct {
	d     *dopri
	opt   ODEOptions // resolved
	times []float64
	out   func(i int, t float64, y []float64) error
	next  int // index of the next output time to report
	// t and y are the current time and solution, h the next trial step,
	// hmax its bound and tend the last output time.
	t, h, hmax, tend float64
	y                []float64
	// rejectedLast records that a step was rejected since the last
	// accepted one: the step after it then does not grow.
	rejectedLast bool
	st           ODEStats
}

// adaptive reports whether the error control chooses the steps (no FixedStep).
func (r *odeRun) adaptive() bool { return r.opt.FixedStep == 0 }

// reportInitial reports y0 at the output times equal to t0.
func (r *odeRun) reportInitial() error {
	for r.next < len(r.times) && r.times[r.next] == r.t {
		copy(r.d.yout, r.y)
		if err := r.out(r.next, r.t, r.d.yout); err != nil {
			return err
		}
		r.next++
	}
	return nil
}

// start evaluates f at t0, which the first step needs (FSAL keeps it
// current afterwards), and picks the first trial step.
func (r *odeRun) start() error {
	r.tend = r.times[len(r.times)-1]
	r.hmax = r.tend - r.t
	if r.opt.MaxStep > 0 {
		r.hmax = math.Min(r.hmax, r.opt.MaxStep)
	}
	if err := r.d.eval(r.t, r.y, r.d.k1); err != nil {
		return fmt.Errorf("ode: at t0: %w", err)
	}
	switch {
	case r.opt.FixedStep > 0:
		r.h = r.opt.FixedStep
	case r.opt.InitialStep > 0:
		r.h = math.Min(r.opt.InitialStep, r.hmax)
	default:
		h, err := r.d.initialStep(r.t, r.y, r.opt.RelTol, r.opt.AbsTol, r.hmax)
		if err != nil {
			return fmt.Errorf("ode: choosing the initial step: %w", err)
		}
		r.h = h
	}
	return nil
}

// run steps until the last output time has been reported.
func (r *odeRun) run() error {
	for r.next < len(r.times) {
		last, err := r.fitStep()
		if err != nil {
			return err
		}
		ok, fac, err := r.try()
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if err := r.accept(last, fac); err != nil {
			return err
		}
	}
	return nil
}

// fitStep checks the step budget, stretches or shortens the trial step so
// that the last one lands exactly on the last output time (last reports
// that it does), and checks the step against the resolution of t.
func (r *odeRun) fitStep() (last bool, err error) {
	if r.st.Accepted+r.st.Rejected >= r.opt.MaxSteps {
		return false, fmt.Errorf("%w: %d steps attempted, reached t = %.17g of %.17g", ErrMaxSteps, r.opt.MaxSteps, r.t, r.tend)
	}
	// Stretching a step by up to 1% avoids a sliver of a last step; fixed
	// steps only absorb rounding, so that the step size stays as asked.
	stretch := 1.01
	if r.opt.FixedStep > 0 {
		stretch = 1 + 1e-9
	}
	if r.t+stretch*r.h >= r.tend {
		r.h = r.tend - r.t
		last = true
	}
	if r.h <= 10*math.Abs(r.t)*0x1p-52 || r.h <= 0 {
		return last, fmt.Errorf("%w at t = %.17g (h = %g)", ErrStepUnderflow, r.t, r.h)
	}
	return last, nil
}

// try takes a trial step of size r.h and reports whether it is accepted,
// with the factor fac the error control proposes for the next step (1 for
// fixed steps). A rejected step has already shrunk r.h.
func (r *odeRun) try() (ok bool, fac float64, err error) {
	if err := r.d.step(r.t, r.h, r.y); err != nil {
		var nf *NonFiniteDerivativeError
		if !r.adaptive() || !errors.As(err, &nf) {
			return false, 0, err
		}
		// A trial stage left the region where f is finite: shrink.
		r.st.Rejected++
		r.rejectedLast = true
		if r.h*odeFacMin <= 10*math.Abs(r.t)*0x1p-52 {
			return false, 0, err
		}
		r.h *= odeFacMin
		return false, 0, nil
	}
	if !r.adaptive() {
		return true, 1.0, nil
	}
	e := r.d.errNorm(r.y, r.opt.RelTol, r.opt.AbsTol)
	if math.IsNaN(e) {
		e = math.Inf(1)
	}
	fac = odeSafety * math.Pow(math.Max(e, 1e-300), -1.0/5)
	fac = math.Max(odeFacMin, math.Min(odeFacMax, fac))
	if e > 1 {
		r.st.Rejected++
		r.rejectedLast = true
		r.h *= math.Min(1, fac)
		return false, fac, nil
	}
	return true, fac, nil
}

// accept moves to the end of the step just taken (exactly tend when it is
// the last), reports the output times it covers, and sets the next trial
// step from fac.
func (r *odeRun) accept(last bool, fac float64) error {
	r.st.Accepted++
	r.st.LastStep = r.h
	tnew := r.t + r.h
	if last {
		tnew = r.tend
	}
	r.d.prepareDense(r.h, r.y)
	if err := r.reportStep(tnew); err != nil {
		return err
	}
	copy(r.y, r.d.ynew)
	r.d.k1, r.d.k7 = r.d.k7, r.d.k1 // FSAL
	r.t = tnew
	if r.opt.FixedStep > 0 {
		r.h = r.opt.FixedStep
	} else {
		if r.rejectedLast {
			fac = math.Min(fac, 1)
		}
		r.h = math.Min(r.h*fac, r.hmax)
	}
	r.rejectedLast = false
	return nil
}

// reportStep reports the output times in (r.t, tnew], through the dense
// output except at tnew itself, where the step's own solution is exact.
func (r *odeRun) reportStep(tnew float64) error {
	for r.next < len(r.times) && r.times[r.next] <= tnew {
		var yo []float64
		if r.times[r.next] == tnew {
			yo = r.d.yout
			copy(yo, r.d.ynew)
		} else {
			yo = r.d.dense((r.times[r.next] - r.t) / r.h)
		}
		if err := r.out(r.next, r.times[r.next], yo); err != nil {
			return err
		}
		r.next++
	}
	return nil
}
