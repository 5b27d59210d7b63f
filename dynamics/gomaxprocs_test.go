package dynamics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"mimverify/theory"
)

// TestLossGradBitsAcrossGOMAXPROCS checks that the kernel's loss, per-term
// losses and gradient have the same bits at GOMAXPROCS 1, 2 and 3: the row
// blocks, not the workers, fix the summation order. It covers both key
// modes, a state whose softmax is sharp enough that some queries take the
// direct log-sum-exp path, the loss-only call, and an enumerated population.
func TestLossGradBitsAcrossGOMAXPROCS(t *testing.T) {
	old := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(old)
	type objective struct {
		name string
		s    theory.Setting
		o    Objective
	}
	var objs []objective
	// 150 samples on P = 64: 4 row blocks × 4 term chunks (partial rows
	// summed in chunk order); 40 samples: one chunk, rows written directly.
	for _, n := range []int{150, 40} {
		for _, keys := range []theory.KeyMode{theory.KeysUnmasked, theory.KeysAll} {
			s, err := theory.Preset("default")
			if err != nil {
				t.Fatal(err)
			}
			s.Keys = keys
			objs = append(objs, objective{fmt.Sprintf("default/%s/n=%d", keys, n), s, mustSample(t, &s, s.Samples(11, n))})
		}
	}
	// An enumerated population on a 3×3 grid (511 masks × two-point z).
	g3, err := theory.Grid(3, theory.Blocks(2), theory.Rows(1))
	if err != nil {
		t.Fatal(err)
	}
	g3.Z = theory.ZLaw{Kind: theory.ZTwoPoint, L: 0.5, U: 1.5}
	pop, err := NewPopulationObjective(&g3, PopulationOptions{Mode: PopulationEnumerate})
	if err != nil {
		t.Fatal(err)
	}
	objs = append(objs, objective{"3×3 population", g3, pop})
	for _, ob := range objs {
		for _, sigma := range []float64{0.7, 400} { // 400: factored weights underflow for some queries
			c := randomCorr(&ob.s, rand.New(rand.NewPCG(5, uint64(sigma))), sigma)
			d0 := directQueries.Load()
			var ref []uint64
			for _, procs := range []int{1, 2, 3} {
				runtime.GOMAXPROCS(procs)
				g := ob.s.Shape().New()
				l, _ := ob.o.LossGrad(c, g)
				bits := []uint64{math.Float64bits(l)}
				for _, x := range g.Flat() {
					if math.IsNaN(x) || math.IsInf(x, 0) {
						t.Fatalf("%s σ=%g GOMAXPROCS=%d: non-finite gradient entry %v", ob.name, sigma, procs, x)
					}
					bits = append(bits, math.Float64bits(x))
				}
				if ref == nil {
					ref = bits
					continue
				}
				for i := range ref {
					if bits[i] != ref[i] {
						t.Fatalf("%s σ=%g: entry %d is %v at GOMAXPROCS=%d, %v at 1", ob.name, sigma, i,
							math.Float64frombits(bits[i]), procs, math.Float64frombits(ref[i]))
					}
				}
			}
			if d := directQueries.Load() - d0; (sigma > 100) != (d > 0) {
				t.Errorf("%s σ=%g: %d queries took the direct path", ob.name, sigma, d)
			}
		}
	}
}
