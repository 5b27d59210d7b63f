//go:build amd64 && !purego

package dynamics

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:noescape
func gatherRowsAVX2(ebT *float64, kp *int32, nk int, out *[rowBlock]float64)

//go:noescape
func scatterRowsAVX2(cT *float64, kp *int32, nk int, c *[rowBlock]float64)

//go:noescape
func gatherRowsAVX512(ebT *float64, kp *int32, nk int, out *[rowBlock]float64)

//go:noescape
func scatterRowsAVX512(cT *float64, kp *int32, nk int, c *[rowBlock]float64)

// rowLoops selects the row loops: 2 for AVX-512, 1 for AVX2, 0 for the
// portable ones (a variable so that the tests can compare all three). The
// orbit engine's AVX-512 lane kernels and control moments read it too
// (orbit_crn_lanes_amd64.go), where only 2 (AVX-512) and not 2 differ.
var rowLoops = func() int {
	switch {
	case cpu.X86.HasAVX512F:
		return 2
	case cpu.X86.HasAVX2:
		return 1
	}
	return 0
}()

// gatherRows is gatherRowsGo, in AVX-512 or AVX2 when the CPU has it. The
// caller guarantees (checkRows) that ebT holds rowBlock entries for every key
// position in kp: the assembly does no bounds checks.
func gatherRows(ebT []float64, kp []int32, out *[rowBlock]float64) {
	switch {
	case len(kp) == 0 || rowLoops == 0:
		gatherRowsGo(ebT, kp, out)
	case rowLoops == 2:
		gatherRowsAVX512(&ebT[0], &kp[0], len(kp), out)
	default:
		gatherRowsAVX2(&ebT[0], &kp[0], len(kp), out)
	}
}

// scatterRows is scatterRowsGo, in AVX-512 or AVX2 when the CPU has it,
// under the same guarantee.
func scatterRows(cT []float64, kp []int32, c *[rowBlock]float64) {
	switch {
	case len(kp) == 0 || rowLoops == 0:
		scatterRowsGo(cT, kp, c)
	case rowLoops == 2:
		scatterRowsAVX512(&cT[0], &kp[0], len(kp), c)
	default:
		scatterRowsAVX2(&cT[0], &kp[0], len(kp), c)
	}
}

//go:noescape
func gatherGroupsAVX512(ebT *float64, kposX *uint16, koff *int32, ng int, tg *float64)

//go:noescape
func scatterGroupsAVX512(cT *float64, kpos *int32, koff *int32, ng int, cg *float64)

// checkGroups panics unless koff is a non-empty, non-decreasing list of
// offsets into kpos and tab holds rowBlock entries per group: the assembly
// relies on it (and on checkRows for the key positions).
func checkGroups(kpos, koff []int32, tab []float64) {
	ng := len(koff) - 1
	if ng < 1 || koff[0] < 0 || int(koff[ng]) > len(kpos) || koff[ng] < koff[0] || len(tab) < ng*rowBlock {
		panic("dynamics: key groups do not match their tables")
	}
}

// gatherGroups is gatherGroupsGo, in one AVX-512 call when the CPU has it,
// which reads the keys' offsets kposX[i] = kpos[i]·rowBlock, 16-bit values
// (ebT has at most 65 536 entries for P ≤ 4096; the portable loops take a
// larger one). The groups must be in increasing order of offset
// (addStructure).
func gatherGroups(ebT []float64, kpos []int32, kposX []uint16, koff []int32, tg []float64) {
	if rowLoops != 2 || len(ebT) > 1<<16 {
		gatherGroupsGo(ebT, kpos, koff, tg)
		return
	}
	checkGroups(kpos, koff, tg)
	if len(kposX) != len(kpos) {
		panic("dynamics: key offsets do not match the keys")
	}
	gatherGroupsAVX512(&ebT[0], unsafe.SliceData(kposX), &koff[0], len(koff)-1, &tg[0])
}

