package empirical

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"

	"mimverify/theory"
)

// smallSettings returns small settings covering one and two clusters, areas
// of different sizes, both key modes, both loss normalisations and both mask
// schemes.
func smallSettings(t *testing.T) []theory.Setting {
	t.Helper()
	var base []theory.Setting
	add := func(s theory.Setting, err error) {
		if err != nil {
			t.Fatal(err)
		}
		s.ExtraDim = 2
		base = append(base, s)
	}
	add(theory.Grid(3, theory.Blocks(2)))                  // P = 9, one cluster, 4 areas
	add(theory.Grid(3, theory.Rows(1), theory.Columns(2))) // P = 9, two clusters
	add(theory.GlobalLocal(2, 1, 1))                       // P = 4
	add(theory.GlobalLocal(3, 2, 2))                       // P = 7
	hand := theory.Setting{                                // P = 5, two hand-built clusters, two-point z
		P: 5,
		Clusters: []theory.Cluster{
			{Areas: []int{0, 0, 1, 1, 1}, Prob: 0.4},
			{Areas: []int{0, 1, 2, 0, 1}, Prob: 0.6},
		},
		Z:     theory.ZLaw{Kind: theory.ZTwoPoint, L: 0.5, U: 2},
		Gamma: 0.4, Eta: 1,
	}
	add(hand, hand.Resolve())

	var out []theory.Setting
	for i, s := range base {
		for _, keys := range []theory.KeyMode{theory.KeysUnmasked, theory.KeysAll} {
			for _, loss := range []theory.LossNorm{theory.LossSum, theory.LossMean} {
				c := s.Clone()
				c.Keys, c.Loss = keys, loss
				if i%2 == 1 {
					c.Mask = theory.MaskFixed
				}
				c.Name = fmt.Sprintf("%s/%s/%s/%s", s.Name, keys, loss, c.Mask)
				if err := c.Validate(); err != nil {
					t.Fatal(err)
				}
				out = append(out, c)
			}
		}
	}
	return out
}

func randomQ(d int, sigma float64, seed uint64) *mat.Dense {
	rng := rand.New(rand.NewPCG(seed, 7))
	q := mat.NewDense(d, d, nil)
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			q.Set(i, j, sigma*rng.NormFloat64())
		}
	}
	return q
}

// TestGradientFiniteDifference compares the analytic gradient of LossGrad
// with central finite differences of Loss, entry by entry of Q.
//
// Tolerance. With step h the central difference has truncation error
// h²/6·|f⁽³⁾| and rounding error ≈ ε·|f|/h (ε = 2.2e-16, times a small factor
// for the rounding of the loss itself). Here |f| and the third derivatives
// along one entry of Q are O(1)–O(10) (z ≤ 2, ‖h_q‖ ≤ √5, entries of Q
// ~ N(0, 0.5²)), so with h = 1e-5 both terms are ≲ 1e-9; the honest bound on
// the error relative to the scale max(1, |f|, ‖∇f‖∞) is therefore 1e-7, and
// that is the tolerance, not widened. A wrong gradient (a missing term, a
// wrong sign, a masked key treated as unmasked) gives O(1) relative errors.
func TestGradientFiniteDifference(t *testing.T) {
	const h, tol = 1e-5, 1e-7
	worst := 0.0
	for i, s := range smallSettings(t) {
		s := s
		t.Run(s.Name, func(t *testing.T) {
			e := NewEmbedding(&s, uint64(10+i))
			m, err := NewModel(&s, e)
			if err != nil {
				t.Fatal(err)
			}
			samples := s.Samples(uint64(100+i), 6)
			d := e.D
			q := randomQ(d, 0.5, uint64(i))
			grad := mat.NewDense(d, d, nil)
			loss := m.LossGrad(q, samples, grad)

			f := func(x []float64) float64 { return m.Loss(mat.NewDense(d, d, x), samples) }
			x := append([]float64(nil), q.RawMatrix().Data...)
			num := fd.Gradient(nil, f, x, &fd.Settings{Formula: fd.Central, Step: h})

			gmax := maxAbs(grad)
			if gmax < 1e-3 {
				t.Fatalf("gradient is almost zero (‖∇‖∞ = %g): the check would be vacuous", gmax)
			}
			scale := math.Max(1, math.Max(math.Abs(loss), gmax))
			maxErr := 0.0
			for a := 0; a < d; a++ {
				for b := 0; b < d; b++ {
					err := math.Abs(grad.At(a, b) - num[a*d+b])
					maxErr = math.Max(maxErr, err)
					if err > tol*scale {
						t.Errorf("∂L/∂Q[%d][%d]: analytic %.12g, finite difference %.12g (error %.3g > %.1g·%.3g)",
							a, b, grad.At(a, b), num[a*d+b], err, tol, scale)
					}
				}
			}
			worst = math.Max(worst, maxErr/scale)
		})
	}
	t.Logf("largest relative finite-difference error: %.3g (tolerance %g)", worst, tol)
}

