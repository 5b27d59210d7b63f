package dynamics

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"testing"

	"mimverify/theory"
)

// TestCtrlRelBound checks the trapezoidal exponential sum of
// docs/ORBIT.md §4.1 against x^{−k} on a log grid of [Zmin, Zmax]: the
// relative error must be within ctrlRelBound plus the rounding of the sum
// of R positive terms (R·u), and the bound itself below 10⁻¹⁶ (the design:
// step 0.2, margins 40 and 50).
func TestCtrlRelBound(t *testing.T) {
	for _, zr := range [][2]float64{{1, 1}, {0.5, 50}, {1e-3, 1e3}, {1e-20, 1e-10}} {
		r0, r1 := ctrlNodes(zr[0], zr[1])
		R := float64(r1 - r0 + 1)
		for k := 1; k <= 3; k++ {
			bound := ctrlRelBound(k, ctrlStep, zr[0], zr[1], r0, r1)
			if bound > 1e-16 {
				t.Errorf("Z in %v, k = %d: bound %.3g > 1e-16", zr, k, bound)
			}
			worst := 0.0
			for i := 0; i <= 200; i++ {
				x := zr[0] * math.Pow(zr[1]/zr[0], float64(i)/200)
				sum := 0.0
				for r := r0; r <= r1; r++ {
					tt := float64(r) * ctrlStep
					sum += ctrlStep * math.Exp(float64(k)*tt-x*math.Exp(tt)) / math.Gamma(float64(k))
				}
				worst = max(worst, math.Abs(sum*math.Pow(x, float64(k))-1))
			}
			if tol := bound + R*0x1p-53; worst > tol {
				t.Errorf("Z in %v, k = %d: relative error %.3g > bound %.3g + rounding (%d nodes)", zr, k, worst, bound, r1-r0+1)
			}
		}
	}
}

