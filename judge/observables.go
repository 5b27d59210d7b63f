package judge

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"

	"mimverify/theory"
)

// Observable is a quantity the judge measures on a record or on a whole
// trajectory, under a stable snake_case id that claims files and
// `run --observables` use (docs/CLAIMS.md lists them with their
// definitions). Params are the names of its optional numeric arguments:
// "eps" and "delta" default to the check's ε and δ.
type Observable struct {
	ID, Unit, Definition string
	Params               []string
	// Counterpart names the reduced-ODE quantity (PopMeasure) a sharp
	// prediction compares the observable with; "" when there is none.
	Counterpart string

	// record is the value at record i, for an observable defined per
	// record; run the value of the whole run, for one that is not (an
	// event step). pop is the counterpart with its standard error, se the
	// measured value's standard error.
	record func(v *obsView, i int, args []float64) float64
	run    func(v *obsView, args []float64) float64
	pop    func(pm *PopMeasure) (float64, float64)
	se     func(m *Measure) float64
	// early is, where measured, the spread of the value over independent
	// training sets at the first records (Sharp.EarlyLossSD, earlySE).
	early func(sh *Sharp) []float64
	// field reads the record value off an attention measured at the
	// check's ε and δ, where it is one: the jackknife's halves are
	// measured that way (Sharp.Halves).
	field func(a *Attention) float64
}

// PerRecord reports whether the observable has a value at every record.
func (o *Observable) PerRecord() bool { return o.record != nil }

// obsView reads observables off the evidence; an argument other than the
// check's ε or δ re-measures the records it needs on the training samples.
type obsView struct {
	ev    *Evidence
	cache map[[3]float64]*Measure
}

func newObsView(ev *Evidence) *obsView { return &obsView{ev: ev, cache: map[[3]float64]*Measure{}} }

// measure returns the measure of record i at (eps, delta): the check's own
// when they are the check's, else measured again (nil when the training
// samples are not in the evidence: an orbit main run).
func (v *obsView) measure(i int, eps, delta float64) *Measure {
	if eps == v.ev.Env["ε"] && delta == v.ev.Env["δ"] {
		return &v.ev.Measures[i]
	}
	key := [3]float64{float64(i), eps, delta}
	if m, ok := v.cache[key]; ok {
		return m
	}
	if v.ev.Main == nil || len(v.ev.Train) == 0 || len(v.ev.Main.Records) != len(v.ev.Measures) {
		return nil
	}
	last := i == len(v.ev.Measures)-1
	m := measureRecord(v.ev.Setting, &v.ev.Main.Records[i], v.ev.Train, eps, delta, last)
	v.cache[key] = &m
	return &m
}

// arg returns argument k, or the default of its parameter name.
func (v *obsView) arg(args []float64, k int, name string) float64 {
	if k < len(args) {
		return args[k]
	}
	return v.ev.Env[map[string]string{"eps": "ε", "delta": "δ"}[name]]
}

// attention returns field f of the attention at record i, measured at the
// check's ε and δ.
func attention(f func(a *Attention) float64) func(v *obsView, i int, _ []float64) float64 {
	return func(v *obsView, i int, _ []float64) float64 { return f(&v.ev.Measures[i].Attention) }
}

