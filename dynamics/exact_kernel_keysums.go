package dynamics

import "mimverify/theory"

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
// once (buildKeyLists): per batch and per group of four key positions,
// interleaved and padded to the group's longest list with a row of zeros
// (x + 0 has the bits of x: cT starts at +0 and a sum is −0 only when both
// terms are, so cT is never −0), so that the AVX-512 loop
// (exact_kernel_keysums_amd64.s) runs eight independent chains.

// keyBatch is the number of terms per batch: the table is keyBatch·(maxN+1)
// rows of 128 bytes (32 KiB for maxN = 7), the block's ebT and cT 25 KiB each
// at P = 196.
const keyBatch = 32

// keyLists are the per-key row lists of every batch.
type keyLists struct {
	start []int   // first term of each batch, then len(terms); batches never straddle term chunks
	chunk []int   // first batch of each term chunk, then the number of batches
	gOff  []int32 // per batch b, gOff[b·(ngrp+1)+g]: first entry row of key group g (4 entries a row)
	ent   []int32 // table row offsets (in float64s), four per entry row, key 4g+m at column m
	ngrp  int     // ⌈P/4⌉
	zero  int32   // the offset of the row of zeros
}

// buildKeyLists builds ws.kl from the terms, the term chunks and the key
// groups of their structures.
func (ws *weightedSet) buildKeyLists() {
	kl := &ws.kl
	kl.ngrp = (ws.P + 3) / 4
	kl.zero = int32(keyBatch * (ws.maxN + 1) * rowBlock)
	kl.start, kl.chunk, kl.gOff, kl.ent = kl.start[:0], kl.chunk[:0], kl.gOff[:0], kl.ent[:0]
	for ch := range ws.tch {
		kl.chunk = append(kl.chunk, len(kl.start))
		t1 := min((ch+1)*ws.tchunk, len(ws.terms))
		for t := ch * ws.tchunk; t < t1; t += keyBatch {
			kl.start = append(kl.start, t)
		}
	}
	kl.chunk = append(kl.chunk, len(kl.start))
	kl.start = append(kl.start, len(ws.terms))
	cnt := make([]int32, kl.ngrp*4)
	for b := range len(kl.start) - 1 {
		t0 := kl.start[b]
		t1 := min(t0+keyBatch, kl.start[b+1])
		clear(cnt)
		ws.eachKey(t0, t1, func(_, _ int, q int32) { cnt[q]++ })
		base := len(kl.ent) / 4
		for g := range kl.ngrp {
			kl.gOff = append(kl.gOff, int32(base))
			base += int(max(cnt[4*g], cnt[4*g+1], cnt[4*g+2], cnt[4*g+3]))
		}
		kl.gOff = append(kl.gOff, int32(base))
		first := len(kl.ent)
		for range (base - first/4) * 4 {
			kl.ent = append(kl.ent, kl.zero)
		}
		clear(cnt)
		gOff := kl.gOff[b*(kl.ngrp+1):]
		ws.eachKey(t0, t1, func(t, j int, q int32) {
			row := int(gOff[q/4]) + int(cnt[q])
			kl.ent[row*4+int(q%4)] = int32(((t-t0)*(ws.maxN+1) + j) * rowBlock)
			cnt[q]++
		})
	}
}

// eachKey calls f(t, j, q) for every key q of every key group j of the
// terms t0 ≤ t < t1, in term order.
func (ws *weightedSet) eachKey(t0, t1 int, f func(t, j int, q int32)) {
	for t := t0; t < t1; t++ {
		st := &ws.structs[ws.terms[t].st]
		ng := ws.nArea[st.k]
		if ws.keys == theory.KeysAll {
			ng++
		}
		koff := ws.koff[st.ko : int(st.ko)+ng+1]
		for j := range ng {
			for _, q := range ws.kpos[koff[j]:koff[j+1]] {
				f(t, j, q)
			}
		}
	}
}

// keySumsGo adds to each key's row of cT (⌈P/4⌉·4 rows of rowBlock) the
// table rows of its list in order: the definition of keySums.
func keySumsGo(cT, tab []float64, gOff, ent []int32) {
	for g := range len(gOff) - 1 {
		for e := gOff[g]; e < gOff[g+1]; e++ {
			for m, o := range ent[4*e : 4*e+4] {
				acc := (*[rowBlock]float64)(cT[(4*g+m)*rowBlock:])
				row := (*[rowBlock]float64)(tab[o:])
				for i := range acc {
					acc[i] += row[i]
				}
			}
		}
	}
}