// referenceLoss is a direct, unoptimised transcription of SPEC §1 (one token,
// one query, one key at a time), independent of the batched implementation.
func referenceLoss(s *theory.Setting, e *Embedding, q *mat.Dense, samples []theory.Sample) float64 {
	total := 0.0
	for _, smp := range samples {
		areas := s.Clusters[smp.Cluster].Areas
		x := make([]*mat.VecDense, s.P)  // x_p
		xt := make([]*mat.VecDense, s.P) // x̃_p
		for p := 0; p < s.P; p++ {
			x[p] = mat.NewVecDense(e.D, e.Vector(e.FeatureIndex(smp.Cluster, areas[p])))
			x[p].ScaleVec(smp.Z[areas[p]], x[p])
			xt[p] = mat.NewVecDense(e.D, nil)
			if !smp.Mask[p] {
				xt[p].CopyVec(x[p])
			}
		}
		l := 0.0
		for p := 0; p < s.P; p++ {
			if !smp.Mask[p] {
				continue
			}
			ep := mat.NewVecDense(e.D, e.Vector(p))
			var keys []int
			for k := 0; k < s.P; k++ {
				if s.Keys == theory.KeysAll || !smp.Mask[k] {
					keys = append(keys, k)
				}
			}
			yhat := mat.NewVecDense(e.D, nil)
			if len(keys) > 0 {
				scores := make([]float64, len(keys))
				for i, k := range keys {
					hk := mat.NewVecDense(e.D, nil)
					hk.AddVec(xt[k], mat.NewVecDense(e.D, e.Vector(k)))
					scores[i] = mat.Inner(ep, q, hk)
				}
				mx := math.Inf(-1)
				for _, sc := range scores {
					mx = math.Max(mx, sc)
				}
				z := 0.0
				for _, sc := range scores {
					z += math.Exp(sc - mx)
				}
				for i, k := range keys {
					yhat.AddScaledVec(yhat, math.Exp(scores[i]-mx)/z, xt[k])
				}
			}
			yhat.SubVec(yhat, x[p])
			l += 0.5 * mat.Dot(yhat, yhat)
		}
		total += l * s.LossScale()
	}
	return total / float64(len(samples))
}

// TestLossMatchesReference checks the batched forward pass against the
// one-query-at-a-time transcription of SPEC §1. Both sum O(P·d) products of
// O(1) terms, so they agree to ~1e-15 relative; 1e-12 leaves room for the
// different summation orders and nothing else.
func TestLossMatchesReference(t *testing.T) {
	for i, s := range smallSettings(t) {
		e := NewEmbedding(&s, uint64(i))
		m, err := NewModel(&s, e)
		if err != nil {
			t.Fatal(err)
		}
		samples := s.Samples(uint64(i), 40) // > ChunkSize: several chunks
		q := randomQ(e.D, 0.7, uint64(50+i))
		got, want := m.Loss(q, samples), referenceLoss(&s, e, q, samples)
		if math.Abs(got-want) > 1e-12*math.Abs(want) {
			t.Errorf("%s: loss %.17g, reference %.17g", s.Name, got, want)
		}
		// LossGrad must return the same loss as Loss.
		if g := m.LossGrad(q, samples, mat.NewDense(e.D, e.D, nil)); g != got {
			t.Errorf("%s: LossGrad loss %.17g differs from Loss %.17g", s.Name, g, got)
		}
	}
}

