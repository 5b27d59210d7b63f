//go:build amd64 && !purego

package dynamics

import "golang.org/x/sys/cpu"

//go:noescape
func gatherRowsAVX2(ebT *float64, kp *int32, nk int, out *[rowBlock]float64)

//go:noescape
func scatterRowsAVX2(cT *float64, kp *int32, nk int, c *[rowBlock]float64)

// haveAVX2 selects the assembly loops (the portable ones otherwise).
var haveAVX2 = cpu.X86.HasAVX2

// gatherRows is gatherRowsGo, in AVX2 when the CPU has it. The caller
// guarantees (checkRows) that ebT holds rowBlock entries for every key
// position in kp: the assembly does no bounds checks.
func gatherRows(ebT []float64, kp []int32, out *[rowBlock]float64) {
	if !haveAVX2 || len(kp) == 0 {
		gatherRowsGo(ebT, kp, out)
		return
	}
	gatherRowsAVX2(&ebT[0], &kp[0], len(kp), out)
}

// scatterRows is scatterRowsGo, in AVX2 when the CPU has it, under the
// same guarantee.
func scatterRows(cT []float64, kp []int32, c *[rowBlock]float64) {
	if !haveAVX2 || len(kp) == 0 {
		scatterRowsGo(cT, kp, c)
		return
	}
	scatterRowsAVX2(&cT[0], &kp[0], len(kp), c)
}
