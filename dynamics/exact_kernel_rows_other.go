//go:build !amd64 || purego

package dynamics

func gatherRows(ebT []float64, kp []int32, out *[rowBlock]float64) { gatherRowsGo(ebT, kp, out) }

func scatterRows(cT []float64, kp []int32, c *[rowBlock]float64) { scatterRowsGo(cT, kp, c) }

func gatherGroups(ebT []float64, kpos []int32, kposX []uint16, koff []int32, tg []float64) {
	gatherGroupsGo(ebT, kpos, koff, tg)
}

func scatterGroups(cT []float64, kpos, koff []int32, cg []float64) {
	scatterGroupsGo(cT, kpos, koff, cg)
}

func rowMax(x []float64) float64 { return rowMaxGo(x) }

func transposeIn(dst, src []float64, P, nr int) { transposeInGo(dst, src, P, nr, 0) }

func productOut(rows [][]float64, ebT, cT []float64, P int) { productOutGo(rows, ebT, cT, P, 0) }

func updateRow(x, g []float64, eta float64) float64 { return updateRowGo(x, g, eta) }

func subRow(dst, src []float64, m float64) { subRowGo(dst, src, m) }
