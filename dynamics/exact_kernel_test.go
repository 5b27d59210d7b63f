package dynamics

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"mimverify/theory"
)

// TestSampleBitIdentical checks that the loss and gradient are bit-identical
// at GOMAXPROCS 1 and 2 (the chunk size does not depend on it).
func TestSampleBitIdentical(t *testing.T) {
	s, err := theory.Preset("default")
	if err != nil {
		t.Fatal(err)
	}
	s.Keys = theory.KeysAll
	o := mustSample(t, &s, s.Samples(3, 300))
	c := randomCorr(&s, rand.New(rand.NewPCG(3, 4)), 0.5)
	compareProcs(t, &s, o, c)
}

func compareProcs(t *testing.T, s *theory.Setting, o Objective, c theory.Correlations) {
	t.Helper()
	old := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(old)
	g1 := s.Shape().New()
	l1, se1 := o.LossGrad(c, g1)
	runtime.GOMAXPROCS(2)
	g2 := s.Shape().New()
	l2, se2 := o.LossGrad(c, g2)
	if l1 != l2 || se1 != se2 {
		t.Errorf("loss %v±%v at GOMAXPROCS=1, %v±%v at 2", l1, se1, l2, se2)
	}
	x1, x2 := g1.Flat(), g2.Flat()
	for i := range x1 {
		if x1[i] != x2[i] {
			t.Fatalf("gradient coordinate %d: %v at GOMAXPROCS=1, %v at 2", i, x1[i], x2[i])
		}
	}
}

// TestSampleObjectiveErrors checks the constructor's validation.
func TestSampleObjectiveErrors(t *testing.T) {
	s, _ := theory.Preset("grid4")
	if _, err := NewSampleObjective(&s, nil); err == nil {
		t.Error("empty sample set accepted")
	}
	bad := s.Samples(1, 2)
	bad[1].Z = bad[1].Z[:1]
	if _, err := NewSampleObjective(&s, bad); err == nil {
		t.Error("sample with a wrong z length accepted")
	}
	bad = s.Samples(1, 2)
	bad[0].Cluster = 5
	if _, err := NewSampleObjective(&s, bad); err == nil {
		t.Error("sample with a bad cluster accepted")
	}
}

// TestSampleNoAllocs checks that LossGrad does not allocate per sample.
func TestSampleNoAllocs(t *testing.T) {
	s, _ := theory.Preset("default")
	old := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(old)
	o := mustSample(t, &s, s.Samples(1, 128))
	c := s.Shape().New()
	g := s.Shape().New()
	if n := testing.AllocsPerRun(5, func() { o.LossGrad(c, g) }); n != 0 {
		t.Errorf("LossGrad allocates %v times per call at GOMAXPROCS=1, want 0", n)
	}
}

// TestSampleLargeScores checks the loss when the factored softmax weights
// exp(z_j A_j − m_A)·exp(B_q − m_B) underflow (the key with the largest B
// lies in the area with the smallest z·A, by hundreds of units), which
// forces the direct log-sum-exp path, against the closed form.
func TestSampleLargeScores(t *testing.T) {
	s := threePositions(t)
	z0, z1 := 0.7, 1.3
	c := s.Shape().New()
	c.A[0][0][0], c.A[0][0][1] = 800/z0, 0 // z·A: 800 on area 0, 0 on area 1
	c.B[0][1], c.B[0][2] = -1000, 0        // key 1 (area 0) far below key 2 (area 1)
	// Scores: s1 = 800 − 1000 = −200, s2 = 0. Both factored weights,
	// e^{0}·e^{−1000} and e^{−800}·e^{0}, underflow to 0.
	pi1 := 1 / (1 + math.Exp(200))
	pi2 := 1 - pi1
	want := 0.5 * ((pi1*z0-z0)*(pi1*z0-z0) + (pi2*z1)*(pi2*z1))
	o := mustSample(t, &s, []theory.Sample{{Cluster: 0, Z: []float64{z0, z1}, Mask: []bool{true, false, false}}})
	if got := lossAt(o, c); !(math.Abs(got-want) <= 1e-14) {
		t.Errorf("loss %.17g, closed form %.17g", got, want)
	}
	// Now s1 = 800 − 750 = 50 dominates: π1 = 1/(1 + e^{−50}).
	c.B[0][1] = -750
	pi1 = 1 / (1 + math.Exp(-50))
	pi2 = 1 - pi1
	want = 0.5 * ((pi1*z0-z0)*(pi1*z0-z0) + (pi2*z1)*(pi2*z1))
	if got := lossAt(o, c); !(math.Abs(got-want) <= 1e-14) {
		t.Errorf("loss %.17g, closed form %.17g", got, want)
	}
}

