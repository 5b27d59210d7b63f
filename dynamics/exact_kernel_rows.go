package dynamics

// The row loops of the exact kernel (docs/PERFORMANCE.md, issue 12): for a
// term's masked queries in one row block, gatherRows sums e^{B − m} over the
// keys of one area for all rowBlock rows of the block at once, and
// scatterRows adds one B-gradient coefficient per row to every key of the
// area. Rows without a query of the term are computed too (their sums are
// not read; their coefficients are 0), which costs nothing in SIMD and
// avoids splitting the queries into groups.
//
// On amd64 with AVX-512F or AVX2 both loops are assembly
// (exact_kernel_rows_amd64.s); the portable loops below are the definition
// and the fallback (neither extension, build tag purego, or another
// architecture). Both give the same bits
// (TestRowLoopsMatchGo): the gather sums each row over the keys at even and
// at odd positions of kp separately, in key order from +0, and adds the two
// (two independent addition chains per row). The assembly does no bounds
// checks: runBlock checks once per task that the tables hold rowBlock
// entries per position (checkRows), and every key position is < P by
// construction (addStructure).

// gatherRowsGo sets out[i] = Σ_{q∈kp} ebT[q·rowBlock + i] for every row i:
// the sum over the keys kp[0], kp[2], … plus the sum over kp[1], kp[3], …,
// each in order.
func gatherRowsGo(ebT []float64, kp []int32, out *[rowBlock]float64) {
	var t [2][rowBlock]float64
	for n, q := range kp {
		e := (*[rowBlock]float64)(ebT[int(q)*rowBlock:])
		s := &t[n&1]
		for i := range s {
			s[i] += e[i]
		}
	}
	for i := range out {
		out[i] = t[0][i] + t[1][i]
	}
}

// scatterRowsGo adds c[i] to cT[q·rowBlock + i] for every q ∈ kp and row i.
func scatterRowsGo(cT []float64, kp []int32, c *[rowBlock]float64) {
	for _, q := range kp {
		e := (*[rowBlock]float64)(cT[int(q)*rowBlock:])
		for i := range e {
			e[i] += c[i]
		}
	}
}

// checkRows panics unless tab (ebT or cT) holds the rowBlock entries of
// every key position below P: the assembly loops rely on it.
func checkRows(tab []float64, P int) {
	if len(tab) < P*rowBlock {
		panic("dynamics: kernel row table shorter than P·rowBlock")
	}
}

// transposeInGo writes the nr ≤ 8 rows src[r·P : (r+1)·P] as columns r of
// dst, dst[q·rowBlock + r] = src[r·P + q], for the columns q0 ≤ q < P: with
// q0 = 0 the definition of transposeIn (runBlock's e^B rows into ebT,
// dst = ebT[h:] for the rows from h), whose assembly leaves it the last
// P mod 8 columns.
func transposeInGo(dst, src []float64, P, nr, q0 int) {
	for r := range nr {
		for q := q0; q < P; q++ {
			dst[q*rowBlock+r] = src[r*P+q]
		}
	}
}

// productOutGo writes rows[r][q] = ebT[q·rowBlock + r]·cT[q·rowBlock + r]
// for the len(rows) ≤ 8 rows and q0 ≤ q < P: with q0 = 0 the definition of
// productOut (runBlock's B gradient, ebT and cT from the rows' first), whose
// assembly leaves it the last P mod 8 columns.
func productOutGo(rows [][]float64, ebT, cT []float64, P, q0 int) {
	for r, row := range rows {
		row = row[:P]
		for q := q0; q < P; q++ {
			row[q] = ebT[q*rowBlock+r] * cT[q*rowBlock+r]
		}
	}
}
