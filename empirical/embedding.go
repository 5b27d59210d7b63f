package empirical

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"mimverify/theory"
)

// Embedding is an orthonormal basis of R^d, d = s.Dim(), with the roles of
// SPEC §1: column p (0 ≤ p < P) is the position embedding e_p, column
// P + off_k + j is the feature v_{k,j} (off_k = Σ_{k'<k} N_{k'}), and the
// remaining ExtraDim columns are extra directions that no token uses.
type Embedding struct {
	// P is the number of positions, F = Σ_k N_k the number of features and
	// D the dimension.
	P, F, D int
	// Offsets holds off_k per cluster.
	Offsets []int
	// Basis is the d×d orthogonal matrix whose columns are the basis vectors.
	// It must not be modified.
	Basis *mat.Dense

	// shape is a copy of the setting, for the shape of the correlations.
	shape theory.Setting

	// rows holds the basis vectors as rows (the transpose of Basis), so that
	// e_p = rows[p*D:(p+1)*D] and v_{k,j} = rows[(P+off_k+j)*D:...].
	rows []float64
	// feat holds the features the patches carry, F rows of D, in the order
	// of the basis columns: a view of rows (the basis features) unless the
	// setting's features overlap (departures, docs/ASSUMPTIONS.md).
	feat []float64
}

// NewEmbedding returns the seeded random basis of SPEC §1: the Q factor of
// the QR decomposition of a d×d matrix of independent standard Gaussians,
// filled row by row from theory.NewRand(seed, theory.StreamBasis).
func NewEmbedding(s *theory.Setting, seed uint64) *Embedding {
	d := s.Dim()
	rng := theory.NewRand(seed, theory.StreamBasis)
	g := mat.NewDense(d, d, nil)
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q mat.Dense
	qr.QTo(&q)
	e := newEmbedding(s, &q)
	e.overlap(s.Departures) // nothing without departures
	return e
}

// AxisEmbedding returns the axis-aligned basis (the identity matrix), in the
// same column order as NewEmbedding. It is meant for debugging: with it the
// basis coordinates of Q are its entries.
func AxisEmbedding(s *theory.Setting) *Embedding {
	d := s.Dim()
	id := mat.NewDense(d, d, nil)
	for i := 0; i < d; i++ {
		id.Set(i, i, 1)
	}
	return newEmbedding(s, id)
}

func newEmbedding(s *theory.Setting, basis *mat.Dense) *Embedding {
	d := s.Dim()
	e := &Embedding{P: s.P, F: s.NumFeatures(), D: d, Basis: basis, Offsets: make([]int, len(s.Clusters)), shape: s.Clone()}
	off := 0
	for k, c := range s.Clusters {
		e.Offsets[k] = off
		off += c.NumAreas()
	}
	e.rows = make([]float64, d*d)
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			e.rows[i*d+j] = basis.At(j, i)
		}
	}
	e.feat = e.rows[e.P*d : (e.P+e.F)*d : (e.P+e.F)*d]
	return e
}

// FeatureIndex returns the basis column of v_{k,j}: P + off_k + j.
func (e *Embedding) FeatureIndex(k, j int) int { return e.P + e.Offsets[k] + j }

// Vector returns a copy of basis vector i (column i of Basis).
func (e *Embedding) Vector(i int) []float64 {
	return append([]float64(nil), e.row(i)...)
}

// row returns basis vector i as a read-only view.
func (e *Embedding) row(i int) []float64 { return e.rows[i*e.D : (i+1)*e.D : (i+1)*e.D] }

// featRow returns the feature v_{k,j} the patches carry, as a read-only
// view: basis vector FeatureIndex(k, j) unless the features overlap.
func (e *Embedding) featRow(k, j int) []float64 {
	i := e.Offsets[k] + j
	return e.feat[i*e.D : (i+1)*e.D : (i+1)*e.D]
}

// Feature returns a copy of the feature v_{k,j} the patches carry.
func (e *Embedding) Feature(k, j int) []float64 { return append([]float64(nil), e.featRow(k, j)...) }

func (e *Embedding) checkQ(q mat.Matrix) {
	if r, c := q.Dims(); r != e.D || c != e.D {
		panic(fmt.Sprintf("empirical: Q is %d×%d, the embedding dimension is %d", r, c, e.D))
	}
}

