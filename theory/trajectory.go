package theory

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Shape is the shape of a setting's attention correlations: P positions and
// N_k areas in each cluster k. Every state of every engine is one flat vector
// of Len() numbers — A in (cluster, position, area) order, then B row by row —
// and Correlations are views onto it, so that engines and the ODE integrator
// work on the flat vector without copying.
type Shape struct {
	P     int
	Areas []int // N_k per cluster
}

// Shape returns the shape of the setting's correlations.
func (s *Setting) Shape() Shape {
	sh := Shape{P: s.P, Areas: make([]int, len(s.Clusters))}
	for k, c := range s.Clusters {
		sh.Areas[k] = c.NumAreas()
	}
	return sh
}

// Len returns the number of entries of A and B: P·Σ_k N_k + P².
func (sh Shape) Len() int {
	n := sh.P * sh.P
	for _, a := range sh.Areas {
		n += sh.P * a
	}
	return n
}

// New returns zero correlations of this shape.
func (sh Shape) New() Correlations { return sh.View(make([]float64, sh.Len())) }

// View returns correlations whose A and B are views onto flat, which must
// have length Len(): writing through either writes the other.
func (sh Shape) View(flat []float64) Correlations {
	if len(flat) != sh.Len() {
		panic(fmt.Sprintf("theory: Shape.View: %d numbers for a shape of %d", len(flat), sh.Len()))
	}
	c := Correlations{A: make([][][]float64, len(sh.Areas)), B: make([][]float64, sh.P), flat: flat}
	i := 0
	for k, n := range sh.Areas {
		c.A[k] = make([][]float64, sh.P)
		for p := range c.A[k] {
			c.A[k][p] = flat[i : i+n : i+n]
			i += n
		}
	}
	for p := range c.B {
		c.B[p] = flat[i : i+sh.P : i+sh.P]
		i += sh.P
	}
	return c
}

// Check reports whether c has this shape, naming the first mismatch.
func (sh Shape) Check(c Correlations) error {
	if len(c.A) != len(sh.Areas) {
		return fmt.Errorf("A has %d clusters, the setting %d", len(c.A), len(sh.Areas))
	}
	for k, n := range sh.Areas {
		if len(c.A[k]) != sh.P {
			return fmt.Errorf("A[%d] has %d rows, must be P = %d", k, len(c.A[k]), sh.P)
		}
		for p, row := range c.A[k] {
			if len(row) != n {
				return fmt.Errorf("A[%d][%d] has %d entries, must be N_%d = %d", k, p, len(row), k, n)
			}
		}
	}
	if len(c.B) != sh.P {
		return fmt.Errorf("B has %d rows, must be P = %d", len(c.B), sh.P)
	}
	for p, row := range c.B {
		if len(row) != sh.P {
			return fmt.Errorf("B[%d] has %d entries, must be P = %d", p, len(row), sh.P)
		}
	}
	return nil
}

// EntryName names entry i of the flat vector: "A[k][p][j]" or "B[p][q]".
func (sh Shape) EntryName(i int) string {
	for k, n := range sh.Areas {
		if i < sh.P*n {
			return fmt.Sprintf("A[%d][%d][%d]", k, i/n, i%n)
		}
		i -= sh.P * n
	}
	if i < sh.P*sh.P {
		return fmt.Sprintf("B[%d][%d]", i/sh.P, i%sh.P)
	}
	return fmt.Sprintf("entry %d (out of range)", i)
}

// Correlations holds the attention correlations of SPEC §2: the FP
// correlations A[k][p][j] = e_pᵀ Q v_{k,j} and the PP correlations
// B[p][q] = e_pᵀ Q e_q, as views onto one flat vector (see Shape).
type Correlations struct {
	A    [][][]float64 `json:"A"`
	B    [][]float64   `json:"B"`
	flat []float64
}

// Flat returns the flat vector behind A and B (see Shape), not a copy.
func (c Correlations) Flat() []float64 { return c.flat }

// Shape returns the shape of c.
func (c Correlations) Shape() Shape {
	sh := Shape{P: len(c.B), Areas: make([]int, len(c.A))}
	for k := range c.A {
		if len(c.A[k]) > 0 {
			sh.Areas[k] = len(c.A[k][0])
		}
	}
	return sh
}

