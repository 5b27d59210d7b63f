package judge

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"mimverify/theory"
)

// The instrument self-check of C8 (docs/AGREEMENT.md §7): its bound holds
// on random states at several shifts, it sees a score moved by far less
// than a unit, a non-finite measurement fails C8, and on the presets it
// passes at the main run's last record.

// bigExp returns e^x to 256 bits: the Taylor series of x/2¹² squared 12
// times (|x/2¹²| < 0.2, so 50 terms reach 2⁻²⁵⁶ and the squarings lose 12
// of the 256 bits).
func bigExp(x float64) *big.Float {
	const prec = 256
	r := new(big.Float).SetPrec(prec).SetFloat64(x)
	r.SetMantExp(r, -12)
	sum := new(big.Float).SetPrec(prec).SetInt64(1)
	term := new(big.Float).SetPrec(prec).SetInt64(1)
	for k := int64(1); k <= 50; k++ {
		term.Mul(term, r)
		term.Quo(term, new(big.Float).SetPrec(prec).SetInt64(k))
		sum.Add(sum, term)
	}
	for range 12 {
		sum.Mul(sum, sum)
	}
	return sum
}

// The bound allows math.Exp a relative error of κu (expKappa) where its
// result is normal, and 2⁻¹⁰⁷³ where it underflows: checked here against
// a 256-bit reference on the arguments attend meets (≤ 0), on the machine
// that runs the tests (the amd64 assembly documents no error bound).
func TestExpAccuracy(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 2000
	}
	rng := rand.New(rand.NewPCG(3, 5))
	worstRel, worstX := 0.0, 0.0
	for i := range n {
		// A third near 0 (the largest masses), a third over exp's normal
		// range, a third where it underflows.
		x := [3]float64{-40 * rng.Float64(), -708 * rng.Float64(), -708 - 38*rng.Float64()}[i%3]
		ref := bigExp(x)
		diff, _ := new(big.Float).Sub(new(big.Float).SetPrec(256).SetFloat64(math.Exp(x)), ref).Float64()
		want, _ := ref.Float64()
		if want < 0x1p-1022 {
			if math.Abs(diff) > 0x1p-1073 {
				t.Errorf("Exp(%v): error %g beyond 2⁻¹⁰⁷³ in the subnormal range", x, diff)
			}
			continue
		}
		if rel := math.Abs(diff) / want / 0x1p-53; rel > worstRel {
			worstRel, worstX = rel, x
		}
	}
	t.Logf("largest relative error of math.Exp over %d arguments: %.3f u (at %v); the bound allows κ = %d u", n, worstRel, worstX, expKappa)
	if worstRel > expKappa {
		t.Errorf("math.Exp's relative error %.3f u exceeds κ = %d u: the instrument bound's derivation does not hold here", worstRel, expKappa)
	}
}

// randomState returns a state of s with entries uniform in ±scale.
func randomState(s *theory.Setting, rng *rand.Rand, scale float64) theory.Correlations {
	c := s.Shape().New()
	for i := range c.Flat() {
		c.Flat()[i] = scale * (2*rng.Float64() - 1)
	}
	return c
}

// instrumentSettings are grid4 in both key modes and a P = 8 setting of
// two areas (a single key per area is common there: masses near 0 and 1).
func instrumentSettings(t *testing.T) map[string]theory.Setting {
	t.Helper()
	grid, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	all := grid
	all.Keys = theory.KeysAll
	if err := all.Validate(); err != nil {
		t.Fatal(err)
	}
	return map[string]theory.Setting{"grid4": grid, "grid4 keys all": all, "eight": eightSetting()}
}

// The bound holds on random states for shifts of 10³ (the check's), −10³
// and 10⁵, with scores from O(1) to O(100): the measured deviation is
// nonzero (the shift does cost rounding) and below the bound, whose
// tightness the log reports.
func TestSoftmaxShiftBoundHolds(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	worst, any := 0.0, false
	for name, s := range instrumentSettings(t) {
		samples := s.Samples(1, 64)
		for _, scale := range []float64{0.5, 5, 40} {
			for _, shift := range []float64{instrumentShift, -instrumentShift, 1e5} {
				c := randomState(&s, rng, scale)
				env := instrumentEnv(&s, c, samples, shift)
				if !instrumentValid(env) {
					t.Fatalf("%s: the bound's validity condition fails at S = %g", name, env["S"])
				}
				bound := instrumentBound.MustEval(env)
				dev := shiftDeviation(&s, c, shiftPP(c, shift), samples)
				if !(dev <= bound) {
					t.Errorf("%s, entries ±%g, shift %g: deviation %.3g above the bound %.3g", name, scale, shift, dev, bound)
				}
				any = any || dev > 0
				worst = math.Max(worst, dev/bound)
			}
		}
	}
	if !any {
		t.Errorf("no shift changed any mass: the comparison sees no rounding at all, so it is not comparing two measurements")
	}
	t.Logf("largest deviation / bound over the random states: %.3f", worst)
}

