package dynamics

import (
	"slices"

	"mimverify/theory"
)

// SampleGrads computes the gradients of single samples' losses, ∇ℓ_i: what
// the objective of sample i alone would give (NewSampleObjective of one
// sample; the same to rounding, summed query by query by queryDirect
// instead of by the blocked kernel, which for one image would spend most
// of its time on the e^B table over all P rows). The population
// objective's per-draw gradients (GradOn) are the same computation on its
// CRN draws. It holds its own scratch: make one per goroutine.
type SampleGrads struct {
	ws   *weightedSet
	sc   scratch
	g    theory.Correlations // the gradient, over flat
	flat []float64
	gA   [][]float64 // gA[k]: cluster k's A gradient, P×N_k, in flat
	gB   []float64   // B's, P×P, in flat
}

// Grads returns a SampleGrads of the objective's samples.
func (o *SampleObjective) Grads() *SampleGrads { return o.ws.newSampleGrads() }

func (ws *weightedSet) newSampleGrads() *SampleGrads {
	nr := ws.maxN + 1
	shape := theory.Shape{P: ws.P, Areas: slices.Clone(ws.nArea)}
	sg := &SampleGrads{ws: ws, sc: scratch{e: padded(ws.maxK), za: padded(nr), s: padded(nr), r: padded(nr)}, g: shape.New()}
	// The flat vector holds A[k] as P×N_k rows, then B as P×P
	// (theory.Shape), so each cluster's gradient is one slice of it.
	sg.flat = sg.g.Flat()
	off := 0
	sg.gA = make([][]float64, len(ws.nArea))
	for k, nk := range ws.nArea {
		sg.gA[k] = sg.flat[off : off+ws.P*nk]
		off += ws.P * nk
	}
	sg.gB = sg.flat[off:]
	return sg
}

// At returns the gradient of sample i's loss at c (the objective's sample
// order), valid until the next call. It panics if c does not have the
// setting's shape or i is out of range.
func (sg *SampleGrads) At(c theory.Correlations, i int) theory.Correlations {
	sg.ws.checkShape("input", c)
	return sg.at(c, i)
}

// at is At without the shape check, for callers that made it once.
func (sg *SampleGrads) at(c theory.Correlations, i int) theory.Correlations {
	clear(sg.flat)
	sg.ws.termLossGrad(c, sg.ws.terms[i], sg.gA, sg.gB, &sg.sc, sg.ws.scale)
	return sg.g
}
