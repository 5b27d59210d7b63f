//go:build amd64 && !purego

package dynamics

import (
	"unsafe"

	"golang.org/x/sys/cpu"

	"mimverify/internal/fastexp"
)

// vecOn says whether runBlock uses the vector path: with AVX-512 F and DQ
// (rowLoops, a function of the CPU that the tests may set, never of the data).
func vecOn() bool { return rowLoops == 2 && cpu.X86.HasAVX512DQ }

// vecArgs are vecQueries' arguments for the assembly (the offsets are in
// exact_kernel_vec_amd64.s, TestVecArgsOffsets): the first entries of the
// block's tables, each rowBlock entries per key group, and of the outputs;
// then what the group sums read (GROUP_T). Each worker keeps its own
// (scratch.va, in the heap), so the assembly never writes into it: a
// pointer stored there without the write barrier, or past the end of its
// object, is a bad pointer to the collector.
type vecArgs struct {
	aT, z, eaT, sT, rrT, cg, gAT, ql *float64
	area                             *int64
	has                              *bool
	n, ng, mask                      int
	weight                           float64
	tab                              *[16]float64
	exp                              *[12]float64
	ebT                              *float64 // the group sums' keys' rows, offsets and groups
	kposX                            *uint16
	koff                             *int32
}

//go:noescape
func blockQueriesAVX512(a *vecArgs) int

//go:noescape
func blockQueries8AVX512(a *vecArgs) int

// vecQueries runs the vector path on the queries of term d in the rows mask
// of the block at p0 (with len(ql) of them): the per-query work, with each
// key group's sum over its keys' rows of e^B taken inside the loop of
// exponentials (GROUP_T, GROUP_TH; not stored: sc.tg is the portable
// path's). It returns −1 when the term must take the portable path (nothing
// written), else the rows whose queries must take queryDirect (their
// losses, coefficients and A gradient not written). The assembly does no
// bounds checks: the tables were allocated with maxN + 1 groups (vecScratch,
// growWork), and buildVecDescs checked the terms' key groups and losses.
func vecQueries(ws *weightedSet, sc *scratch, d *vecDesc, mask uint64, p0 int, ql []float64) int {
	k := d.k
	// Field by field: a composite literal was built in a temporary and
	// copied with 16-byte moves over its 8-byte stores, which stalled store
	// forwarding (4 % of the exact step at P = 196). The fields not set here
	// were set once per worker (initVecArgs).
	a := &sc.va
	a.aT, a.z, a.cg, a.gAT, a.ql = &sc.vecA[k][0], d.z, &sc.cg[0], &sc.vecGA[k][0], &ql[0]
	a.area, a.has, a.koff = &ws.rowArea[k][p0], d.has, d.koff
	a.n, a.ng, a.mask, a.weight = ws.nArea[k], int(d.ng), int(mask), d.weight
	if len(ql) <= 8 {
		return blockQueries8AVX512(a) // one vector of the queries' rows instead of two halves of the block's
	}
	return blockQueriesAVX512(a)
}

// initVecArgs sets the fields of a worker's vecArgs that do not vary per
// term: its tables, the exponential's, and the group sums' e^B table and
// keys.
func initVecArgs(ws *weightedSet, sc *scratch) {
	a := &sc.va
	a.eaT, a.sT, a.rrT = &sc.eaT[0], &sc.sT[0], &sc.rrT[0]
	a.tab, a.exp = fastexp.Table(), fastexp.Consts()
	a.ebT, a.kposX = &sc.ebT[0], unsafe.SliceData(ws.kposX)
}

//go:noescape
func keySumsAVX512(cT *float64, tab *float64, gOff *int32, gKey *int32, ent *uint16, ngrp int)

// keySums is keySumsGo in AVX-512. The assembly does no bounds checks: gKey
// is a permutation of the keys 0…4·ngrp−1 (4 per group of len(gOff)−1,
// checked when buildKeyLists built it), whose rows cT holds, gOff's entry
// rows are in ent, and every table offset in ent is at most zero, whose row
// tab holds (buildKeyLists, vecScratch).
func keySums(cT, tab []float64, gOff, gKey []int32, ent []uint16, zero uint16) {
	ngrp := len(gOff) - 1
	if len(gKey) != 4*ngrp || int(gOff[ngrp])*4 > len(ent) || gOff[0] < 0 || len(tab) < int(zero)+rowBlock {
		panic("dynamics: keySums tables do not match")
	}
	if len(cT) < 4*ngrp*rowBlock {
		panic("dynamics: keySums: cT shorter than its groups' keys")
	}
	if rowLoops != 2 {
		keySumsGo(cT, tab, gOff, gKey, ent)
		return
	}
	keySumsAVX512(&cT[0], &tab[0], &gOff[0], &gKey[0], unsafe.SliceData(ent), ngrp)
}
