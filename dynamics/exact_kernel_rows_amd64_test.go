//go:build amd64 && !purego

package dynamics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestRowLoopVariants checks every assembly variant of the row loops that
// the CPU supports against the portable loops.
func TestRowLoopVariants(t *testing.T) {
	old := rowLoops
	defer func() { rowLoops = old }()
	for level, ok := range []bool{true, cpu.X86.HasAVX2, cpu.X86.HasAVX512F} {
		if !ok {
			t.Logf("level %d not supported by this CPU", level)
			continue
		}
		rowLoops = level
		checkRowLoops(t)
	}
}

// TestGroupLoops checks gatherGroups and scatterGroups in AVX-512 against
// their definitions (gatherRowsGo and scatterRowsGo group by group) bit for
// bit, on 1–9 groups of 0–13 keys each (empty groups, odd and even counts,
// one group left over after the pairs, groups of different lengths side by
// side, four and two keys at a time), over signed values of many magnitudes.
func TestGroupLoops(t *testing.T) {
	if !cpu.X86.HasAVX512F {
		t.Skip("no AVX-512")
	}
	old := rowLoops
	defer func() { rowLoops = old }()
	rng := rand.New(rand.NewPCG(17, 18))
	const P = 41
	tab := make([]float64, P*rowBlock)
	for i := range tab {
		tab[i] = rng.NormFloat64() * math.Exp(rng.NormFloat64()*5)
	}
	for trial := range 300 {
		ng := 1 + rng.IntN(9)
		kpos := make([]int32, 1+rng.IntN(3)) // keys of other structures before this one
		koff := []int32{int32(len(kpos))}
		for range ng {
			for range rng.IntN(20) * rng.IntN(2) {
				kpos = append(kpos, int32(rng.IntN(P)))
			}
			koff = append(koff, int32(len(kpos)))
		}
		cg := make([]float64, ng*rowBlock)
		for j := range cg {
			cg[j] = rng.NormFloat64()
		}
		var got, want [2][]float64
		for i, level := range []int{2, 0} {
			rowLoops = level
			tg := make([]float64, ng*rowBlock)
			kposX := make([]uint16, len(kpos))
			for i, q := range kpos {
				kposX[i] = uint16(q * rowBlock)
			}
			gatherGroups(tab, kpos, kposX, koff, tg)
			cT := append([]float64(nil), tab...)
			scatterGroups(cT, kpos, koff, cg)
			got[i], want[i] = tg, cT
		}
		if i := firstBitDiff(got[0], got[1], false); i >= 0 {
			t.Fatalf("gather, trial %d (%d groups, koff %v), entry %d: %v, Go %v", trial, ng, koff, i, got[0][i], got[1][i])
		}
		if i := firstBitDiff(want[0], want[1], false); i >= 0 {
			t.Fatalf("scatter, trial %d (%d groups, koff %v), entry %d: %v, Go %v", trial, ng, koff, i, want[0][i], want[1][i])
		}
	}
}