// scatterGroups is scatterGroupsGo, in one AVX-512 call when the CPU has it.
func scatterGroups(cT []float64, kpos, koff []int32, cg []float64) {
	if rowLoops != 2 {
		scatterGroupsGo(cT, kpos, koff, cg)
		return
	}
	checkGroups(kpos, koff, cg)
	scatterGroupsAVX512(&cT[0], unsafe.SliceData(kpos), &koff[0], len(koff)-1, &cg[0])
}

//go:noescape
func rowMaxAVX512(x *float64, n int) (m float64, special bool)

// rowMax is rowMaxGo, in AVX-512 when the CPU has it (e^B's row maxima were
// 2.5 % of the exact step at P = 196: Go's max handles NaN and the sign of
// zero at every element). The assembly takes the maximum with VMAXPD, which
// agrees with Go's max except on a NaN (it returns an operand, not
// necessarily the NaN) and on ±0 (it returns the second operand): where it
// met a NaN, or the maximum is a zero, rowMaxGo decides.
func rowMax(x []float64) float64 {
	if rowLoops == 2 && len(x) >= 8 {
		if m, special := rowMaxAVX512(&x[0], len(x)); !special && m != 0 {
			return m
		}
	}
	return rowMaxGo(x)
}

//go:noescape
func transposeIn8AVX512(dst *float64, src *float64, P int, ng int)

//go:noescape
func productOut8AVX512(rows *[8]*float64, ebT *float64, cT *float64, ng int)

// transposeIn is transposeInGo, eight rows by 8×8 transposes in AVX-512
// when the CPU has it (the scalar scatter and the product below were 5 %
// of the exact step at P = 196), the last P mod 8 columns and a block's
// last rows short of eight in Go. The assembly does no bounds checks: dst
// holds (P − 1)·rowBlock + 8 entries and src 8·P.
func transposeIn(dst, src []float64, P, nr int) {
	ng := P / 8
	if rowLoops != 2 || nr != 8 || ng == 0 {
		transposeInGo(dst, src, P, nr, 0)
		return
	}
	_, _ = dst[(P-1)*rowBlock+7], src[8*P-1]
	transposeIn8AVX512(&dst[0], &src[0], P, ng)
	transposeInGo(dst, src, P, 8, 8*ng)
}

// productOut is productOutGo, by 8×8 transposes in AVX-512 when the CPU has
// it (one multiplication per entry, as in Go: the same bits), under the
// same conditions as transposeIn.
func productOut(rows [][]float64, ebT, cT []float64, P int) {
	ng := P / 8
	if rowLoops != 2 || len(rows) != 8 || ng == 0 {
		productOutGo(rows, ebT, cT, P, 0)
		return
	}
	_, _ = ebT[(P-1)*rowBlock+7], cT[(P-1)*rowBlock+7]
	var ptr [8]*float64
	for r, row := range rows {
		ptr[r] = &row[:P][0]
	}
	productOut8AVX512(&ptr, &ebT[0], &cT[0], ng)
	productOutGo(rows, ebT, cT, P, 8*ng)
}

//go:noescape
func updateRowAVX512(x, grad *float64, n int, eta float64) float64

//go:noescape
func subRowAVX512(dst, src *float64, n int, m float64)

// subRow is subRowGo in AVX-512 when the CPU has it (the e^B rows' shift,
// 1.3 % of the exact step at P = 196 in Go).
func subRow(dst, src []float64, m float64) {
	if rowLoops != 2 || len(src) == 0 {
		subRowGo(dst, src, m)
		return
	}
	dst = dst[:len(src)]
	subRowAVX512(&dst[0], &src[0], len(src), m)
}

// updateRow is updateRowGo in AVX-512 when the CPU has it (2.9 % of the
// exact step at P = 196 in Go): each x − η·g as one multiplication and one
// subtraction, as in Go (the same bits); the sum of 0·x is ±0 or NaN exactly
// when updateRowGo's is, which is all its callers read.
func updateRow(x, g []float64, eta float64) float64 {
	if rowLoops != 2 || len(g) == 0 {
		return updateRowGo(x, g, eta)
	}
	x = x[:len(g)]
	return updateRowAVX512(&x[0], &g[0], len(g), eta)
}
