// Package fastexp is the project's exponential of non-positive arguments,
// taken a slice at a time: e^{v − max} in every softmax that shifts its
// scores by their maximum (the exact kernel's e^B table and per-query
// factors, the orbit engine's draws, the full model's attention, the
// judge's measurement). NonPos runs eight at a time in AVX-512 where the CPU
// has it and gives the bits of its portable definition everywhere.
package fastexp

import "math"

// table[i] = 2^{i/64} (math.Exp2: within 1.005u, TestNonPos).
var table = func() (t [64]float64) {
	for i := range t {
		t[i] = math.Exp2(float64(i) / 64)
	}
	return
}()

// Table returns the table of 2^{i/64} that nonPosGo uses, for assembly
// elsewhere that inlines its exponential (the exact kernel's vector path,
// dynamics/exact_kernel_vec_amd64.s), so that both read the same entries.
func Table() *[64]float64 { return &table }

// nonPosGo's constants: the argument reduction's (ln2 split into hi, with
// 32 significant bits, and lo) and the rounding shift 1.5·2⁵².
const (
	invLn2N = 64 / math.Ln2
	ln2hiN  = 6.93147180369123816490e-01 / 64
	ln2loN  = 1.90821492927058770002e-10 / 64
	shift   = 0x1.8p52
)

// consts holds nonPosGo's constants as the assembly reads them, one entry
// each in this order: 64/ln2, the shift, ln2hi/64, ln2lo/64, the
// polynomial's 1, 1/2, 1/6, 1/24, 1/120, and the argument's lower bound
// −708. It is the one place they are written out for the assembly
// (fastexp_amd64.s, and through Consts dynamics/exact_kernel_vec_amd64.s).
var consts = [10]float64{invLn2N, shift, ln2hiN, ln2loN, 1, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, -708}

// Consts returns nonPosGo's constants in the assembly's order (consts),
// for assembly elsewhere that inlines the exponential.
func Consts() *[10]float64 { return &consts }

// nonPosGo sets every entry v of x to e^v, to within 4.4u relative
// (u = 2⁻⁵³; 4.9e-16) for v ∈ (−708, 0] (TestNonPos); below −708 (near
// underflow), NaN, or above 0 it defers to math.Exp. With k = round(64v/ln2)
// = 64m + i, i ∈ [0, 64), and r = v − k·ln2/64 (|r| ≤ (1 + 3e-11)·ln2/128,
// the excess from the rounding of v·64/ln2), e^v = 2^m · 2^{i/64} · e^r, 2^{i/64} from
// table and e^r from a degree-5 polynomial by Estrin's scheme. The
// relative error, term by term:
//   - table entry: math.Exp2(i/64), within 1.005u of 2^{i/64} (all 64
//     entries measured against 300-bit values, TestNonPos);
//   - reduction: k·ln2hi/64 is exact (ln2hi has 32 significant bits, |k| <
//     2¹⁷) and so is v minus it (Sterbenz); the last subtraction, the
//     rounding of k·ln2lo/64 and the < 2⁻⁸⁶ left of ln2 by hi + lo move r by
//     < 0.006u absolutely, so e^r by < 0.006u relatively;
//   - polynomial: truncation |r|⁶/6!·e^|r| < 3.6e-17 (0.32u); the roundings
//     of 1 + r and of the final sum, each ≤ u relative to the result (in
//     [0.994, 1.006]); the other roundings act on terms < 1.5e-5 (< 0.001u);
//   - product 2^{i/64}·p: u; the scaling by 2^m adds m to the exponent bits,
//     exactly (e^v > e^{−708} is a normal number).
//
// Sum: 1.005 + 0.006 + 0.32 + 2 + 0.001 + 1 = 4.33u; the products of these
// small factors add O(u²): ≤ 4.4u. The float64 conversions forbid fused
// multiply-adds (GOAMD64=v3), which the assembly does not do either: the
// roundings are the ones counted. One loop: the exponentials are
// independent, and the loop lets the processor overlap them. It is several
// times faster than math.Exp; callers use it through NonPos, which runs
// eight at a time in AVX-512 when the CPU has it (fastexp_amd64.go).
func nonPosGo(x []float64) {
	for i, v := range x {
		if !(v > -708 && v <= 0) {
			x[i] = math.Exp(v)
			continue
		}
		kf := float64(v*invLn2N) + shift
		k := int64(math.Float64bits(kf) - math.Float64bits(shift))
		kf -= shift
		r := (v - float64(kf*ln2hiN)) - float64(kf*ln2loN)
		r2 := r * r
		p := (1 + r) + float64(r2*((1.0/2+float64(r*(1.0/6)))+float64(r2*(1.0/24+float64(r*(1.0/120))))))
		t := table[k&63] * p
		x[i] = math.Float64frombits(math.Float64bits(t) + uint64(k>>6)<<52)
	}
}
