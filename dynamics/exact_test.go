package dynamics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"

	"mimverify/theory"
)

// randomSetting returns a small valid setting: P in [4, 9], 1–2 clusters with
// random area labels, a random γ, and the given mask, keys and loss options.
func randomSetting(t testing.TB, rng *rand.Rand, mask theory.MaskScheme, keys theory.KeyMode, loss theory.LossNorm, z theory.ZKind) theory.Setting {
	t.Helper()
	s := theory.Setting{
		Name:  "random",
		P:     4 + rng.IntN(6),
		Z:     theory.ZLaw{Kind: z, L: 0.5, U: 1.5},
		Gamma: 0.3 + 0.4*rng.Float64(),
		Mask:  mask, Keys: keys, Loss: loss,
		Eta:  1,
		Init: theory.Init{Kind: theory.InitZero},
	}
	if z == theory.ZConstant {
		s.Z.U = s.Z.L
	}
	K := 1 + rng.IntN(2)
	for range K {
		n := 1 + rng.IntN(3)
		labels := make([]int, s.P)
		for p := range labels {
			if p < n {
				labels[p] = p
			} else {
				labels[p] = rng.IntN(n)
			}
		}
		rng.Shuffle(len(labels), func(i, j int) { labels[i], labels[j] = labels[j], labels[i] })
		s.Clusters = append(s.Clusters, theory.Cluster{Areas: labels})
	}
	if err := s.Resolve(); err != nil {
		t.Fatalf("random setting invalid: %v", err)
	}
	return s
}

// randomCorr returns correlations with i.i.d. N(0, σ²) entries.
func randomCorr(s *theory.Setting, rng *rand.Rand, sigma float64) theory.Correlations {
	c := s.Shape().New()
	for k := range c.A {
		for p := range c.A[k] {
			for j := range c.A[k][p] {
				c.A[k][p][j] = sigma * rng.NormFloat64()
			}
		}
	}
	for p := range c.B {
		for q := range c.B[p] {
			c.B[p][q] = sigma * rng.NormFloat64()
		}
	}
	return c
}

func mustSample(t testing.TB, s *theory.Setting, samples []theory.Sample) *SampleObjective {
	t.Helper()
	o, err := NewSampleObjective(s, samples)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestSampleGradFiniteDifference checks the analytic gradient against a
// central finite difference of the objective's own loss on random settings,
// in both key modes, both normalisations and both mask schemes.
//
// Tolerance: the central difference with step h = 1e-5 has truncation error
// h²/6·|∂³L| and rounding error ≈ ε·|L|/h. With entries of A, B ~ N(0, 1),
// z ≤ 1.5 and P ≤ 9, |L| ≤ ½·9·1.5²·4 ≈ 40 and the third derivatives are
// O(10), so the total is ≲ 2e-9; we allow 1e-7·(1 + |g|), far below the
// size of any real formula error (a wrong term is O(π·r) ≳ 1e-3).
func TestSampleGradFiniteDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, mask := range []theory.MaskScheme{theory.MaskBernoulli, theory.MaskFixed} {
		for _, keys := range []theory.KeyMode{theory.KeysUnmasked, theory.KeysAll} {
			for _, norm := range []theory.LossNorm{theory.LossSum, theory.LossMean} {
				for rep := range 3 {
					name := fmt.Sprintf("%s/%s/%s/%d", mask, keys, norm, rep)
					t.Run(name, func(t *testing.T) {
						s := randomSetting(t, rng, mask, keys, norm, theory.ZUniform)
						o := mustSample(t, &s, s.Samples(uint64(rep+1), 6))
						c := randomCorr(&s, rng, 1)
						grad := s.Shape().New()
						o.LossGrad(c, grad)
						g := grad.Flat()
						work := s.Shape().New()
						f := func(x []float64) float64 {
							copy(work.Flat(), x)
							return lossAt(o, work)
						}
						num := fd.Gradient(nil, f, c.Clone().Flat(), &fd.Settings{Formula: fd.Central, Step: 1e-5})
						for i := range g {
							if d := math.Abs(g[i] - num[i]); !(d <= 1e-7*(1+math.Abs(g[i]))) {
								t.Errorf("P=%d coordinate %d: analytic %.12g, finite difference %.12g (diff %.3g)", s.P, i, g[i], num[i], d)
							}
						}
					})
				}
			}
		}
	}
}

