package judge

import (
	"errors"
	"fmt"
	"math"
	"runtime"

	"gonum.org/v1/gonum/floats"

	"mimverify/dynamics"
	"mimverify/engine"
	"mimverify/internal/parallel"
	"mimverify/theory"
	"mimverify/theory/expr"
)

// Expansion bounds how much the linearised GD map can stretch a perturbation
// along a path: Π_s max(1, ‖I − ηH(θ_s)‖₂), which bounds ‖Φ(t, s)‖ for every
// s. The Hessian H is that of obj, applied by central differences of its
// gradient (dynamics.Gradient.HessVec), and the norm of the symmetric
// matrix I − ηH is found by power iterations from a fixed start (an
// estimate from below that converges geometrically; the product over the
// path is then an upper estimate of the stretch actually met).
func Expansion(s *theory.Setting, obj dynamics.Objective, path []theory.Record, iterations int) float64 {
	sh := s.Shape()
	grad := dynamics.NewGradient(sh, obj)
	hv := make([]float64, sh.Len())
	prod := 1.0
	for _, rec := range path[:len(path)-1] {
		x := rec.Flat()
		v := make([]float64, len(x))
		rng := theory.NewRand(11, theory.StreamInit)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		norm := 0.0
		for it := 0; it < iterations; it++ {
			n := floats.Norm(v, 2)
			if n == 0 {
				break
			}
			for i := range v {
				v[i] /= n
			}
			grad.HessVec(x, v, hv)
			for i := range v {
				v[i] -= s.Eta * hv[i]
			}
			norm = floats.Norm(v, 2)
		}
		prod *= math.Max(1, norm)
	}
	return prod
}

// SampleSpread returns √tr Cov(G_i) for G_i = η Σ_{s<t} ∇ℓ_i(θ_s), the
// per-sample sums of gradient steps along the population path, estimated on
// a pool of fresh samples: the first-order RMS distance between the exact
// recursion on n samples and the population recursion after the path is
// this over √n (docs/AGREEMENT.md §2).
func SampleSpread(s *theory.Setting, path []theory.Record, pool []theory.Sample) (float64, error) {
	obj, err := dynamics.NewSampleObjective(s, pool)
	if err != nil {
		return math.NaN(), err
	}
	// The pool in spreadChunks fixed chunks, each summed in sample order
	// and the chunks folded in order: the same bits at any GOMAXPROCS.
	n := s.Shape().Len()
	chunks := min(spreadChunks, len(pool))
	sums := make([][2][]float64, chunks)
	parallel.For(chunks, runtime.GOMAXPROCS(0), func(_, ch int) {
		grads := obj.Grads()
		sum, sum2, acc := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := ch * len(pool) / chunks; i < (ch+1)*len(pool)/chunks; i++ {
			clear(acc)
			for _, rec := range path[:len(path)-1] {
				floats.AddScaled(acc, s.Eta, grads.At(rec.Correlations, i).Flat())
			}
			floats.Add(sum, acc)
			for j, a := range acc {
				sum2[j] += a * a
			}
		}
		sums[ch] = [2][]float64{sum, sum2}
	})
	sum, sum2 := sums[0][0], sums[0][1]
	for _, cs := range sums[1:] {
		floats.Add(sum, cs[0])
		floats.Add(sum2, cs[1])
	}
	m := float64(len(pool))
	tr := 0.0
	for i := range sum {
		tr += math.Max(0, (sum2[i]-sum[i]*sum[i]/m)/(m-1))
	}
	return math.Sqrt(tr), nil
}

// spreadChunks is the number of chunks SampleSpread sums its pool in.
const spreadChunks = 8

