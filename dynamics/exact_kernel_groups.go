package dynamics

// gatherGroupsGo is gatherRows over every key group j < len(koff)−1 of a
// term, the keys kpos[koff[j]:koff[j+1]], into tg[j·rowBlock:]: the
// definition of gatherGroups, which does it in one call in AVX-512
// (exact_kernel_groups_amd64.s; the call per group cost a quarter of the
// gather's time at P = 196).
func gatherGroupsGo(ebT []float64, kpos, koff []int32, tg []float64) {
	for j := range len(koff) - 1 {
		gatherRows(ebT, kpos[koff[j]:koff[j+1]], (*[rowBlock]float64)(tg[j*rowBlock:]))
	}
}

// scatterGroupsGo is scatterRows of the coefficients cg[j·rowBlock:] over
// the keys of every key group j (empty groups add nothing): the definition
// of scatterGroups.
func scatterGroupsGo(cT []float64, kpos, koff []int32, cg []float64) {
	for j := range len(koff) - 1 {
		if koff[j] < koff[j+1] {
			scatterRows(cT, kpos[koff[j]:koff[j+1]], (*[rowBlock]float64)(cg[j*rowBlock:]))
		}
	}
}
