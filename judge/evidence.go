package judge

import (
	"math"

	"mimverify/engine"
	"mimverify/theory"
	"mimverify/theory/expr"
)

// Evidence is what the engines produced for the judge: the trajectories a
// claim measures, and the measurements of the main trajectory's records.
// Check builds it; the claims' measurements only read it.
type Evidence struct {
	Setting *theory.Setting
	// Env binds the setting's symbols (theory.Setting.Env) and the judge's:
	// ε, δ, t (the last step of the main run), T₁ (the steps of the C1
	// comparison), the step budget.
	Env expr.Env
	// Main is the exact (A, B) recursion on the training samples; Measures
	// holds one Measure per record of Main, on the training samples (the
	// distribution GD descends on, to which the derivations apply), and
	// HeldOut the last record's attention on held-out samples.
	Main     *theory.Trajectory
	Measures []Measure
	// MainEngine is the engine whose run Main is: exact, orbit (a sweep's
	// reduced main run), full (a departed setting, or --with-full's second
	// judging) or External; the claims that read "the main run" name it.
	MainEngine engine.ID
	HeldOut    *Attention
	// Train holds the training samples the measures are on (nil for an
	// orbit main run): a user claim's observable at an ε or δ other than
	// the check's is measured again on them (observables.go).
	Train []theory.Sample
	// Full is the full d×d model on the same samples as Main (the first
	// FullImages of them when FullImages > 0: Options.Power > 1) over its first
	// T₁ steps (nil when not run); FullOutOfSpan is the largest ratio of the
	// norm of Q's components outside span{e_p vᵀ, e_p e_qᵀ} to its rounding
	// bound 4·d·ε·Σ_t‖ΔQ_t‖_F (docs/AGREEMENT.md §1).
	Full          *theory.Trajectory
	FullOutOfSpan float64
	FullImages    int
	// FullExact is the exact recursion over the same T₁ steps, recorded at
	// every step like Full.
	FullExact *theory.Trajectory
	// Agreement lists the checks of C8: the engine agreements (SPEC §3),
	// the samples' law, and the measurement's own shift invariance at the
	// main run's last record (softmaxShiftCheck); AgreementNote says why
	// there are none when they could not be run.
	Agreement     []AgreementCheck
	AgreementNote string
	// AgreementSkipped names a check of C8 that does not apply to the
	// setting, with why (the reduced ODE's on a Gaussian start), for the
	// claim's detail.
	AgreementSkipped string
	// Sharp is the reduced engine's prediction at the records of Main
	// (docs/SHARP.md), nil when it was not run.
	Sharp *Sharp
	// BandRecords, when larger than len(Measures), is the number of records
	// the curve bands' Bonferroni correction counts: a control judged on a
	// prefix of the run uses the full run's z, so that a record outside the
	// band there is outside it in the full test too (controls.go).
	BandRecords int
}

// Measure is the judge's measurement of one record of the main trajectory.
type Measure struct {
	Step      int
	Loss      float64
	Attention Attention
	FP        FPSummary
}

// AgreementCheck is one comparison of two adjacent levels of SPEC §3 with
// its predicted bound (docs/AGREEMENT.md): Measured ≤ Bound evaluated on
// Env. The bound is an expression on measured symbols, so that the formula
// the report prints is the one evaluated.
type AgreementCheck struct {
	Name string
	// Quantity names what was measured, e.g. "max|GD(t) − flow(ηt)|".
	Quantity string
	Measured float64
	Bound    expr.Expr
	Env      expr.Env
}

// Predicted returns the bound's value (NaN when a symbol is unbound).
func (a AgreementCheck) Predicted() float64 {
	v, err := a.Bound.Eval(a.Env)
	if err != nil {
		return math.NaN()
	}
	return v
}

