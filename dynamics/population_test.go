package dynamics

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"mimverify/theory"
)

func mustPopulation(t testing.TB, s *theory.Setting, opt PopulationOptions) *PopulationObjective {
	t.Helper()
	o, err := NewPopulationObjective(s, opt)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// explicitExpectation computes Σ w · (loss, gradient) over an explicit list
// of (sample, weight) pairs, each evaluated by its own one-sample objective,
// so that the weighting is done here and not by the code under test.
func explicitExpectation(t *testing.T, s *theory.Setting, samples []theory.Sample, weights []float64, c theory.Correlations) (float64, []float64) {
	t.Helper()
	loss := 0.0
	var grad []float64
	g := s.Shape().New()
	for i, smp := range samples {
		o := mustSample(t, s, []theory.Sample{smp})
		l, _ := o.LossGrad(c, g)
		loss += weights[i] * l
		x := g.Flat()
		if grad == nil {
			grad = make([]float64, len(x))
		}
		for j := range x {
			grad[j] += weights[i] * x[j]
		}
	}
	return loss, grad
}

// TestEnumerationMatchesExplicit checks the enumeration against an explicit
// list of every (cluster, mask, z) with its probability built here: masks by
// brute force over all 2^P bit patterns (keeping those of size round(γP)
// for the fixed scheme), weights π_k · γ^|M|(1−γ)^{P−|M|} (or 1/C(P, m),
// counting the masks here) · 2^{−N_k} for two-point z.
func TestEnumerationMatchesExplicit(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, mask := range []theory.MaskScheme{theory.MaskBernoulli, theory.MaskFixed} {
		for _, zk := range []theory.ZKind{theory.ZConstant, theory.ZTwoPoint} {
			for _, keys := range []theory.KeyMode{theory.KeysUnmasked, theory.KeysAll} {
				s := randomSetting(t, rng, mask, keys, theory.LossSum, zk)
				if s.P > 7 { // keep the explicit list short
					s = randomSetting(t, rand.New(rand.NewPCG(1, 1)), mask, keys, theory.LossSum, zk)
				}
				if len(s.Clusters) == 2 {
					s.Clusters[0].Prob, s.Clusters[1].Prob = 0.3, 0.7
				}
				var samples []theory.Sample
				var weights []float64
				m := s.NumFixedMasked()
				nFixed := 0
				for b := 0; b < 1<<s.P; b++ {
					if bits.OnesCount(uint(b)) == m {
						nFixed++
					}
				}
				for k, cl := range s.Clusters {
					n := cl.NumAreas()
					nz := 1
					if zk == theory.ZTwoPoint {
						nz = 1 << n
					}
					for b := 0; b < 1<<s.P; b++ {
						size := bits.OnesCount(uint(b))
						var wm float64
						if mask == theory.MaskFixed {
							if size != m {
								continue
							}
							wm = 1 / float64(nFixed)
						} else {
							wm = math.Pow(s.Gamma, float64(size)) * math.Pow(1-s.Gamma, float64(s.P-size))
						}
						msk := make([]bool, s.P)
						for p := range msk {
							msk[p] = b&(1<<p) != 0
						}
						for zb := range nz {
							z := make([]float64, n)
							for j := range z {
								z[j] = s.Z.L
								if zb&(1<<j) != 0 {
									z[j] = s.Z.U
								}
							}
							samples = append(samples, theory.Sample{Cluster: k, Z: z, Mask: msk})
							weights = append(weights, cl.Prob*wm/float64(nz))
						}
					}
				}
				c := randomCorr(&s, rng, 1)
				wantLoss, wantGrad := explicitExpectation(t, &s, samples, weights, c)
				o := mustPopulation(t, &s, PopulationOptions{Mode: "enumerate"})
				g := s.Shape().New()
				loss, se := o.LossGrad(c, g)
				if se != 0 {
					t.Errorf("enumeration stderr = %g, want 0", se)
				}
				if !(math.Abs(loss-wantLoss) <= 1e-12*(1+wantLoss)) {
					t.Errorf("%s/%s/%s P=%d: enumerated loss %.16g, explicit %.16g", mask, zk, keys, s.P, loss, wantLoss)
				}
				for i, x := range g.Flat() {
					if !(math.Abs(x-wantGrad[i]) <= 1e-12) {
						t.Errorf("%s/%s/%s: gradient coordinate %d: %.16g, explicit %.16g", mask, zk, keys, i, x, wantGrad[i])
						break
					}
				}
			}
		}
	}
}

// TestSharedQuadratureVsSimpson checks the Gauss–Legendre quadrature of the
// shared z law against composite Simpson integration done here over the
// explicit list of masks (γ = ½: every mask weighs 2^{−P}). Simpson with 400
// intervals on [0.5, 1.5] has error ≤ (U−L) h⁴/180 · max|f⁗| ≈ 3e-13 for
// derivatives O(10); the 16-node Gauss–Legendre error is far smaller. We
// allow 1e-9 relative.
func TestSharedQuadratureVsSimpson(t *testing.T) {
	s := theory.Setting{
		P: 5, Clusters: []theory.Cluster{{Areas: []int{0, 0, 1, 1, 2}}},
		Z: theory.ZLaw{Kind: theory.ZShared, L: 0.5, U: 1.5}, Gamma: 0.5, Eta: 1,
	}
	if err := s.Resolve(); err != nil {
		t.Fatal(err)
	}
	c := randomCorr(&s, rand.New(rand.NewPCG(5, 6)), 1)
	var masks [][]bool
	for b := 0; b < 1<<s.P; b++ {
		m := make([]bool, s.P)
		for p := range m {
			m[p] = b&(1<<p) != 0
		}
		masks = append(masks, m)
	}
	f := func(z float64) float64 {
		var smps []theory.Sample
		for _, m := range masks {
			smps = append(smps, theory.Sample{Z: []float64{z, z, z}, Mask: m})
		}
		return lossAt(mustSample(t, &s, smps), c) // uniform average over all 2^P masks
	}
	const n = 400
	h := (s.Z.U - s.Z.L) / n
	simpson := f(s.Z.L) + f(s.Z.U)
	for i := 1; i < n; i++ {
		w := 2.0
		if i%2 == 1 {
			w = 4
		}
		simpson += w * f(s.Z.L+float64(i)*h)
	}
	simpson *= h / 3 / (s.Z.U - s.Z.L)
	got, _ := mustPopulation(t, &s, PopulationOptions{Mode: "enumerate", QuadNodes: 16}).LossGrad(c, c.Shape().New())
	if !(math.Abs(got-simpson) <= 1e-9*simpson) {
		t.Errorf("shared-z population loss %.15g, Simpson %.15g", got, simpson)
	}
}

// TestUniformQuadratureConverges checks that the tensor Gauss–Legendre
// population loss converges geometrically in QuadNodes: the loss is analytic
// in z, so |L_n − L_∞| ≲ C ρ^{−2n}. We check that successive differences
// shrink by at least a factor 2 per node until they reach rounding level
// (1e-14), and that they do reach it.
func TestUniformQuadratureConverges(t *testing.T) {
	s := theory.Setting{
		P: 6, Clusters: []theory.Cluster{{Areas: []int{0, 0, 0, 1, 1, 1}}},
		Z: theory.ZLaw{Kind: theory.ZUniform, L: 0.5, U: 1.5}, Gamma: 0.4, Eta: 1,
	}
	if err := s.Resolve(); err != nil {
		t.Fatal(err)
	}
	c := randomCorr(&s, rand.New(rand.NewPCG(9, 10)), 1)
	var losses []float64
	for n := 1; n <= 12; n++ {
		l, _ := mustPopulation(t, &s, PopulationOptions{Mode: "enumerate", QuadNodes: n}).LossGrad(c, c.Shape().New())
		losses = append(losses, l)
	}
	prev := math.Inf(1)
	reached := false
	for i := 1; i < len(losses); i++ {
		d := math.Abs(losses[i] - losses[i-1])
		t.Logf("nodes %2d: loss %.16g, |Δ| = %.3g", i+1, losses[i], d)
		if d < 1e-14*losses[i] {
			reached = true
			break
		}
		if !(d <= prev/2) {
			t.Errorf("nodes %d: |L_n − L_{n−1}| = %.3g did not shrink by 2 from %.3g", i+1, d, prev)
		}
		prev = d
	}
	if !reached {
		t.Errorf("quadrature did not converge to 1e-14 relative within 12 nodes")
	}
}

// TestCRNAgreesWithEnumeration: on a P = 8 setting with uniform z (8
// quadrature nodes: quadrature error ≪ 1e-10), the CRN loss is within 4
// standard errors of the enumerated value (false alarm 6.3e-5 for a Gaussian
// z-score); each gradient coordinate within 5 of its standard errors
// (≈70 coordinates × 5.7e-7 ≈ 4e-5 false alarm); and quadrupling the sample
// count roughly halves the standard error: the ratio must be in [1.6, 2.5]
// (the sample standard deviation from n ≥ 1024 samples is within ±10% of σ
// with overwhelming probability for these bounded losses).
func TestCRNAgreesWithEnumeration(t *testing.T) {
	s := theory.Setting{
		P: 8, Clusters: []theory.Cluster{{Areas: []int{0, 0, 0, 1, 1, 2, 2, 2}}},
		Z: theory.ZLaw{Kind: theory.ZUniform, L: 0.5, U: 1.5}, Gamma: 0.5, Eta: 1,
	}
	if err := s.Resolve(); err != nil {
		t.Fatal(err)
	}
	c := randomCorr(&s, rand.New(rand.NewPCG(13, 14)), 1)
	enum := mustPopulation(t, &s, PopulationOptions{QuadNodes: 8})
	if enum.Mode() != PopulationEnumerate {
		t.Fatalf("auto mode chose %s for P = 8, want enumerate", enum.Mode())
	}
	ge := s.Shape().New()
	exact, _ := enum.LossGrad(c, ge)
	crn := mustPopulation(t, &s, PopulationOptions{Mode: "crn", CRNSamples: 4096, Seed: 1})
	gc := s.Shape().New()
	est, se := crn.LossGrad(c, gc)
	if se <= 0 {
		t.Fatalf("CRN stderr = %g, want > 0", se)
	}
	if z := (est - exact) / se; !(math.Abs(z) <= 4) {
		t.Errorf("CRN loss %.6g ± %.3g vs enumeration %.6g: z-score %.2f", est, se, exact, z)
	}
	gse := s.Shape().New()
	crn.GradStdErr(c, gse)
	xe, xc, xs := ge.Flat(), gc.Flat(), gse.Flat()
	sumZ2, nz := 0.0, 0
	for i := range xe {
		if xs[i] == 0 {
			if xc[i] != 0 || xe[i] != 0 {
				t.Errorf("coordinate %d: zero stderr but gradient %g (enumeration %g)", i, xc[i], xe[i])
			}
			continue
		}
		z := (xc[i] - xe[i]) / xs[i]
		if !(math.Abs(z) <= 5) {
			t.Errorf("gradient coordinate %d: CRN %.6g ± %.3g vs enumeration %.6g (z = %.2f)", i, xc[i], xs[i], xe[i], z)
		}
		sumZ2, nz = sumZ2+z*z, nz+1
	}
	t.Logf("RMS z over %d coordinates: %.3f", nz, math.Sqrt(sumZ2/float64(nz)))
	small := mustPopulation(t, &s, PopulationOptions{Mode: "crn", CRNSamples: 1024, Seed: 1})
	_, seSmall := small.LossGrad(c, gc)
	if r := seSmall / se; r < 1.6 || r > 2.5 {
		t.Errorf("stderr(1024)/stderr(4096) = %.3f, want ≈ 2 (in [1.6, 2.5])", r)
	}
	// Enumeration's GradStdErr is zero.
	enum.GradStdErr(c, gse)
	if a, b := gse.MaxAbs(); a != 0 || b != 0 {
		t.Errorf("enumeration GradStdErr nonzero: %g, %g", a, b)
	}
}

// TestPopulationBitIdentical: CRN and enumeration results are bit-identical
// at GOMAXPROCS 1, 2 and 3 (compareProcs).
func TestPopulationBitIdentical(t *testing.T) {
	s, _ := theory.Preset("grid4")
	c := randomCorr(&s, rand.New(rand.NewPCG(1, 5)), 0.5)
	compareProcs(t, "grid4 CRN", &s, mustPopulation(t, &s, PopulationOptions{Mode: "crn", CRNSamples: 2000, Seed: 3}), c)
	s.Z = theory.ZLaw{Kind: theory.ZConstant, L: 1, U: 1}
	s.P = 9
	s.Side = 3
	s.Clusters = []theory.Cluster{{Areas: []int{0, 0, 1, 0, 0, 1, 2, 2, 1}, Prob: 1}}
	c = randomCorr(&s, rand.New(rand.NewPCG(1, 6)), 0.5)
	o := mustPopulation(t, &s, PopulationOptions{})
	if o.Mode() != PopulationEnumerate || o.NumTerms() != 511 {
		t.Errorf("P = 9 constant z: mode %s with %d terms, want enumerate with 2^9 − 1 = 511", o.Mode(), o.NumTerms())
	}
	compareProcs(t, "P = 9 enumeration", &s, o, c)
}

// TestPopulationOptionErrors checks that bad options are refused with the
// option's name.
func TestPopulationOptionErrors(t *testing.T) {
	s, _ := theory.Preset("default")
	for _, tc := range []struct {
		opt  PopulationOptions
		want string
	}{
		{PopulationOptions{Mode: "exact"}, "Mode"},
		{PopulationOptions{QuadNodes: -1}, "QuadNodes"},
		{PopulationOptions{QuadNodes: MaxQuadNodes + 1}, "QuadNodes"},
		{PopulationOptions{CRNSamples: 1}, "CRNSamples"},
		{PopulationOptions{CRNSamples: MaxCRNSamples + 1}, "CRNSamples"},
		{PopulationOptions{Mode: "enumerate"}, "enumerate"},
	} {
		_, err := NewPopulationObjective(&s, tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("options %+v: error %v, want one naming %s", tc.opt, err, tc.want)
		}
	}
	g4, _ := theory.Preset("grid4")
	o := mustPopulation(t, &g4, PopulationOptions{})
	if o.Mode() != PopulationCRN || o.NumTerms() != DefaultCRNSamples {
		t.Errorf("grid4 (uniform z, 4^4 nodes × 2^16 masks) auto: %s with %d terms, want crn with %d", o.Mode(), o.NumTerms(), DefaultCRNSamples)
	}
	if n, ok := CountTerms(&g4, 4); ok || n != (65535*256+65535*16) {
		t.Errorf("grid4 CountTerms = %g, %v; want 65535·(4^4 + 4^2), false", n, ok)
	}
}

// TestGradOnIsGradStdErr checks GradOn against statistics computed here
// from the values lin is handed, one call per sample (recorded at
// GOMAXPROCS 1): its mean is lin of LossGrad's gradient, bit for bit, and
// its standard error the two-pass standard deviation of the first
// gradOnSESamples samples' values over √n (n = 1500 draws, so the subset
// is a proper one), within the rounding of sums of m terms (m·u·Σ|x|, a
// stated bound per coordinate). GradStdErr is GradOn's standard errors,
// and GradOn's bits do not depend on GOMAXPROCS. The coordinates are
// shifted by 10³ so that a one-pass variance without its shift would
// cancel to nothing.
func TestGradOnIsGradStdErr(t *testing.T) {
	s, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	o := mustPopulation(t, &s, PopulationOptions{Mode: PopulationCRN, CRNSamples: 1500, Seed: 3})
	c := s.Shape().New()
	rng := theory.NewRand(5, 1)
	for i := range c.Flat() {
		c.Flat()[i] = 0.3 * rng.NormFloat64()
	}
	g, se := s.Shape().New(), s.Shape().New()
	o.LossGrad(c, g)
	o.GradStdErr(c, se)
	D := len(c.Flat())
	var seen [][]float64
	record := true // only at GOMAXPROCS 1, where lin is called in turn
	lin := func(x theory.Correlations, out []float64) {
		for i, v := range x.Flat() {
			out[i] = v + 1e3
		}
		if record {
			seen = append(seen, slices.Clone(out))
		}
	}
	run := func(procs int) (mean, sd []float64) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		mean, sd = make([]float64, D), make([]float64, D)
		o.GradOn(c, lin, mean, sd)
		return mean, sd
	}
	mean, sd := run(1)
	seen = seen[2:] // the first call is LossGrad's gradient, the second the shift's
	if len(seen) != min(gradOnSESamples, o.NumTerms()) || len(seen) == o.NumTerms() {
		t.Fatalf("lin saw %d samples, want the first %d of %d", len(seen), gradOnSESamples, o.NumTerms())
	}
	n, m := float64(o.NumTerms()), float64(len(seen))
	const u = 0x1p-53
	for i := range D {
		if mean[i] != g.Flat()[i]+1e3 {
			t.Errorf("coordinate %d: GradOn mean − 10³ = %.17g, LossGrad %.17g", i, mean[i]-1e3, g.Flat()[i])
		}
		avg := 0.0
		for _, x := range seen {
			avg += x[i]
		}
		avg /= m
		v, dev := 0.0, 0.0
		for _, x := range seen {
			v += (x[i] - avg) * (x[i] - avg)
			dev += math.Abs(x[i] - seen[0][i])
		}
		v /= m - 1
		// The variances: both sum m squares of deviations bounded by dev's
		// terms; rounding m·u relative to Σ dev² ≤ (Σ dev)².
		if d := math.Abs(sd[i]*sd[i]*n - v); d > 4*m*u*dev*dev/(m-1)+1e-300 {
			t.Errorf("coordinate %d: GradOn variance %.17g, two-pass %.17g", i, sd[i]*sd[i]*n, v)
		}
	}
	record = false
	identity := func(x theory.Correlations, out []float64) { copy(out, x.Flat()) }
	m1, s1 := make([]float64, D), make([]float64, D)
	o.GradOn(c, identity, m1, s1)
	if !slices.Equal(s1, se.Flat()) {
		t.Error("GradStdErr is not GradOn's standard errors")
	}
	mean3, sd3 := run(3)
	if !slices.Equal(mean, mean3) || !slices.Equal(sd, sd3) {
		t.Error("GradOn differs between GOMAXPROCS 1 and 3")
	}
}

