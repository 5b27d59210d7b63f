package empirical_test

// An independent oracle for the full model of SPEC §1.
//
// Everything below the "oracle" heading is written from SPEC §1 alone, with
// plain loops over d×d: it builds the tokens itself, computes the scores, a
// max-shifted (log-sum-exp) softmax, the loss and a hand-derived gradient. It
// shares no code with the engines (empirical.Model, dynamics) and none of the
// sampler's helpers: it only reads
//   - the samples themselves (theory.Sample: Cluster, Z per area, Mask),
//   - the setting's data (P, the area labels of each cluster, keys mode,
//     loss normalisation, η), read as plain fields,
//   - the basis vectors e_p and v_{k,j} (an input of the model, not logic).
//
// The coupling to the code under test is isolated in the "engine adapters"
// section (a handful of one-call helpers), so an API rename is a local fix.
//
// The analytic gradient of the oracle is checked against a complex-step
// derivative of the oracle's own loss (exact to rounding, no subtractive
// cancellation) on every one of the d² coordinates, and against a plain
// central finite difference along random directions.

import (
	"math"
	"math/cmplx"
	"testing"

	"gonum.org/v1/gonum/mat"

	"mimverify/dynamics"
	"mimverify/empirical"
	"mimverify/engine"
	"mimverify/theory"
)

// ---------------------------------------------------------------------------
// The oracle.

// oracle is the naive full model: every quantity is a [][]float64 and every
// product a loop.
type oracle struct {
	P, D    int
	areas   [][]int       // areas[k][p]: the area of position p in cluster k
	pos     [][]float64   // pos[p] = e_p
	feat    [][][]float64 // feat[k][j] = v_{k,j}
	keysAll bool          // keys "all" (else only the unmasked positions)
	scale   float64       // 1 for loss "sum", 1/P for "mean"
	eta     float64       // the GD step size
}

// tokens returns, for one sample, x_p (the clean patch), x̃_p (the masked
// input: x_p if p is unmasked, 0 if masked) and h_p = x̃_p + e_p.
//
// SPEC §1: every patch p in area j of cluster k is x_p = z_{k,j} v_{k,j}.
func (o *oracle) tokens(smp theory.Sample) (x, xt, h [][]float64) {
	k := smp.Cluster
	x = make([][]float64, o.P)
	xt = make([][]float64, o.P)
	h = make([][]float64, o.P)
	for p := 0; p < o.P; p++ {
		j := o.areas[k][p]
		z := smp.Z[j]
		x[p] = make([]float64, o.D)
		xt[p] = make([]float64, o.D)
		h[p] = make([]float64, o.D)
		for i := 0; i < o.D; i++ {
			x[p][i] = z * o.feat[k][j][i]
			if !smp.Mask[p] {
				xt[p][i] = x[p][i]
			}
			h[p][i] = xt[p][i] + o.pos[p][i]
		}
	}
	return x, xt, h
}

// keys returns the keys of a masked query: the unmasked positions, or every
// position with keys "all" (the query itself included).
func (o *oracle) keys(smp theory.Sample) []int {
	var ks []int
	for q := 0; q < o.P; q++ {
		if o.keysAll || !smp.Mask[q] {
			ks = append(ks, q)
		}
	}
	return ks
}

