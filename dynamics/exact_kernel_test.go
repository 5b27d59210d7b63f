package dynamics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"mimverify/theory"
)

// TestLossGradBitsAcrossGOMAXPROCS checks that the kernel's loss, per-term
// losses and gradient have the same bits at GOMAXPROCS 1, 2 and 3
// (compareProcs): the row blocks and term chunks, functions of P and the
// number of terms only, not the workers, fix the summation order. It covers
// both key modes on default (P = 64: 4 row blocks) with 300 samples (3 term
// chunks per block, partial rows summed in chunk order) and with 40 (one
// chunk, rows written directly), a state whose softmax is sharp enough that
// some queries take the direct log-sum-exp path, and an enumerated
// population.
func TestLossGradBitsAcrossGOMAXPROCS(t *testing.T) {
	type objective struct {
		name string
		s    theory.Setting
		o    Objective
	}
	var objs []objective
	for _, n := range []struct{ samples, chunks int }{{300, 3}, {40, 1}} {
		for _, keys := range []theory.KeyMode{theory.KeysUnmasked, theory.KeysAll} {
			s, err := theory.Preset("default")
			if err != nil {
				t.Fatal(err)
			}
			s.Keys = keys
			o := mustSample(t, &s, s.Samples(11, n.samples))
			if o.ws.nblk != 4 || o.ws.tch != n.chunks {
				t.Fatalf("default, %d samples: %d row blocks × %d term chunks, want 4 × %d", n.samples, o.ws.nblk, o.ws.tch, n.chunks)
			}
			objs = append(objs, objective{fmt.Sprintf("default/%s/n=%d", keys, n.samples), s, o})
		}
	}
	// An enumerated population on a 3×3 grid (511 masks × two-point z).
	g3, err := theory.Grid(3, theory.Blocks(2), theory.Rows(1))
	if err != nil {
		t.Fatal(err)
	}
	g3.Z = theory.ZLaw{Kind: theory.ZTwoPoint, L: 0.5, U: 1.5}
	pop, err := NewPopulationObjective(&g3, PopulationOptions{Mode: PopulationEnumerate})
	if err != nil {
		t.Fatal(err)
	}
	objs = append(objs, objective{"3×3 population", g3, pop})
	for _, ob := range objs {
		for _, sigma := range []float64{0.7, 400} { // 400: factored weights underflow for some queries
			c := randomCorr(&ob.s, rand.New(rand.NewPCG(5, uint64(sigma))), sigma)
			d0 := directQueries.Load()
			compareProcs(t, fmt.Sprintf("%s σ=%g", ob.name, sigma), &ob.s, ob.o, c)
			if d := directQueries.Load() - d0; (sigma > 100) != (d > 0) {
				t.Errorf("%s σ=%g: %d queries took the direct path", ob.name, sigma, d)
			}
		}
	}
}

// compareProcs checks that o's loss, standard error, gradient (finite) and
// per-term losses at c have the same bits at GOMAXPROCS 1, 2 and 3. o is a
// *SampleObjective or a *PopulationObjective (the per-term losses are read
// from its weighted set).
func compareProcs(t *testing.T, name string, s *theory.Setting, o Objective, c theory.Correlations) {
	t.Helper()
	var ws *weightedSet
	switch o := o.(type) {
	case *SampleObjective:
		ws = o.ws
	case *PopulationObjective:
		ws = o.ws
	default:
		t.Fatalf("%s: compareProcs does not know the per-term losses of a %T", name, o)
	}
	old := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(old)
	var ref []uint64
	ng := 0 // gradient entries
	for _, procs := range []int{1, 2, 3} {
		runtime.GOMAXPROCS(procs)
		g := s.Shape().New()
		l, se := o.LossGrad(c, g)
		// bits: loss, standard error, the gradient, then the per-term losses.
		bits := []uint64{math.Float64bits(l), math.Float64bits(se)}
		for _, x := range g.Flat() {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				t.Fatalf("%s GOMAXPROCS=%d: non-finite gradient entry %v", name, procs, x)
			}
			bits = append(bits, math.Float64bits(x))
		}
		ng = len(g.Flat())
		for _, x := range ws.losses {
			bits = append(bits, math.Float64bits(x))
		}
		if ref == nil {
			ref = bits
			continue
		}
		for i := range ref {
			if bits[i] != ref[i] {
				what := "loss"
				switch {
				case i == 1:
					what = "standard error"
				case i >= 2 && i < 2+ng:
					what = fmt.Sprintf("gradient entry %d", i-2)
				case i >= 2+ng:
					what = fmt.Sprintf("loss of term %d", i-2-ng)
				}
				t.Fatalf("%s: %s is %v at GOMAXPROCS=%d, %v at 1", name, what,
					math.Float64frombits(bits[i]), procs, math.Float64frombits(ref[i]))
			}
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
		if i := firstBitDiff(c1, c2, false); i >= 0 {
			t.Fatalf("scatter, trial %d, entry %d: %v vs %v", trial, i, c1[i], c2[i])
		}
	}
}

// TestRowMax checks rowMax (in AVX-512 from 8 elements, when the CPU has it)
// against a one-chain maximum on lengths 0–40 and 196 (P = 196), and on the
// values whose order could matter (±0, ±∞, NaN) at every position.
func TestRowMax(t *testing.T) {
	oneChain := func(x []float64) float64 {
		m := math.Inf(-1)
		for _, v := range x {
			m = max(m, v)
		}
		return m
	}
	r := rand.New(rand.NewPCG(1, 2))
	lengths := []int{196}
	for n := range 41 {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		for _, special := range []float64{math.Copysign(0, -1), 0, math.Inf(1), math.Inf(-1), math.NaN(), -1e300} {
			for pos := range n {
				x := make([]float64, n)
				for i := range x {
					x[i] = -r.Float64()
				}
				x[pos] = special
				if special == 0 && n > 1 { // both zeros: +0 must win wherever it is
					x[(pos+3)%n] = -special
				}
				got, want := rowMax(x), oneChain(x)
				if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
					t.Fatalf("rowMax(%v) = %v, one chain %v", x, got, want)
				}
			}
		}
	}
}
