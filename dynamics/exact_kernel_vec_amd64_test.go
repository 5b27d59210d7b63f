//go:build amd64 && !purego

package dynamics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/cpu"
	"pgregory.net/rapid"

	"mimverify/theory"
)

// TestVecQueriesMatchGo checks the vector path of the per-query work
// (exact_kernel_vec_amd64.s) against the portable queryExps and blockCoefs
// bit for bit: the loss, every per-term loss and every gradient entry of
// a sample objective (NaN against NaN) with rowLoops = 2 and 0, on drawn
// settings (both key modes, P not a multiple of the row block, so masked
// tail rows), sample sets, scales of (A, B) from gentle to sharp enough that
// the factored normaliser underflows (queryDirect) and that exponent
// arguments fall below −708 (the portable fallback), and edge entries
// (±0, huge, ±∞, NaN) at drawn places. Both routines (two halves, one
// vector) must have sent terms both to queryDirect and to the portable
// path in the run. (TestVecQueriesPresets makes sure that the direct path
// and the fallback are reached on every preset.)
func TestVecQueriesMatchGo(t *testing.T) {
	if !cpu.X86.HasAVX512F || !cpu.X86.HasAVX512DQ { // vecOn's condition
		t.Skip("no AVX-512")
	}
	old := rowLoops
	defer func() { rowLoops = old }()
	d0, f0 := directQueries.Load(), vecFallbacks.Load()
	var slow0 [2][2]int64
	for r := range slow0 {
		for w := range slow0[r] {
			slow0[r][w] = vecSlowBy[r][w].Load()
		}
	}
	rapid.Check(t, func(rt *rapid.T) {
		side := rapid.IntRange(3, 9).Draw(rt, "side")
		s, err := theory.Grid(side, theory.Blocks(rapid.IntRange(1, side).Draw(rt, "block")), theory.Rows(rapid.IntRange(1, side).Draw(rt, "rows")))
		if err != nil {
			rt.Skip(err)
		}
		if rapid.Bool().Draw(rt, "keysAll") {
			s.Keys = theory.KeysAll
		}
		o, err := NewSampleObjective(&s, s.Samples(rapid.Uint64().Draw(rt, "seed"), rapid.IntRange(1, 40).Draw(rt, "n")))
		if err != nil {
			rt.Fatal(err)
		}
		sigma := rapid.SampledFrom([]float64{0, 0.5, 3, 50, 400, 3000}).Draw(rt, "sigma")
		c := randomCorr(&s, rand.New(rand.NewPCG(rapid.Uint64().Draw(rt, "cseed"), 1)), sigma)
		flat := c.Flat()
		edges := []float64{0, math.Copysign(0, -1), 1e300, -1e300, math.Inf(1), math.Inf(-1), math.NaN(), 750, -750}
		for range rapid.IntRange(0, 3).Draw(rt, "nedge") {
			i := rapid.IntRange(0, len(flat)-1).Draw(rt, "at")
			flat[i] = rapid.SampledFrom(edges).Draw(rt, "edge")
		}
		got := vecAndPortable(o, c)
		if i := firstBitDiff(got[0], got[1], true); i >= 0 {
			rt.Fatalf("entry %d of (loss, term losses, gradient): vector %v, portable %v", i, got[0][i], got[1][i])
		}
	})
	t.Logf("direct queries %d, fallback terms %d", directQueries.Load()-d0, vecFallbacks.Load()-f0)
	// Both routines' ways off the vector path must have been compared.
	for r, routine := range []string{"blockQueriesAVX512", "blockQueries8AVX512"} {
		for w, way := range []string{"queryDirect rows", "the portable path"} {
			n := vecSlowBy[r][w].Load() - slow0[r][w]
			t.Logf("%s: %d terms to %s", routine, n, way)
			if n == 0 && !testing.Short() {
				t.Errorf("%s never sent a term to %s: that way is not covered", routine, way)
			}
		}
	}
}

// TestVecQueriesPresets compares the vector and portable paths bit for bit
// on the presets with the benchmark's sample set, at a gentle state and at
// sharp ones, and requires that the sharp ones reach the direct path and the
// portable fallback on every preset.
func TestVecQueriesPresets(t *testing.T) {
	if !cpu.X86.HasAVX512F || !cpu.X86.HasAVX512DQ { // vecOn's condition
		t.Skip("no AVX-512")
	}
	old := rowLoops
	defer func() { rowLoops = old }()
	for _, name := range []string{"grid4", "default", "vit14"} {
		s, err := theory.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		o := mustSample(t, &s, s.Samples(1, 64))
		d0, f0 := directQueries.Load(), vecFallbacks.Load()
		for _, sigma := range []float64{0.7, 400, 3000} {
			c := randomCorr(&s, rand.New(rand.NewPCG(3, uint64(sigma))), sigma)
			got := vecAndPortable(o, c)
			if i := firstBitDiff(got[0], got[1], false); i >= 0 {
				t.Fatalf("%s σ=%g: entry %d: vector %v, portable %v", name, sigma, i, got[0][i], got[1][i])
			}
			t.Log(fmt.Sprintf("%s σ=%g: %d entries equal", name, sigma, len(got[0])))
		}
		if d, f := directQueries.Load()-d0, vecFallbacks.Load()-f0; d == 0 || f == 0 {
			t.Errorf("%s: the direct path was taken %d times and the fallback %d times: both must be covered", name, d, f)
		}
	}
}

