package dynamics

import "math"

// Dormand–Prince 5(4) tableau (Dormand & Prince 1980; Hairer, Nørsett &
// Wanner, Solving ODEs I, Table II.5.2), exact rational values.
const (
	dpC2 = 1.0 / 5
	dpC3 = 3.0 / 10
	dpC4 = 4.0 / 5
	dpC5 = 8.0 / 9

	dpA21 = 1.0 / 5

	dpA31 = 3.0 / 40
	dpA32 = 9.0 / 40

	dpA41 = 44.0 / 45
	dpA42 = -56.0 / 15
	dpA43 = 32.0 / 9

	dpA51 = 19372.0 / 6561
	dpA52 = -25360.0 / 2187
	dpA53 = 64448.0 / 6561
	dpA54 = -212.0 / 729

	dpA61 = 9017.0 / 3168
	dpA62 = -355.0 / 33
	dpA63 = 46732.0 / 5247
	dpA64 = 49.0 / 176
	dpA65 = -5103.0 / 18656

	// The fifth-order weights b_i are the seventh row (FSAL): b = a_7·.
	dpA71 = 35.0 / 384
	dpA73 = 500.0 / 1113
	dpA74 = 125.0 / 192
	dpA75 = -2187.0 / 6784
	dpA76 = 11.0 / 84

	// e_i = b_i − b̂_i, with b̂ the embedded fourth-order weights
	// (5179/57600, 0, 7571/16695, 393/640, −92097/339200, 187/2100, 1/40).
	dpE1 = 71.0 / 57600
	dpE3 = -71.0 / 16695
	dpE4 = 71.0 / 1920
	dpE5 = -17253.0 / 339200
	dpE6 = 22.0 / 525
	dpE7 = -1.0 / 40

	// Dense output coefficients of the continuous extension (Hairer's
	// CONTD5, dopri5.f).
	dpD1 = -12715105075.0 / 11282082432
	dpD3 = 87487479700.0 / 32700410799
	dpD4 = -10690763975.0 / 1880347072
	dpD5 = 701980252875.0 / 199316789632
	dpD6 = -1453857185.0 / 822651844
	dpD7 = 69997945.0 / 29380423
)

// dopri holds the workspace of one integration: nothing is allocated per step.
type dopri struct {
	f                          func(t float64, y, dy []float64) error
	n                          int
	k1, k2, k3, k4, k5, k6, k7 []float64
	ytmp, ynew, yerr           []float64
	r1, r2, r3, r4, r5         []float64 // dense-output coefficients
	yout                       []float64
	evals                      int
}

func newDopri(f func(t float64, y, dy []float64) error, n int) *dopri {
	buf := make([]float64, 16*n)
	next := func() []float64 { s := buf[:n:n]; buf = buf[n:]; return s }
	d := &dopri{f: f, n: n}
	d.k1, d.k2, d.k3, d.k4, d.k5, d.k6, d.k7 = next(), next(), next(), next(), next(), next(), next()
	d.ytmp, d.ynew, d.yerr = next(), next(), next()
	d.r1, d.r2, d.r3, d.r4, d.r5 = next(), next(), next(), next(), next()
	d.yout = next()
	return d
}

// eval calls f and checks the derivative for non-finite values.
func (d *dopri) eval(t float64, y, dy []float64) error {
	d.evals++
	if err := d.f(t, y, dy); err != nil {
		return err
	}
	for i, v := range dy {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return &NonFiniteDerivativeError{T: t, Index: i, Value: v}
		}
	}
	return nil
}