// TestHessVecStepAndNaN: HessVec's step is δ = ε^{1/3}·max(1, ‖x‖∞)/‖v‖∞
// (recomputed here with math.Max, bit for bit through the central
// difference of At), and a NaN in v or in x makes every entry NaN — never
// a silent zero.
func TestHessVecStepAndNaN(t *testing.T) {
	s, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	obj := mustSample(t, &s, s.Samples(1, 8))
	g := NewGradient(s.Shape(), obj)
	n := s.Shape().Len()
	rng := rand.New(rand.NewPCG(4, 5))
	x, v := make([]float64, n), make([]float64, n)
	for i := range x {
		x[i], v[i] = 3*rng.NormFloat64(), rng.NormFloat64()
	}
	got := make([]float64, n)
	g.HessVec(x, v, got)
	vmax, xmax := 0.0, 1.0
	for i := range v {
		vmax, xmax = math.Max(vmax, math.Abs(v[i])), math.Max(xmax, math.Abs(x[i]))
	}
	// hessStep is ∛(2⁻⁵²) to float64 rounding (within u): its computed cube
	// is within 3u (that rounding, cubed) + 2u (the two products) of 2⁻⁵²,
	// and the division by 2⁻⁵² is exact.
	if r := hessStep * hessStep * hessStep / 0x1p-52; math.Abs(r-1) > 5*0x1p-53 {
		t.Fatalf("hessStep³ = %v·2⁻⁵²", r)
	}
	d := hessStep * xmax / vmax
	xp, xm, gp, gm := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range x {
		xp[i], xm[i] = x[i]+d*v[i], x[i]-d*v[i]
	}
	g.At(xp, gp)
	g.At(xm, gm)
	for i := range got {
		if want := (gp[i] - gm[i]) / (2 * d); got[i] != want {
			t.Fatalf("entry %d: HessVec %v, central difference at δ = %v: %v", i, got[i], d, want)
		}
	}
	for _, bad := range []*[]float64{&v, &x} {
		keep := (*bad)[3]
		(*bad)[3] = math.NaN()
		g.HessVec(x, v, got)
		for i, h := range got {
			if !math.IsNaN(h) {
				t.Fatalf("a NaN in the input: entry %d is %v, want NaN", i, h)
			}
		}
		(*bad)[3] = keep
	}
}
