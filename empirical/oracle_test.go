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
	"math/rand/v2"
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

// ---------------------------------------------------------------------------
// The cases.

type oracleCase struct {
	name     string
	P        int
	clusters [][]int   // area labels per cluster
	probs    []float64 // nil: uniform
	z        theory.ZLaw
	gamma    float64
	mask     theory.MaskScheme
	keys     theory.KeyMode
	loss     theory.LossNorm
	extra    int
	eta      float64
	n        int     // samples drawn by theory.Samples
	sigma    float64 // scale of the random Q
}

// oracleCases covers keys unmasked/all × loss sum/mean, bernoulli and fixed masks,
// every z law, 1–3 clusters, P ≤ 9, d ≤ 20. Every sample set is extended by
// an all-masked sample (with keys "unmasked": queries with no key, ŷ = 0)
// and an unmasked one (no query).
var oracleCases = []oracleCase{
	{name: "K1-unmasked-sum-bernoulli-uniform", P: 6, clusters: [][]int{{0, 0, 1, 1, 2, 2}},
		z: theory.ZLaw{Kind: theory.ZUniform, L: 0.5, U: 2}, gamma: 0.5, mask: theory.MaskBernoulli,
		keys: theory.KeysUnmasked, loss: theory.LossSum, extra: 1, eta: 0.5, n: 6, sigma: 0.7},
	{name: "K3-all-mean-fixed-twopoint", P: 9, clusters: [][]int{{0, 0, 0, 1, 1, 1, 2, 2, 2}, {0, 1, 0, 1, 0, 1, 0, 1, 0}, {0, 0, 1, 1, 2, 2, 3, 3, 3}},
		probs: []float64{0.2, 0.3, 0.5}, z: theory.ZLaw{Kind: theory.ZTwoPoint, L: 0.5, U: 1.5}, gamma: 0.3, mask: theory.MaskFixed,
		keys: theory.KeysAll, loss: theory.LossMean, extra: 2, eta: 2, n: 8, sigma: 0.6},
	{name: "K2-all-sum-bernoulli-shared", P: 5, clusters: [][]int{{0, 0, 1, 1, 1}, {0, 1, 2, 3, 4}},
		probs: []float64{0.4, 0.6}, z: theory.ZLaw{Kind: theory.ZShared, L: 1, U: 3}, gamma: 0.8, mask: theory.MaskBernoulli,
		keys: theory.KeysAll, loss: theory.LossSum, extra: 0, eta: 0.1, n: 6, sigma: 0.5},
	{name: "K2-unmasked-mean-bernoulli-constant", P: 7, clusters: [][]int{{0, 0, 0, 0, 1, 1, 1}, {0, 1, 1, 2, 2, 2, 0}},
		z: theory.ZLaw{Kind: theory.ZConstant, L: 1.3, U: 1.3}, gamma: 0.7, mask: theory.MaskBernoulli,
		keys: theory.KeysUnmasked, loss: theory.LossMean, extra: 1, eta: 3, n: 7, sigma: 0.8},
	{name: "K3-unmasked-sum-fixed-uniform", P: 8, clusters: [][]int{{0, 0, 0, 0, 1, 1, 1, 1}, {0, 0, 1, 1, 0, 0, 1, 1}, {0, 1, 2, 3, 0, 1, 2, 3}},
		probs: []float64{0.5, 0.25, 0.25}, z: theory.ZLaw{Kind: theory.ZUniform, L: 0.2, U: 1.7}, gamma: 0.75, mask: theory.MaskFixed,
		keys: theory.KeysUnmasked, loss: theory.LossSum, extra: 0, eta: 0.3, n: 6, sigma: 0.7},
	{name: "K1-all-mean-bernoulli-twopoint-oneArea", P: 4, clusters: [][]int{{0, 0, 0, 0}},
		z: theory.ZLaw{Kind: theory.ZTwoPoint, L: 0.7, U: 1.1}, gamma: 0.4, mask: theory.MaskBernoulli,
		keys: theory.KeysAll, loss: theory.LossMean, extra: 3, eta: 1, n: 5, sigma: 0.9},
}