// Observables returns the registry, in the order docs/CLAIMS.md lists it.
func Observables() []Observable {
	return []Observable{
		{ID: "loss", Unit: "per image", Definition: "training loss per image on the training samples (the setting's sum or mean normalisation)",
			record: func(v *obsView, i int, _ []float64) float64 { return v.ev.Measures[i].Loss }},
		{ID: "reconstructable_loss", Unit: "per image", Definition: "the part of the training loss from reconstructable masked queries (own area keeps an unmasked patch)",
			Counterpart: "PopMeasure.ReconstructableLoss",
			record:      attention(func(a *Attention) float64 { return a.ReconstructableLoss }),
			field:       func(a *Attention) float64 { return a.ReconstructableLoss },
			se:          func(m *Measure) float64 { return m.Attention.ReconstructableLossSE },
			pop:         func(pm *PopMeasure) (float64, float64) { return pm.ReconstructableLoss, pm.ReconstructableLossSE },
			early:       func(sh *Sharp) []float64 { return sh.EarlyLossSD }},
		{ID: "own_mass_mean", Unit: "probability", Definition: "mean over reconstructable masked training queries of the attention on their own area's unmasked patches",
			Counterpart: "PopMeasure.OwnMean",
			record:      attention(func(a *Attention) float64 { return a.OwnMean }),
			field:       func(a *Attention) float64 { return a.OwnMean },
			se:          func(m *Measure) float64 { return m.Attention.OwnMeanSE },
			pop:         func(pm *PopMeasure) (float64, float64) { return pm.OwnMean, pm.OwnMeanSE },
			early:       func(sh *Sharp) []float64 { return sh.EarlyOwnSD }},
		{ID: "own_mass_deficit", Unit: "probability", Definition: "1 − own_mass_mean",
			Counterpart: "1 − PopMeasure.OwnMean",
			record:      attention(func(a *Attention) float64 { return 1 - a.OwnMean }),
			field:       func(a *Attention) float64 { return 1 - a.OwnMean },
			se:          func(m *Measure) float64 { return m.Attention.OwnMeanSE },
			pop:         func(pm *PopMeasure) (float64, float64) { return 1 - pm.OwnMean, pm.OwnMeanSE },
			early:       func(sh *Sharp) []float64 { return sh.EarlyOwnSD }},
		{ID: "own_mass_quantile", Unit: "probability", Params: []string{"delta"},
			Definition: "the δ-quantile of own-area mass over reconstructable masked training queries: a fraction ≥ 1 − δ have at least this much",
			record: func(v *obsView, i int, args []float64) float64 {
				return v.attentionAt(i, v.ev.Env["ε"], v.arg(args, 0, "delta"), func(a *Attention) float64 { return a.OwnQuantile })
			}},
		{ID: "own_mass_reached", Unit: "probability", Params: []string{"eps"}, Counterpart: "PopMeasure.OwnReached",
			Definition: "the fraction of reconstructable masked training queries whose own-area mass is ≥ 1 − ε",
			record: func(v *obsView, i int, args []float64) float64 {
				return v.attentionAt(i, v.arg(args, 0, "eps"), v.ev.Env["δ"], func(a *Attention) float64 { return a.OwnReached })
			},
			se:    func(m *Measure) float64 { return m.Attention.OwnReachedSE },
			pop:   func(pm *PopMeasure) (float64, float64) { return pm.OwnReached, pm.OwnReachedSE },
			field: func(a *Attention) float64 { return a.OwnReached }},
		{ID: "tv_quantile", Unit: "probability", Params: []string{"delta"},
			Definition: "the 2δ-quantile, over pairs of reconstructable masked training queries of one image in different areas, of the total-variation distance between their attention; measured at the last record only (NaN elsewhere)",
			record: func(v *obsView, i int, args []float64) float64 {
				return v.attentionAt(i, v.ev.Env["ε"], v.arg(args, 0, "delta"), func(a *Attention) float64 { return a.TVQuantile })
			}},
		{ID: "fp_share", Unit: "ratio", Definition: "share of the own-vs-other logit gap carried by the FP correlations (1: FP alone, ½: FP and PP equally)",
			Counterpart: "PopMeasure.FPShare",
			record:      attention(func(a *Attention) float64 { return a.FPShare }),
			field:       func(a *Attention) float64 { return a.FPShare },
			se:          func(m *Measure) float64 { return m.Attention.FPShareSE },
			pop:         func(pm *PopMeasure) (float64, float64) { return pm.FPShare, pm.FPShareSE }},
		{ID: "own_fp_mean", Unit: "correlation", Definition: "mean own-area FP correlation A_{k,p,a_k(p)}",
			record: func(v *obsView, i int, _ []float64) float64 { return v.ev.Measures[i].FP.OwnMean }},
		{ID: "off_fp_mean", Unit: "correlation", Definition: "mean off-area FP correlation A_{k,p,j}, j ≠ a_k(p)",
			record: func(v *obsView, i int, _ []float64) float64 { return v.ev.Measures[i].FP.OffMean }},
		{ID: "max_abs_B", Unit: "correlation", Definition: "largest |B_{p,q}| (PP correlation)",
			record: func(v *obsView, i int, _ []float64) float64 { return v.ev.Measures[i].FP.MaxAbsB }},
		{ID: "area_wide_step", Unit: "steps", Params: []string{"eps", "delta"},
			Definition: "first recorded step at which own_mass_quantile(δ) ≥ 1 − ε; +∞ when not reached within the run",
			run:        areaWideStep},
		phaseObservable("phase_global_fp_falls", "the global-area FP correlation of local queries falls below its initial value", func(p *PhaseEvents) int { return p.GlobalFPFalls }),
		phaseObservable("phase_decouple", "local queries' global-area mass falls below their own-area mass", func(p *PhaseEvents) int { return p.Decouple }),
		phaseObservable("phase_local_half", "local queries' own-area mass passes ½", func(p *PhaseEvents) int { return p.LocalHalf }),
		phaseObservable("phase_local_wide", "local queries' own-area mass passes 1 − ε", func(p *PhaseEvents) int { return p.LocalWide }),
		{ID: "slope", Unit: "exponent",
			Definition: "slope(x): the least-squares slope of log x against log t over the records of the window [t0, t1] (default: from the middle record to the last), x a per-record observable — the exponent of x ∝ t^slope"},
	}
}

// attentionAt reads f of the attention at record i measured at (eps,
// delta); NaN when it cannot be measured again.
func (v *obsView) attentionAt(i int, eps, delta float64, f func(a *Attention) float64) float64 {
	m := v.measure(i, eps, delta)
	if m == nil {
		return math.NaN()
	}
	return f(&m.Attention)
}