// sampleLossGrad returns the sample's loss scale·½ Σ_{p∈M} ‖ŷ_p − x_p‖² and,
// when g is not nil, adds w·∂(that loss)/∂Q into g.
//
// Gradient, derived by hand. For one masked query p with keys K:
//
//	s_q = e_pᵀ Q h_q,  π_q = exp(s_q) / Σ_{q'∈K} exp(s_q'),
//	ŷ = Σ_q π_q x̃_q,  ℓ = ½ ‖ŷ − x_p‖²,  r = ŷ − x_p.
//
// ∂ℓ/∂ŷ = r; ∂π_q/∂s_t = π_q (δ_qt − π_t), so ∂ŷ/∂s_t = π_t (x̃_t − ŷ) and
// ∂ℓ/∂s_t = π_t (x̃_t − ŷ)·r. Since ∂s_t/∂Q_ab = (e_p)_a (h_t)_b,
//
//	∂ℓ/∂Q_ab = Σ_t π_t ((x̃_t − ŷ)·r) (e_p)_a (h_t)_b.
//
// With no key (K empty), ŷ = 0, ℓ = ½‖x_p‖² and the gradient is 0.
func (o *oracle) sampleLossGrad(Q [][]float64, smp theory.Sample, g [][]float64, w float64) float64 {
	x, xt, h := o.tokens(smp)
	ks := o.keys(smp)
	loss := 0.0
	for p := 0; p < o.P; p++ {
		if !smp.Mask[p] {
			continue
		}
		yhat := make([]float64, o.D)
		if len(ks) > 0 {
			s := make([]float64, len(ks))
			for n, q := range ks {
				for a := 0; a < o.D; a++ {
					for b := 0; b < o.D; b++ {
						s[n] += o.pos[p][a] * Q[a][b] * h[q][b]
					}
				}
			}
			pi := oSoftmax(s)
			for n, q := range ks {
				for i := 0; i < o.D; i++ {
					yhat[i] += pi[n] * xt[q][i]
				}
			}
			if g != nil {
				r := make([]float64, o.D)
				for i := range r {
					r[i] = yhat[i] - x[p][i]
				}
				for n, q := range ks {
					ds := 0.0
					for i := 0; i < o.D; i++ {
						ds += (xt[q][i] - yhat[i]) * r[i]
					}
					ds *= pi[n] * o.scale * w
					for a := 0; a < o.D; a++ {
						for b := 0; b < o.D; b++ {
							g[a][b] += ds * o.pos[p][a] * h[q][b]
						}
					}
				}
			}
		}
		sq := 0.0
		for i := 0; i < o.D; i++ {
			sq += (yhat[i] - x[p][i]) * (yhat[i] - x[p][i])
		}
		loss += sq / 2
	}
	return o.scale * loss
}

// oSoftmax returns exp(s_n − max s) / Σ exp(s_m − max s).
func oSoftmax(s []float64) []float64 {
	mx := math.Inf(-1)
	for _, v := range s {
		mx = math.Max(mx, v)
	}
	pi := make([]float64, len(s))
	sum := 0.0
	for n, v := range s {
		pi[n] = math.Exp(v - mx)
		sum += pi[n]
	}
	for n := range pi {
		pi[n] /= sum
	}
	return pi
}

// lossGrad returns the empirical loss (1/n) Σ_i ℓ_i(Q) and its gradient
// (a new d×d slice) when wantGrad.
func (o *oracle) lossGrad(Q [][]float64, samples []theory.Sample, wantGrad bool) (float64, [][]float64) {
	var g [][]float64
	if wantGrad {
		g = oZeros(o.D, o.D)
	}
	w := 1 / float64(len(samples))
	loss := 0.0
	for _, smp := range samples {
		loss += w * o.sampleLossGrad(Q, smp, g, w)
	}
	return loss, g
}

// lossC is the same loss in complex arithmetic, for the complex-step
// derivative: for a real-analytic f, f'(x) = Im f(x + iε)/ε + O(ε²), with no
// cancellation. The max shift of the softmax uses the real parts (any real
// constant shift leaves the analytic function unchanged), and squares are
// u·u, not |u|², so the loss stays analytic in Q.
func (o *oracle) lossC(Q [][]complex128, samples []theory.Sample) complex128 {
	total := complex(0, 0)
	for _, smp := range samples {
		x, xt, h := o.tokens(smp)
		ks := o.keys(smp)
		loss := complex(0, 0)
		for p := 0; p < o.P; p++ {
			if !smp.Mask[p] {
				continue
			}
			yhat := make([]complex128, o.D)
			if len(ks) > 0 {
				s := make([]complex128, len(ks))
				mx := math.Inf(-1)
				for n, q := range ks {
					for a := 0; a < o.D; a++ {
						for b := 0; b < o.D; b++ {
							s[n] += complex(o.pos[p][a]*h[q][b], 0) * Q[a][b]
						}
					}
					mx = math.Max(mx, real(s[n]))
				}
				sum := complex(0, 0)
				ex := make([]complex128, len(ks))
				for n := range s {
					ex[n] = cmplx.Exp(s[n] - complex(mx, 0))
					sum += ex[n]
				}
				for n, q := range ks {
					for i := 0; i < o.D; i++ {
						yhat[i] += ex[n] / sum * complex(xt[q][i], 0)
					}
				}
			}
			for i := 0; i < o.D; i++ {
				u := yhat[i] - complex(x[p][i], 0)
				loss += u * u / 2
			}
		}
		total += complex(o.scale, 0) * loss
	}
	return total / complex(float64(len(samples)), 0)
}