// step takes one trial step of size h from (t, y) with d.k1 = f(t, y): it
// fills d.ynew with the fifth-order solution, d.k7 with f(t+h, ynew), and
// d.yerr with the difference between the fifth- and fourth-order solutions.
func (d *dopri) step(t, h float64, y []float64) error {
	k1, k2, k3, k4, k5, k6, k7, yt := d.k1, d.k2, d.k3, d.k4, d.k5, d.k6, d.k7, d.ytmp
	for i := range yt {
		yt[i] = y[i] + h*dpA21*k1[i]
	}
	if err := d.eval(t+dpC2*h, yt, k2); err != nil {
		return err
	}
	for i := range yt {
		yt[i] = y[i] + h*(dpA31*k1[i]+dpA32*k2[i])
	}
	if err := d.eval(t+dpC3*h, yt, k3); err != nil {
		return err
	}
	for i := range yt {
		yt[i] = y[i] + h*(dpA41*k1[i]+dpA42*k2[i]+dpA43*k3[i])
	}
	if err := d.eval(t+dpC4*h, yt, k4); err != nil {
		return err
	}
	for i := range yt {
		yt[i] = y[i] + h*(dpA51*k1[i]+dpA52*k2[i]+dpA53*k3[i]+dpA54*k4[i])
	}
	if err := d.eval(t+dpC5*h, yt, k5); err != nil {
		return err
	}
	for i := range yt {
		yt[i] = y[i] + h*(dpA61*k1[i]+dpA62*k2[i]+dpA63*k3[i]+dpA64*k4[i]+dpA65*k5[i])
	}
	if err := d.eval(t+h, yt, k6); err != nil {
		return err
	}
	yn := d.ynew
	for i := range yn {
		yn[i] = y[i] + h*(dpA71*k1[i]+dpA73*k3[i]+dpA74*k4[i]+dpA75*k5[i]+dpA76*k6[i])
	}
	if err := d.eval(t+h, yn, k7); err != nil {
		return err
	}
	for i := range d.yerr {
		d.yerr[i] = h * (dpE1*k1[i] + dpE3*k3[i] + dpE4*k4[i] + dpE5*k5[i] + dpE6*k6[i] + dpE7*k7[i])
	}
	return nil
}

// errNorm is the Hairer–Nørsett–Wanner error norm of d.yerr:
// sqrt(1/n Σ (err_i / (atol + rtol·max(|y_i|, |ynew_i|)))²).
func (d *dopri) errNorm(y []float64, rtol, atol float64) float64 {
	s := 0.0
	for i, e := range d.yerr {
		sk := atol + rtol*math.Max(math.Abs(y[i]), math.Abs(d.ynew[i]))
		s += (e / sk) * (e / sk)
	}
	return math.Sqrt(s / float64(d.n))
}

// prepareDense computes the coefficients of the continuous extension on the
// step from (t, y) to (t+h, ynew); it must run before k1 is overwritten.
func (d *dopri) prepareDense(h float64, y []float64) {
	for i := range y {
		ydiff := d.ynew[i] - y[i]
		bspl := h*d.k1[i] - ydiff
		d.r1[i] = y[i]
		d.r2[i] = ydiff
		d.r3[i] = bspl
		d.r4[i] = ydiff - h*d.k7[i] - bspl
		d.r5[i] = h * (dpD1*d.k1[i] + dpD3*d.k3[i] + dpD4*d.k4[i] + dpD5*d.k5[i] + dpD6*d.k6[i] + dpD7*d.k7[i])
	}
}

// dense evaluates the continuous extension at θ = (t − t_old)/h ∈ [0, 1]
// into d.yout.
func (d *dopri) dense(theta float64) []float64 {
	t1 := 1 - theta
	for i := range d.yout {
		d.yout[i] = d.r1[i] + theta*(d.r2[i]+t1*(d.r3[i]+theta*(d.r4[i]+t1*d.r5[i])))
	}
	return d.yout
}

// rmsScaled returns sqrt(1/n Σ (v_i/sk_i)²) with sk_i = atol + rtol·|y_i|.
func rmsScaled(v, y []float64, rtol, atol float64) float64 {
	s := 0.0
	for i := range v {
		sk := atol + rtol*math.Abs(y[i])
		s += (v[i] / sk) * (v[i] / sk)
	}
	return math.Sqrt(s / float64(len(v)))
}

// initialStep is the starting-step algorithm of Hairer–Nørsett–Wanner
// (Solving ODEs I, §II.4; HINIT in dopri5.f) for a method of order 5, with
// d.k1 = f(t, y).
func (d *dopri) initialStep(t float64, y []float64, rtol, atol, hmax float64) (float64, error) {
	d0 := rmsScaled(y, y, rtol, atol)
	d1 := rmsScaled(d.k1, y, rtol, atol)
	var h0 float64
	if d0 < 1e-5 || d1 < 1e-5 {
		h0 = 1e-6
	} else {
		h0 = 0.01 * d0 / d1
	}
	h0 = math.Min(h0, hmax)
	for i := range y {
		d.ytmp[i] = y[i] + h0*d.k1[i]
	}
	if err := d.eval(t+h0, d.ytmp, d.k2); err != nil {
		return 0, err
	}
	for i := range y {
		d.yerr[i] = d.k2[i] - d.k1[i]
	}
	d2 := rmsScaled(d.yerr, y, rtol, atol) / h0
	var h1 float64
	if m := math.Max(d1, d2); m <= 1e-15 {
		h1 = math.Max(1e-6, h0*1e-3)
	} else {
		h1 = math.Pow(0.01/m, 1.0/5)
	}
	return math.Min(math.Min(100*h0, h1), hmax), nil
}