// TestExpNonPos checks the kernel's exponential against math.Exp to 4 ulp
// (relative 8.9e-16) on [−708, 0], and its fallbacks.
func TestExpNonPos(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	worst := 0.0
	for i := range 200000 {
		var x float64
		switch i % 3 {
		case 0:
			x = -708 * rng.Float64()
		case 1:
			x = -rng.Float64()
		default:
			x = -20 * rng.Float64()
		}
		want, got := math.Exp(x), expNonPos(x)
		rel := math.Abs(got-want) / want
		worst = max(worst, rel)
		if !(rel <= 8.9e-16) {
			t.Fatalf("expNonPos(%.17g) = %.17g, math.Exp %.17g (rel %.3g)", x, got, want, rel)
		}
	}
	t.Logf("worst relative error %.3g", worst)
	for _, x := range []float64{0, -708, -709, -800, math.Inf(-1), 1, 3.5} {
		if got, want := expNonPos(x), math.Exp(x); !(got == want || math.Abs(got-want) <= 8.9e-16*want) {
			t.Errorf("expNonPos(%g) = %g, want %g", x, got, want)
		}
	}
	if !math.IsNaN(expNonPos(math.NaN())) {
		t.Error("expNonPos(NaN) is not NaN")
	}
}

// TestRowLoopsMatchGo checks that gatherRows and scatterRows (assembly on
// amd64, every variant the CPU has: exact_kernel_rows_amd64_test.go) give the
// same bits as the portable loops.
func TestRowLoopsMatchGo(t *testing.T) {
	checkRowLoops(t)
}

// checkRowLoops compares gatherRows and scatterRows with the portable loops
// on random tables and key lists (repeated keys, empty lists, odd and even
// lengths, signed values over many magnitudes).
func checkRowLoops(t *testing.T) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 8))
	const P = 53
	tab := make([]float64, P*rowBlock)
	for i := range tab {
		tab[i] = rng.NormFloat64() * math.Exp(rng.NormFloat64()*5)
	}
	for trial := range 200 {
		kp := make([]int32, rng.IntN(40)*min(trial, 1))
		for i := range kp {
			kp[i] = int32(rng.IntN(P))
		}
		var out1, out2, c [rowBlock]float64
		gatherRows(tab, kp, &out1)
		gatherRowsGo(tab, kp, &out2)
		if out1 != out2 {
			t.Fatalf("gather, trial %d: %v vs %v", trial, out1, out2)
		}
		for i := range c {
			c[i] = rng.NormFloat64()
		}
		c1, c2 := append([]float64(nil), tab...), append([]float64(nil), tab...)
		scatterRows(c1, kp, &c)
		scatterRowsGo(c2, kp, &c)
		for i := range c1 {
			if math.Float64bits(c1[i]) != math.Float64bits(c2[i]) {
				t.Fatalf("scatter, trial %d, entry %d: %v vs %v", trial, i, c1[i], c2[i])
			}
		}
	}
}

// TestExpNonPosSlice checks that the batched exponential gives the bits of
// expNonPos, including the arguments it defers to math.Exp.
func TestExpNonPosSlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	x := []float64{0, math.Copysign(0, -1), -708, -707.9, -745, -800, 1e-300, 3, math.Inf(-1), math.NaN()}
	for range 5000 {
		x = append(x, -rng.ExpFloat64()*math.Exp(rng.NormFloat64()*3))
	}
	// The edge values again, inside groups of eight of the AVX-512 path.
	for i, v := range []float64{-707.9999999, math.Copysign(0, -1), 0, -1e-300, -5e-324, -708, math.NaN(), 1e-300} {
		x[100+13*i] = v
	}
	y := append([]float64(nil), x...)
	expNonPosSlice(y)
	for i, v := range x {
		if w := expNonPos(v); math.Float64bits(w) != math.Float64bits(y[i]) && !(math.IsNaN(w) && math.IsNaN(y[i])) {
			t.Fatalf("expNonPosSlice(%v) = %v, expNonPos = %v", v, y[i], w)
		}
	}
}