// TestKeySumsMatchGo checks keySums in AVX-512 against keySumsGo bit for
// bit on random lists: groups of four keys, the keys a permutation of the
// first 4·ngrp rows of cT (its two rows past them must not change), with 0–20
// entry rows, entries drawn from the table's rows and its row of zeros, a
// table of signed values of many magnitudes with ±0, ±∞ and NaN among them
// (NaN against NaN).
func TestKeySumsMatchGo(t *testing.T) {
	if !cpu.X86.HasAVX512F || !cpu.X86.HasAVX512DQ { // vecOn's condition
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(23, 24))
	const rows = 40
	zero := uint16(rows * rowBlock)
	tab := make([]float64, (rows+1)*rowBlock)
	edges := []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN()}
	for i := range tab[:zero] {
		tab[i] = rng.NormFloat64() * math.Exp(rng.NormFloat64()*5)
		if rng.IntN(200) == 0 {
			tab[i] = edges[rng.IntN(len(edges))]
		}
	}
	for trial := range 200 {
		ngrp := 1 + rng.IntN(12)
		gOff := []int32{int32(rng.IntN(3))}
		ent := make([]uint16, 4*gOff[0])
		for range ngrp {
			n := rng.IntN(21) * rng.IntN(2)
			for range 4 * n {
				o := zero
				if rng.IntN(4) != 0 {
					o = uint16(rng.IntN(rows) * rowBlock)
				}
				ent = append(ent, o)
			}
			gOff = append(gOff, gOff[len(gOff)-1]+int32(n))
		}
		perm := rng.Perm(ngrp * 4)
		gKey := make([]int32, 4*ngrp)
		for i := range gKey {
			gKey[i] = int32(perm[i])
		}
		cT := make([]float64, (ngrp*4+2)*rowBlock)
		for i := range cT {
			cT[i] = rng.NormFloat64()
		}
		want := append([]float64(nil), cT...)
		keySums(cT, tab, gOff, gKey, ent, zero)
		keySumsGo(want, tab, gOff, gKey, ent)
		if i := firstBitDiff(cT, want, true); i >= 0 {
			t.Fatalf("trial %d, entry %d: %v, Go %v", trial, i, cT[i], want[i])
		}
	}
}

// vecAndPortable returns (loss, term losses, gradient) at c from the vector
// path (rowLoops = 2) and from the portable one (rowLoops = 0); the caller
// restores rowLoops.
func vecAndPortable(o *SampleObjective, c theory.Correlations) (got [2][]float64) {
	for i, level := range []int{2, 0} {
		rowLoops = level
		g := c.Shape().New()
		l, _ := o.LossGrad(c, g)
		got[i] = append(append([]float64{l}, o.ws.losses...), g.Flat()...)
	}
	return got
}

// TestVecPathTooManyAreas: a setting whose cluster has 144 areas (a 12×12
// grid of single-patch blocks) is past the vector path's 16-bit table
// offsets (vecFits: fewer than 127 areas), so the kernel takes the portable
// per-query path with the assembly gather and scatter — and its results are
// the portable loops' bit for bit, as with the vector path.
func TestVecPathTooManyAreas(t *testing.T) {
	if !cpu.X86.HasAVX512F || !cpu.X86.HasAVX512DQ { // vecOn's condition
		t.Skip("no AVX-512")
	}
	old := rowLoops
	defer func() { rowLoops = old }()
	s, err := theory.Grid(12, theory.Blocks(1), theory.Rows(3))
	if err != nil {
		t.Fatal(err)
	}
	o := mustSample(t, &s, s.Samples(5, 24))
	c := randomCorr(&s, rand.New(rand.NewPCG(9, 10)), 2)
	got := vecAndPortable(o, c)
	if o.ws.kl.start != nil || o.ws.vecFits() {
		t.Fatalf("maxN = %d: the vector path's lists were built (vecFits %v)", o.ws.maxN, o.ws.vecFits())
	}
	if i := firstBitDiff(got[0], got[1], false); i >= 0 {
		t.Fatalf("entry %d: assembly %v, portable %v", i, got[0][i], got[1][i])
	}
}

// TestVecArgsOffsets checks the assembly's offsets of the vecArgs fields
// (the V_ constants of exact_kernel_vec_amd64.s) against the Go struct's,
// so that a field added, removed or moved on one side only fails here and
// not as a silent misread.
func TestVecArgsOffsets(t *testing.T) {
	src, err := os.ReadFile("exact_kernel_vec_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	var a vecArgs
	want := map[string]uintptr{
		"AT": unsafe.Offsetof(a.aT), "Z": unsafe.Offsetof(a.z), "EAT": unsafe.Offsetof(a.eaT),
		"ST": unsafe.Offsetof(a.sT), "RRT": unsafe.Offsetof(a.rrT), "CG": unsafe.Offsetof(a.cg),
		"GAT": unsafe.Offsetof(a.gAT), "QL": unsafe.Offsetof(a.ql), "AREA": unsafe.Offsetof(a.area),
		"HAS": unsafe.Offsetof(a.has), "N": unsafe.Offsetof(a.n), "NG": unsafe.Offsetof(a.ng),
		"MASK": unsafe.Offsetof(a.mask), "W": unsafe.Offsetof(a.weight), "TAB": unsafe.Offsetof(a.tab),
		"EXP": unsafe.Offsetof(a.exp), "EBT": unsafe.Offsetof(a.ebT), "KPX": unsafe.Offsetof(a.kposX),
		"KOFF": unsafe.Offsetof(a.koff),
	}
	got := map[string]uintptr{}
	for _, m := range regexp.MustCompile(`(?m)^#define V_(\w+) (\d+)$`).FindAllStringSubmatch(string(src), -1) {
		off, _ := strconv.Atoi(m[2])
		got[m[1]] = uintptr(off)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("vecArgs offsets, Go struct (-) against the assembly's V_ constants (+):\n%s", diff)
	}
	if n := unsafe.Sizeof(a) / 8; int(n) != len(want) {
		t.Errorf("vecArgs has %d words, the assembly knows %d fields", n, len(want))
	}
}
