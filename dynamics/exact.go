package dynamics

import (
	"errors"
	"fmt"
	"runtime"

	"mimverify/theory"
)

// SampleObjective is the empirical loss of a fixed sample set as a function
// of the attention correlations (A, B): level 1 of SPEC §3, exactly the loss
// the full d×d model trains on when Q(0) = 0 (the exact-reduction lemma,
// docs/DYNAMICS.md §5).
//
// The loss is (1/n) Σ_i s.LossScale() · Σ_{p∈M_i} ℓ_p with ℓ_p and its
// gradient given by the formulas of SPEC §2, derived in docs/DYNAMICS.md.
// Per-sample index lists are precomputed once; LossGrad allocates nothing
// per sample and runs on up to GOMAXPROCS cores with a reduction order that
// does not depend on GOMAXPROCS, so its results are bit-identical for any
// number of cores. A SampleObjective is not safe for concurrent use.
type SampleObjective struct {
	ws *weightedSet
}

// NewSampleObjective returns the empirical objective of the samples under the
// setting s, which must be valid; every sample must pass s.CheckSample. The
// samples are copied into index lists: later changes to them have no effect.
func NewSampleObjective(s *theory.Setting, samples []theory.Sample) (*SampleObjective, error) {
	if s == nil {
		return nil, errors.New("dynamics: sample objective: nil setting")
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("dynamics: sample objective: invalid setting: %w", err)
	}
	if len(samples) == 0 {
		return nil, errors.New("dynamics: sample objective: samples = (empty): must be at least one sample")
	}
	ws := newWeightedSet(s)
	w := 1 / float64(len(samples))
	for i, smp := range samples {
		if err := s.CheckSample(smp); err != nil {
			return nil, fmt.Errorf("dynamics: sample objective: samples[%d]: %w", i, err)
		}
		st := ws.addStructure(s, smp.Cluster, smp.Mask)
		ws.terms = append(ws.terms, term{st: st, z0: ws.addZ(smp.Z), w: w})
	}
	ws.finish()
	return &SampleObjective{ws: ws}, nil
}

// LossGrad returns the empirical loss at c and writes its gradient into grad
// (c's shape, overwritten). stderr is 0: the empirical loss is exact. It
// panics if c or grad does not have the setting's shape.
func (o *SampleObjective) LossGrad(c, grad theory.Correlations) (loss, stderr float64) {
	return o.ws.lossGrad(c, grad), 0
}

// lossGradStep is LossGrad followed by c ← c − η·grad, fused into the
// kernel's tasks (see stepper).
func (o *SampleObjective) lossGradStep(c, grad theory.Correlations, eta float64) (loss, stderr float64, finite bool) {
	loss, finite = o.ws.step(c, grad, eta, true)
	return loss, 0, finite
}

// descendSteps takes n fused steps as one phase (see phaser).
func (o *SampleObjective) descendSteps(c, grad theory.Correlations, eta float64, n int) bool {
	return o.ws.descendSteps(c, grad, eta, n)
}

// phased reports whether descendSteps pays at this GOMAXPROCS (see phaser).
func (o *SampleObjective) phased() bool { return o.ws.phased(runtime.GOMAXPROCS(0)) }

// release stops the kernel's helper goroutines (see releaser).
func (o *SampleObjective) release() { o.ws.release() }

// ExactStepSeconds estimates the time, on one core of this CPU, of one step
// of the exact kernel over terms that make pairs (masked query, key) pairs
// in all and termBlocks (term, row block) evaluations: a time per pair (the
// area sums and B coefficients) and one per evaluation (the per-query work
// and the calls around it), each a pessimistic rounding (×1.5–1.8) of a fit
// of BenchmarkExactStep at P = 196 and 400 on one core (docs/PERFORMANCE.md
// §Limits: 0.151 ns and 86 ns with the AVX-512 vector path, 2.0 ns and
// 370 ns on the portable one). The judge's cost estimates read it.
func ExactStepSeconds(pairs, termBlocks float64) float64 {
	if vecOn() {
		return pairs*0.25e-9 + termBlocks*150e-9
	}
	return pairs*3e-9 + termBlocks*600e-9
}
