package empirical

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"

	"mimverify/engine"
	"mimverify/internal/mutant"
	"mimverify/theory"
)

// departedRun is the state of a training run under departures.
type departedRun struct {
	s       *theory.Setting
	e       *Embedding
	m       *Model
	pr      Params
	gq      []*mat.Dense
	gw      *mat.Dense
	opt     *adam
	rng     *rand.Rand // minibatch indices
	sampler *theory.Sampler
	pool    []theory.Sample // the fixed sample set
	batch   []theory.Sample
	idx     []int
}

// newDepartedRun sets up the parameters (head 0 as InitialQ; heads 1..h−1
// zero, or for the Gaussian initialisation every basis coordinate
// N(0, σ²) from theory.StreamHeads; W = I), the optimiser and the sample
// source.
func (f *Full) newDepartedRun(p *engine.Problem) (*departedRun, error) {
	s := p.Setting
	dep := s.Departures
	e := NewEmbedding(s, p.Seed)
	m, err := NewModel(s, e)
	if err != nil {
		return nil, err
	}
	r := &departedRun{s: s, e: e, m: m, pool: p.Samples}
	r.pr.Q = append(r.pr.Q, InitialQ(s, e, p.Init, p.Seed))
	hrng := theory.NewRand(p.Seed, theory.StreamHeads)
	for range dep.NumHeads() - 1 {
		q := mat.NewDense(e.D, e.D, nil)
		if s.Init.Kind == theory.InitGaussian {
			c := mat.NewDense(e.D, e.D, nil)
			for i := range e.D * e.D {
				c.RawMatrix().Data[i] = s.Init.Sigma * hrng.NormFloat64()
			}
			q = e.FromCoords(c)
		}
		r.pr.Q = append(r.pr.Q, q)
	}
	sizes := []int{}
	for range r.pr.Q {
		r.gq = append(r.gq, mat.NewDense(e.D, e.D, nil))
		sizes = append(sizes, e.D*e.D)
	}
	if dep.TrainValue {
		r.pr.W = mat.NewDense(e.D, e.D, nil)
		for i := range e.D {
			r.pr.W.Set(i, i, 1)
		}
		r.gw = mat.NewDense(e.D, e.D, nil)
		sizes = append(sizes, e.D*e.D)
	}
	if dep.Adam() {
		r.opt = newAdam(dep.Beta1, dep.Beta2, dep.AdamEps, s.Eta, sizes)
	}
	switch {
	case f.SGD:
		r.sampler = s.NewSampler(theory.NewRand(p.Seed, theory.StreamSGD)).WithAux(theory.NewRand(p.Seed, theory.StreamSGDDepartures))
		r.batch = make([]theory.Sample, f.Batch)
	case dep.Batch > 0:
		if !dep.Replacement && dep.Batch > len(p.Samples) {
			return nil, fmt.Errorf("full: departures.batch = %d: must be at most the number of samples (%d) without replacement", dep.Batch, len(p.Samples))
		}
		r.rng = theory.NewRand(p.Seed, theory.StreamBatch)
		r.batch = make([]theory.Sample, dep.Batch)
		r.idx = make([]int, len(p.Samples))
	default:
		r.batch = p.Samples
	}
	return r, nil
}

// draw fills the step's batch: fresh samples (SGD), a minibatch of the
// fixed set (with replacement: i.i.d. uniform indices; without: a uniform
// subset by partial Fisher–Yates), its indices sorted so that a batch of
// every sample is the full set in its order, or the full set.
func (r *departedRun) draw() {
	switch {
	case r.sampler != nil:
		for i := range r.batch {
			r.batch[i] = r.sampler.Draw()
		}
	case r.rng != nil:
		b, n := len(r.batch), len(r.pool)
		sel := r.idx[:b]
		if r.s.Departures.Replacement {
			for i := range sel {
				sel[i] = r.rng.IntN(n)
			}
		} else {
			for i := range r.idx {
				r.idx[i] = i
			}
			for i := 0; i < b; i++ {
				j := i + r.rng.IntN(n-i)
				r.idx[i], r.idx[j] = r.idx[j], r.idx[i]
			}
		}
		slices.Sort(sel)
		for i, k := range sel {
			r.batch[i] = r.pool[k]
		}
	}
}

