//go:build amd64 && !purego

package dynamics

import "golang.org/x/sys/cpu"

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