// Clone returns a deep copy.
func (c Correlations) Clone() Correlations {
	return c.Shape().View(append([]float64(nil), c.flat...))
}

// CopyFrom copies o, which must have c's shape, into c.
func (c Correlations) CopyFrom(o Correlations) { copy(c.flat, o.flat) }

// UnmarshalJSON decodes A and B (as written by encoding/json) into views of
// one flat vector, after checking that the rows have a consistent shape.
func (c *Correlations) UnmarshalJSON(data []byte) error {
	var raw struct {
		A [][][]float64 `json:"A"`
		B [][]float64   `json:"B"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	v := Correlations{A: raw.A, B: raw.B}
	sh := v.Shape()
	if err := sh.Check(v); err != nil {
		return err
	}
	*c = sh.New()
	i := 0
	for _, ak := range raw.A {
		for _, row := range ak {
			i += copy(c.flat[i:], row)
		}
	}
	for _, row := range raw.B {
		i += copy(c.flat[i:], row)
	}
	return nil
}

// Equal reports whether c and o have the same shape and equal (==) entries;
// go-cmp uses it to compare states.
func (c Correlations) Equal(o Correlations) bool {
	if c.Shape().Check(o) != nil || len(c.flat) != len(o.flat) {
		return false
	}
	for i, x := range c.flat {
		if x != o.flat[i] {
			return false
		}
	}
	return true
}

// MaxAbs returns the largest absolute entry of A and of B.
func (c Correlations) MaxAbs() (a, b float64) {
	nA := len(c.flat) - len(c.B)*len(c.B)
	for _, x := range c.flat[:nA] {
		a = max(a, math.Abs(x))
	}
	for _, x := range c.flat[nA:] {
		b = max(b, math.Abs(x))
	}
	return a, b
}

// MaxAbsDiff returns the largest absolute entrywise difference between c and
// o, which must have the same shape.
func (c Correlations) MaxAbsDiff(o Correlations) float64 {
	d := 0.0
	for i, x := range c.flat {
		d = max(d, math.Abs(x-o.flat[i]))
	}
	return d
}

// Record is the state of a run at one recorded step.
type Record struct {
	// Step is the gradient step t; Time is τ = η·t.
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

// UnmarshalJSON decodes a record; the embedded correlations' own decoder
// would otherwise take the whole object.
func (r *Record) UnmarshalJSON(data []byte) error {
	var head struct {
		Step       int     `json:"step"`
		Time       float64 `json:"time"`
		Loss       float64 `json:"loss"`
		LossStdErr float64 `json:"loss_stderr"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return err
	}
	if err := r.Correlations.UnmarshalJSON(data); err != nil {
		return err
	}
	r.Step, r.Time, r.Loss, r.LossStdErr = head.Step, head.Time, head.Loss, head.LossStdErr
	return nil
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
	return e.Engine + ": " + e.Quantity + " became " + strconv.FormatFloat(e.Value, 'g', -1, 64) +
		" at step " + strconv.Itoa(e.Step) + " (the step size may be too large for this setting)"
}

// InitialCorrelations returns (A, B) at step 0 for a seed: zero for the zero
// initialisation; for the Gaussian one, i.i.d. N(0, σ²) entries drawn from
// StreamInit in the order A[0][0][0], A[0][0][1], …, A[K−1][P−1][N−1], then B
// row by row (the flat order of Shape). Every engine starts from these
// values. They are exactly the projections of a Q with i.i.d. N(0, σ²)
// entries in the embedding basis, which by rotation invariance is a Q with
// i.i.d. N(0, σ²) entries in any orthonormal coordinates; the full model
// fills Q's remaining components from its own stream.
func (s *Setting) InitialCorrelations(seed uint64) Correlations {
	c := s.Shape().New()
	if s.Init.Kind != InitGaussian {
		return c
	}
	rng := NewRand(seed, StreamInit)
	for i := range c.flat {
		c.flat[i] = s.Init.Sigma * rng.NormFloat64()
	}
	return c
}
