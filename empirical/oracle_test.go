package empirical_test

// The cases and the comparisons of the engines with the naive oracle of
// oracle_naive_test.go.

import (
	"math"
	"math/rand/v2"
	"testing"

	"mimverify/empirical"
	"mimverify/theory"
)

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
