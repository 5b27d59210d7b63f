package theory

import "math"

// Correlations holds the attention correlations of SPEC §2: the FP
// correlations A[k][p][j] = e_pᵀ Q v_{k,j} and the PP correlations
// B[p][q] = e_pᵀ Q e_q.
type Correlations struct {
	A [][][]float64 `json:"A"`
	B [][]float64   `json:"B"`
}

// NewCorrelations returns zero correlations shaped for s.
func NewCorrelations(s *Setting) Correlations {
	c := Correlations{A: make([][][]float64, len(s.Clusters)), B: make([][]float64, s.P)}
	for k, cl := range s.Clusters {
		n := cl.NumAreas()
		c.A[k] = make([][]float64, s.P)
		flat := make([]float64, s.P*n)
		for p := range c.A[k] {
			c.A[k][p] = flat[p*n : (p+1)*n : (p+1)*n]
		}
	}
	flat := make([]float64, s.P*s.P)
	for p := range c.B {
		c.B[p] = flat[p*s.P : (p+1)*s.P : (p+1)*s.P]
	}
	return c
}

// Clone returns a deep copy.
func (c Correlations) Clone() Correlations {
	o := Correlations{A: make([][][]float64, len(c.A)), B: make([][]float64, len(c.B))}
	for k := range c.A {
		o.A[k] = make([][]float64, len(c.A[k]))
		for p := range c.A[k] {
			o.A[k][p] = append([]float64(nil), c.A[k][p]...)
		}
	}
	for p := range c.B {
		o.B[p] = append([]float64(nil), c.B[p]...)
	}
	return o
}

// MaxAbs returns the largest absolute entry of A and of B.
func (c Correlations) MaxAbs() (a, b float64) {
	for _, ak := range c.A {
		for _, row := range ak {
			for _, x := range row {
				a = math.Max(a, math.Abs(x))
			}
		}
	}
	for _, row := range c.B {
		for _, x := range row {
			b = math.Max(b, math.Abs(x))
		}
	}
	return a, b
}

// MaxAbsDiff returns the largest absolute entrywise difference between c and
// o, which must have the same shape.
func (c Correlations) MaxAbsDiff(o Correlations) float64 {
	d := 0.0
	for k := range c.A {
		for p := range c.A[k] {
			for j, x := range c.A[k][p] {
				d = math.Max(d, math.Abs(x-o.A[k][p][j]))
			}
		}
	}
	for p := range c.B {
		for q, x := range c.B[p] {
			d = math.Max(d, math.Abs(x-o.B[p][q]))
		}
	}
	return d
}

// Record is the state of a run at one recorded step.
type Record struct {
	// Step is the gradient step t; Time is τ = η·t (for the gradient flow,
	// the continuous time of the record, and Step its nearest step).
	Step int     `json:"step"`
	Time float64 `json:"time"`
	// Loss is the training loss at this state: the empirical loss on the
	// sample set, or the population loss.
	Loss float64 `json:"loss"`
	// LossStdErr is the standard error of Loss when it is a Monte Carlo
	// estimate, and 0 when it is exact.
	LossStdErr float64 `json:"loss_stderr,omitempty"`
	Correlations
}

// Trajectory is what every engine produces: the records of one run.
type Trajectory struct {
	Engine  string   `json:"engine"`
	Records []Record `json:"records"`
}

// Final returns the last record. The trajectory must not be empty.
func (t *Trajectory) Final() *Record { return &t.Records[len(t.Records)-1] }

// NonFiniteError reports the first NaN or ±Inf an engine met: the step and
// the quantity where it appeared. Engines stop there instead of carrying it.
type NonFiniteError struct {
	Engine   string
	Step     int
	Quantity string
	Value    float64
}

func (e *NonFiniteError) Error() string {
	return e.Engine + ": " + e.Quantity + " became " + ftoa(e.Value) + " at step " + itoa(e.Step) +
		" (the step size may be too large for this setting)"
}

// InitialCorrelations returns (A, B) at step 0 for a seed: zero for the zero
// initialisation; for the Gaussian one, i.i.d. N(0, σ²) entries drawn from
// StreamInit in the order A[0][0][0], A[0][0][1], …, A[K−1][P−1][N−1], then B
// row by row. Every engine starts from these values. They are exactly the
// projections of a Q with i.i.d. N(0, σ²) entries in the embedding basis,
// which by rotation invariance is a Q with i.i.d. N(0, σ²) entries in any
// orthonormal coordinates; the full model fills Q's remaining components from
// its own stream.
func InitialCorrelations(s *Setting, seed uint64) Correlations {
	c := NewCorrelations(s)
	if s.Init.Kind != InitGaussian {
		return c
	}
	rng := NewRand(seed, StreamInit)
	for k := range c.A {
		for p := range c.A[k] {
			for j := range c.A[k][p] {
				c.A[k][p][j] = s.Init.Sigma * rng.NormFloat64()
			}
		}
	}
	for p := range c.B {
		for q := range c.B[p] {
			c.B[p][q] = s.Init.Sigma * rng.NormFloat64()
		}
	}
	return c
}

// LogSchedule returns about n record steps in [0, steps] spaced evenly in
// log t, with every step up to 10 included: the schedule that resolves early
// phase events and late asymptotic rates with the same number of records.
func LogSchedule(steps, n int) []int {
	out := []int{0}
	for t := 1; t <= min(10, steps); t++ {
		out = append(out, t)
	}
	if steps <= 10 {
		return out
	}
	ratio := math.Pow(float64(steps)/10, 1/float64(max(1, n-10)))
	x := 10.0
	for {
		x *= ratio
		t := int(math.Round(x))
		if t >= steps {
			break
		}
		if t > out[len(out)-1] {
			out = append(out, t)
		}
	}
	return append(out, steps)
}

// Len returns the number of entries of A and B.
func (c Correlations) Len() int {
	n := 0
	for _, ak := range c.A {
		for _, row := range ak {
			n += len(row)
		}
	}
	for _, row := range c.B {
		n += len(row)
	}
	return n
}

// Flatten appends the entries of A (in cluster, position, area order) and
// then of B (row by row) to dst and returns it; with dst of capacity
// c.Len() and length 0 it writes in place.
func (c Correlations) Flatten(dst []float64) []float64 {
	for _, ak := range c.A {
		for _, row := range ak {
			dst = append(dst, row...)
		}
	}
	for _, row := range c.B {
		dst = append(dst, row...)
	}
	return dst
}

// SetFlat copies v, in Flatten's order, into c.
func (c Correlations) SetFlat(v []float64) {
	i := 0
	for _, ak := range c.A {
		for _, row := range ak {
			i += copy(row, v[i:])
		}
	}
	for _, row := range c.B {
		i += copy(row, v[i:])
	}
}