// complexStepGrad returns ∂L/∂Q_ab for every (a, b) by the complex step.
func (o *oracle) complexStepGrad(Q [][]float64, samples []theory.Sample) [][]float64 {
	const eps = 1e-20
	qc := make([][]complex128, o.D)
	for a := range qc {
		qc[a] = make([]complex128, o.D)
		for b := range qc[a] {
			qc[a][b] = complex(Q[a][b], 0)
		}
	}
	g := oZeros(o.D, o.D)
	for a := 0; a < o.D; a++ {
		for b := 0; b < o.D; b++ {
			qc[a][b] = complex(Q[a][b], eps)
			g[a][b] = imag(o.lossC(qc, samples)) / eps
			qc[a][b] = complex(Q[a][b], 0)
		}
	}
	return g
}

// correlations returns A[k][p][j] = e_pᵀ M v_{k,j} and B[p][q] = e_pᵀ M e_q
// of a d×d matrix M (SPEC §2), by plain loops.
func (o *oracle) correlations(M [][]float64) (A [][][]float64, B [][]float64) {
	bil := func(u []float64, v []float64) float64 {
		t := 0.0
		for a := 0; a < o.D; a++ {
			for b := 0; b < o.D; b++ {
				t += u[a] * M[a][b] * v[b]
			}
		}
		return t
	}
	A = make([][][]float64, len(o.feat))
	for k := range o.feat {
		A[k] = make([][]float64, o.P)
		for p := 0; p < o.P; p++ {
			A[k][p] = make([]float64, len(o.feat[k]))
			for j := range o.feat[k] {
				A[k][p][j] = bil(o.pos[p], o.feat[k][j])
			}
		}
	}
	B = oZeros(o.P, o.P)
	for p := 0; p < o.P; p++ {
		for q := 0; q < o.P; q++ {
			B[p][q] = bil(o.pos[p], o.pos[q])
		}
	}
	return A, B
}

// compose returns Q = Σ A[k][p][j] e_p v_{k,j}ᵀ + Σ B[p][q] e_p e_qᵀ.
func (o *oracle) compose(A [][][]float64, B [][]float64) [][]float64 {
	Q := oZeros(o.D, o.D)
	for p := 0; p < o.P; p++ {
		for a := 0; a < o.D; a++ {
			for b := 0; b < o.D; b++ {
				for k := range A {
					for j, x := range A[k][p] {
						Q[a][b] += x * o.pos[p][a] * o.feat[k][j][b]
					}
				}
				for q, x := range B[p] {
					Q[a][b] += x * o.pos[p][a] * o.pos[q][b]
				}
			}
		}
	}
	return Q
}

func oZeros(r, c int) [][]float64 {
	m := make([][]float64, r)
	for i := range m {
		m[i] = make([]float64, c)
	}
	return m
}

// ---------------------------------------------------------------------------
// Engine adapters: the only places that call the code under test (beyond
// theory.Samples and the Setting fields). Keep them one call each.

