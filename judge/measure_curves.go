package judge

import (
	"math"
	"runtime"

	"mimverify/internal/parallel"
	"mimverify/theory"
)

// curveValues returns what the curves of C2 and C7 read of the attention
// at c on samples — the reconstructable loss per image and the mean
// own-area mass of the reconstructable queries — equal, bit for bit, to
// MeasureAttention's ReconstructableLoss and OwnMean
// (TestCurveValuesMatchMeasure), without the rest of the measurement
// (logit gaps, quantiles, per-area and per-position means, standard
// errors; it calls the same groupSums and specQuery): earlySpread
// measures 16 training sets at 14 records for these two numbers alone. The scores are SPEC §2's (no model's attention).
func curveValues(s *theory.Setting, c theory.Correlations, samples []theory.Sample) (loss, own float64) {
	eb := newFactoredB(c, s.P)
	defer eb.release()
	type image struct{ loss, own []float64 } // the reconstructable queries', in position order
	imgs := make([]image, len(samples))
	type scratch struct {
		g     keyGroups
		w     queryWork
		S, pi []float64
	}
	workers := runtime.GOMAXPROCS(0)
	scr := make([]scratch, workers)
	parallel.For(len(samples), workers, func(wk, i int) {
		smp, sc := &samples[i], &scr[wk]
		areas := s.AreasOf(smp)
		sc.g.build(s, smp, areas)
		n := len(smp.Z)
		w := sc.w.size(n + 1)
		if len(sc.S) != n {
			sc.S, sc.pi = make([]float64, n), make([]float64, s.P)
		}
		for p, m := range smp.Mask {
			a := areas[p]
			if !m || sc.g.size(a) == 0 {
				continue // not a query, or not reconstructable
			}
			groupSums(eb, c, sc.g, p, w)
			imgs[i].loss = append(imgs[i].loss, specQuery(s, eb, c, smp, sc.g, a, p, w, sc.S, nil, sc.pi))
			imgs[i].own = append(imgs[i].own, sc.S[a])
		}
	})
	// Folded as MeasureAttention folds them: images in order, queries in
	// position order.
	queries := 0
	for _, im := range imgs {
		for j := range im.loss {
			loss += im.loss[j]
			own += im.own[j]
			queries++
		}
	}
	if len(samples) > 0 {
		loss /= float64(len(samples))
	}
	if queries == 0 {
		return loss, math.NaN()
	}
	return loss, own / float64(queries)
}
