package empirical

import (
	"errors"
	"fmt"

	"gonum.org/v1/gonum/mat"

	"mimverify/engine"
	"mimverify/internal/mutant"
	"mimverify/theory"
)

// StreamRestInit is the random stream of the components of a Gaussian Q(0)
// outside span{e_p v_{k,j}ᵀ, e_p e_qᵀ} (the in-span components are the
// problem's initial correlations, drawn by theory.Setting.InitialCorrelations
// from theory.StreamInit).
const StreamRestInit = theory.StreamInit + 50

// forceDeparted runs the departures' loop without departures (tests: it is
// then bit-identical to the in-assumption loop).
var forceDeparted = false

// Full is level 0 of SPEC §3: gradient descent Q ← Q − η ∇L(Q) on the full
// model (SPEC §1) with analytic gradients (docs/GRADIENT.md). It is the
// reference the reduced engines are checked against, and shares none of
// their code. The zero value is full-batch GD on the problem's samples.
type Full struct {
	// SGD draws Batch fresh samples per step from
	// theory.NewRand(Problem.Seed, theory.StreamSGD) instead of using the
	// problem's samples.
	SGD   bool
	Batch int
	// Observe, if not nil, is called at each record with the step, Q and
	// the embedding; it must not modify Q. The judge uses it to measure
	// Q's components outside the span of SPEC §2 (Embedding.OutOfSpan).
	Observe func(step int, q *mat.Dense, e *Embedding)
	// ObserveParams, if not nil, is called at each record of a run under
	// departures, before the record is passed to the engine.Observer, with
	// the step, every trained parameter and the model (which measures the
	// model's own attention: Model.Attention); it must not modify them.
	ObserveParams func(step int, pr Params, m *Model)
}

// ID returns engine.Full.
func (*Full) ID() engine.ID { return engine.Full }

func (f *Full) validate(p *engine.Problem) error {
	if p.Setting == nil {
		return errors.New("full: no setting")
	}
	if f.SGD {
		if f.Batch < 1 {
			return fmt.Errorf("full: Batch = %d: must be ≥ 1 for SGD", f.Batch)
		}
		return nil
	}
	if len(p.Samples) == 0 {
		return errors.New("full: samples: must be non-empty for full-batch GD")
	}
	for i, smp := range p.Samples {
		if err := p.Setting.CheckSample(smp); err != nil {
			return fmt.Errorf("full: samples[%d]: %w", i, err)
		}
	}
	return nil
}

// InitialQ returns Q(0) in embedding e: the matrix whose basis coordinates
// along e_p v_{k,j}ᵀ and e_p e_qᵀ are init (zero when init is empty), and,
// for the Gaussian initialisation, whose other basis coordinates are i.i.d.
// N(0, σ²), drawn row-major from theory.NewRand(seed, StreamRestInit).
func InitialQ(s *theory.Setting, e *Embedding, init theory.Correlations, seed uint64) *mat.Dense {
	d := e.D
	if init.A == nil && init.B == nil {
		init = s.Shape().New()
	}
	rest := mat.NewDense(d, d, nil)
	if s.Init.Kind == theory.InitGaussian {
		rng := theory.NewRand(seed, StreamRestInit)
		for i := 0; i < d; i++ {
			for j := 0; j < d; j++ {
				if !e.InSpan(i, j) {
					rest.Set(i, j, s.Init.Sigma*rng.NormFloat64())
				}
			}
		}
	}
	return e.Compose(init, rest)
}

// Run trains the full model from Q(0) = InitialQ(p.Init, p.Seed) in the
// embedding of p.Seed. L is the empirical loss on p.Samples, or with SGD the
// loss on a fresh batch per step. Each record holds the loss at the
// recorded Q (before that step's update; for SGD, the loss on that step's
// batch) and the projection of Q onto the attention correlations
// (Embedding.Project). Run checks the samples against the setting but does
// not validate the setting, so that tests may push η or z beyond the
// validated ranges. It stops with a *theory.NonFiniteError at the first
// non-finite loss or gradient.
func (f *Full) Run(p engine.Problem, sch engine.Schedule, obs engine.Observer) (theory.Trajectory, error) {
	if err := f.validate(&p); err != nil {
		return theory.Trajectory{Engine: string(engine.Full)}, err
	}
	if p.Setting.Departs() || forceDeparted {
		return f.runDeparted(p, sch, obs) // departures.go, docs/ASSUMPTIONS.md
	}
	s := p.Setting
	rec, err := engine.NewRecorder(engine.Full, s, sch, obs)
	if err != nil {
		return theory.Trajectory{Engine: string(engine.Full)}, err
	}
	if _, err := p.Start(engine.Full); err != nil {
		return rec.Trajectory(), err
	}
	e := NewEmbedding(s, p.Seed)
	m, err := NewModel(s, e)
	if err != nil {
		return rec.Trajectory(), err
	}
	q := InitialQ(s, e, p.Init, p.Seed)
	grad := mat.NewDense(e.D, e.D, nil)
	samples := p.Samples
	var sampler *theory.Sampler
	if f.SGD {
		sampler = s.NewSampler(theory.NewRand(p.Seed, theory.StreamSGD))
		samples = make([]theory.Sample, f.Batch)
	}
	for t := 0; ; t++ {
		if f.SGD {
			for i := range samples {
				samples[i] = sampler.Draw()
			}
		}
		last := t == sch.Steps
		var loss float64
		if last {
			loss = m.Loss(q, samples)
		} else {
			loss = m.LossGrad(q, samples, grad)
		}
		if rec.Wants(t) {
			if err := rec.Add(t, loss, 0, e.Project(q)); err != nil {
				return rec.Trajectory(), err
			}
			if f.Observe != nil {
				f.Observe(t, q, e)
			}
		} else if !theory.Finite(loss) {
			return rec.Trajectory(), &theory.NonFiniteError{Engine: string(engine.Full), Step: t, Quantity: "loss", Value: loss}
		}
		if last {
			return rec.Trajectory(), nil
		}
		if _, v, bad := engine.FirstNonFinite(grad.RawMatrix().Data); bad {
			return rec.Trajectory(), &theory.NonFiniteError{Engine: string(engine.Full), Step: t, Quantity: "gradient of Q", Value: v}
		}
		grad.Scale(-s.Eta, grad)
		if mutant.On(mutant.LearningRate) {
			grad.Scale(0.7, grad)
		}
		q.Add(q, grad)
		if err := rec.Stepped(t + 1); err != nil {
			return rec.Trajectory(), err
		}
	}
}