// setup returns the setting, its embedding, the oracle and the samples of a
// case (drawn with seed, plus the all-masked and the unmasked sample).
func (c oracleCase) setup(t *testing.T, seed uint64) (*theory.Setting, *empirical.Embedding, *oracle, []theory.Sample) {
	t.Helper()
	s := &theory.Setting{Name: c.name, P: c.P, Z: c.z, Gamma: c.gamma, Mask: c.mask, Keys: c.keys, Loss: c.loss, Eta: c.eta, ExtraDim: c.extra}
	for k, a := range c.clusters {
		cl := theory.Cluster{Areas: a}
		if c.probs != nil {
			cl.Prob = c.probs[k]
		}
		s.Clusters = append(s.Clusters, cl)
	}
	if err := s.Resolve(); err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	if d := s.Dim(); d > 20 {
		t.Fatalf("%s: d = %d > 20", c.name, d)
	}
	emb := empirical.NewEmbedding(s, seed)
	o := newOracle(s, emb)
	samples := oSamples(s, seed, c.n)
	last := len(c.clusters) - 1
	nz := 0
	for _, a := range c.clusters[last] {
		nz = max(nz, a+1)
	}
	allMasked := theory.Sample{Cluster: last, Z: make([]float64, nz), Mask: make([]bool, c.P)}
	none := theory.Sample{Cluster: samples[0].Cluster, Z: samples[0].Z, Mask: make([]bool, c.P)}
	for j := range allMasked.Z {
		allMasked.Z[j] = c.z.L + (c.z.U-c.z.L)*float64(j+1)/float64(nz+1)
	}
	for p := range allMasked.Mask {
		allMasked.Mask[p] = true
	}
	return s, emb, o, append(samples, allMasked, none)
}

// oRandomQ returns a d×d matrix of i.i.d. N(0, σ²) entries in the standard
// coordinates (so it has components outside the span of SPEC §2 too).
func oRandomQ(d int, sigma float64, seed uint64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 77))
	Q := oZeros(d, d)
	for a := range Q {
		for b := range Q[a] {
			Q[a][b] = sigma * rng.NormFloat64()
		}
	}
	return Q
}

// ---------------------------------------------------------------------------
// Comparisons.

// oMaxAbs returns the largest |M_ab|.
func oMaxAbs(M [][]float64) float64 {
	m := 0.0
	for _, r := range M {
		for _, x := range r {
			m = math.Max(m, math.Abs(x))
		}
	}
	return m
}

// oMaxDiff returns the largest |M_ab − N_ab|.
func oMaxDiff(M, N [][]float64) float64 {
	m := 0.0
	for a := range M {
		for b := range M[a] {
			m = math.Max(m, math.Abs(M[a][b]-N[a][b]))
		}
	}
	return m
}

func oFlatA(A [][][]float64) [][]float64 {
	var out [][]float64
	for _, ak := range A {
		out = append(out, ak...)
	}
	return out
}

