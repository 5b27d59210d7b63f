package theory

import (
	"math"
)

// Evidence is what the engines produced for the judge: the trajectories a
// claim measures, and the measurements of the main trajectory's records on
// held-out samples. Package proptest builds it (Check); the claims only read
// it.
type Evidence struct {
	Setting *Setting
	// Env binds the setting's symbols (RateEnv) and the judge's: ε, δ, t
	// (the last step of the main run), T₁ (the steps of the C1 comparison).
	Env Env
	// Main is the exact (A, B) recursion on the training samples; Measures
	// holds one Measure per record of Main, on the training samples (the
	// distribution GD descends on, to which the derivations apply), and
	// HeldOut the last record's attention on held-out samples.
	Main     *Trajectory
	Measures []Measure
	HeldOut  *Attention
	// Full is the full d×d model on the same samples as Main over its first
	// T₁ steps (nil when not run); FullOutOfSpan is the largest ratio of the
	// norm of Q's components outside span{e_p vᵀ, e_p e_qᵀ} to its rounding
	// bound 4·d·ε·Σ_t‖ΔQ_t‖_F (docs/AGREEMENT.md §1).
	Full          *Trajectory
	FullOutOfSpan float64
	// FullExact is the exact recursion over the same T₁ steps, recorded at
	// every step like Full.
	FullExact *Trajectory
	// Agreement lists the engine-agreement checks of C8 (SPEC §3).
	Agreement []AgreementCheck
}

// Measure is the judge's measurement of one record of the main trajectory.
type Measure struct {
	Step      int
	Loss      float64
	Attention Attention
	FP        FPSummary
}

// AgreementCheck is one comparison of two adjacent levels of SPEC §3 with
// its predicted bound (docs/AGREEMENT.md): the claim C8 holds when every
// Measured ≤ Predicted.
type AgreementCheck struct {
	Name      string  `json:"name"`
	Formula   string  `json:"formula"`
	Measured  float64 `json:"measured"`
	Predicted float64 `json:"predicted"`
}

// Claim is one of the claims of SPEC §4, as data: its regime, what it
// measures, its prediction and how the two must compare.
type Claim struct {
	ID, Title  string
	Provenance string // "paper" or "derived"
	Statement  string
	// Regime lists the predicates under which the claim is asserted.
	Regime []Predicate
	// Quantity says in words what is measured.
	Quantity string
	// PredictedName names the prediction (e.g. "T*(ε)") and Predicted is its
	// expression; the report prints "PredictedName = Predicted".
	PredictedName string
	Predicted     Expr
	// Relation is "≤" (measured ≤ predicted) or "≥".
	Relation string
	// Engines names the engines the claim reads.
	Engines []string
	// Measure returns the measured value and a detail for the report. It
	// may return NaN with a detail when the evidence cannot decide (the
	// claim is then not asserted).
	Measure func(ev *Evidence) (measured float64, detail string)
}

// Evaluate evaluates the claim on the evidence: the regime first (a claim
// outside it is NotAsserted, naming the failing predicates), then the
// measurement against the prediction.
func (c *Claim) Evaluate(ev *Evidence) ClaimResult {
	r := ClaimResult{ID: c.ID, Title: c.Title, Provenance: c.Provenance, Statement: c.Statement,
		Quantity: c.Quantity, Relation: c.Relation, Engines: c.Engines,
		Formula: c.PredictedName + " = " + c.Predicted.String()}
	outside := 0
	for _, p := range c.Regime {
		holds, l, rt, err := p.Eval(ev.Env)
		if err != nil {
			r.Verdict, r.Detail = NotAsserted, "regime cannot be evaluated: "+err.Error()
			return r
		}
		r.Regime = append(r.Regime, PredicateResult{Formula: p.String(), Left: l, Right: rt, Holds: holds, Why: p.Why})
		if !holds {
			outside++
		}
	}
	pred, err := c.Predicted.Eval(ev.Env)
	if err != nil {
		r.Verdict, r.Detail = NotAsserted, "prediction cannot be evaluated: "+err.Error()
		return r
	}
	r.Predicted = pred
	if outside > 0 {
		r.Measured = math.NaN()
		r.Verdict, r.Detail = NotAsserted, "outside the regime"
		return r
	}
	m, detail := c.Measure(ev)
	r.Measured, r.Detail = m, detail
	switch {
	case math.IsNaN(m) || math.IsNaN(pred):
		r.Verdict = NotAsserted
	case c.Relation == "≤" && m <= pred, c.Relation == "≥" && m >= pred:
		r.Verdict = Holds
	default:
		r.Verdict = Fails
	}
	return r
}