// newOracle reads the basis vectors e_p (column p) and v_{k,j} (column
// P + Σ_{k'<k} N_{k'} + j, SPEC §1 / empirical.Embedding) of emb.
func newOracle(s *theory.Setting, emb *empirical.Embedding) *oracle {
	o := &oracle{P: s.P, D: emb.D, keysAll: s.Keys == theory.KeysAll, scale: 1, eta: s.Eta}
	if s.Loss == theory.LossMean {
		o.scale = 1 / float64(s.P)
	}
	for p := 0; p < s.P; p++ {
		o.pos = append(o.pos, emb.Vector(p))
	}
	for k, c := range s.Clusters {
		o.areas = append(o.areas, append([]int(nil), c.Areas...))
		nk := 0
		for _, a := range c.Areas {
			nk = max(nk, a+1)
		}
		var fs [][]float64
		for j := 0; j < nk; j++ {
			fs = append(fs, emb.Vector(emb.FeatureIndex(k, j)))
		}
		o.feat = append(o.feat, fs)
	}
	return o
}

// oSamples is the fixed sample set of a seed (the samples are the oracle's
// input, not logic it reuses).
func oSamples(s *theory.Setting, seed uint64, n int) []theory.Sample {
	return s.Samples(seed, n)
}

// engineLossGrad is empirical.Model.LossGrad.
func engineLossGrad(t *testing.T, s *theory.Setting, emb *empirical.Embedding, Q [][]float64, samples []theory.Sample) (float64, [][]float64) {
	t.Helper()
	m, err := empirical.NewModel(s, emb)
	if err != nil {
		t.Fatal(err)
	}
	g := mat.NewDense(emb.D, emb.D, nil)
	loss := m.LossGrad(oToDense(Q), samples, g)
	if l2 := m.Loss(oToDense(Q), samples); l2 != loss {
		t.Errorf("Model.Loss = %v but Model.LossGrad's loss = %v", l2, loss)
	}
	return loss, oFromDense(g)
}

// objectiveLossGrad is dynamics.NewSampleObjective(...).LossGrad at (A, B).
func objectiveLossGrad(t *testing.T, s *theory.Setting, samples []theory.Sample, A [][][]float64, B [][]float64) (float64, [][][]float64, [][]float64) {
	t.Helper()
	obj, err := dynamics.NewSampleObjective(s, samples)
	if err != nil {
		t.Fatal(err)
	}
	c := oToCorrelations(s, A, B)
	g := oToCorrelations(s, nil, nil)
	loss, _ := obj.LossGrad(c, g)
	return loss, g.A, g.B
}

// trainFull is the full engine (empirical.Full) for steps steps from Q(0) = 0, recording
// every step; it returns the loss and (A, B) at every step.
func trainFull(t *testing.T, s *theory.Setting, seed uint64, samples []theory.Sample, steps int) (loss []float64, A [][][][]float64, B [][][]float64) {
	t.Helper()
	traj, err := (&empirical.Full{}).Run(engine.NewProblem(s, samples, seed), engine.Every(steps, 1), engine.Observer{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range traj.Records {
		loss = append(loss, r.Loss)
		A = append(A, r.Correlations.A)
		B = append(B, r.Correlations.B)
	}
	return loss, A, B
}

// oToCorrelations copies (A, B) into the theory's shape (zero when nil).
func oToCorrelations(s *theory.Setting, A [][][]float64, B [][]float64) theory.Correlations {
	c := s.Shape().New()
	for k := range A {
		for p := range A[k] {
			copy(c.A[k][p], A[k][p])
		}
	}
	for p := range B {
		copy(c.B[p], B[p])
	}
	return c
}

func oToDense(M [][]float64) *mat.Dense {
	d := mat.NewDense(len(M), len(M[0]), nil)
	for i := range M {
		for j := range M[i] {
			d.Set(i, j, M[i][j])
		}
	}
	return d
}

func oFromDense(m *mat.Dense) [][]float64 {
	r, c := m.Dims()
	out := oZeros(r, c)
	for i := range out {
		for j := range out[i] {
			out[i][j] = m.At(i, j)
		}
	}
	return out
}
