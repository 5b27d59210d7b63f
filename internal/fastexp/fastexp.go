// Package fastexp is the project's exponential of non-positive arguments,
// taken a slice at a time: e^{v − max} in every softmax that shifts its
// scores by their maximum (the exact kernel's e^B table and per-query
// factors, the orbit engine's draws, the full model's attention, the
// judge's measurement). NonPos runs eight at a time in AVX-512 where the CPU
// has it and gives the bits of its portable definition everywhere.
package fastexp

import "math"

// table[i] = 2^{i/16} (math.Exp2: within 1.005u, TestNonPos). Sixteen
// entries, not 64: the vector code reads an entry by one permute of two
// registers instead of four permutes and three blends, and pays for it with
// two more polynomial terms (issue 27: 27 instructions per eight
// exponentials instead of 37).
var table = func() (t [16]float64) {
	for i := range t {
		t[i] = math.Exp2(float64(i) / 16)
	}
	return
}()

// Table returns the table of 2^{i/16} that nonPosGo uses, for assembly
// elsewhere that inlines its exponential (the exact kernel's vector path,
// dynamics/exact_kernel_vec_amd64.s), so that both read the same entries.
func Table() *[16]float64 { return &table }

// nonPosGo's constants: the argument reduction's (ln2 split into hi, with
// 32 significant bits, and lo) and the rounding shift 1.5·2⁵².
const (
	invLn2N = 16 / math.Ln2
	ln2hiN  = 6.93147180369123816490e-01 / 16
	ln2loN  = 1.90821492927058770002e-10 / 16
	shift   = 0x1.8p52
)

// consts holds nonPosGo's constants as the assembly reads them, one entry
// each in this order: 16/ln2, the shift, ln2hi/16, ln2lo/16, the
// polynomial's 1, 1/2, 1/6, 1/24, 1/120, the argument's lower bound −708,
// then the polynomial's 1/720 and 1/5040. It is the one place they are
// written out for the assembly (fastexp_amd64.s, and through Consts
// dynamics/exact_kernel_vec_amd64.s).
var consts = [12]float64{invLn2N, shift, ln2hiN, ln2loN, 1, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, -708, 1.0 / 720, 1.0 / 5040}

// Consts returns nonPosGo's constants in the assembly's order (consts),
// for assembly elsewhere that inlines the exponential.
func Consts() *[12]float64 { return &consts }

// nonPosGo sets every entry v of x to e^v, to within 4.4u relative
// (u = 2⁻⁵³; 4.9e-16) for v ∈ (−708, 0] (TestNonPos); below −708 (near
// underflow), NaN, or above 0 it defers to math.Exp. With k = round(16v/ln2)
// = 16m + i, i ∈ [0, 16), and r = v − k·ln2/16 (|r| ≤ (1 + 3e-11)·ln2/32,
// the excess from the rounding of v·16/ln2), e^v = 2^m · 2^{i/16} · e^r,
// 2^{i/16} from table and e^r from a degree-7 polynomial by Estrin's scheme.
// The relative error, term by term:
//   - table entry: math.Exp2(i/16), within 1.005u of 2^{i/16} (all 16
//     entries measured against 300-bit values, TestNonPos);
//   - reduction: k·ln2hi/16 is exact (ln2hi has 32 significant bits, |k| <
//     2¹⁵) and so is v minus it (Sterbenz); the last subtraction, the
//     rounding of k·ln2lo/16 and the < 2⁻⁸⁶ left of ln2 by hi + lo move r by
//     < 0.006u absolutely, so e^r by < 0.006u relatively;
//   - polynomial: truncation |r|⁸/8!·e^|r| < 1.3e-18 (0.012u); the roundings
//     of 1 + r and of the final sum, each ≤ u relative to the result (in
//     [0.978, 1.022]); the other roundings act on terms < 2.4e-4 (< 0.001u);
//   - product 2^{i/16}·p: u; the scaling by 2^m adds m to the exponent bits,
//     exactly (e^v > e^{−708} is a normal number, and so is 2^{i/16}·p with
//     m = −1022 only when i ≥ 9).
//
// Sum: 1.005 + 0.006 + 0.012 + 2 + 0.001 + 1 = 4.02u; the products of these
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
		p := (1 + r) + float64(r2*((1.0/2+float64(r*(1.0/6)))+
			float64(r2*((1.0/24+float64(r*(1.0/120)))+float64(r2*(1.0/720+float64(r*(1.0/5040))))))))
		t := table[k&15] * p
		x[i] = math.Float64frombits(math.Float64bits(t) + uint64(k>>4)<<52)
	}
}