func areaWideStep(v *obsView, args []float64) float64 {
	eps, delta := v.arg(args, 0, "eps"), v.arg(args, 1, "delta")
	for i := range v.ev.Measures {
		m := v.measure(i, eps, delta)
		if m == nil {
			return math.NaN()
		}
		if m.Attention.OwnQuantile >= 1-eps {
			return float64(m.Step)
		}
	}
	return math.Inf(1)
}

// phaseObservable is the step of one of C6's phase events (at the check's
// ε); +∞ when it did not happen within the run, NaN without a global area.
func phaseObservable(id, what string, step func(p *PhaseEvents) int) Observable {
	return Observable{ID: id, Unit: "steps", Definition: "first recorded step at which " + what + " (C6; needs a global area); +∞ when it does not happen within the run",
		run: func(v *obsView, _ []float64) float64 {
			if _, ok := v.ev.Setting.GlobalArea(); !ok {
				return math.NaN()
			}
			ph := phaseEvents(v.ev, v.ev.Env["ε"])
			if s := step(&ph); s >= 0 {
				return float64(s)
			}
			return math.Inf(1)
		}}
}

// ObservableByID returns the observable of the registry with that id.
func ObservableByID(id string) (Observable, bool) {
	all := Observables()
	i := slices.IndexFunc(all, func(o Observable) bool { return o.ID == id })
	if i < 0 {
		return Observable{}, false
	}
	return all[i], true
}

// ClaimVocabulary is what a claims file may name: the observables and the
// symbols of Setting.Env with the judge's ε, δ and t.
func ClaimVocabulary() theory.ClaimVocabulary {
	var v theory.ClaimVocabulary
	for _, o := range Observables() {
		v.Observables = append(v.Observables, theory.ObservableSig{ID: o.ID, Params: o.Params, OfObservable: o.ID == "slope", PerRecord: o.PerRecord()})
	}
	s, err := theory.Preset("default")
	if err != nil {
		panic("judge: the default preset: " + err.Error())
	}
	for name := range s.Env() {
		v.Symbols = append(v.Symbols, name)
	}
	v.Symbols = append(v.Symbols, "ε", "δ", "t", "step budget")
	slices.Sort(v.Symbols)
	return v
}

// evalRef evaluates an observable reference at record i (per-record
// observables) or on the run, with its arguments evaluated on env.
func evalRef(v *obsView, ref *theory.ObservableRef, i int) (float64, error) {
	o, ok := ObservableByID(ref.ID)
	if !ok {
		return math.NaN(), fmt.Errorf("no observable %s", ref.ID)
	}
	args := make([]float64, len(ref.Args))
	for k, a := range ref.Args {
		x, err := a.Eval(v.ev.Env)
		if err != nil {
			return math.NaN(), err
		}
		args[k] = x
	}
	switch {
	case ref.Of != nil:
		return v.slope(ref.Of, nil)
	case o.record != nil:
		return o.record(v, i, args), nil
	}
	return o.run(v, args), nil
}

// slope fits log x against log t over the records whose step lies in the
// window (default: the middle record to the last); NaN with fewer than two
// records of positive step and positive x.
func (v *obsView) slope(of *theory.ObservableRef, window []float64) (float64, error) {
	n := len(v.ev.Measures)
	t0, t1 := float64(v.ev.Measures[n/2].Step), float64(v.ev.Measures[n-1].Step)
	if window != nil {
		t0, t1 = window[0], window[1]
	}
	var xs, ys []float64
	for i, m := range v.ev.Measures {
		t := float64(m.Step)
		if t < t0 || t > t1 || t <= 0 {
			continue
		}
		x, err := evalRef(v, of, i)
		if err != nil {
			return math.NaN(), err
		}
		if x > 0 && !math.IsInf(x, 0) {
			xs, ys = append(xs, math.Log(t)), append(ys, math.Log(x))
		}
	}
	if len(xs) < 2 {
		return math.NaN(), nil
	}
	_, beta := stat.LinearRegression(xs, ys, nil, false)
	return beta, nil
}

// RecordObservables returns the observables with a value at every record,
// in registry order: the columns `run --observables` writes.
func RecordObservables() []Observable {
	return slices.DeleteFunc(Observables(), func(o Observable) bool { return !o.PerRecord() })
}

// MeasureObservables measures every observable of RecordObservables at a
// record, on the samples, at (eps, delta); tv_quantile only when withTV
// (its pairwise total variation costs O(|M|²·P) per image), NaN otherwise.
func MeasureObservables(s *theory.Setting, rec *theory.Record, samples []theory.Sample, eps, delta float64, withTV bool) []float64 {
	m := measureRecord(s, rec, samples, eps, delta, withTV)
	v := newObsView(&Evidence{Setting: s, Env: map[string]float64{"ε": eps, "δ": delta}, Measures: []Measure{m}})
	obs := RecordObservables()
	out := make([]float64, len(obs))
	for i, o := range obs {
		out[i] = o.record(v, 0, nil)
	}
	return out
}
