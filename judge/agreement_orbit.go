package judge

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"

	"mimverify/dynamics"
	"mimverify/engine"
	"mimverify/theory"
	"mimverify/theory/expr"
)

// orbitCheckSteps are the records of the population path at which the
// reduced ODE's gradient is compared with the population engine's.
var orbitCheckSteps = []int{0, 10, 20}

// orbitBound is the orbit check's bound: the two-sided Bonferroni z for
// sharpAlpha over every orbit variable at every compared step.
var orbitBound = expr.Sym("z_α")

// orbitAgreement compares the reduced ODE's gradient — the source of the
// sharp predictions — with the population engine's, orbit by orbit, at
// the reduced run's records orbitCheckSteps, lifted (docs/AGREEMENT.md
// §8; the population engine's own path is symmetric only in law under
// CRN). Both estimate the population gradient at the same state:
// the orbit engine per entry of each orbit, the population engine per
// entry, averaged over the orbit (its standard error from the samples'
// orbit averages, PopulationObjective.GradOn). The statistic is the largest
// |g_orbit − ḡ_pop| / √(se_orbit² + se_pop²), with a rounding floor where
// both are exact. why says why there is no check (a start off the
// symmetric subspace, e.g. Gaussian; a non-finite reduced run).
func orbitAgreement(s *theory.Setting, p engine.Problem, pop *dynamics.PopulationObjective) (check AgreementCheck, why string, err error) {
	if why := dynamics.AsymmetricStart(s); why != "" {
		return AgreementCheck{}, "the reduced ODE does not apply: " + why, nil
	}
	eng := &dynamics.OrbitEngine{}
	sch := engine.Schedule{Steps: orbitCheckSteps[len(orbitCheckSteps)-1], Record: orbitCheckSteps}
	path, err := eng.Run(p, sch, engine.Observer{})
	if nf := (*theory.NonFiniteError)(nil); errors.As(err, &nf) {
		return AgreementCheck{}, "the reduced run met a non-finite value: " + err.Error(), nil
	}
	if err != nil {
		return AgreementCheck{}, "", err
	}
	o := eng.Used
	D := o.Dim()
	x, gO, seO, gP, seP := make([]float64, D), make([]float64, D), make([]float64, D), make([]float64, D), make([]float64, D)
	worst, at := 0.0, 0
	for _, rec := range path.Records {
		o.Project(rec.Correlations, x)
		o.LossGrad(x, gO)
		o.GradStdErr(x, seO)
		pop.GradOn(rec.Correlations, o.Project, gP, seP)
		// Where both are exact (enumeration), they differ by the rounding
		// of sums of at most N terms each: N·u relative to the gradient.
		n := float64(pop.NumTerms() + dynamics.DefaultOrbitMaxTerms)
		floor := n * 0x1p-53 * math.Max(floats.Norm(gO, math.Inf(1)), floats.Norm(gP, math.Inf(1)))
		for i := range D {
			if z := math.Abs(gO[i]-gP[i]) / (math.Hypot(seO[i], seP[i]) + floor); !(z <= worst) {
				worst, at = z, rec.Step
			}
		}
	}
	zc := bonferroniZ(sharpAlpha, D*len(orbitCheckSteps))
	return AgreementCheck{
		Name:     fmt.Sprintf("reduced ODE (orbit, %s) vs population (%s): gradients at steps %v, largest at step %d", o.Mode(), pop.Mode(), orbitCheckSteps, at),
		Quantity: "max over orbits of |g_orbit − g_pop|/SE",
		Measured: worst, Bound: orbitBound, Env: expr.Env{"z_α": zc}}, "", nil
}
