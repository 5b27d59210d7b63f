package judge

import (
	"math"
	"testing"

	"mimverify/theory"
)

// ownAreaModel is a modelAttention whose every masked query attends
// uniformly to the unmasked keys of its own area — the area of the
// sample's own partition (theory.Setting.AreasOf) — with a loss of 0: the
// measured own-area mass of every reconstructable query is then 1 exactly.
type ownAreaModel struct{ s *theory.Setting }

func (m ownAreaModel) sample(smp *theory.Sample) ([][]float64, []float64) {
	areas := m.s.AreasOf(smp)
	pi := make([][]float64, len(smp.Mask))
	for p := range pi {
		pi[p] = make([]float64, len(smp.Mask))
		n := 0.0
		for q, masked := range smp.Mask {
			if !masked && areas[q] == areas[p] {
				n++
			}
		}
		for q, masked := range smp.Mask {
			if !masked && areas[q] == areas[p] {
				pi[p][q] = 1 / n
			}
		}
	}
	return pi, make([]float64, len(smp.Mask))
}

// TestModelMeasurementOwnPartition: with a partition per image (the
// random-partitions departure), the model path of the measurement groups
// a query's attention by the image's own partition, the one its own area
// and key groups come from. A model that attends only inside the query's
// own area must measure an own-area mass of 1 — it measured about 1/N_k
// when the masses were grouped by the cluster's partition instead.
func TestModelMeasurementOwnPartition(t *testing.T) {
	s, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	s.Departures.RandomPartitions = true
	samples := s.Samples(1, 32)
	moved := 0
	for _, smp := range samples {
		for p, a := range s.AreasOf(&smp) {
			if a != s.Clusters[smp.Cluster].Areas[p] {
				moved++
			}
		}
	}
	if moved == 0 {
		t.Fatal("the images' partitions are the cluster's: the test would not tell them apart")
	}
	at := accumulateWith(&s, s.Shape().New(), samples, false, ownAreaModel{&s}).finish(len(samples), 0.1, 0.1)
	// Each own-area mass sums at most P copies of 1/n (n ≤ P keys), so it is
	// 1 within P·u; their mean and minimum stay within that.
	bound := float64(s.P) * 0x1p-53
	if at.Queries == 0 || math.Abs(at.OwnMean-1) > bound || math.Abs(at.OwnMin-1) > bound {
		t.Errorf("own-area mass of a model attending inside the own area: mean %.17g, min %.17g over %d queries; want 1", at.OwnMean, at.OwnMin, at.Queries)
	}
}

// TestTotalVariation checks the four-chain total variation against its
// definition: 0 for equal laws, exactly 1 for point masses on different
// keys, and on random laws over 197 keys (the tail loop included) within
// the rounding of two sums of 197 terms of total at most 2, 2·197·u·2,
// of the one-chain sum ½ Σ|a − b|.
func TestTotalVariation(t *testing.T) {
	const n = 197
	rng := theory.NewRand(5, 2)
	law := func() []float64 {
		x := make([]float64, n)
		sum := 0.0
		for i := range x {
			x[i] = rng.ExpFloat64()
			sum += x[i]
		}
		for i := range x {
			x[i] /= sum
		}
		return x
	}
	for range 20 {
		a, b := law(), law()
		want := 0.0
		for i := range a {
			want += math.Abs(a[i] - b[i])
		}
		want /= 2
		if got := totalVariation(a, b); math.Abs(got-want) > 2*n*0x1p-53*2 {
			t.Errorf("TV %.17g, one-chain sum %.17g", got, want)
		}
		if got := totalVariation(a, a); got != 0 {
			t.Errorf("TV of a law with itself: %g", got)
		}
	}
	a, b := make([]float64, n), make([]float64, n)
	a[3], b[196] = 1, 1
	if got := totalVariation(a, b); got != 1 {
		t.Errorf("TV of point masses on different keys: %.17g, want 1", got)
	}
}
