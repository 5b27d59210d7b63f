package dynamics

import (
	"cmp"
	"slices"
)

// Per-key sums of the B coefficients (issue 27), the vector path's
// replacement of the per-term scatter (scatterRows adds a term's
// coefficient of each key group to the accumulated coefficient cT of every
// key of the group, a load, an add and a store per key and term). Here the
// terms of a task are taken in batches of keyBatch; each term writes its
// coefficients into its own rows of a per-batch table (sc.cgTab, row
// (t − t_b)·(maxN+1) + j for term t and key group j), and after the batch
// every key q adds, in term order, the rows of the terms of which it is a
// key: cT[q] = cT[q] + c_{t1} + c_{t2} + …, the additions scatterRows did,
// in the same order, without a store per term. The lists of rows are built
// once (buildKeyLists): per batch, the keys are taken four at a time, the
// lists of the four interleaved and padded to the longest with a row of
// zeros (x + 0 has the bits of x: cT starts at +0 and a sum is −0 only when
// both terms are, so cT is never −0), so that the AVX-512 loop
// (exact_kernel_keysums_amd64.s) runs eight independent chains. The keys
// are grouped in decreasing order of their list's length in the batch, not
// by position: four neighbouring positions' lists differ by a few rows, and
// that padding was 15 % of the rows added. The table rows are stored as
// 16-bit offsets, four to a 64-bit load: with 32-bit ones the loop was
// bound by its loads, one for each offset besides the two rows it adds.

// keyBatch is the number of terms per batch: the table is keyBatch·(maxN+1)
// rows of 128 bytes (32 KiB for maxN = 7), the block's ebT and cT 25 KiB each
// at P = 196.
const keyBatch = 32

// keyLists are the per-key row lists of every batch.
type keyLists struct {
	start []int    // first term of each batch, then len(terms); batches never straddle term chunks
	chunk []int    // first batch of each term chunk, then the number of batches
	gOff  []int32  // per batch b, gOff[b·(ngrp+1)+g]: first entry row of key group g (4 entries a row)
	gKey  []int32  // per batch b, gKey[b·4·ngrp + 4g + m]: the key (its row of cT) in column m of group g
	ent   []uint16 // table offsets (in float64s), four per entry row, key gKey[4g+m]'s at column m
	ngrp  int      // ⌈P/4⌉
	zero  uint16   // the offset of the row of zeros
}

// vecFits reports whether the vector path's 16-bit offsets hold the set:
// the keys' in ebT (kposX, P·rowBlock ≤ 65 536 for every valid P ≤ 4096)
// and the table's rows with the row of zeros (maxN < 127 areas per
// cluster). A set with more areas takes the portable path.
func (ws *weightedSet) vecFits() bool {
	return ws.P*rowBlock <= 1<<16 && (keyBatch*(ws.maxN+1)+1)*rowBlock <= 1<<16
}

// buildKeyLists builds ws.kl from the terms, the term chunks and the key
// groups of their structures, when they fit its 16-bit offsets (vecFits;
// otherwise kl.start stays nil: no vector path).
func (ws *weightedSet) buildKeyLists() {
	kl := &ws.kl
	if !ws.vecFits() {
		return
	}
	kl.ngrp = (ws.P + 3) / 4
	kl.zero = uint16(keyBatch * (ws.maxN + 1) * rowBlock)
	kl.start, kl.chunk, kl.gOff, kl.gKey, kl.ent = kl.start[:0], kl.chunk[:0], kl.gOff[:0], kl.gKey[:0], kl.ent[:0]
	for ch := range ws.tch {
		kl.chunk = append(kl.chunk, len(kl.start))
		t1 := min((ch+1)*ws.tchunk, len(ws.terms))
		for t := ch * ws.tchunk; t < t1; t += keyBatch {
			kl.start = append(kl.start, t)
		}
	}
	kl.chunk = append(kl.chunk, len(kl.start))
	kl.start = append(kl.start, len(ws.terms))
	cnt := make([]int32, kl.ngrp*4)  // per key, its list's length in the batch
	slot := make([]int32, kl.ngrp*4) // per key, 4g + m for its group g and column m
	for b := range len(kl.start) - 1 {
		t0 := kl.start[b]
		t1 := min(t0+keyBatch, kl.start[b+1])
		clear(cnt)
		ws.eachKey(t0, t1, func(_, _ int, q int32) { cnt[q]++ })
		order := kl.groupKeys(cnt)
		base := len(kl.ent) / 4
		for g := range kl.ngrp {
			kl.gOff = append(kl.gOff, int32(base))
			base += int(cnt[order[4*g]]) // the longest of the group's lists
		}
		kl.gOff = append(kl.gOff, int32(base))
		for i, q := range order {
			slot[q] = int32(i)
		}
		first := len(kl.ent)
		for range (base - first/4) * 4 {
			kl.ent = append(kl.ent, kl.zero)
		}
		clear(cnt)
		gOff := kl.gOff[b*(kl.ngrp+1):]
		ws.eachKey(t0, t1, func(t, j int, q int32) {
			row := int(gOff[slot[q]/4]) + int(cnt[q])
			kl.ent[row*4+int(slot[q]%4)] = uint16(((t-t0)*(ws.maxN+1) + j) * rowBlock)
			cnt[q]++
		})
	}
}

// groupKeys appends to kl.gKey the keys 0…4·ngrp−1 (positions past P have
// empty lists) in decreasing order of their list's length cnt, ties in
// position order, and returns them: group g is the four keys from 4g. Being
// a permutation of the keys is what keySums' assembly relies on (it
// indexes cT by them unchecked), so it is checked here.
func (kl *keyLists) groupKeys(cnt []int32) []int32 {
	n := len(kl.gKey)
	for q := range int32(len(cnt)) {
		kl.gKey = append(kl.gKey, q)
	}
	order := kl.gKey[n:]
	slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(cnt[b], cnt[a]) })
	seen := make([]bool, len(order))
	for _, q := range order {
		if q < 0 || int(q) >= len(seen) || seen[q] {
			panic("dynamics: groupKeys: not a permutation of the keys")
		}
		seen[q] = true
	}
	return order
}

// eachKey calls f(t, j, q) for every key q of every key group j of the
// terms t0 ≤ t < t1, in term order.
func (ws *weightedSet) eachKey(t0, t1 int, f func(t, j int, q int32)) {
	for t := t0; t < t1; t++ {
		st := &ws.structs[ws.terms[t].st]
		ng := ws.keyGroups(int(st.k))
		koff := ws.koff[st.ko : int(st.ko)+ng+1]
		for j := range ng {
			for _, q := range ws.kpos[koff[j]:koff[j+1]] {
				f(t, j, q)
			}
		}
	}
}

// keySumsGo adds to the row of cT of each key gKey[4g+m] (rows of
// rowBlock) the table rows of its list, ent[4e+m] for gOff[g] ≤ e <
// gOff[g+1], in order: the definition of keySums.
func keySumsGo(cT, tab []float64, gOff, gKey []int32, ent []uint16) {
	for g := range len(gOff) - 1 {
		for e := gOff[g]; e < gOff[g+1]; e++ {
			for m, o := range ent[4*e : 4*e+4] {
				acc := (*[rowBlock]float64)(cT[int(gKey[4*g+m])*rowBlock:])
				row := (*[rowBlock]float64)(tab[o:])
				for i := range acc {
					acc[i] += row[i]
				}
			}
		}
	}
}
