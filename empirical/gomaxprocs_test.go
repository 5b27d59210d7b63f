package empirical

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/mat"

	"mimverify/theory"
)

// TestLossGradBitsAcrossGOMAXPROCS checks that Model.LossGrad gives the same
// bits at GOMAXPROCS 1, 2 and 3 (chunks of ChunkSize samples reduced in
// chunk order), for both key modes, at a random non-zero Q.
func TestLossGradBitsAcrossGOMAXPROCS(t *testing.T) {
	old := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(old)
	for _, keys := range []theory.KeyMode{theory.KeysUnmasked, theory.KeysAll} {
		s, err := theory.Preset("default")
		if err != nil {
			t.Fatal(err)
		}
		s.Keys = keys
		samples := s.Samples(4, 70) // 5 chunks, the last partial
		e := NewEmbedding(&s, 2)
		m, err := NewModel(&s, e)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		q := mat.NewDense(e.D, e.D, nil)
		for i := 0; i < e.D; i++ {
			for j := 0; j < e.D; j++ {
				q.Set(i, j, rng.NormFloat64())
			}
		}
		var ref []uint64
		for _, procs := range []int{1, 2, 3} {
			runtime.GOMAXPROCS(procs)
			g := mat.NewDense(e.D, e.D, nil)
			bits := []uint64{math.Float64bits(m.LossGrad(q, samples, g)), math.Float64bits(m.Loss(q, samples))}
			for _, x := range g.RawMatrix().Data {
				bits = append(bits, math.Float64bits(x))
			}
			if ref == nil {
				ref = bits
				continue
			}
			for i := range ref {
				if bits[i] != ref[i] {
					t.Fatalf("keys %s: entry %d is %v at GOMAXPROCS=%d, %v at 1", keys, i,
						math.Float64frombits(bits[i]), procs, math.Float64frombits(ref[i]))
				}
			}
		}
	}
}