// TestNoKeys checks the convention of SPEC §1 for a query with no keys
// (keys "unmasked" and every position masked): ŷ_p = 0, so the loss is
// ½ Σ_p z_{a(p)}² (‖v‖ = 1), and the gradient is exactly 0.
func TestNoKeys(t *testing.T) {
	s, err := theory.GlobalLocal(2, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	e := NewEmbedding(&s, 3)
	m, err := NewModel(&s, e)
	if err != nil {
		t.Fatal(err)
	}
	smp := theory.Sample{Cluster: 0, Z: []float64{0.5, 1.0, 1.5}, Mask: []bool{true, true, true, true, true}}
	want := 0.5 * (2*0.25 + 1*1.0 + 2*2.25)
	grad := mat.NewDense(e.D, e.D, nil)
	got := m.LossGrad(randomQ(e.D, 1, 1), []theory.Sample{smp}, grad)
	if math.Abs(got-want) > 1e-14 {
		t.Errorf("loss %.17g, want %.17g", got, want)
	}
	if n := mat.Norm(grad, 2); n != 0 {
		t.Errorf("gradient norm %g, want 0", n)
	}
}

// TestManyQueries covers samples with more masked queries than one query
// block (queryBlock = 64) and more keys than one gemm tile: a line of
// P = 120 positions with γ = 0.75 (≈ 90 masked queries per sample). The loss
// is checked against the reference transcription (same 1e-12 as above) and
// the gradient along three random directions U against the central
// difference of t ↦ L(Q + tU) (step 1e-5, tolerance 1e-7 relative to
// max(1, |L|, ‖∇L‖_F‖U‖_F), the bound justified in
// TestGradientFiniteDifference).
func TestManyQueries(t *testing.T) {
	s, err := theory.GlobalLocal(60, 30, 30)
	if err != nil {
		t.Fatal(err)
	}
	s.Gamma = 0.75
	for _, keys := range []theory.KeyMode{theory.KeysUnmasked, theory.KeysAll} {
		s.Keys = keys
		e := NewEmbedding(&s, 21)
		m, err := NewModel(&s, e)
		if err != nil {
			t.Fatal(err)
		}
		samples := s.Samples(21, 3)
		nm := 0
		for _, p := range samples[0].Mask {
			if p {
				nm++
			}
		}
		if nm <= queryBlock {
			t.Fatalf("only %d masked queries: the test does not cover several blocks", nm)
		}
		q := randomQ(e.D, 0.3, 21)
		grad := mat.NewDense(e.D, e.D, nil)
		loss := m.LossGrad(q, samples, grad)
		if want := referenceLoss(&s, e, q, samples); math.Abs(loss-want) > 1e-12*math.Abs(want) {
			t.Errorf("keys %s: loss %.17g, reference %.17g", keys, loss, want)
		}
		const h = 1e-5
		for i := 0; i < 3; i++ {
			u := randomQ(e.D, 1, uint64(100+i))
			var qp, qm mat.Dense
			qp.Scale(h, u)
			qp.Add(q, &qp)
			qm.Scale(-h, u)
			qm.Add(q, &qm)
			num := (m.Loss(&qp, samples) - m.Loss(&qm, samples)) / (2 * h)
			ana := mat.Sum(mulElem(grad, u))
			scale := math.Max(1, math.Max(math.Abs(loss), mat.Norm(grad, 2)*mat.Norm(u, 2)))
			if math.Abs(num-ana) > 1e-7*scale {
				t.Errorf("keys %s, direction %d: ⟨∇L, U⟩ = %.12g, finite difference %.12g", keys, i, ana, num)
			}
		}
	}
}

func mulElem(a, b *mat.Dense) *mat.Dense {
	var c mat.Dense
	c.MulElem(a, b)
	return &c
}

func maxAbs(a *mat.Dense) float64 {
	r, c := a.Dims()
	m := 0.0
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			m = math.Max(m, math.Abs(a.At(i, j)))
		}
	}
	return m
}