// oCloseTo reports |got − want| ≤ tol·max(1, |want|).
func oCloseTo(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// Tolerances. The loss and the gradient entries are O(1) sums of at most
// P·|K|·d² ≈ 3·10⁴ products of O(1) factors for P ≤ 9, d ≤ 20; summed in
// different orders by the two implementations, they differ by a few
// hundred ulps in the worst case (√N random-walk growth gives ~10⁻¹⁴). The
// bound 1e-12 (relative to max(1, |value|), or to the largest entry for a
// gradient) leaves a wide margin for that and still catches any modelling
// error, which changes O(1) digits.
const oracleTol = 1e-12

// TestOracleSelfClosedForm checks the oracle itself against values worked
// out by hand, so that it cannot share a mistake with the engines through a
// misreading of SPEC §1 that happens to be made in both.
//
// P = 2, one area {0, 1}, z, mask {0} (position 1 unmasked). Keys
// "unmasked": ŷ_0 = x_1 = x_0, loss 0. Keys "all": keys {0, 1} with scores
// s_0 = e_0ᵀQe_0 = B_00 and s_1 = e_0ᵀQ(z v + e_1) = z A + B_01, content 0
// and z v, so ŷ_0 = π_1 z v and the loss is ½ z² (1 − π_1)² = ½ z² π_0², with
// π_0 = 1/(1 + exp(s_1 − s_0)). "mean" divides by P = 2. All masked with
// keys "unmasked": no key, loss ½ z² per query.
func TestOracleSelfClosedForm(t *testing.T) {
	for _, keys := range []theory.KeyMode{theory.KeysUnmasked, theory.KeysAll} {
		for _, norm := range []theory.LossNorm{theory.LossSum, theory.LossMean} {
			s := &theory.Setting{P: 2, Clusters: []theory.Cluster{{Areas: []int{0, 0}}}, Z: theory.ZLaw{Kind: theory.ZUniform, L: 0.5, U: 2},
				Gamma: 0.5, Keys: keys, Loss: norm, Eta: 1, ExtraDim: 1}
			if err := s.Resolve(); err != nil {
				t.Fatal(err)
			}
			emb := empirical.NewEmbedding(s, 5)
			o := newOracle(s, emb)
			const z, A, B00, B01 = 1.7, 0.4, -0.3, 0.9
			// Q = A e_0 vᵀ + B00 e_0 e_0ᵀ + B01 e_0 e_1ᵀ.
			Q := oZeros(o.D, o.D)
			for a := 0; a < o.D; a++ {
				for b := 0; b < o.D; b++ {
					Q[a][b] = o.pos[0][a] * (A*o.feat[0][0][b] + B00*o.pos[0][b] + B01*o.pos[1][b])
				}
			}
			scale := 1.0
			if norm == theory.LossMean {
				scale = 0.5
			}
			smp := theory.Sample{Cluster: 0, Z: []float64{z}, Mask: []bool{true, false}}
			want := 0.0
			if keys == theory.KeysAll {
				pi0 := 1 / (1 + math.Exp(z*A+B01-B00))
				want = 0.5 * z * z * pi0 * pi0
			}
			got, _ := o.lossGrad(Q, []theory.Sample{smp}, false)
			if !oCloseTo(got, scale*want, oracleTol) {
				t.Errorf("keys %s, loss %s: oracle loss %v, closed form %v", keys, norm, got, scale*want)
			}
			all := theory.Sample{Cluster: 0, Z: []float64{z}, Mask: []bool{true, true}}
			want = z * z // two queries, ½z² each, when there is no key
			if keys == theory.KeysAll {
				// Both keys carry content 0: ŷ = 0 all the same.
				want = z * z
			}
			got, g := o.lossGrad(Q, []theory.Sample{all}, true)
			if !oCloseTo(got, scale*want, oracleTol) {
				t.Errorf("keys %s, loss %s, all masked: oracle loss %v, closed form %v", keys, norm, got, scale*want)
			}
			if m := oMaxAbs(g); m != 0 {
				t.Errorf("keys %s, loss %s, all masked: oracle gradient %v, want 0 (ŷ = 0 whatever Q)", keys, norm, m)
			}
		}
	}
}

// TestOracleGradient checks the oracle's hand-derived gradient against the
// complex-step derivative of its own loss on all d² coordinates (both exact
// to rounding: oracleTol), and against a central finite difference along random
// directions (truncation h²/6·|f⁽³⁾| ≈ 1e-11 and rounding ε|f|/h ≈ 1e-11 at
// h = 1e-5 for O(1) derivatives: tolerance 1e-7).
func TestOracleGradient(t *testing.T) {
	for ci, c := range oracleCases {
		t.Run(c.name, func(t *testing.T) {
			_, _, o, samples := c.setup(t, uint64(100+ci))
			Q := oRandomQ(o.D, c.sigma, uint64(ci))
			_, g := o.lossGrad(Q, samples, true)
			cs := o.complexStepGrad(Q, samples)
			t.Logf("gradient max %.3g, analytic vs complex step |Δ| %.2g", oMaxAbs(cs), oMaxDiff(g, cs))
			if d := oMaxDiff(g, cs); d > oracleTol*math.Max(1, oMaxAbs(cs)) {
				t.Errorf("analytic vs complex-step gradient: max diff %.3g (largest entry %.3g)", d, oMaxAbs(cs))
			}
			if oMaxAbs(g) < 1e-3 {
				t.Errorf("gradient too small (%.3g) to test anything", oMaxAbs(g))
			}
			rng := rand.New(rand.NewPCG(uint64(ci), 3))
			const h = 1e-5
			for r := 0; r < 3; r++ {
				dir := oRandomQ(o.D, 1, rng.Uint64())
				plus, minus := oZeros(o.D, o.D), oZeros(o.D, o.D)
				dd := 0.0
				for a := range Q {
					for b := range Q[a] {
						plus[a][b] = Q[a][b] + h*dir[a][b]
						minus[a][b] = Q[a][b] - h*dir[a][b]
						dd += g[a][b] * dir[a][b]
					}
				}
				lp, _ := o.lossGrad(plus, samples, false)
				lm, _ := o.lossGrad(minus, samples, false)
				if fd := (lp - lm) / (2 * h); !oCloseTo(fd, dd, 1e-7) {
					t.Errorf("direction %d: central difference %.12g, analytic %.12g", r, fd, dd)
				}
			}
		})
	}
}

// TestOracleVsFullModel compares empirical.Model's loss and gradient with
// the oracle's at random Q (with components outside the span of SPEC §2).
func TestOracleVsFullModel(t *testing.T) {
	for ci, c := range oracleCases {
		t.Run(c.name, func(t *testing.T) {
			s, emb, o, samples := c.setup(t, uint64(200+ci))
			for r := 0; r < 2; r++ {
				Q := oRandomQ(o.D, c.sigma, uint64(10*ci+r))
				want, wg := o.lossGrad(Q, samples, true)
				got, gg := engineLossGrad(t, s, emb, Q, samples)
				t.Logf("Q #%d: loss %.6g, |Δloss| %.2g, gradient max %.3g, |Δ| %.2g", r, want, math.Abs(got-want), oMaxAbs(wg), oMaxDiff(gg, wg))
				if !oCloseTo(got, want, oracleTol) {
					t.Errorf("Q #%d: Model loss %.17g, oracle %.17g", r, got, want)
				}
				if d := oMaxDiff(gg, wg); d > oracleTol*math.Max(1, oMaxAbs(wg)) {
					t.Errorf("Q #%d: Model gradient differs from the oracle's by %.3g (largest entry %.3g)", r, d, oMaxAbs(wg))
				}
				// Each sample alone, so that a compensating error across
				// samples cannot hide.
				for i, smp := range samples {
					one := []theory.Sample{smp}
					want, wg := o.lossGrad(Q, one, true)
					got, gg := engineLossGrad(t, s, emb, Q, one)
					if !oCloseTo(got, want, oracleTol) || oMaxDiff(gg, wg) > oracleTol*math.Max(1, oMaxAbs(wg)) {
						t.Errorf("Q #%d, sample %d %+v: Model loss %.17g vs oracle %.17g, gradient diff %.3g",
							r, i, smp, got, want, oMaxDiff(gg, wg))
					}
				}
			}
		})
	}
}

// TestOracleVsSampleObjective compares the (A, B) objective of the exact
// engine at (A, B) = the correlations of a random Q (computed by the
// oracle's own loops) with the oracle's loss at Q, and its gradient with
// the oracle's gradient projected on the span: ∂L/∂A_{k,p,j} = e_pᵀ G v_{k,j},
// ∂L/∂B_{p,q} = e_pᵀ G e_q (the matrices e_p v_{k,j}ᵀ, e_p e_qᵀ are
// orthonormal in the Frobenius product, and L depends on Q only through them).
func TestOracleVsSampleObjective(t *testing.T) {
	for ci, c := range oracleCases {
		t.Run(c.name, func(t *testing.T) {
			s, _, o, samples := c.setup(t, uint64(300+ci))
			for r := 0; r < 2; r++ {
				Q := oRandomQ(o.D, c.sigma, uint64(20*ci+r))
				want, G := o.lossGrad(Q, samples, true)
				A, B := o.correlations(Q)
				wantA, wantB := o.correlations(G)
				got, gotA, gotB := objectiveLossGrad(t, s, samples, A, B)
				t.Logf("Q #%d: loss %.6g, |Δloss| %.2g, ∂A max |Δ| %.2g, ∂B max |Δ| %.2g", r, want, math.Abs(got-want),
					oMaxDiff(oFlatA(gotA), oFlatA(wantA)), oMaxDiff(gotB, wantB))
				if !oCloseTo(got, want, oracleTol) {
					t.Errorf("Q #%d: objective loss %.17g, oracle %.17g", r, got, want)
				}
				scale := math.Max(1, math.Max(oMaxAbs(oFlatA(wantA)), oMaxAbs(wantB)))
				if d := oMaxDiff(oFlatA(gotA), oFlatA(wantA)); d > oracleTol*scale {
					t.Errorf("Q #%d: ∂L/∂A differs from the oracle's projection by %.3g (scale %.3g)", r, d, scale)
				}
				if d := oMaxDiff(gotB, wantB); d > oracleTol*scale {
					t.Errorf("Q #%d: ∂L/∂B differs from the oracle's projection by %.3g (scale %.3g)", r, d, scale)
				}
			}
		})
	}
}

// TestOracleLargeScores compares the engines with the oracle where the
// scores are in the hundreds: exp(800) overflows, so only a max-shifted
// softmax survives. Two kinds of Q: i.i.d. N(0, 300²) entries, and a
// "cancelling" Q in the span with own-area FP correlations +700 and
// own-area PP correlations −700 (other entries 0), so that z A and B are
// each huge but their sum on the own-area keys is moderate; in the (A, B)
// engine's factored softmax e^{zA − max}·e^{B − max} both factors are then
// tiny (≈ e^{−350} … e^{−700}). The softmax's relative error grows to
// ε·|s|max ≈ 3e-13 for |s| ≤ 1400: the tolerance is 1e-10 relative.
func TestOracleLargeScores(t *testing.T) {
	for ci, c := range oracleCases {
		t.Run(c.name, func(t *testing.T) {
			s, emb, o, samples := c.setup(t, uint64(400+ci))
			Q := oRandomQ(o.D, 1, uint64(ci))
			for a := range Q {
				for b := range Q[a] {
					Q[a][b] *= 300
				}
			}
			oCompareLarge(t, "random", s, emb, o, samples, Q)
			A, B := o.correlations(oZeros(o.D, o.D))
			for k := range A {
				for p := range A[k] {
					A[k][p][o.areas[k][p]] = 700
				}
			}
			for p := range B {
				for q := range B[p] {
					if o.areas[0][p] == o.areas[0][q] {
						B[p][q] = -700
					}
				}
			}
			oCompareLarge(t, "cancelling", s, emb, o, samples, o.compose(A, B))
		})
	}
}

// oCompareLarge compares Model and the (A, B) objective with the oracle at a
// Q with large scores (tolerance 1e-10, see TestOracleLargeScores).
func oCompareLarge(t *testing.T, what string, s *theory.Setting, emb *empirical.Embedding, o *oracle, samples []theory.Sample, Q [][]float64) {
	t.Helper()
	A, B := o.correlations(Q)
	if mb := math.Max(oMaxAbs(B), oMaxAbs(oFlatA(A))); mb < 100 {
		t.Fatalf("%s: scores not large: max |A|, |B| = %v", what, mb)
	}
	want, G := o.lossGrad(Q, samples, true)
	const tol = 1e-10
	got, gg := engineLossGrad(t, s, emb, Q, samples)
	t.Logf("%s: loss %.6g, Model |Δloss| %.2g, |Δ∇| %.2g (largest entry %.3g)", what, want, math.Abs(got-want), oMaxDiff(gg, G), oMaxAbs(G))
	if !oCloseTo(got, want, tol) || oMaxDiff(gg, G) > tol*math.Max(1, oMaxAbs(G)) {
		t.Errorf("%s: Model: loss %.17g vs oracle %.17g, gradient diff %.3g", what, got, want, oMaxDiff(gg, G))
	}
	wantA, wantB := o.correlations(G)
	got, gotA, gotB := objectiveLossGrad(t, s, samples, A, B)
	scale := math.Max(1, math.Max(oMaxAbs(oFlatA(wantA)), oMaxAbs(wantB)))
	t.Logf("%s: objective |Δloss| %.2g, |Δ∂A| %.2g, |Δ∂B| %.2g", what, math.Abs(got-want), oMaxDiff(oFlatA(gotA), oFlatA(wantA)), oMaxDiff(gotB, wantB))
	if !oCloseTo(got, want, tol) || oMaxDiff(oFlatA(gotA), oFlatA(wantA)) > tol*scale || oMaxDiff(gotB, wantB) > tol*scale {
		t.Errorf("%s: objective: loss %.17g vs oracle %.17g, ∂A diff %.3g, ∂B diff %.3g", what, got, want,
			oMaxDiff(oFlatA(gotA), oFlatA(wantA)), oMaxDiff(gotB, wantB))
	}
}

// TestOracleGDVsTrain runs a few GD steps Q ← Q − η∇L from Q = 0 with the
// oracle and compares loss and (A, B) at every step with the full engine on
// the same samples and basis. Each step moves Q by η‖∇L‖ = O(1); rounding
// differences of the previous steps propagate with a factor ≤ 1 + η·Lip per
// step, so after 6 steps the bound is 1e-10 relative.
func TestOracleGDVsTrain(t *testing.T) {
	const steps = 6
	for ci, c := range oracleCases {
		t.Run(c.name, func(t *testing.T) {
			seed := uint64(500 + ci)
			s, _, o, samples := c.setup(t, seed)
			gotL, gotA, gotB := trainFull(t, s, seed, samples, steps)
			if len(gotL) != steps+1 {
				t.Fatalf("Train recorded %d steps, want %d", len(gotL), steps+1)
			}
			Q := oZeros(o.D, o.D)
			moved := 0.0
			for step := 0; step <= steps; step++ {
				loss, G := o.lossGrad(Q, samples, true)
				A, B := o.correlations(Q)
				scale := math.Max(1, math.Max(oMaxAbs(oFlatA(A)), oMaxAbs(B)))
				if !oCloseTo(gotL[step], loss, 1e-10) {
					t.Errorf("step %d: Train loss %.17g, oracle %.17g", step, gotL[step], loss)
				}
				if d := math.Max(oMaxDiff(oFlatA(gotA[step]), oFlatA(A)), oMaxDiff(gotB[step], B)); d > 1e-10*scale {
					t.Errorf("step %d: Train (A, B) differ from the oracle's by %.3g (scale %.3g)", step, d, scale)
				}
				moved = math.Max(moved, oMaxAbs(B))
				for a := range Q {
					for b := range Q[a] {
						Q[a][b] -= o.eta * G[a][b]
					}
				}
			}
			if moved < 1e-3 {
				t.Errorf("GD barely moved (max |B| = %.3g): the comparison tests nothing", moved)
			}
		})
	}
}