// TestOrbitControlFactored compares the control variate's expectation
// factored over the areas (§4.1) with the tensor rule it replaces, on vit14
// (7-area clusters, 4^7 nodes) with both mask schemes and key modes, and on
// a two-point-z variant (the factored rule forced), at random states of
// three scales: loss and gradient must agree to 10⁻¹³ relative (loss) and
// relative to the largest gradient entry. The reason: the exponential sum's
// error is below 10⁻¹⁶ (TestCtrlRelBound); the tensor rule's own rounding,
// 16 384 nodes summed in order, is ≈ √n·u ≈ 10⁻¹⁴ (its worst case n·u is
// 2·10⁻¹²); the factored sums are of positive terms when z > 0.
func TestOrbitControlFactored(t *testing.T) {
	base, err := theory.Preset("vit14")
	if err != nil {
		t.Fatal(err)
	}
	type variant struct {
		name  string
		mod   func(*theory.Setting)
		force bool
	}
	variants := []variant{
		{"vit14", func(*theory.Setting) {}, false},
		{"vit14/keys-all", func(s *theory.Setting) { s.Keys = theory.KeysAll }, false},
		{"vit14/fixed", func(s *theory.Setting) { s.Mask = theory.MaskFixed }, false},
		{"vit14/fixed-all", func(s *theory.Setting) { s.Mask, s.Keys = theory.MaskFixed, theory.KeysAll }, false},
		{"vit14/two-point", func(s *theory.Setting) { s.Z.Kind = theory.ZTwoPoint }, true},
	}
	for _, v := range variants {
		s := base.Clone()
		v.mod(&s)
		if err := s.Validate(); err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		o, err := NewOrbit(&s, OrbitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		nf := forceControl(o, v.force)
		if nf == 0 {
			t.Fatalf("%s: no problem uses the factored control", v.name)
		}
		for _, sigma := range []float64{0.3, 1, 3} {
			compareControl(t, o, fmt.Sprintf("%s σ=%g", v.name, sigma), sigma)
		}
	}
}

// forceControl sets the factored control on every problem with a tensor
// control rule when force (else keeps NewOrbit's choice) and returns how
// many problems have it.
func forceControl(o *Orbit, force bool) int {
	n := 0
	for _, pr := range o.probs {
		if force && pr.ctrl == nil && pr.ctrl0 > 0 && pr.ctrl0 < len(pr.blocks) {
			zn, zw := zNodes1(&o.s, DefaultQuadNodes)
			G := len(pr.groups)
			mean := pr.counts[pr.blocks[pr.ctrl0].c0*G : (pr.blocks[pr.ctrl0].c0+1)*G]
			pr.ctrl = pr.newControl(zn, zw, mean)
		}
		if pr.ctrl != nil {
			n++
		}
	}
	return n
}

// compareControl evaluates o at a random state with the factored control
// and with the tensor rule and checks the agreement of TestOrbitControlFactored.
func compareControl(t *testing.T, o *Orbit, name string, sigma float64) {
	t.Helper()
	rng := theory.NewRand(11, 0)
	x := make([]float64, o.Dim())
	for i := range x {
		x[i] = sigma * rng.NormFloat64()
	}
	used := 0
	for _, pr := range o.probs {
		pr.setBWeights(x)
		if pr.ctrl != nil && pr.evalControl(x) {
			used++
		}
	}
	if used == 0 {
		t.Fatalf("%s: the factored rule fell back to the tensor rule on every problem", name)
	}
	g1, g2 := make([]float64, o.Dim()), make([]float64, o.Dim())
	l1, se1 := o.LossGrad(x, g1)
	saved := make([]*orbControl, len(o.probs))
	for i, pr := range o.probs {
		saved[i], pr.ctrl = pr.ctrl, nil
	}
	l2, se2 := o.LossGrad(x, g2)
	for i, pr := range o.probs {
		pr.ctrl = saved[i]
	}
	gmax, d := 0.0, 0.0
	for i := range g2 {
		gmax = max(gmax, math.Abs(g2[i]))
		d = max(d, math.Abs(g1[i]-g2[i]))
	}
	if math.IsNaN(l1) || math.Abs(l1-l2) > 1e-13*math.Abs(l2) || !(d <= 1e-13*gmax) {
		t.Errorf("%s: factored loss %.17g, tensor %.17g; gradient difference %.3g of %.3g", name, l1, l2, d, gmax)
	}
	if se1 != se2 {
		t.Errorf("%s: standard error %g factored, %g tensor (the samples are the same)", name, se1, se2)
	}
	t.Logf("%s: loss rel %.2g, gradient rel %.2g", name, math.Abs(l1-l2)/math.Abs(l2), d/gmax)
}

// TestOrbitCRNKernel compares the CRN samples' factored kernel
// (evalSamples, §4.2) with term on every CRN preset and on default and
// vit14 with keys "all" and fixed masks (512 samples: default's have the
// control pairs, vit14's not; and vit14 with 75, whose last chunk of draws
// is padded and whose 4-area problems have the pairs), at random states of scales 0.3 to 300 (the
// largest take term's underflow fallback; at 30 a masked-key sum formed as
// S·ΣY − Σ n·Y erred by 8·10⁻¹⁰ of the gradient, caught here): loss and
// gradient to 10⁻¹³ relative (loss; gradient relative to its largest
// entry), the standard error to 10⁻¹² relative. The reason: the same
// expression, rounded differently — per term a few ulps, summed over 2n
// terms of both signs (the pair F(z, n) − F(z, n̄)) whose totals are of the
// size of the result (√(2n)·u ≈ 10⁻¹⁴); the standard error is a difference
// of per-sample totals, hence the looser bound.
func TestOrbitCRNKernel(t *testing.T) {
	type variant struct {
		preset string
		mod    func(*theory.Setting)
		n      int // CRN samples (0: 512)
	}
	variants := []variant{
		{"default", func(*theory.Setting) {}, 0},
		{"default", func(s *theory.Setting) { s.Mask, s.Keys = theory.MaskFixed, theory.KeysAll }, 0},
		{"random-regions", func(*theory.Setting) {}, 0},
		{"vit14", func(*theory.Setting) {}, 0},
		{"vit14", func(s *theory.Setting) { s.Mask, s.Keys = theory.MaskFixed, theory.KeysAll }, 0},
		// A last chunk of 11 draws, padded to 16.
		{"vit14", func(s *theory.Setting) { s.Keys = theory.KeysAll }, 75},
	}
	for vi, v := range variants {
		s, err := theory.Preset(v.preset)
		if err != nil {
			t.Fatal(err)
		}
		v.mod(&s)
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		o, err := NewOrbit(&s, OrbitOptions{CRNSamples: cmp.Or(v.n, 512)})
		if err != nil {
			t.Fatal(err)
		}
		if o.Mode() != OrbitCRN {
			t.Fatalf("%s: mode %s, want crn", v.preset, o.Mode())
		}
		for _, sigma := range []float64{0.3, 1, 3, 30, 300} {
			rng := theory.NewRand(uint64(vi), 1)
			x := make([]float64, o.Dim())
			for i := range x {
				x[i] = sigma * rng.NormFloat64()
			}
			fast := 0
			for _, pr := range o.probs {
				if pr.fast {
					fast++
				}
			}
			if fast == 0 {
				t.Fatalf("%s: no problem takes the sample kernel", v.preset)
			}
			g1, g2 := make([]float64, o.Dim()), make([]float64, o.Dim())
			l1, se1 := o.LossGrad(x, g1)
			for _, pr := range o.probs {
				pr.fast = false
			}
			l2, se2 := o.LossGrad(x, g2)
			for _, pr := range o.probs {
				pr.fast = pr.crnFast()
			}
			gmax, d := 0.0, 0.0
			for i := range g2 {
				gmax = max(gmax, math.Abs(g2[i]))
				d = max(d, math.Abs(g1[i]-g2[i]))
			}
			name := fmt.Sprintf("%s/%d σ=%g", v.preset, vi, sigma)
			if math.IsNaN(l1) || math.Abs(l1-l2) > 1e-13*math.Abs(l2) || !(d <= 1e-13*gmax) || math.Abs(se1-se2) > 1e-12*se2 {
				t.Errorf("%s: kernel loss %.17g ± %.6g, term %.17g ± %.6g; gradient difference %.3g of %.3g", name, l1, se1, l2, se2, d, gmax)
			}
			t.Logf("%s: loss rel %.2g, gradient rel %.2g, se rel %.2g", name, math.Abs(l1-l2)/math.Abs(l2), d/gmax, math.Abs(se1-se2)/se2)
		}
	}
}

// TestOrbitParallelBits checks that the orbit objective's loss, standard
// error and gradient have the same bits at GOMAXPROCS 1, 2 and 3 (its
// problems run concurrently above orbitParallelWork), on vit14 (CRN, the
// factored control and sample kernel) and grid4 (exact enumeration).
func TestOrbitParallelBits(t *testing.T) {
	old := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(old)
	for _, name := range []string{"vit14", "grid4"} {
		s, err := theory.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		o, err := NewOrbit(&s, OrbitOptions{CRNSamples: 1024})
		if err != nil {
			t.Fatal(err)
		}
		if o.work < orbitParallelWork || len(o.probs) < 2 {
			t.Fatalf("%s: work %g with %d problems does not run in parallel", name, o.work, len(o.probs))
		}
		rng := theory.NewRand(5, 0)
		x := make([]float64, o.Dim())
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		var want []float64
		for _, procs := range []int{1, 2, 3} {
			runtime.GOMAXPROCS(procs)
			g := make([]float64, o.Dim())
			l, se := o.LossGrad(x, g)
			got := append([]float64{l, se}, g...)
			if want == nil {
				want = got
				continue
			}
			if i := firstBitDiff(got, want, false); i >= 0 {
				t.Fatalf("%s GOMAXPROCS=%d: output %d (0 loss, 1 stderr, then gradient) is %v, %v at 1", name, procs, i, got[i], want[i])
			}
		}
	}
}
