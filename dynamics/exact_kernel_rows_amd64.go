//go:build amd64 && !purego

package dynamics

//go:noescape
func gatherRowsAsm(ebT *float64, kp *int32, nk int, out *[rowBlock]float64)

//go:noescape
func scatterRowsAsm(cT *float64, kp *int32, nk int, c *[rowBlock]float64)

// gatherRows is gatherRowsGo in SSE2. The caller guarantees (checkRows) that
// ebT holds rowBlock entries for every key position in kp.
func gatherRows(ebT []float64, kp []int32, out *[rowBlock]float64) {
	if len(kp) == 0 {
		*out = [rowBlock]float64{}
		return
	}
	gatherRowsAsm(&ebT[0], &kp[0], len(kp), out)
}

// scatterRows is scatterRowsGo in SSE2, under the same guarantee.
func scatterRows(cT []float64, kp []int32, c *[rowBlock]float64) {
	if len(kp) == 0 {
		return
	}
	scatterRowsAsm(&cT[0], &kp[0], len(kp), c)
}
