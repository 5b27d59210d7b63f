package judge

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"

	"mimverify/engine"
	"mimverify/internal/parallel"
	"mimverify/theory"
)

// halfRuns is the split-half jackknife of the main run (docs/SHARP.md §7):
// the exact engine trained from the main run's start on each half of the
// training images, measured at the main run's records on its own half,
// and at the last record on the held-out images.
type halfRuns struct {
	Images int            // images per half
	Train  [2][]Attention // per half, per record of the main run
	HeldFP [2]float64     // held-out FP share at the last record
}

// jackknife returns the value m measured on n images with its O(1/n) bias
// removed, from the same quantity measured on the two halves (h0, h1 on
// n/2 images each): a smooth functional of the n-sample run has bias b/n +
// O(n⁻²), so the halves carry 2b/n and 2m − (h0 + h1)/2 has bias O(n⁻²),
// with the same first-order fluctuation as m (the halves' linear parts
// average to m's).
func jackknife(m, h0, h1 float64) float64 { return 2*m - (h0+h1)/2 }

// correct returns the jackknifed value at record i of a quantity read off
// the attention, and m itself when there are no halves or the quantity is
// undefined on a half (no reconstructable query among its images).
func (h *halfRuns) correct(m float64, i int, field func(a *Attention) float64) float64 {
	if h == nil || field == nil {
		return m
	}
	return jackknifeOr(m, field(&h.Train[0][i]), field(&h.Train[1][i]))
}

// jackknifeOr is jackknife, or m where a half's value is undefined.
func jackknifeOr(m, h0, h1 float64) float64 {
	if math.IsNaN(h0) || math.IsNaN(h1) {
		return m
	}
	return jackknife(m, h0, h1)
}

// jackknifeMinImages is the fewest images per half the jackknife runs on:
// below it the halves' own second-order error is no longer small next to
// the bias it removes (the bands themselves are asserted from
// sharpMinImages training images).
const jackknifeMinImages = sharpMinImages / 2

// splitHalves runs the jackknife's two half runs, or says why not.
func (r *run) splitHalves() (*halfRuns, string) {
	n := len(r.problem.Samples) / 2
	switch {
	case r.ev.MainEngine != engine.Exact:
		return nil, fmt.Sprintf("the main run is the %s engine's, which the judge cannot rerun on half the images", r.ev.MainEngine)
	case n < jackknifeMinImages:
		return nil, fmt.Sprintf("%d training images: halves of fewer than %d", 2*n, jackknifeMinImages)
	}
	sets := [][]theory.Sample{r.problem.Samples[:n], r.problem.Samples[n : 2*n]}
	h := &halfRuns{Images: n}
	last := len(r.schedule.Record) - 1
	for k := range sets {
		h.Train[k] = make([]Attention, len(r.schedule.Record))
	}
	err := r.trainSets(sets, r.schedule, func(k, i int, rec *theory.Record) {
		h.Train[k][i] = MeasureAttention(r.s, rec.Correlations, sets[k], r.opt.Epsilon, r.opt.Delta, false)
		if i == last {
			h.HeldFP[k] = MeasureAttention(r.s, rec.Correlations, r.eval, r.opt.Epsilon, r.opt.Delta, false).FPShare
		}
	})
	if err != nil {
		return nil, "a half run failed: " + err.Error()
	}
	return h, ""
}

// trainSets trains the exact engine from the main run's start on each of
// sets over sch, calling at(k, i, record) at set k's i-th record. The sets
// run side by side; at must write only set k's results, so that they do
// not depend on the schedule.
func (r *run) trainSets(sets [][]theory.Sample, sch engine.Schedule, at func(k, i int, rec *theory.Record)) error {
	exact, err := r.opt.engine(engine.Exact)
	if err != nil {
		return err
	}
	errs := make([]error, len(sets))
	parallel.For(len(sets), runtime.GOMAXPROCS(0), func(_, k int) {
		p := r.problem
		p.Samples = sets[k]
		obs := engine.Observer{Record: func(rec *theory.Record) error {
			at(k, slices.Index(sch.Record, rec.Step), rec)
			return nil
		}, Discard: true}
		_, errs[k] = exact.Run(p, sch, obs)
	})
	return errors.Join(errs...)
}