// A score moved by 10⁻⁹ in one query of one image — far less than any
// fault worth the name — moves that query's masses far beyond the bound;
// a measurement that overflows makes the deviation +Inf, and C8 then
// fails rather than being left undecided.
func TestSoftmaxShiftCatches(t *testing.T) {
	s := eightSetting()
	c := randomState(&s, rand.New(rand.NewPCG(1, 2)), 3)
	// Query 1 masked; keys 0 (area 0), 4 and 5 (area 1).
	smp := theory.Sample{Cluster: 0, Z: []float64{1, 1.5}, Mask: maskOf(0, 4, 5)}
	samples := []theory.Sample{smp}
	env := instrumentEnv(&s, c, samples, instrumentShift)
	bound := instrumentBound.MustEval(env)

	moved := shiftPP(c, instrumentShift)
	moved.B[1][4] += 1e-9 // ≈ 10⁴ ulps of 1000, where the shifted scores lie
	if dev := shiftDeviation(&s, c, moved, samples); !(dev > bound) {
		t.Errorf("one score moved by 10⁻⁹: deviation %.3g, not above the bound %.3g", dev, bound)
	}

	broken := shiftPP(c, instrumentShift)
	broken.B[1][0] = math.Inf(1) // exp(+Inf − +Inf): the masses are NaN
	if dev := shiftDeviation(&s, c, broken, samples); !math.IsInf(dev, 1) {
		t.Errorf("a NaN mass gives deviation %v, want +Inf", dev)
	}

	ev := &Evidence{Setting: &s, Env: s.Env(), Agreement: []AgreementCheck{
		{Name: "instrument", Measured: math.Inf(1), Bound: instrumentBound, Env: env}}}
	c8 := claimByID("C8")
	if res := Evaluate(&c8, ev); res.Verdict != Fails {
		t.Errorf("C8 with a non-finite instrument deviation: %s (%s), want fails", res.Verdict, res.Detail)
	}
}

// softmaxShiftCheck refuses what it cannot measure instead of panicking.
func TestSoftmaxShiftCheckBadInput(t *testing.T) {
	s := eightSetting()
	rec := &theory.Record{Correlations: s.Shape().New()}
	samples := s.Samples(1, 4)
	if _, ok := softmaxShiftCheck(&s, rec, nil); ok {
		t.Error("no samples: want no check")
	}
	other := twoAreaSetting(theory.KeysUnmasked)
	if _, ok := softmaxShiftCheck(&other, rec, samples); ok {
		t.Error("a state of another shape: want no check")
	}
	bad := s.Shape().New()
	bad.B[0][0] = math.NaN()
	if _, ok := softmaxShiftCheck(&s, &theory.Record{Correlations: bad}, samples); ok {
		t.Error("a NaN in the state: want no check (S is not finite)")
	}
}

// On default and global-local, at the main run's last record on the CLI's
// 256 training samples, the check is part of C8 and within its bound; its
// cost is that of two measurements of one record. (C8's other checks are
// asserted elsewhere: this test fails for the instrument alone.)
func TestSoftmaxShiftCheckOnPresets(t *testing.T) {
	if testing.Short() {
		t.Skip("two main runs")
	}
	for _, preset := range []string{"default", "global-local"} {
		s, err := theory.Preset(preset)
		if err != nil {
			t.Fatal(err)
		}
		opt := Options{Claims: []string{"C8"}}
		opt.defaults()
		r := newRun(&s, opt)
		if err := r.gather(); err != nil {
			t.Fatal(err)
		}
		n := len(r.ev.Agreement)
		if n == 0 {
			t.Fatalf("%s: no agreement checks (%s)", preset, r.ev.AgreementNote)
		}
		a := r.ev.Agreement[n-1]
		if a.Bound.String() != instrumentBound.String() {
			t.Fatalf("%s: the last agreement check is %q, not the instrument's", preset, a.Name)
		}
		if !(a.Measured <= a.Predicted()) {
			t.Errorf("%s: %s = %.3g above the bound %.3g", preset, a.Quantity, a.Measured, a.Predicted())
		}
		start := time.Now()
		softmaxShiftCheck(r.s, r.ev.Main.Final(), r.problem.Samples)
		took := time.Since(start)
		t.Logf("%s: %s; %s = %.3g, bound %s = %.3g (ratio %.3f); %.1f ms",
			preset, a.Name, a.Quantity, a.Measured, a.Bound, a.Predicted(), a.Measured/a.Predicted(), took.Seconds()*1e3)
	}
}