// lossGrad evaluates the loss on the batch and, unless last, the
// gradients: on Model's fast path when the departures keep its rank
// structure and one head with the fixed read-out (the very call of the
// in-assumption loop), else on the general path.
func (r *departedRun) lossGrad(last bool) float64 {
	if !general(r.s) {
		if last {
			return r.m.Loss(r.pr.Q[0], r.batch)
		}
		return r.m.LossGrad(r.pr.Q[0], r.batch, r.gq[0])
	}
	if last {
		return r.m.LossGradParams(r.pr, r.batch, nil, nil)
	}
	return r.m.LossGradParams(r.pr, r.batch, r.gq, r.gw)
}

// params and grads list the trained arrays (heads, then W).
func (r *departedRun) arrays() (params, grads []*mat.Dense) {
	params, grads = slices.Clone(r.pr.Q), slices.Clone(r.gq)
	if r.pr.W != nil && !freezeValue {
		params, grads = append(params, r.pr.W), append(grads, r.gw)
	}
	return params, grads
}

// freezeValue keeps W at its initial value (tests: the frozen value map is
// the fixed read-out).
var freezeValue = false

// update applies one step: weight decay g += λθ, then GD (θ ← θ − η g, the
// in-assumption loop's operations) or Adam. It returns the first
// non-finite gradient entry found, if any.
func (r *departedRun) update(t int) error {
	params, grads := r.arrays()
	for i, g := range grads {
		if _, v, bad := engine.FirstNonFinite(g.RawMatrix().Data); bad {
			what := "gradient of Q"
			if i >= len(r.pr.Q) {
				what = "gradient of W"
			} else if len(r.pr.Q) > 1 {
				what = fmt.Sprintf("gradient of Q (head %d)", i+1)
			}
			return &theory.NonFiniteError{Engine: string(engine.Full), Step: t, Quantity: what, Value: v}
		}
		if wd := r.s.Departures.WeightDecay; wd != 0 {
			var th mat.Dense
			th.Scale(wd, params[i])
			g.Add(g, &th)
		}
	}
	if r.opt != nil {
		ps, gs := make([][]float64, len(params)), make([][]float64, len(grads))
		for i := range params {
			ps[i], gs[i] = params[i].RawMatrix().Data, grads[i].RawMatrix().Data
		}
		r.opt.step(ps, gs)
		return nil
	}
	for i, g := range grads {
		g.Scale(-r.s.Eta, g)
		if mutant.On(mutant.LearningRate) {
			g.Scale(0.7, g)
		}
		params[i].Add(params[i], g)
	}
	return nil
}

// runDeparted is Run under departures (docs/ASSUMPTIONS.md): the loop of
// Run with a minibatch per step, the general path when needed, weight
// decay and Adam. Each record holds the loss on the step's batch and the
// projection of head 1's Q.
func (f *Full) runDeparted(p engine.Problem, sch engine.Schedule, obs engine.Observer) (theory.Trajectory, error) {
	rec, err := engine.NewRecorder(engine.Full, p.Setting, sch, obs)
	if err != nil {
		return theory.Trajectory{Engine: string(engine.Full)}, err
	}
	if _, err := p.Start(engine.Full); err != nil {
		return rec.Trajectory(), err
	}
	r, err := f.newDepartedRun(&p)
	if err != nil {
		return rec.Trajectory(), err
	}
	for t := 0; ; t++ {
		r.draw()
		last := t == sch.Steps
		loss := r.lossGrad(last)
		if rec.Wants(t) {
			if f.ObserveParams != nil {
				f.ObserveParams(t, r.pr, r.m)
			}
			if err := rec.Add(t, loss, 0, r.e.Project(r.pr.Q[0])); err != nil {
				return rec.Trajectory(), err
			}
			if f.Observe != nil {
				f.Observe(t, r.pr.Q[0], r.e)
			}
		} else if !theory.Finite(loss) {
			return rec.Trajectory(), &theory.NonFiniteError{Engine: string(engine.Full), Step: t, Quantity: "loss", Value: loss}
		}
		if last {
			return rec.Trajectory(), nil
		}
		if err := r.update(t); err != nil {
			return rec.Trajectory(), err
		}
		if err := rec.Stepped(t + 1); err != nil {
			return rec.Trajectory(), err
		}
	}
}
