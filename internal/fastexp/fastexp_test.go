package fastexp

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// relErrBound is the bound on the relative error of nonPosGo
// derived in its comment: 4.4u, u = 2⁻⁵³ (4.9e-16).
const relErrBound = 4.4 * 0x1p-53

// TestNonPos checks the exponential's definition (nonPosGo, one
// argument at a time) on (−708, 0]: against e^x computed to ~180 bits, to
// relErrBound (4.4u), on 3000 arguments; against math.Exp, which is
// itself within 1 ulp (≤ 2u relative), to 4.4u + 2u = 6.4u (7.1e-16), on
// 200000; and the 1.005u of the table entries its derivation uses (against
// 2^{i/16} to 300 bits). Then its fallbacks to math.Exp.
func TestNonPos(t *testing.T) {
	const u = 0x1p-53
	expNonPos := func(x float64) float64 {
		v := []float64{x}
		nonPosGo(v)
		return v[0]
	}
	// The table: 2^{1/16} by four square roots, then its powers.
	root := new(big.Float).SetPrec(300).SetInt64(2)
	for range 4 {
		root.Sqrt(root)
	}
	pow := new(big.Float).SetPrec(300).SetInt64(1)
	for i, e := range table {
		if rel := bigRelErr(e, pow); !(rel <= 1.005*u) {
			t.Errorf("table[%d] = %.17g: relative error %.3gu, the derivation assumes ≤ 1.005u", i, e, rel/u)
		}
		pow.Mul(pow, root)
	}
	rng := rand.New(rand.NewPCG(21, 22))
	arg := func(i int) float64 {
		switch i % 3 {
		case 0:
			return -708 * rng.Float64()
		case 1:
			return -rng.Float64()
		}
		return -20 * rng.Float64()
	}
	worst := 0.0
	for i := range 3000 {
		x := arg(i)
		got := expNonPos(x)
		rel := bigRelErr(got, bigExp(x))
		worst = max(worst, rel)
		if !(rel <= relErrBound) {
			t.Fatalf("expNonPos(%.17g) = %.17g: relative error %.3gu against the exact e^x, bound 4.4u", x, got, rel/u)
		}
	}
	t.Logf("worst relative error against the exact e^x: %.3gu", worst/u)
	worst = 0
	for i := range 200000 {
		x := arg(i)
		want, got := math.Exp(x), expNonPos(x)
		rel := math.Abs(got-want) / want
		worst = max(worst, rel)
		if !(rel <= relErrBound+2*u) {
			t.Fatalf("expNonPos(%.17g) = %.17g, math.Exp %.17g (rel %.3gu, bound 6.4u)", x, got, want, rel/u)
		}
	}
	t.Logf("worst relative error against math.Exp: %.3g (%.3gu)", worst, worst/u)
	for _, x := range []float64{0, -708, -709, -800, math.Inf(-1), 1, 3.5} {
		if got, want := expNonPos(x), math.Exp(x); !(got == want || math.Abs(got-want) <= (relErrBound+2*u)*want) {
			t.Errorf("expNonPos(%g) = %g, want %g", x, got, want)
		}
	}
	if !math.IsNaN(expNonPos(math.NaN())) {
		t.Error("expNonPos(NaN) is not NaN")
	}
}

// bigExp returns e^x, for |x| ≤ 708, to better than 2⁻¹⁸⁰ relative: the
// Taylor series at x/2¹⁰ (60 terms, remainder < 2⁻³⁰⁰) in 200-bit
// arithmetic, squared ten times (which multiplies its relative error by 2¹⁰).
func bigExp(x float64) *big.Float {
	const prec = 200
	y := new(big.Float).SetPrec(prec).SetMantExp(new(big.Float).SetFloat64(x), -10)
	sum := new(big.Float).SetPrec(prec).SetInt64(1)
	term := new(big.Float).SetPrec(prec).SetInt64(1)
	for n := 1; n <= 60; n++ {
		term.Mul(term, y)
		term.Quo(term, new(big.Float).SetInt64(int64(n)))
		sum.Add(sum, term)
	}
	for range 10 {
		sum.Mul(sum, sum)
	}
	return sum
}

// bigRelErr returns |got − want|/want.
func bigRelErr(got float64, want *big.Float) float64 {
	d := new(big.Float).SetPrec(want.Prec()).SetFloat64(got)
	d.Sub(d, want).Quo(d, want)
	f, _ := d.Float64()
	return math.Abs(f)
}

// TestNonPosSlice checks that the batched exponential (AVX-512 when the
// CPU has it) gives the bits of its definition nonPosGo, one
// argument at a time and over the whole slice, including the arguments it
// defers to math.Exp.
func TestNonPosSlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	x := []float64{0, math.Copysign(0, -1), -708, -707.9, -745, -800, 1e-300, 3, math.Inf(-1), math.NaN()}
	for range 5000 {
		x = append(x, -rng.ExpFloat64()*math.Exp(rng.NormFloat64()*3))
	}
	// The edge values again, inside groups of eight of the AVX-512 path.
	for i, v := range []float64{-707.9999999, math.Copysign(0, -1), 0, -1e-300, -5e-324, -708, math.NaN(), 1e-300} {
		x[100+13*i] = v
	}
	y, yGo := append([]float64(nil), x...), append([]float64(nil), x...)
	NonPos(y)
	nonPosGo(yGo)
	same := func(a, b float64) bool {
		return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
	}
	for i, v := range x {
		w := []float64{v}
		nonPosGo(w)
		if !same(w[0], y[i]) || !same(w[0], yGo[i]) {
			t.Fatalf("exp(%v): NonPos %v, nonPosGo %v over the slice, %v alone", v, y[i], yGo[i], w[0])
		}
	}
}