// TestTransposeProductMatchGo: transposeIn and productOut (8×8 transposes
// in AVX-512 when the CPU has it) write what transposeInGo and productOutGo
// write, bit for bit, for row counts 1–8 and widths around multiples of 8
// (P = 196 is the vit14 block's), with ±0, ±∞ and NaN among the values;
// nothing outside the rows and columns written changes.
func TestTransposeProductMatchGo(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	special := []float64{math.Copysign(0, -1), 0, math.Inf(1), math.Inf(-1), math.NaN(), 5e-324}
	value := func() float64 {
		if r.IntN(8) == 0 {
			return special[r.IntN(len(special))]
		}
		return r.NormFloat64()
	}
	for _, P := range []int{1, 7, 8, 9, 15, 16, 17, 64, 196} {
		for nr := 1; nr <= 8; nr++ {
			src := make([]float64, 8*P)
			for i := range src {
				src[i] = value()
			}
			tab := make([]float64, P*rowBlock)
			for i := range tab {
				tab[i] = value()
			}
			for _, h := range []int{0, 8} {
				d1, d2 := slices.Clone(tab), slices.Clone(tab)
				transposeIn(d1[h:], src, P, nr)
				transposeInGo(d2[h:], src, P, nr, 0)
				if i := firstBitDiff(d1, d2, false); i >= 0 {
					t.Fatalf("transposeIn P = %d, %d rows from %d: entry %d: %v, want %v", P, nr, h, i, d1[i], d2[i])
				}
				rows1, rows2 := make([][]float64, nr), make([][]float64, nr)
				for i := range rows1 {
					rows1[i] = make([]float64, P+1)
					rows1[i][P] = 42 // past the row: untouched
					rows2[i] = slices.Clone(rows1[i])
				}
				productOut(rows1, d1[h:], tab[h:], P)
				productOutGo(rows2, d1[h:], tab[h:], P, 0)
				for i := range rows1 {
					if j := firstBitDiff(rows1[i], rows2[i], false); j >= 0 {
						t.Fatalf("productOut P = %d, %d rows from %d: row %d entry %d: %v, want %v", P, nr, h, i, j, rows1[i][j], rows2[i][j])
					}
				}
			}
		}
	}
}

// TestUpdateRowMatchesGo: updateRow (AVX-512 when the CPU has it) leaves x
// with updateRowGo's bits, for lengths 0–40 and 196, and its check is zero
// exactly when updateRowGo's is (a non-finite entry or step anywhere, the
// tail included, makes it NaN).
func TestUpdateRowMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	lengths := []int{196}
	for n := range 41 {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		for pos := -1; pos < n; pos++ {
			x, g := make([]float64, n+1), make([]float64, n)
			for i := range g {
				x[i], g[i] = r.NormFloat64(), r.NormFloat64()
			}
			x[n] = 42 // past the row: untouched
			if pos >= 0 {
				x[pos] = []float64{math.Inf(1), math.NaN(), 1e308}[pos%3]
				g[pos] = []float64{1, 1, -1e308}[pos%3] // the last: x − η·g overflows
			}
			x1, x2 := slices.Clone(x), slices.Clone(x)
			c1, c2 := updateRow(x1[:n], g, 10), updateRowGo(x2[:n], g, 10)
			if i := firstBitDiff(x1, x2, false); i >= 0 && !(math.IsNaN(x1[i]) && math.IsNaN(x2[i])) {
				t.Fatalf("n = %d, special at %d: x[%d] = %v, want %v", n, pos, i, x1[i], x2[i])
			}
			if (c1 == 0) != (c2 == 0) || (pos >= 0) == (c2 == 0) {
				t.Fatalf("n = %d, special at %d: check %v, updateRowGo's %v", n, pos, c1, c2)
			}
		}
	}
}

// TestSubRowMatchesGo: subRow (AVX-512 when the CPU has it) writes what
// subRowGo writes, bit for bit, for 0–40 and 196 entries with ±0, ±∞ and
// NaN among the entries and the shift, and nothing past the row.
func TestSubRowMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	special := []float64{math.Copysign(0, -1), 0, math.Inf(1), math.Inf(-1), math.NaN(), 5e-324}
	lengths := []int{196}
	for n := range 41 {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		for _, m := range []float64{0, math.Copysign(0, -1), 1.5, math.Inf(1), math.NaN()} {
			src := make([]float64, n)
			for i := range src {
				src[i] = r.NormFloat64()
				if r.IntN(6) == 0 {
					src[i] = special[r.IntN(len(special))]
				}
			}
			d1, d2 := make([]float64, n+1), make([]float64, n+1)
			d1[n], d2[n] = 42, 42 // past the row: untouched
			subRow(d1[:n], src, m)
			subRowGo(d2[:n], src, m)
			if i := firstBitDiff(d1, d2, true); i >= 0 {
				t.Fatalf("n = %d, m = %v: dst[%d] = %v, want %v", n, m, i, d1[i], d2[i])
			}
			if d1[n] != 42 {
				t.Fatalf("n = %d: wrote past the row", n)
			}
		}
	}
}