// Coords returns the basis coordinates of Q: the d×d matrix C = Eᵀ Q E with
// E = Basis, so that C[i][j] = (basis vector i)ᵀ Q (basis vector j).
func (e *Embedding) Coords(q mat.Matrix) *mat.Dense {
	e.checkQ(q)
	var t, c mat.Dense
	t.Mul(e.Basis.T(), q)
	c.Mul(&t, e.Basis)
	return &c
}

// FromCoords returns Q = E C Eᵀ, the matrix whose basis coordinates are C.
func (e *Embedding) FromCoords(c mat.Matrix) *mat.Dense {
	e.checkQ(c)
	var t, q mat.Dense
	t.Mul(e.Basis, c)
	q.Mul(&t, e.Basis.T())
	return &q
}

// InSpan reports whether basis coordinate (i, j) is one of the components
// e_p v_{k,j}ᵀ or e_p e_qᵀ in which SPEC §2's exact reduction keeps the
// gradient: row i a position (i < P) and column j a position or a feature
// (j < P + F).
func (e *Embedding) InSpan(i, j int) bool { return i < e.P && j < e.P+e.F }

// Project returns the attention correlations of Q (SPEC §2):
// A[k][p][j] = e_pᵀ Q v_{k,j} and B[p][q] = e_pᵀ Q e_q.
// The result is shaped as theory.NewCorrelations of the embedding's setting.
func (e *Embedding) Project(q mat.Matrix) theory.Correlations {
	e.checkQ(q)
	d := e.D
	// EQ = rows of e_pᵀ Q.
	eq := mat.NewDense(e.P, d, nil)
	pos := mat.NewDense(e.P, d, e.rows[:e.P*d])
	eq.Mul(pos, q)
	c := e.shape.Shape().New()
	for p := 0; p < e.P; p++ {
		r := eq.RawRowView(p)
		for k := range c.A {
			for j := range c.A[k][p] {
				c.A[k][p][j] = dot(r, e.featRow(k, j))
			}
		}
		for q2 := 0; q2 < e.P; q2++ {
			c.B[p][q2] = dot(r, e.row(q2))
		}
	}
	return c
}

// Compose returns the matrix Q = Σ A[k][p][j] e_p v_{k,j}ᵀ + Σ B[p][q] e_p e_qᵀ
// plus, when rest is not nil, the components of rest (given in basis
// coordinates, d×d) outside that span. Project(Compose(c, rest)) = c up to
// rounding.
func (e *Embedding) Compose(c theory.Correlations, rest mat.Matrix) *mat.Dense {
	d := e.D
	coords := mat.NewDense(d, d, nil)
	if rest != nil {
		e.checkQ(rest)
		for i := 0; i < d; i++ {
			for j := 0; j < d; j++ {
				if !e.InSpan(i, j) {
					coords.Set(i, j, rest.At(i, j))
				}
			}
		}
	}
	for k := range c.A {
		for p := range c.A[k] {
			for j, a := range c.A[k][p] {
				coords.Set(p, e.FeatureIndex(k, j), a)
			}
		}
	}
	for p := range c.B {
		for q, b := range c.B[p] {
			coords.Set(p, q, b)
		}
	}
	return e.FromCoords(coords)
}

// OutOfSpan returns the basis coordinates of the component of Q outside
// span{e_p v_{k,j}ᵀ, e_p e_qᵀ} (the in-span coordinates are set to 0), and
// its Frobenius norm (which equals the Frobenius norm of that component of Q,
// the basis being orthonormal). SPEC §2: from Q(0) = 0 this component stays
// 0 under gradient descent; from a random Q(0) it stays constant.
func (e *Embedding) OutOfSpan(q mat.Matrix) (coords *mat.Dense, norm float64) {
	coords = e.Coords(q)
	for i := 0; i < e.D; i++ {
		for j := 0; j < e.D; j++ {
			if e.InSpan(i, j) {
				coords.Set(i, j, 0)
			}
		}
	}
	return coords, mat.Norm(coords, 2)
}

func dot(a, b []float64) float64 {
	b = b[:len(a)]
	s := 0.0
	for i, x := range a {
		s += x * b[i]
	}
	return s
}
