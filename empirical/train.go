package empirical

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"mimverify/theory"
)

// EngineName is the Trajectory.Engine of this package.
const EngineName = "full"

// StreamRestInit is the random stream of the components of a Gaussian Q(0)
// outside span{e_p v_{k,j}ᵀ, e_p e_qᵀ} (the in-span components come from
// theory.InitialCorrelations, drawn from theory.StreamInit).
const StreamRestInit = theory.StreamInit + 50

// Options configures Train.
type Options struct {
	// Steps is the number of gradient steps (≥ 0).
	Steps int
	// RecordEvery is the interval between records (≥ 1); step 0 and the
	// last step are always recorded.
	RecordEvery int
	// Seed selects the embedding basis, the initialisation and, for SGD, the
	// fresh samples.
	Seed uint64
	// Samples is the fixed sample set of full-batch GD (required unless SGD,
	// ignored with SGD); the CLI passes theory.Samples(s, seed, n). Each
	// sample must pass s.CheckSample.
	Samples []theory.Sample
	// SGD draws Batch fresh samples per step from
	// theory.NewRand(Seed, theory.StreamSGD) instead of using Samples.
	SGD bool
	// Batch is the SGD batch size (≥ 1 when SGD).
	Batch int
	// AxisBasis uses the identity basis instead of the random one.
	AxisBasis bool
	// Progress, if not nil, is called after each step with (step, Steps).
	Progress func(step, steps int)
	// RecordSteps, when not empty, replaces RecordEvery: records are made at
	// exactly these steps (strictly increasing, in [0, Steps]) plus step 0
	// and the last step, as in dynamics.DescendOptions.
	RecordSteps []int
	// Observe, if not nil, is called at each record with the step, Q and
	// the embedding; it must not modify Q. The judge uses it to measure
	// Q's components outside the span of SPEC §2 (Embedding.OutOfSpan).
	Observe func(step int, q *mat.Dense, e *Embedding)
}