// relGap is the largest relative gap between two trajectories at their
// common records: |Δloss|/max(1,|loss|) and max|ΔA,ΔB|/max(1, max|A|,|B|).
func relGap(a, b *Trajectory) (gap float64, n int) {
	j := 0
	for _, ra := range a.Records {
		for j < len(b.Records) && b.Records[j].Step < ra.Step {
			j++
		}
		if j == len(b.Records) {
			break
		}
		rb := b.Records[j]
		if rb.Step != ra.Step {
			continue
		}
		n++
		gap = math.Max(gap, math.Abs(ra.Loss-rb.Loss)/math.Max(1, math.Abs(ra.Loss)))
		x, y := ra.MaxAbs()
		gap = math.Max(gap, ra.MaxAbsDiff(rb.Correlations)/math.Max(1, math.Max(x, y)))
	}
	return gap, n
}

// firstStep returns the step of the first measure meeting cond, or -1.
func firstStep(ms []Measure, cond func(m *Measure) bool) int {
	for i := range ms {
		if cond(&ms[i]) {
			return ms[i].Step
		}
	}
	return -1
}

// PerStepRoundoff is the relative rounding difference between one step of the
// full model and one of the exact recursion from the same state
// (docs/AGREEMENT.md §1).
const PerStepRoundoff = 1e-13

// GlobalArea returns the dominant area of a one-cluster setting with a
// global area (the layout of claim C6): an area more than twice as large as
// every other one. ok is false for other settings.
func GlobalArea(s *Setting) (area int, ok bool) {
	if len(s.Clusters) != 1 {
		return 0, false
	}
	sizes := s.Clusters[0].AreaSizes()
	if len(sizes) < 2 {
		return 0, false
	}
	g := 0
	for j, n := range sizes {
		if n > sizes[g] {
			g = j
		}
	}
	for j, n := range sizes {
		if j != g && 2*n > sizes[g] {
			return 0, false
		}
	}
	return g, true
}

// LocalMass returns, for a setting with a global area g (GlobalArea), the
// mean attention mass that queries of the local areas put on the global area
// and on their own area, averaged over the local areas measured.
func LocalMass(m *Measure, g int) (onGlobal, onOwn float64) {
	n := 0
	for j, row := range m.Attention.MassByArea[0] {
		if j == g || math.IsNaN(row[g]) {
			continue
		}
		onGlobal += row[g]
		onOwn += row[j]
		n++
	}
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	return onGlobal / float64(n), onOwn / float64(n)
}

// PhaseEvents returns the phase events of a measured trajectory: the first
// recorded step at which the mean own-area mass passes ½, at which its
// δ-quantile passes 1 − ε, and, with a global area, at which local queries
// put less mass on the global area than on their own. Step −1 means the
// event did not happen within the run; Time is left to the caller (η·step).
func PhaseEvents(s *Setting, ms []Measure, eps float64) []Event {
	events := []Event{
		{Name: "own-area mass passes ½", Step: firstStep(ms, func(m *Measure) bool { return m.Attention.OwnMean >= 0.5 })},
		{Name: "δ-quantile of own-area mass passes 1 − ε", Step: firstStep(ms, func(m *Measure) bool { return m.Attention.OwnQuantile >= 1-eps })},
	}
	if g, ok := GlobalArea(s); ok {
		events = append(events,
			Event{Name: "local queries: global-area mass falls below own-area mass", Step: firstStep(ms, func(m *Measure) bool {
				gm, om := LocalMass(m, g)
				return gm < om
			})},
			Event{Name: "local queries: own-area mass passes ½", Step: firstStep(ms, func(m *Measure) bool {
				_, om := LocalMass(m, g)
				return om >= 0.5
			})},
			Event{Name: "local queries: own-area mass passes 1 − ε", Step: firstStep(ms, func(m *Measure) bool {
				_, om := LocalMass(m, g)
				return om >= 1-eps
			})})
	}
	return events
}
