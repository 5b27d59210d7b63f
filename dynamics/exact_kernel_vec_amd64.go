//go:build amd64 && !purego

package dynamics

import (
	"math/bits"
	"unsafe"

	"golang.org/x/sys/cpu"

	"mimverify/internal/fastexp"
)

// vecOn says whether runBlock uses the vector path: with AVX-512 F and DQ
// (rowLoops, a function of the CPU that the tests may set, never of the data).
func vecOn() bool { return rowLoops == 2 && cpu.X86.HasAVX512DQ }

// vecArgs are vecQueries' arguments for the assembly (the offsets are in
// exact_kernel_vec_amd64.s): the first entries of the block's tables, each
// rowBlock entries per key group, and of the outputs (blockQueriesAVX512
// advances ql past the losses of its first half; the Go code does not read it
// back); then the gather's arguments.
type vecArgs struct {
	aT, z, T, eaT, sT, rrT, cg, gAT, ql *float64
	area                                *int64
	has                                 *bool
	n, ng, mask                         int
	weight                              float64
	tab                                 *[64]float64
	exp                                 *[10]float64
	ebT                                 *float64 // the gather's arguments (gatherGroupsAVX512, called first)
	kposX                               *uint16
	koff                                *int32
}

//go:noescape
func blockQueriesAVX512(a *vecArgs) int

//go:noescape
func blockQueries8AVX512(a *vecArgs) int

// vecQueries runs the vector path on the queries of a term of cluster k in
// the rows mask of the block at p0 (with len(ql) of them), its key groups
// koff: their sums over the keys' rows of e^B into sc.tg (gatherGroups,
// which the assembly calls first: one call from Go per term instead of
// two), then the per-query work. It returns −1
// when the term must take the portable path (nothing written), else the rows
// whose queries must take queryDirect (their losses, coefficients and A
// gradient not written). The assembly does no bounds checks: the tables
// were allocated with maxN + 1 groups (vecScratch, growWork).
func vecQueries(ws *weightedSet, sc *scratch, k int, z []float64, has []bool, koff []int32, mask uint64, p0 int, weight float64, ql []float64) int {
	n, ng := ws.nArea[k], len(has)
	if rowLoops != 2 || len(sc.ebT) > 1<<16 || len(koff) != ng+1 {
		panic("dynamics: vecQueries without the AVX-512 gather")
	}
	checkGroups(ws.kpos, koff, sc.tg)
	_ = z[ng-1]
	_ = sc.tg[ng*rowBlock-1]
	_ = sc.cg[ng*rowBlock-1]
	_, _, _ = sc.eaT[ng*rowBlock-1], sc.sT[ng*rowBlock-1], sc.rrT[ng*rowBlock-1]
	_, _ = sc.vecA[k][n*rowBlock-1], sc.vecGA[k][n*rowBlock-1]
	_ = ws.rowArea[k][p0+rowBlock-1]
	if len(ql) != bits.OnesCount64(mask) || mask>>rowBlock != 0 {
		panic("dynamics: vecQueries: row mask does not match the queries")
	}
	// Field by field into a: a composite literal was built in a temporary
	// and copied with 16-byte moves over its 8-byte stores, which stalled
	// store forwarding (4 % of the exact step at P = 196).
	var a vecArgs
	a.aT, a.z, a.T, a.eaT, a.sT, a.rrT = &sc.vecA[k][0], &z[0], &sc.tg[0], &sc.eaT[0], &sc.sT[0], &sc.rrT[0]
	a.cg, a.gAT, a.ql, a.area, a.has = &sc.cg[0], &sc.vecGA[k][0], &ql[0], &ws.rowArea[k][p0], &has[0]
	a.n, a.ng, a.mask, a.weight, a.tab, a.exp = n, ng, int(mask), weight, fastexp.Table(), fastexp.Consts()
	a.ebT, a.kposX, a.koff = &sc.ebT[0], unsafe.SliceData(ws.kposX), &koff[0]
	if len(ql) <= 8 {
		return blockQueries8AVX512(&a) // one vector of the queries' rows instead of two halves of the block's
	}
	return blockQueriesAVX512(&a)
}

//go:noescape
func keySumsAVX512(cT *float64, tab *float64, gOff *int32, gKey *int32, ent *uint16, ngrp int)

// keySums is keySumsGo in AVX-512. The assembly does no bounds checks: cT
// holds the rows of the keys in gKey (4 per group of len(gOff)−1), gOff's
// entry rows are in ent, and every table offset in ent is at most zero,
// whose row tab holds (buildKeyLists, vecScratch).
func keySums(cT, tab []float64, gOff, gKey []int32, ent []uint16, zero uint16) {
	ngrp := len(gOff) - 1
	if len(gKey) != 4*ngrp || int(gOff[ngrp])*4 > len(ent) || gOff[0] < 0 || len(tab) < int(zero)+rowBlock {
		panic("dynamics: keySums tables do not match")
	}
	for _, q := range gKey {
		if q < 0 || int(q+1)*rowBlock > len(cT) {
			panic("dynamics: keySums key outside cT")
		}
	}
	if rowLoops != 2 {
		keySumsGo(cT, tab, gOff, gKey, ent)
		return
	}
	keySumsAVX512(&cT[0], &tab[0], &gOff[0], &gKey[0], unsafe.SliceData(ent), ngrp)
}