// relGap is the largest relative gap between two trajectories at their
// common records: |Δloss|/max(1,|loss|) and max|ΔA,ΔB|/max(1, max|A|,|B|).
func relGap(a, b *theory.Trajectory) (gap float64, n int) {
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

// firstStep returns the step of the first measure meeting cond, or −1.
func firstStep(ms []Measure, cond func(m *Measure) bool) int {
	for i := range ms {
		if cond(&ms[i]) {
			return ms[i].Step
		}
	}
	return -1
}

// localMass returns, for a setting with a global area g
// (theory.Setting.GlobalArea), the mean attention mass that queries of the
// local areas put on the global area and on their own area, averaged over
// the local areas measured.
func localMass(m *Measure, g int) (onGlobal, onOwn float64) {
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

// PhaseEvents are the phase events of a measured trajectory: the first
// recorded step at which each happened, or −1 when it did not within the
// run (or, for the local ones, when the setting has no global area).
type PhaseEvents struct {
	// OwnHalf: the mean own-area mass passes ½; OwnWide: its δ-quantile
	// passes 1 − ε.
	OwnHalf, OwnWide int
	// With a global area g (theory.Setting.GlobalArea), for the queries of
	// the local areas: GlobalFPFalls, their mean FP correlation with g falls
	// below its start; Decouple, their mass on g falls below their own-area
	// mass; LocalHalf and LocalWide, their own-area mass passes ½ and 1 − ε.
	GlobalFPFalls, Decouple, LocalHalf, LocalWide int
}

// phaseEvents measures the phase events of the main trajectory.
func phaseEvents(ev *Evidence, eps float64) PhaseEvents {
	ms := ev.Measures
	ph := PhaseEvents{
		OwnHalf:       firstStep(ms, func(m *Measure) bool { return m.Attention.OwnMean >= 0.5 }),
		OwnWide:       firstStep(ms, func(m *Measure) bool { return m.Attention.OwnQuantile >= 1-eps }),
		GlobalFPFalls: -1, Decouple: -1, LocalHalf: -1, LocalWide: -1,
	}
	g, ok := ev.Setting.GlobalArea()
	if !ok {
		return ph
	}
	ph.GlobalFPFalls = globalFPFalls(ev, g)
	ph.Decouple = firstStep(ms, func(m *Measure) bool { gm, om := localMass(m, g); return gm < om })
	ph.LocalHalf = firstStep(ms, func(m *Measure) bool { _, om := localMass(m, g); return om >= 0.5 })
	ph.LocalWide = firstStep(ms, func(m *Measure) bool { _, om := localMass(m, g); return om >= 1-eps })
	return ph
}

// Events lists the events for the report, with times η·step; the local
// ones only with a global area.
func (ph PhaseEvents) Events(eta float64, global bool) []Event {
	ev := func(name string, step int) Event {
		return Event{Name: name, Step: step, Time: Float(eta * float64(step))}
	}
	out := []Event{
		ev("own-area mass passes ½", ph.OwnHalf),
		ev("δ-quantile of own-area mass passes 1 − ε", ph.OwnWide),
	}
	if global {
		out = append(out,
			ev("local queries: global-area mass falls below own-area mass", ph.Decouple),
			ev("local queries: own-area mass passes ½", ph.LocalHalf),
			ev("local queries: own-area mass passes 1 − ε", ph.LocalWide))
	}
	return out
}

// globalFPFalls returns the first recorded step at which the mean FP
// correlation of local queries with the global area g is below its initial
// value, or −1.
func globalFPFalls(ev *Evidence, g int) int {
	areas := ev.Setting.Clusters[0].Areas
	mean := func(c theory.Correlations) float64 {
		sum, n := 0.0, 0
		for p, a := range areas {
			if a != g {
				sum += c.A[0][p][g]
				n++
			}
		}
		return sum / float64(n)
	}
	start := mean(ev.Main.Records[0].Correlations)
	for _, r := range ev.Main.Records[1:] {
		if mean(r.Correlations) < start {
			return r.Step
		}
	}
	return -1
}
