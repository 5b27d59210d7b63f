package dynamics

import (
	"slices"

	"mimverify/theory"
)

// termGrads computes single terms' gradients: the gradient of one term's
// scaled loss alone (weight ws.scale, what a one-sample objective's
// LossGrad gives, to rounding), query by query (queryDirect), which for
// one term costs less than the blocked kernel's e^B table over all P
// rows. It holds its own scratch: one per goroutine.
type termGrads struct {
	ws   *weightedSet
	sc   scratch
	g    theory.Correlations // the gradient, over flat
	flat []float64
	gA   [][]float64 // gA[k]: cluster k's A gradient, P×N_k, in flat
	gB   []float64   // B's, P×P, in flat
}

func (ws *weightedSet) newTermGrads() *termGrads {
	nr := ws.maxN + 1
	shape := theory.Shape{P: ws.P, Areas: slices.Clone(ws.nArea)}
	tg := &termGrads{ws: ws, sc: scratch{e: padded(ws.maxK), za: padded(nr), s: padded(nr), r: padded(nr)}, g: shape.New()}
	// The flat vector holds A[k] as P×N_k rows, then B as P×P
	// (theory.Shape), so each cluster's gradient is one slice of it.
	tg.flat = tg.g.Flat()
	off := 0
	tg.gA = make([][]float64, len(ws.nArea))
	for k, nk := range ws.nArea {
		tg.gA[k] = tg.flat[off : off+ws.P*nk]
		off += ws.P * nk
	}
	tg.gB = tg.flat[off:]
	return tg
}

// at returns term i's gradient at c, valid until the next call.
func (tg *termGrads) at(c theory.Correlations, i int) theory.Correlations {
	clear(tg.flat)
	tg.ws.termLossGrad(c, tg.ws.terms[i], tg.gA, tg.gB, &tg.sc, tg.ws.scale)
	return tg.g
}

// SampleGrads computes the gradients of single samples' losses, ∇ℓ_i: what
// the objective of sample i alone would give (NewSampleObjective of one
// sample; the same to rounding, summed query by query instead of by the
// blocked kernel, which for one image would spend most of its time on the
// e^B table). Make one per goroutine: it is not safe for concurrent use.
type SampleGrads struct{ tg *termGrads }

// Grads returns a SampleGrads of the objective's samples.
func (o *SampleObjective) Grads() *SampleGrads {
	return &SampleGrads{tg: o.ws.newTermGrads()}
}

// At returns the gradient of sample i's loss at c (the objective's sample
// order), valid until the next call. It panics if c does not have the
// setting's shape or i is out of range.
func (g *SampleGrads) At(c theory.Correlations, i int) theory.Correlations {
	g.tg.ws.checkShape("input", c)
	return g.tg.at(c, i)
}
