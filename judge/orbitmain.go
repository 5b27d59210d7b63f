package judge

import (
	"fmt"
	"math"

	"mimverify/dynamics"
	"mimverify/engine"
	"mimverify/theory"
)

// mainCRNSamples is the number of CRN draws per query representative of an
// orbit main run (Options.Main) when the exact enumeration is over its
// budget: the law of the attention is then a Monte Carlo sample of this
// many draws per representative, as precise as a main run's n = 256
// training images, at a fraction of the default draws' cost.
const mainCRNSamples = 256

// gatherOrbitMain runs the main trajectory on the orbit engine
// (Options.Main = engine.Orbit) and measures each record from the
// population law of the attention; the pairwise total variation (C5) needs
// the joint law of two queries, and is measured on the held-out samples at
// the last record.
func (r *run) gatherOrbitMain() error {
	opt := dynamics.OrbitOptions{}
	if o, err := dynamics.NewOrbit(r.s, opt); err != nil {
		return fmt.Errorf("main run on the orbit engine: %w", err)
	} else if o.Mode() == dynamics.OrbitCRN {
		opt.CRNSamples = mainCRNSamples
	}
	r.stage("orbit engine (population GD on the symmetry orbits) and measurements: up to %d steps", r.steps)
	eng := &dynamics.OrbitEngine{Options: opt}
	var pm popMeasurer
	var x []float64
	var measures []Measure
	main, err := r.runSettling(eng, &measures, func(rec *theory.Record) Measure {
		if x == nil {
			x = make([]float64, eng.Used.Dim())
		}
		eng.Used.Project(rec.Correlations, x)
		p := pm.measure(r.s, eng.Used, x, rec.Step, r.opt.Epsilon)
		p.OwnQuantile = weightedQuantile(pm.terms, r.opt.Delta)
		return Measure{Step: rec.Step, Loss: rec.Loss, Attention: p.attention(r.s), FP: SummarizeFP(r.s, rec.Correlations)}
	})
	if err != nil {
		return err
	}
	last := main.Final()
	held := MeasureAttention(r.s, last.Correlations, r.eval, r.opt.Epsilon, r.opt.Delta, false)
	tvs := pairTVs(r.s, last.Correlations, r.eval) // C5 on the held-out images: the law has no pairs
	held.setTV(tvs, r.opt.Delta)
	measures[len(measures)-1].Attention.setTV(tvs, r.opt.Delta)
	r.finishMain(engine.Orbit, &main, measures, &held)
	r.engines = []engine.ID{engine.Orbit}
	r.ev.Sharp = &Sharp{Engine: engine.Orbit, Note: "the main run is the reduced ODE itself (--engine orbit): there is no separate prediction to compare it with"}
	return nil
}

// attention returns the population law's statistics in the form of a
// measured Attention: the fields the claims read. The per-area and
// per-query maps are NaN but for what localMass reads with a global area
// (the local areas' mean mass on g and on their own area).
func (p *PopMeasure) attention(s *theory.Setting) Attention {
	at := newAttentionSums(s).at
	nan := math.NaN()
	for k := range at.OwnByArea {
		fill(at.OwnByArea[k], nan)
		fill(at.OwnByQuery[k], nan)
		for j := range at.MassByArea[k] {
			fill(at.MassByArea[k][j], nan)
		}
	}
	if g, ok := s.GlobalArea(); ok {
		for j, row := range at.MassByArea[0] {
			if j != g {
				row[g], row[j] = p.LocalGlobal, p.LocalOwn
			}
		}
	}
	at.OwnMean, at.OwnQuantile, at.OwnReached = p.OwnMean, p.OwnQuantile, p.OwnReached
	at.ReconstructableLoss, at.FPShare = p.ReconstructableLoss, p.FPShare
	at.OwnMin, at.TVMin, at.TVMean, at.TVQuantile = nan, nan, nan, nan
	at.OwnMeanSE, at.OwnReachedSE, at.ReconstructableLossSE = p.OwnMeanSE, p.OwnReachedSE, p.ReconstructableLossSE
	at.FPShareSE, at.LocalOwnSE, at.LocalGapSE = p.FPShareSE, p.LocalOwnSE, p.LocalGapSE
	return at
}

func fill(xs []float64, v float64) {
	for i := range xs {
		xs[i] = v
	}
}