// The agreement bounds of C8, as printed and as evaluated
// (docs/AGREEMENT.md §2–3).
var (
	// flowBound: GD and the flow differ by the first-order prediction u₁
	// up to O(η²), which is ≤ 15 % at η/4 on the presets, plus the
	// integrator's error at its default tolerances (RelTol 10⁻⁸, AbsTol
	// 10⁻¹⁰: at most 6.5·10⁻⁹ in the gap on the presets against a run at
	// 10⁻¹⁰, docs/AGREEMENT.md §3).
	flowBound = expr.Add(expr.Mul(expr.Num(1.15), expr.Sym("u₁")), expr.Num(1e-7))
	// sampleBound: three standard deviations (a 0.3 % false-alarm rate for
	// one Gaussian direction) of the O(n^{−1/2}) law, stretched by the GD
	// map's expansion G, with n_crn the population estimate's own samples
	// (1/n_crn = 0 for an exact enumeration).
	sampleBound = expr.Add(expr.Mul(expr.Num(3), expr.Sym("G"), expr.Sym("σ_G"), expr.Sqrt(expr.Add(expr.Div(expr.Num(1), expr.Sym("n")), expr.Sym("1/n_crn")))), expr.Num(1e-12))
)

// agreementChecks measures the engine agreements of claim C8 on a setting
// over short horizons, each against its predicted bound (docs/AGREEMENT.md):
//
//   - GD → flow (§3): GD and the gradient flow on the first 64 training
//     samples over τ = 40η (160 steps at η/4), against flowBound.
//   - samples → population (§2): the exact recursion on the n training
//     samples and the population recursion after 20 steps, against
//     sampleBound.
//   - the samples' law (§6): the training samples' statistics against the
//     setting's law (sampleLawCheck).
//   - the reduced ODE (§8): the orbit engine's gradient against the
//     population engine's at three states of the population path
//     (orbitAgreement), where the states are symmetric.
//
// skipped names a check that does not apply to the setting, and why
// (C8's detail reports it: not a silent pass).
func agreementChecks(s *theory.Setting, p engine.Problem) (checks []AgreementCheck, skipped string, err error) {
	flow, err := flowAgreement(s, p)
	if err != nil {
		return nil, "", err
	}
	pop, obj, err := populationAgreement(s, p)
	if err != nil {
		return nil, "", err
	}
	checks = []AgreementCheck{flow, pop, sampleLawCheck(s, p.Samples)}
	orbit, why, err := orbitAgreement(s, p, obj)
	if err != nil {
		return nil, "", err
	}
	if why != "" {
		return checks, "reduced ODE vs population: " + why, nil
	}
	return append(checks, orbit), "", nil
}

// stiffFlowError reports a GD-vs-flow check that ran out of its integrator
// budget: C8 cannot be decided on the setting, which is a result ("not
// asserted", with this reason), not a failure of the whole check.
type stiffFlowError struct{ why string }

func (e *stiffFlowError) Error() string { return "agreement stage (C8): " + e.why }

// flowBudget bounds the integrator's steps in the GD-vs-flow check: at the
// presets it needs a few hundred; tens of thousands mean a stiff flow
// (η·‖H‖ large), outside the regime where the O(η) bound is meant to be
// tested, and would take minutes.
const flowBudget = 20000

func flowAgreement(s *theory.Setting, p engine.Problem) (AgreementCheck, error) {
	sub := p.Samples[:min(64, len(p.Samples))]
	obj, err := dynamics.NewSampleObjective(s, sub)
	if err != nil {
		return AgreementCheck{}, err
	}
	// The first-order gap ηu is the prediction of the flow's regime, η‖H‖
	// small: at the presets' η its O(η²) remainder reaches 25%, at η/4 it is
	// a few percent (docs/AGREEMENT.md §3), so the check runs at η/4 over
	// the same stretch of time τ.
	const flowSteps = 160
	small := *s
	small.Eta = s.Eta / 4
	q := p
	q.Setting = &small
	sch := engine.Every(flowSteps, 40)
	gd, err := dynamics.Descent{Name: engine.Exact, Objective: obj}.Run(q, sch, engine.Observer{})
	if err != nil {
		return AgreementCheck{}, err
	}
	fl, fg, err := (&dynamics.Flow{Objective: obj, MaxSteps: flowBudget}).RunGap(q, sch, engine.Observer{})
	if errors.Is(err, dynamics.ErrMaxSteps) {
		return AgreementCheck{}, &stiffFlowError{fmt.Sprintf("the gradient flow needed more than %d integrator steps over τ = %g: it is stiff at this η and z (lower eta or z.U)", flowBudget, small.Eta*flowSteps)}
	}
	if err != nil {
		return AgreementCheck{}, err
	}
	gap, pred := 0.0, 0.0
	for i := range gd.Records {
		gap = math.Max(gap, gd.Records[i].MaxAbsDiff(fl.Records[i].Correlations))
		pred = math.Max(pred, fg.Predicted[i])
	}
	return AgreementCheck{Name: fmt.Sprintf("GD (η/4) vs gradient flow, %d steps, n = %d", flowSteps, len(sub)),
		Quantity: "max|GD(t) − flow(ηt)|", Measured: gap, Bound: flowBound, Env: expr.Env{"u₁": pred}}, nil
}

