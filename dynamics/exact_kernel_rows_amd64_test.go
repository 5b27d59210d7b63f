//go:build amd64 && !purego

package dynamics

import (
	"math"
	"math/rand/v2"
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
			kposX := make([]int32, len(kpos))
			for i, q := range kpos {
				kposX[i] = q * rowBlock
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
