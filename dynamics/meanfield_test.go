package dynamics

import (
	"math"
	"testing"

	"mimverify/theory"
)

// fitExponent returns the least-squares slope of log y against log x.
func fitExponent(x, y []float64) float64 {
	var sx, sy, sxx, sxy float64
	n := float64(len(x))
	for i := range x {
		lx, ly := math.Log(x[i]), math.Log(y[i])
		sx, sy, sxx, sxy = sx+lx, sy+ly, sxx+lx*lx, sxy+lx*ly
	}
	return (n*sxy - sx*sy) / (n*sxx - sx*sx)
}

func norm2(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

// meanFieldGap returns, at orbit state x, the measured gradient gap
// g_orbit − g_meanfield and its predicted leading term (docs/ORBIT.md §5,
// (M2)): the within-class second moments at the mean counts plus
// ½ Σ_g ∂²F/∂N_g² · Var(N_g), the second derivatives by central
// differences of step 1 in the mean-field counts.
func meanFieldGap(t *testing.T, s *theory.Setting, x []float64) (gap, pred []float64) {
	t.Helper()
	orb, err := NewOrbit(s, OrbitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mf, err := NewOrbit(s, OrbitOptions{MeanField: true})
	if err != nil {
		t.Fatal(err)
	}
	n := orb.Dim()
	g0, g1 := make([]float64, n), make([]float64, n)
	orb.LossGrad(x, g1)
	mf.LossGrad(x, g0)
	gap = make([]float64, n)
	for i := range gap {
		gap[i] = g1[i] - g0[i]
	}
	pred = make([]float64, n)
	gp, gm := make([]float64, n), make([]float64, n)
	for _, pr := range mf.probs {
		// Second moments within classes at the mean counts.
		pr.exact = true
		pr.setConstants()
		mf.LossGrad(x, gp)
		pr.exact = false
		pr.setConstants()
		for i := range pred {
			pred[i] += gp[i] - g0[i]
		}
		for g, gr := range pr.groups {
			v := float64(gr.S) * s.Gamma * (1 - s.Gamma)
			mu := pr.counts[g]
			pr.counts[g] = mu + 1
			mf.LossGrad(x, gp)
			pr.counts[g] = mu - 1
			mf.LossGrad(x, gm)
			pr.counts[g] = mu
			for i := range pred {
				pred[i] += 0.5 * (gp[i] - 2*g0[i] + gm[i]) * v
			}
		}
	}
	return gap, pred
}

// TestMeanFieldError measures the mean-field error on one cluster of 4
// areas of C, z ≡ 1, γ = ½, for C = 4 … 256: (a) the gradient gap at a
// fixed state, against its derived leading term (docs/ORBIT.md §5): the
// relative residual must be O(1/C) — from C = 32 on ≤ 0.2 and at most 0.6
// of its value at C/2 (the next term is O(1/C) relative since the third
// central moment of Bin(S, ½) vanishes: ratio → ½); a wrong leading term
// leaves an O(1) residual. The fitted exponent of the gap must be −1 ± 0.2
// (leading term ∝ 1/C; the O(1/C) relative correction moves the local slope
// by ≈ log₂(1 + 0.2) ≈ 0.26 at most at C = 32, less beyond). (b) the state after
// 1000 GD steps (η = 10): its relative error in α is reported with its
// fitted exponent, which the bound (M4) requires to be ≤ −1 + 0.2 in the
// same range.
func TestMeanFieldError(t *testing.T) {
	sizes := []int{4, 8, 16, 32, 64, 128, 256}
	if testing.Short() {
		sizes = []int{4, 8, 16, 32, 64, 128}
	}
	var cs, gaps, aerrs []float64
	prevRes := math.Inf(1)
	for _, C := range sizes {
		s := oneClusterSetting(t, 4, C, 1)
		// Fixed state: α = 1, β = −1/3 with the slaved b₁ = α/(C−1),
		// b₂ = β/C (§6), B_pp = 0.
		orb, err := NewOrbit(&s, OrbitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c := s.Shape().New()
		for p := range s.P {
			for q := range s.P {
				switch {
				case q == p:
				case q/C == p/C:
					c.B[p][q] = 1 / float64(C-1)
				default:
					c.B[p][q] = -1 / (3 * float64(C))
				}
			}
			for j := range 4 {
				c.A[0][p][j] = -1.0 / 3
			}
			c.A[0][p][p/C] = 1
		}
		x := make([]float64, orb.Dim())
		orb.Project(c, x)
		g := make([]float64, orb.Dim())
		orb.LossGrad(x, g)
		gap, pred := meanFieldGap(t, &s, x)
		res := make([]float64, len(gap))
		for i := range res {
			res[i] = gap[i] - pred[i]
		}
		relGap, relRes := norm2(gap)/norm2(g), norm2(res)/norm2(gap)
		// Trajectory.
		to, _ := runOrbit(t, &s, OrbitOptions{}, 1000, 1000, theory.Correlations{})
		tm, _ := runOrbit(t, &s, OrbitOptions{MeanField: true}, 1000, 1000, theory.Correlations{})
		ao, am := to.Final().Correlations.A[0][0][0], tm.Final().Correlations.A[0][0][0]
		aerr := math.Abs(am-ao) / ao
		t.Logf("C = %3d: gradient gap %.4g (relative), residual after the leading term %.3g; t = 1000: α orbit %.5f, mean field %.5f, error %.4g", C, relGap, relRes, ao, am, aerr)
		if C >= 32 {
			if !(relRes <= 0.2 && relRes <= 0.6*prevRes) {
				t.Errorf("C = %d: residual %.3g of the leading term (previous %.3g): want ≤ 0.2 and ≤ 0.6 × the previous (O(1/C))", C, relRes, prevRes)
			}
			prevRes = relRes
			cs, gaps, aerrs = append(cs, float64(C)), append(gaps, relGap), append(aerrs, aerr)
		}
	}
	eg, ea := fitExponent(cs, gaps), fitExponent(cs, aerrs)
	t.Logf("fitted exponents over C = %v: gradient gap %.3f, α at t = 1000 %.3f", cs, eg, ea)
	if !(math.Abs(eg+1) <= 0.2) {
		t.Errorf("gradient gap exponent %.3f, derived −1", eg)
	}
	if !(ea <= -0.8) {
		t.Errorf("trajectory error exponent %.3f, bound requires ≤ −1 + 0.2", ea)
	}
}