// populationAgreement also returns the population objective, against
// which orbitAgreement checks the reduced ODE.
func populationAgreement(s *theory.Setting, p engine.Problem) (AgreementCheck, *dynamics.PopulationObjective, error) {
	const popSteps = 20
	pop := &dynamics.Population{}
	path, err := pop.Run(p, engine.Every(popSteps, 1), engine.Observer{})
	if err != nil {
		return AgreementCheck{}, nil, err
	}
	invCRN, what := 0.0, "exact enumeration"
	if pop.Used.Mode() == dynamics.PopulationCRN {
		invCRN = 1 / float64(pop.Used.NumTerms())
		what = fmt.Sprintf("%d common random numbers", pop.Used.NumTerms())
	}
	fin, err := dynamics.Exact{}.Run(p, engine.Every(popSteps, popSteps), engine.Observer{})
	if err != nil {
		return AgreementCheck{}, nil, err
	}
	pool := s.Samples(p.Seed+1<<33, 400)
	poolObj, err := dynamics.NewSampleObjective(s, pool)
	if err != nil {
		return AgreementCheck{}, nil, err
	}
	spread, err := SampleSpread(s, path.Records, pool)
	if err != nil {
		return AgreementCheck{}, nil, err
	}
	env := expr.Env{"G": Expansion(s, poolObj, path.Records, 10), "σ_G": spread, "n": float64(len(p.Samples)), "1/n_crn": invCRN}
	d := fin.Final().Flat()
	e := path.Final().Flat()
	dist := 0.0
	for i := range d {
		dist += (d[i] - e[i]) * (d[i] - e[i])
	}
	return AgreementCheck{Name: fmt.Sprintf("samples (n = %d) vs population (%s), %d steps", len(p.Samples), what, popSteps),
		Quantity: "‖θₙ(t) − θ(t)‖₂", Measured: math.Sqrt(dist), Bound: sampleBound, Env: env}, pop.Used, nil
}

// amplification measures G₁, the finite-time amplification of perturbations
// by the GD map along the exact trajectory base (recorded at every step up
// to steps): it reruns the exact recursion from the initial state moved by
// h = 10⁻⁹ in a fixed random direction and returns the largest ‖Δ_t‖/h over
// the run, at least 1 (docs/AGREEMENT.md §1). C1's bound carries rounding
// differences forward by it, and C1 is asserted only while G₁ ≤ 10³.
func amplification(exact engine.Engine, p engine.Problem, steps int, base *theory.Trajectory) (float64, error) {
	const h = 1e-9
	pert := p.Init.Clone()
	rng := theory.NewRand(7, theory.StreamInit)
	x := pert.Flat()
	v := make([]float64, len(x))
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	floats.AddScaled(x, h, v)
	norm := floats.Norm(v, 2)
	p.Init = pert
	tr, err := exact.Run(p, engine.Every(steps, 1), engine.Observer{})
	if err != nil {
		return 0, fmt.Errorf("C1's amplification run: %w", err)
	}
	g := 1.0
	for i := range min(len(tr.Records), len(base.Records)) {
		d := floats.Distance(tr.Records[i].Correlations.Flat(), base.Records[i].Correlations.Flat(), 2)
		g = math.Max(g, d/(h*norm))
	}
	return g, nil
}