func (o *Options) validate(s *theory.Setting) error {
	var errs []error
	if o.Steps < 0 {
		errs = append(errs, fmt.Errorf("option Steps = %d: must be ≥ 0", o.Steps))
	}
	if o.RecordEvery < 1 && len(o.RecordSteps) == 0 {
		errs = append(errs, fmt.Errorf("option RecordEvery = %d: must be ≥ 1", o.RecordEvery))
	}
	for i, t := range o.RecordSteps {
		if t < 0 || t > o.Steps || (i > 0 && t <= o.RecordSteps[i-1]) {
			errs = append(errs, fmt.Errorf("option RecordSteps[%d] = %d: must be strictly increasing steps in [0, Steps = %d]", i, t, o.Steps))
			break
		}
	}
	if o.SGD {
		if o.Batch < 1 {
			errs = append(errs, fmt.Errorf("option Batch = %d: must be ≥ 1 for SGD", o.Batch))
		}
	} else {
		if len(o.Samples) == 0 {
			errs = append(errs, errors.New("option Samples: must be non-empty for full-batch GD"))
		}
		for i, smp := range o.Samples {
			if err := s.CheckSample(smp); err != nil {
				errs = append(errs, fmt.Errorf("option Samples[%d]: %w", i, err))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// InitialQ returns Q(0) for a seed in embedding e: 0 for the zero
// initialisation; for the Gaussian one, the matrix whose basis coordinates
// along e_p v_{k,j}ᵀ and e_p e_qᵀ are theory.InitialCorrelations(s, seed) (so
// that every engine starts from the same A, B) and whose other basis
// coordinates are i.i.d. N(0, σ²), drawn row-major from
// theory.NewRand(seed, StreamRestInit).
func InitialQ(s *theory.Setting, e *Embedding, seed uint64) *mat.Dense {
	d := e.D
	if s.Init.Kind != theory.InitGaussian {
		return mat.NewDense(d, d, nil)
	}
	rest := mat.NewDense(d, d, nil)
	rng := theory.NewRand(seed, StreamRestInit)
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			if !e.InSpan(i, j) {
				rest.Set(i, j, s.Init.Sigma*rng.NormFloat64())
			}
		}
	}
	return e.Compose(theory.InitialCorrelations(s, seed), rest)
}

// Train runs gradient descent Q ← Q − η ∇L(Q) on the full model (SPEC §1)
// and returns its trajectory (Engine "full"). L is the empirical loss on
// opt.Samples, or with opt.SGD the loss on a fresh batch per step. Each
// Record holds the loss at the recorded Q (before that step's update; for
// SGD, the loss on that step's batch) and the projection of Q onto the
// attention correlations (Embedding.Project). The setting must be valid:
// Train checks the options and the samples against it but does not call
// s.Validate, so that tests may push η or z beyond the validated ranges.
// Train stops with a *theory.NonFiniteError at the first non-finite loss or
// gradient, returning the records made before it.
func Train(s *theory.Setting, opt Options) (theory.Trajectory, error) {
	traj := theory.Trajectory{Engine: EngineName}
	if err := opt.validate(s); err != nil {
		return traj, err
	}
	var e *Embedding
	if opt.AxisBasis {
		e = AxisEmbedding(s)
	} else {
		e = NewEmbedding(s, opt.Seed)
	}
	m, err := NewModel(s, e)
	if err != nil {
		return traj, err
	}
	q := InitialQ(s, e, opt.Seed)
	d := e.D
	grad := mat.NewDense(d, d, nil)

	samples := opt.Samples
	var sampler *theory.Sampler
	if opt.SGD {
		sampler = theory.NewSampler(s, theory.NewRand(opt.Seed, theory.StreamSGD))
		samples = make([]theory.Sample, opt.Batch)
	}
	next := 0
	recordAt := func(t int) bool {
		if len(opt.RecordSteps) == 0 {
			return t%opt.RecordEvery == 0
		}
		for next < len(opt.RecordSteps) && opt.RecordSteps[next] < t {
			next++
		}
		return t == 0 || (next < len(opt.RecordSteps) && opt.RecordSteps[next] == t)
	}
	for t := 0; t <= opt.Steps; t++ {
		if opt.SGD {
			for i := range samples {
				samples[i] = sampler.Draw()
			}
		}
		last := t == opt.Steps
		var loss float64
		if last {
			loss = m.Loss(q, samples)
		} else {
			loss = m.LossGrad(q, samples, grad)
		}
		if !finite(loss) {
			return traj, &theory.NonFiniteError{Engine: EngineName, Step: t, Quantity: "loss", Value: loss}
		}
		if !last {
			if bad, ok := firstNonFinite(grad); ok {
				return traj, &theory.NonFiniteError{Engine: EngineName, Step: t, Quantity: "gradient of Q", Value: bad}
			}
		}
		if recordAt(t) || last {
			traj.Records = append(traj.Records, theory.Record{
				Step:         t,
				Time:         s.Eta * float64(t),
				Loss:         loss,
				Correlations: e.Project(q),
			})
			if opt.Observe != nil {
				opt.Observe(t, q, e)
			}
		}
		if last {
			break
		}
		q.Add(q, scaled(grad, -s.Eta))
		if opt.Progress != nil {
			opt.Progress(t+1, opt.Steps)
		}
	}
	return traj, nil
}

// scaled multiplies g by a in place and returns it.
func scaled(g *mat.Dense, a float64) *mat.Dense {
	g.Scale(a, g)
	return g
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func firstNonFinite(g *mat.Dense) (float64, bool) {
	r := g.RawMatrix()
	for i := 0; i < r.Rows; i++ {
		for _, x := range r.Data[i*r.Stride : i*r.Stride+r.Cols] {
			if !finite(x) {
				return x, true
			}
		}
	}
	return 0, false
}