// threePositions is the one-cluster setting of the hand-worked tests:
// positions 0 and 1 in area 0, position 2 in area 1, z ~ uniform[0.5, 1.5].
func threePositions(t *testing.T) theory.Setting {
	t.Helper()
	s := theory.Setting{
		P: 3, Clusters: []theory.Cluster{{Areas: []int{0, 0, 1}}},
		Z: theory.ZLaw{Kind: theory.ZUniform, L: 0.5, U: 1.5}, Gamma: 0.5, Eta: 1,
	}
	if err := s.Resolve(); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSampleLossByHand compares the loss with closed forms written out for a
// three-position, one-cluster setting with areas {0, 1} and {2}.
func TestSampleLossByHand(t *testing.T) {
	s := threePositions(t)
	z0, z1 := 0.7, 1.3
	a00, a01, b01, b02, b00, b21, b20, b22 := 0.3, -0.8, 0.5, 1.1, -0.4, 0.9, 0.2, -1.7
	c := s.Shape().New()
	c.A[0][0][0], c.A[0][0][1] = a00, a01
	c.B[0][0], c.B[0][1], c.B[0][2] = b00, b01, b02
	c.B[2][0], c.B[2][1], c.B[2][2] = b20, b21, b22
	// Query 0 (area 0) with keys 1 (area 0, content z0 v0) and 2 (area 1, z1 v1).
	s1, s2 := z0*a00+b01, z1*a01+b02
	pi1 := math.Exp(s1) / (math.Exp(s1) + math.Exp(s2))
	pi2 := 1 - pi1
	lossQ0 := 0.5 * ((pi1*z0-z0)*(pi1*z0-z0) + (pi2*z1)*(pi2*z1))
	// Keys "all": key 0 (the query, masked) has score B[0][0] and content 0.
	e0, e1, e2 := math.Exp(b00), math.Exp(s1), math.Exp(s2)
	q1, q2 := e1/(e0+e1+e2), e2/(e0+e1+e2)
	lossQ0all := 0.5 * ((q1*z0-z0)*(q1*z0-z0) + (q2*z1)*(q2*z1))
	// Query 2 (area 1) with mask {0, 2}: the only unmasked key is 1 (area 0),
	// ŷ = z0 v0, target z1 v1: ½(z0² + z1²) whatever (A, B).
	lossQ2 := 0.5 * (z0*z0 + z1*z1)
	// Keys "all" for mask {0, 2}, query 2: keys 0 (masked), 1, 2 (masked).
	f0, f1, f2 := math.Exp(b20), math.Exp(z0*c.A[0][2][0]+b21), math.Exp(b22)
	w1 := f1 / (f0 + f1 + f2)
	lossQ2all := 0.5 * (w1*z0*w1*z0 + z1*z1)
	// And for mask {0, 2} query 0: key 1 only → π = 1, ŷ = z0 v0 = x_0: loss 0.
	// Keys "all", query 0, mask {0,2}: keys 0, 1, 2 with scores B00, z0 A00 + B01, B02.
	g0, g1, g2 := math.Exp(b00), math.Exp(s1), math.Exp(b02)
	u1 := g1 / (g0 + g1 + g2)
	lossQ0all2 := 0.5 * (u1*z0 - z0) * (u1*z0 - z0)

	z := []float64{z0, z1}
	smpA := theory.Sample{Cluster: 0, Z: z, Mask: []bool{true, false, false}}
	smpB := theory.Sample{Cluster: 0, Z: z, Mask: []bool{true, false, true}}
	smpC := theory.Sample{Cluster: 0, Z: z, Mask: []bool{true, true, true}} // no unmasked keys
	noKeys := 0.5 * (z0*z0 + z0*z0 + z1*z1)
	cases := []struct {
		keys theory.KeyMode
		norm theory.LossNorm
		smp  []theory.Sample
		want float64
	}{
		{theory.KeysUnmasked, theory.LossSum, []theory.Sample{smpA}, lossQ0},
		{theory.KeysUnmasked, theory.LossMean, []theory.Sample{smpA}, lossQ0 / 3},
		{theory.KeysUnmasked, theory.LossSum, []theory.Sample{smpB}, lossQ2},
		{theory.KeysUnmasked, theory.LossSum, []theory.Sample{smpA, smpB}, (lossQ0 + lossQ2) / 2},
		{theory.KeysUnmasked, theory.LossSum, []theory.Sample{smpC}, noKeys},
		{theory.KeysAll, theory.LossSum, []theory.Sample{smpA}, lossQ0all},
		{theory.KeysAll, theory.LossMean, []theory.Sample{smpB}, (lossQ0all2 + lossQ2all) / 3},
	}
	for i, tc := range cases {
		s2 := s.Clone()
		s2.Keys, s2.Loss = tc.keys, tc.norm
		o := mustSample(t, &s2, tc.smp)
		grad := s2.Shape().New()
		got, se := o.LossGrad(c, grad)
		if se != 0 {
			t.Errorf("case %d: stderr = %g, want 0 for the empirical loss", i, se)
		}
		if !(math.Abs(got-tc.want) <= 1e-14*(1+tc.want)) {
			t.Errorf("case %d (%s, %s): loss %.17g, by hand %.17g", i, tc.keys, tc.norm, got, tc.want)
		}
		if tc.keys == theory.KeysUnmasked && i == 4 {
			a, b := grad.MaxAbs()
			if a != 0 || b != 0 {
				t.Errorf("no-key sample: gradient max |A| = %g, |B| = %g, want 0", a, b)
			}
		}
	}
}

// TestExactReductionFullModel builds the full d×d model in the test — a
// random orthonormal basis of R^d, Q = Σ A e_p v_{k,j}ᵀ + Σ B e_p e_qᵀ plus
// random components outside that span that cannot reach a score — computes
// the loss and ∇_Q L = Σ ∂ℓ/∂s_{p,q} e_p (x̃_q + e_q)ᵀ with d-dimensional
// vectors, and checks that the loss equals the reduced one and that the
// projections e_pᵀ ∇_Q v_{k,j}, e_pᵀ ∇_Q e_q equal the reduced gradient
// (SPEC §2: to floating point, ≈1e-12 here), and that the out-of-span
// projections are 0.
func TestExactReductionFullModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, keys := range []theory.KeyMode{theory.KeysUnmasked, theory.KeysAll} {
		for rep := range 4 {
			s := randomSetting(t, rng, theory.MaskBernoulli, keys, theory.LossMean, theory.ZUniform)
			s.ExtraDim = 2
			samples := s.Samples(uint64(rep+10), 5)
			d := s.Dim()
			// Random orthonormal basis: Q factor of a Gaussian matrix.
			g := mat.NewDense(d, d, nil)
			for i := range d {
				for j := range d {
					g.Set(i, j, rng.NormFloat64())
				}
			}
			var qr mat.QR
			qr.Factorize(g)
			var basis mat.Dense
			qr.QTo(&basis)
			col := func(i int) []float64 { return mat.Col(nil, i, &basis) }
			e := make([][]float64, s.P)
			for p := range e {
				e[p] = col(p)
			}
			v := make([][][]float64, len(s.Clusters))
			idx := s.P
			for k, cl := range s.Clusters {
				for range cl.NumAreas() {
					v[k] = append(v[k], col(idx))
					idx++
				}
			}
			extra := [][]float64{col(d - 2), col(d - 1)}
			c := randomCorr(&s, rng, 1)
			Q := mat.NewDense(d, d, nil)
			outer := func(w float64, x, y []float64) {
				for i := range d {
					for j := range d {
						Q.Set(i, j, Q.At(i, j)+w*x[i]*y[j])
					}
				}
			}
			for k := range c.A {
				for p := range c.A[k] {
					for j := range c.A[k][p] {
						outer(c.A[k][p][j], e[p], v[k][j])
					}
				}
			}
			for p := range c.B {
				for q := range c.B[p] {
					outer(c.B[p][q], e[p], e[q])
				}
			}
			// Out of span: rows along features/extra dims, and e_p ⊗ extra.
			outer(rng.NormFloat64(), v[0][0], e[0])
			outer(rng.NormFloat64(), extra[0], v[0][0])
			outer(rng.NormFloat64(), e[1], extra[1])

			dot := func(x, y []float64) float64 {
				sum := 0.0
				for i := range x {
					sum += x[i] * y[i]
				}
				return sum
			}
			gQ := mat.NewDense(d, d, nil)
			fullLoss := 0.0
			for _, smp := range samples {
				areas := s.Clusters[smp.Cluster].Areas
				x := make([][]float64, s.P)  // x_p
				xt := make([][]float64, s.P) // x̃_p
				for p := range x {
					x[p] = make([]float64, d)
					xt[p] = make([]float64, d)
					for i := range d {
						x[p][i] = smp.Z[areas[p]] * v[smp.Cluster][areas[p]][i]
						if !smp.Mask[p] {
							xt[p][i] = x[p][i]
						}
					}
				}
				for p := range s.P {
					if !smp.Mask[p] {
						continue
					}
					h := make([]float64, d) // h_p = x̃_p + e_p = e_p
					for i := range d {
						h[i] = xt[p][i] + e[p][i]
					}
					var keyIdx []int
					for q := range s.P {
						if !smp.Mask[q] || keys == theory.KeysAll {
							keyIdx = append(keyIdx, q)
						}
					}
					yhat := make([]float64, d)
					if len(keyIdx) > 0 {
						hq := make([][]float64, len(keyIdx))
						sc := make([]float64, len(keyIdx))
						mx := math.Inf(-1)
						for i, q := range keyIdx {
							hq[i] = make([]float64, d)
							for l := range d {
								hq[i][l] = xt[q][l] + e[q][l]
							}
							var Qh mat.VecDense
							Qh.MulVec(Q, mat.NewVecDense(d, hq[i]))
							sc[i] = dot(h, Qh.RawVector().Data)
							mx = math.Max(mx, sc[i])
						}
						sum := 0.0
						for i := range sc {
							sc[i] = math.Exp(sc[i] - mx)
							sum += sc[i]
						}
						for i, q := range keyIdx {
							sc[i] /= sum
							for l := range d {
								yhat[l] += sc[i] * xt[q][l]
							}
						}
						res := make([]float64, d)
						for l := range d {
							res[l] = yhat[l] - x[p][l]
						}
						for i, q := range keyIdx {
							diff := make([]float64, d)
							for l := range d {
								diff[l] = xt[q][l] - yhat[l]
							}
							ds := sc[i] * dot(res, diff) * s.LossScale() / float64(len(samples))
							for a := range d {
								for b := range d {
									gQ.Set(a, b, gQ.At(a, b)+ds*h[a]*hq[i][b])
								}
							}
						}
					}
					r := 0.0
					for l := range d {
						r += (yhat[l] - x[p][l]) * (yhat[l] - x[p][l])
					}
					fullLoss += 0.5 * r * s.LossScale() / float64(len(samples))
				}
			}
			o := mustSample(t, &s, samples)
			grad := s.Shape().New()
			loss, _ := o.LossGrad(c, grad)
			if !(math.Abs(loss-fullLoss) <= 1e-12*(1+fullLoss)) {
				t.Errorf("%s rep %d: reduced loss %.17g, full model %.17g", keys, rep, loss, fullLoss)
			}
			proj := func(x, y []float64) float64 {
				var gy mat.VecDense
				gy.MulVec(gQ, mat.NewVecDense(d, y))
				return dot(x, gy.RawVector().Data)
			}
			for k := range grad.A {
				for p := range grad.A[k] {
					for j := range grad.A[k][p] {
						if f := proj(e[p], v[k][j]); !(math.Abs(f-grad.A[k][p][j]) <= 1e-12) {
							t.Errorf("%s rep %d: ∂L/∂A[%d][%d][%d] = %.15g, full model %.15g", keys, rep, k, p, j, grad.A[k][p][j], f)
						}
					}
				}
			}
			for p := range grad.B {
				for q := range grad.B[p] {
					if f := proj(e[p], e[q]); !(math.Abs(f-grad.B[p][q]) <= 1e-12) {
						t.Errorf("%s rep %d: ∂L/∂B[%d][%d] = %.15g, full model %.15g", keys, rep, p, q, grad.B[p][q], f)
					}
				}
			}
			// Out-of-span components of the gradient are zero.
			for _, pair := range [][2][]float64{{v[0][0], e[0]}, {extra[0], v[0][0]}, {e[1], extra[1]}, {extra[1], extra[0]}} {
				if f := proj(pair[0], pair[1]); !(math.Abs(f) <= 1e-13) {
					t.Errorf("%s rep %d: out-of-span gradient component %.3g, want 0", keys, rep, f)
				}
			}
		}
	}
}
