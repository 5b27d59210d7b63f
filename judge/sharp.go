package judge

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"mimverify/dynamics"
	"mimverify/engine"
	"mimverify/internal/mutant"
	"mimverify/theory"
)

// The sharp predictions (docs/SHARP.md): beside each closed-form envelope,
// the value the reduced ODE predicts for the same setting and schedule —
// population gradient descent in orbit variables, exact for the population
// dynamics — with a band derived from the standard errors of the two sides.

// PopMeasure is the reduced engine's prediction, at one record, of what the
// judge measures on the training samples: the population law of the masked
// queries' attention (dynamics.Orbit.EachAttention), summarised by code
// that shares nothing with MeasureAttention.
type PopMeasure struct {
	Step int
	// Queries is the expected number of reconstructable masked queries per
	// image.
	Queries float64
	// OwnMean, OwnQuantile and OwnReached are the population counterparts
	// of Attention's (the mean own-area mass, its δ-quantile, the fraction
	// at or above 1 − ε, over reconstructable queries), and
	// ReconstructableLoss the expected reconstructable loss per image.
	OwnMean, OwnQuantile, OwnReached, ReconstructableLoss float64
	// The ...SE are the Monte Carlo standard errors of the prediction
	// itself: 0 for an exact enumeration and the mean field, the spread of
	// the common random numbers otherwise.
	OwnMeanSE, OwnReachedSE, ReconstructableLossSE float64
	// FPShare is the population counterpart of Attention.FPShare, with
	// its Monte Carlo standard error.
	FPShare, FPShareSE float64
	// LocalGlobal and LocalOwn are, with a global area, the mean mass the
	// local areas' queries put on the global area and on their own area
	// (the curves of C6's phase events); NaN without one.
	LocalGlobal, LocalOwn float64
	// LocalOwnSE and LocalGapSE are the Monte Carlo standard errors of
	// LocalOwn and of LocalGlobal − LocalOwn.
	LocalOwnSE, LocalGapSE float64
}

// Sharp is the evidence of the sharp predictions: the reduced engine's
// trajectory measured at the main run's records, or why there is none.
type Sharp struct {
	// Engine is the reduced engine (engine.Orbit) and Mode its orbit mode
	// (enumerate or crn, with CRNSamples draws per query representative).
	Engine     engine.ID
	Mode       string
	CRNSamples int
	Measures   []PopMeasure
	// PoolTV lists, sorted, the pairwise total variations (C5) of the
	// last record's state on PoolImages fresh images.
	PoolTV     []float64
	PoolImages int
	// TrainImages is the number n of training images the claims are
	// measured on.
	TrainImages int
	// HeldImages is the number of held-out images C4's comparison reads.
	HeldImages int
	// FPShareStateSE is the first-order standard deviation, over training
	// sets of n images, of the population FP share at the n-sample final
	// state about its value at the population state (the state's own
	// O(n^{−1/2}) error, propagated by the adjoint of the orbit recursion:
	// docs/SHARP.md §4); NaN when not computed, StateNote saying why.
	FPShareStateSE float64
	StateNote      string
	// FPSharePathSE is the same error of the reduced run's own path from
	// its CRN draws (0 for an enumeration): FPShare's SE covers the draws'
	// error at the state, this their error along the path.
	FPSharePathSE float64
	// Note says why there is no prediction (Measures empty).
	Note string
	// EarlyLossSD and EarlyOwnSD are, at the records of the first
	// earlySteps steps and on to the last earlyTail record, the spread of
	// the measured reconstructable loss and mean own-area mass over
	// earlySets independent training sets of n images, each trained from
	// the same start (earlySpread): the n-sample run's whole deviation, its
	// state's included, which the per-image standard error misses at the
	// first steps (§2).
	EarlyLossSD, EarlyOwnSD []float64
	// Halves is the split-half jackknife of the main run, which removes
	// the n-sample run's O(1/n) bias from the measured curves and C4's
	// held-out FP share (§7); nil when not run, HalvesNote saying why.
	Halves     *halfRuns
	HalvesNote string
}

// sharpPoolFactor sizes the pool of fresh images C5's prediction is
// measured on: twice the training images, so that the pool's own error is
// half the measured quantile's in variance.
const sharpPoolFactor = 2

// sharpAlpha is the false-alarm rate of one claim's sharp comparison for a
// Gaussian error: 10⁻⁴, so that a correct model fails a check of its six
// sharp claims (C2–C7) about once in 1700 runs, and a test suite of a few
// hundred such comparisons stays green (an earlier 0.27 % made
// random-regions' C7 fail at 4.34 standard errors against 4.29). sharpZ is
// its two-sided z for one comparison (C3, C4, C5); curves compared at R
// records use bonferroniZ over R, C6's three events over 3.
var (
	sharpAlpha = 1e-4
	sharpZ     = bonferroniZ(sharpAlpha, 1)
)

// bonferroniZ is the two-sided z of m Gaussian comparisons at a
// family-wise false-alarm rate alpha: Φ⁻¹(1 − alpha/(2m)).
func bonferroniZ(alpha float64, m int) float64 {
	return distuv.UnitNormal.Quantile(1 - alpha/(2*float64(m)))
}

// sharpWorkBudget bounds the reduced run's cost, counted in
// dynamics.Orbit.Work's units (term × key-group pairs of the orbit's general
// kernel) as Work × (steps + 1) + sharpMeasureCost × AttentionWork ×
// records: a pair costs ≈ 8–14 ns in CRN mode and ≈ 6 ns in enumeration
// (docs/SHARP.md §3), so the budget is about 5 s of one core: on default
// the main run and its measurements take about as much. A record's
// measurement (popMeasurer.measure over EachAttention) costs about 3.2
// passes of term over the plain draws (vit14 at 512 draws: 5.3 ms against
// 0.37 ms for a step of 3.7·10⁴ pairs; docs/PERFORMANCE.md, issue 27,
// "Second pass").
// Beyond it the CRN draws per representative are halved (their spread
// enters the band) down to sharpMinCRN; past that there is no prediction.
// C4's adjoint comes on top, up to sharpStateBudget times the budget in
// all: with it, random-regions (460 orbit variables, 64 draws) needs 1.4
// times the budget; past that only C4 goes without a sharp prediction.
//
// Where the budget would take CRN below its default draws, an enumeration
// may take sharpEnumFactor times the budget's time, its pairs counted at
// sharpEnumPairCost of a CRN pair (≈ 6 ns against ≈ 14 ns): it has no
// Monte Carlo error, at the state or along the path, whereas CRN's error
// along the path is not in the curves' bands and grows as the draws fall
// (docs/SHARP.md §3). Three clusters with two-point z at P = 9 and 12
// enumerate so.
//
// At Options.Power K the budget is K times this, and CRN starts from K
// times its default draws (sharpCRNDraws), so that the prediction's
// standard error shrinks with the n-sample run's as 1/√K.
const (
	sharpWorkBudget   = 3.5e8
	sharpEnumPairCost = 6.0 / 14
	sharpEnumFactor   = 2
	sharpMinCRN       = 64
	sharpStateBudget  = 1.5
	sharpMeasureCost  = 3.5 // a record's measurement, in AttentionWork passes
	// sharpPathBytes bounds the memory of the path the adjoint walks
	// back: 16 bytes per orbit variable and step (state and gradient).
	sharpPathBytes = 256 << 20
)

// sharpCRNOverride, when positive, makes sharpOptions use CRN with that
// many draws whatever the budget allows: the calibration of docs/SHARP.md
// §3 measures the CRN prediction's error with it. The draws are seeded by
// the check's seed, as always (OrbitEngine.Run takes the problem's seed).
// Tests only.
var sharpCRNOverride int

// gatherSharp runs the orbit engine on the setting from the problem's
// initial state, recorded at the main run's records, and measures the
// population law of the attention at each record.
func (r *run) gatherSharp() *Sharp {
	opt, why, stateWhy := sharpOptions(r.s, r.schedule.Steps, len(r.schedule.Record), r.opt.Power)
	withState := r.wantsClaim("C4") && stateWhy == ""
	if why != "" {
		return &Sharp{Engine: engine.Orbit, Note: why}
	}
	eng := &dynamics.OrbitEngine{Options: opt}
	sh := &Sharp{Engine: engine.Orbit, FPShareStateSE: math.NaN(), StateNote: stateWhy}
	var path orbitPath
	if withState {
		eng.Trace = path.trace
	}
	var pm popMeasurer
	var x []float64
	var last theory.Correlations
	obs := engine.Observer{Record: func(rec *theory.Record) error {
		o := eng.Used
		if x == nil {
			x = make([]float64, o.Dim())
			last = rec.Correlations.Clone()
		}
		o.Project(rec.Correlations, x)
		last.CopyFrom(rec.Correlations)
		sh.Measures = append(sh.Measures, pm.measure(r.s, o, x, rec.Step, r.opt.Epsilon))
		return nil
	}, Discard: true}
	_, err := eng.Run(r.problem, r.schedule, obs)
	if err != nil {
		var nf *theory.NonFiniteError
		if errors.As(err, &nf) {
			return &Sharp{Engine: engine.Orbit, Note: "the reduced run met a non-finite value: " + err.Error()}
		}
		return &Sharp{Engine: engine.Orbit, Note: "the reduced run failed: " + err.Error()}
	}
	// The terms of the last record are still in pm: its δ-quantile, for
	// the report (the crossing times use the fraction at or above 1 − ε,
	// which needs no sort).
	sh.Measures[len(sh.Measures)-1].OwnQuantile = weightedQuantile(pm.terms, r.opt.Delta)
	// C5 needs the joint law of two queries of an image, which the orbit
	// terms do not carry: the final state's pairwise total variations on
	// a pool of fresh images stand for it (§1).
	pool := r.s.Samples(r.opt.Seed+3<<32, sharpPoolFactor*len(r.problem.Samples))
	sh.PoolImages, sh.PoolTV, sh.TrainImages, sh.HeldImages = len(pool), pairTVs(r.s, last, pool), len(r.problem.Samples), len(r.eval)
	sort.Float64s(sh.PoolTV)
	if withState {
		var se stateErrors
		se, sh.StateNote = fpShareStateSE(r.s, eng, &path, r.problem.Samples)
		sh.FPShareStateSE, sh.FPSharePathSE = se.Images, se.CRNPath
	}
	sh.Mode, sh.CRNSamples = eng.Used.Mode(), eng.Used.NumSamples()
	profileLabel("stage", "early spread", func() { sh.EarlyLossSD, sh.EarlyOwnSD = r.earlySpread() })
	profileLabel("stage", "jackknife", func() { sh.Halves, sh.HalvesNote = r.splitHalves() })
	return sh
}

// earlySteps, earlyTail and earlySets size earlySpread: every record of
// the first 10 steps, and past them the first record at or after each
// earlyTail step, on 16 training sets, whose standard deviation is then
// known to about 18 % (1/√(2·15)). The false alarms of docs/JUDGE.md
// §Power were at steps 1–3 on default; with the first 5 steps covered one
// was left at step 6 (1 of 50 seeds), with 10 none. Past step 10 the
// spread still exceeds the per-image standard error for a while (on
// default, C7's by 1.29× at step 11, 1.1× at step 20, 1.0× by step 28:
// docs/SHARP.md §8), so the tail records carry it on, interpolated between
// them. The cost is mostly the measurements: 16 × 14 of n images, of the
// two values alone (curveValues).
const (
	earlySteps = 10
	earlySets  = 16
)

var earlyTail = []int{15, 20, 30}

// earlySpread measures, at the main run's records of the first earlySteps
// steps and at its tail records (earlyTail), the standard deviation over
// earlySets independent training sets of n images of the reconstructable
// loss and the mean own-area mass, each set trained by the exact engine
// from the main run's start and measured on its own images, as the main
// run is (docs/SHARP.md §2: at the first steps the state's own O(n^{−1/2})
// error, shared by every image, is not in the per-image standard error).
// The slices are indexed by the main run's records up to the last tail
// record; between tail records the deviation is interpolated (earlyFill).
// Nil when it cannot be run.
func (r *run) earlySpread() (loss, own []float64) {
	if len(r.problem.Samples) < 2 {
		return nil, nil
	}
	var sch engine.Schedule
	var at []int // the main record index of each measured record
	for i, t := range r.schedule.Record {
		if t > r.schedule.Steps {
			break
		}
		take := t <= earlySteps
		for _, e := range earlyTail {
			take = take || (t >= e && (i == 0 || r.schedule.Record[i-1] < e))
		}
		if take {
			sch.Record, sch.Steps, at = append(sch.Record, t), t, append(at, i)
		}
	}
	n := len(r.problem.Samples)
	sets := make([][]theory.Sample, earlySets)
	rows := make([][2][]float64, earlySets) // rows[k]: set k's loss and deficit per record
	for k := range sets {
		sets[k] = r.s.Samples(r.opt.Seed+uint64(k+5)<<32, n)
		rows[k] = [2][]float64{make([]float64, len(sch.Record)), make([]float64, len(sch.Record))}
	}
	err := r.trainSets(sets, sch, func(k, i int, rec *theory.Record) {
		loss, own := curveValues(r.s, rec.Correlations, sets[k])
		rows[k][0][i], rows[k][1][i] = loss, 1-own
	})
	if err != nil || len(at) == 0 {
		return nil, nil
	}
	sd := [2][]float64{make([]float64, len(at)), make([]float64, len(at))}
	col := make([]float64, earlySets)
	for c := range sd {
		for i := range at {
			for k := range earlySets {
				col[k] = rows[k][c][i]
			}
			sd[c][i] = stat.StdDev(col, nil)
		}
	}
	return r.earlyFill(at, sd[0]), r.earlyFill(at, sd[1])
}

// earlyFill spreads the values v measured at the main records at over every
// main record up to the last of them, interpolating linearly in log(1 + t)
// between measured ones (the spread changes smoothly with the step:
// docs/SHARP.md §8).
func (r *run) earlyFill(at []int, v []float64) []float64 {
	out := make([]float64, at[len(at)-1]+1)
	steps := r.schedule.Record
	for m, i := range at {
		out[i] = v[m]
		if m == 0 {
			continue
		}
		i0 := at[m-1]
		l0, l1 := math.Log1p(float64(steps[i0])), math.Log1p(float64(steps[i]))
		for j := i0 + 1; j < i; j++ {
			w := (math.Log1p(float64(steps[j])) - l0) / (l1 - l0)
			out[j] = (1-w)*v[m-1] + w*v[m]
		}
	}
	return out
}

// sharpOptions chooses the orbit options for a run of the given steps
// and records within sharpWorkBudget, or says why no prediction is made.
// C4's adjoint of the state noise (docs/SHARP.md §4) costs one more
// evaluation per step, or two of the cheaper objective of jacobianDraws in
// CRN mode; it may take the reduced run's cost to
// sharpStateBudget times the budget, and stateWhy says why not when it
// would exceed that.
func sharpOptions(s *theory.Setting, steps, records, power int) (opt dynamics.OrbitOptions, why, stateWhy string) {
	sy, err := dynamics.FindSymmetry(s)
	if err != nil {
		return opt, "the orbit engine cannot run on this setting: " + err.Error(), ""
	}
	opt.Symmetry = sy
	if sharpCRNOverride > 0 {
		opt.Mode, opt.CRNSamples = dynamics.OrbitCRN, sharpCRNOverride
	}
	var run, adjoint, pathBytes float64
	enum := false
	cost := func() error {
		o, err := dynamics.NewOrbit(s, opt)
		if err != nil {
			return err
		}
		if enum = o.Mode() != dynamics.OrbitCRN; enum {
			opt.Mode = o.Mode() // keep the enumeration the budget was computed for
		}
		run = o.Work()*float64(steps+1) + sharpMeasureCost*o.AttentionWork()*float64(records)
		adjoint = o.Work() * float64(steps)
		pathBytes = 16 * float64(o.Dim()) * float64(steps+1) // the path's states and gradients
		if d := jacobianDraws(o.NumSamples()); d > 0 {
			adjoint *= 2 * float64(d) / float64(o.NumSamples()) // Work is about linear in the draws
		}
		return nil
	}
	// limit is the budget in pairs; an enumeration that CRN at its default
	// draws cannot replace gets sharpEnumFactor times the time.
	limit := sharpWorkBudget * float64(power)
	enumLimit := sharpEnumFactor * limit / sharpEnumPairCost
	crnDraws := sharpCRNDraws(power)
	if (opt.Mode == "" || opt.Mode == dynamics.OrbitAuto) && power > 1 {
		// CRN at power times the default draws, where the orbit engine
		// would take CRN (an enumeration has no draws to multiply).
		if size, err := dynamics.PredictOrbit(s, opt); err == nil && size.Mode == dynamics.OrbitCRN {
			opt.Mode, opt.CRNSamples = dynamics.OrbitCRN, crnDraws
		}
	}
	var enumOpt *dynamics.OrbitOptions
	for {
		if err := cost(); err != nil {
			return opt, "the orbit engine cannot run on this setting: " + err.Error(), ""
		}
		if run <= limit {
			break
		}
		if opt.Mode != dynamics.OrbitCRN { // auto or an enumeration
			if enum && run <= enumLimit {
				o := opt
				enumOpt = &o
			}
			opt.Mode, opt.CRNSamples = dynamics.OrbitCRN, crnDraws
			continue
		}
		if enumOpt != nil {
			// CRN would need fewer than its default draws, and its error
			// along the path is not in the curves' bands: enumerate.
			opt, limit = *enumOpt, enumLimit
			if err := cost(); err != nil {
				return opt, "the orbit engine cannot run on this setting: " + err.Error(), ""
			}
			break
		}
		if opt.CRNSamples/2 < sharpMinCRN {
			return opt, fmt.Sprintf("the reduced run would cost %.3g term-group evaluations (%d steps, %d records) even with %d CRN draws per representative, beyond the budget of %.3g (about %d s)", run, steps, records, opt.CRNSamples, limit, 5*power), ""
		}
		opt.CRNSamples /= 2
	}
	switch {
	case run+adjoint > sharpStateBudget*limit:
		stateWhy = fmt.Sprintf("the adjoint would take the reduced run to %.3g term-group evaluations, beyond %g times the budget", run+adjoint, sharpStateBudget)
	case pathBytes > sharpPathBytes:
		stateWhy = fmt.Sprintf("the adjoint would keep a path of %.0f MB, beyond %d MB", pathBytes/1e6, sharpPathBytes/1000000)
	}
	return opt, "", stateWhy
}

// sharpCRNDraws is the reduced run's CRN draws per query representative
// at Options.Power power: power times the default, within the orbit
// engine's range.
func sharpCRNDraws(power int) int {
	return min(dynamics.DefaultCRNSamples*power, dynamics.MaxCRNSamples)
}

// popTerm is one reconstructable term of the population law, as
// popMeasurer.measure keeps it.
type popTerm struct {
	stratum    int // the query representative's problem: CRN draws within one are exchangeable
	w, own, ls float64
	area       int
	onG, onOwn float64
	fp, pp     float64 // logit gaps, 0 without keys on both sides
	hasGap     bool
}

// popMeasurer summarises the population law of the attention at orbit
// states (docs/SHARP.md §1); it keeps its terms buffer between records.
type popMeasurer struct {
	terms []popTerm
}

// measure summarises the law at the orbit state x. OwnQuantile is left
// NaN (weightedQuantile on m.terms gives it).
func (pm *popMeasurer) measure(s *theory.Setting, o *dynamics.Orbit, x []float64, step int, eps float64) PopMeasure {
	g, global := s.GlobalArea()
	terms := pm.terms[:0]
	stratum, last := -1, [2]int{-1, -1}
	o.EachAttention(x, func(t dynamics.AttentionTerm) {
		if key := [2]int{t.Cluster, t.Query}; key != last {
			stratum, last = stratum+1, key
		}
		if !t.Reconstructable || t.Weight == 0 {
			return
		}
		pt := popTerm{stratum: stratum, w: t.Weight, own: t.Own, ls: t.Loss * s.LossScale(), area: t.Area,
			fp: t.GapFP, pp: t.GapPP, hasGap: t.HasGap}
		if global {
			pt.onG, pt.onOwn = t.Mass[g], t.Mass[t.Area]
		}
		terms = append(terms, pt)
	})
	pm.terms = terms
	m := PopMeasure{Step: step, OwnQuantile: math.NaN(), LocalGlobal: math.NaN(), LocalOwn: math.NaN()}
	W := 0.0
	var own, reached, loss float64
	for _, t := range terms {
		W += t.w
		own += t.w * t.own
		loss += t.w * t.ls
		if t.own >= 1-eps {
			reached += t.w
		}
	}
	m.Queries = W
	m.OwnMean, m.OwnReached, m.ReconstructableLoss = own/W, reached/W, loss
	if o.Mode() == dynamics.OrbitCRN {
		m.OwnMeanSE = crnSE(terms, func(t popTerm) float64 { return t.w * (t.own - m.OwnMean) }) / W
		m.OwnReachedSE = crnSE(terms, func(t popTerm) float64 { return t.w * (indicator(t.own >= 1-eps) - m.OwnReached) }) / W
		m.ReconstructableLossSE = crnSE(terms, func(t popTerm) float64 { return t.w * t.ls })
	}
	m.FPShare, m.FPShareSE = fpShare(terms, o.Mode() == dynamics.OrbitCRN)
	if global {
		m.LocalGlobal, m.LocalOwn, m.LocalOwnSE, m.LocalGapSE = localMasses(terms, g, o.Mode() == dynamics.OrbitCRN)
	}
	return m
}

// fpShare is ΣΔ_FP / (|ΣΔ_FP| + |ΣΔ_PP|) under the terms' weights, over
// the terms with keys on both sides, with its CRN standard error (the
// ratio linearised) when crn.
func fpShare(terms []popTerm, crn bool) (share, se float64) {
	var A, B float64
	for _, t := range terms {
		if t.hasGap {
			A += t.w * t.fp
			B += t.w * t.pp
		}
	}
	if A == 0 && B == 0 {
		return math.NaN(), math.NaN()
	}
	sA, sB := sign(A), sign(B)
	V := sA*A + sB*B
	share = A / V
	if crn {
		se = crnSE(terms, func(t popTerm) float64 {
			if !t.hasGap {
				return 0
			}
			return t.w * (t.fp - share*(sA*t.fp+sB*t.pp))
		}) / V
	}
	return share, se
}

func indicator(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// crnSE is the Monte Carlo standard error of Σ_i d(t_i) when the terms of
// each stratum are i.i.d. draws of equal weight (the CRN draws of one query
// representative) and the strata independent: √Σ_strata n_s/(n_s − 1) ·
// Σ_{i∈s} (d_i − d̄_s)². Terms outside the law's support (irreducible
// queries) were dropped, which the per-stratum means absorb only
// approximately; it is the order of the error that matters (§2).
func crnSE(terms []popTerm, d func(popTerm) float64) float64 {
	ss := 0.0
	for i := 0; i < len(terms); {
		j := i
		for j < len(terms) && terms[j].stratum == terms[i].stratum {
			j++
		}
		n := float64(j - i)
		if n > 1 {
			mean := 0.0
			for _, t := range terms[i:j] {
				mean += d(t) / n
			}
			v := 0.0
			for _, t := range terms[i:j] {
				v += (d(t) - mean) * (d(t) - mean)
			}
			ss += v * n / (n - 1)
		}
		i = j
	}
	return math.Sqrt(ss)
}

// weightedQuantile is the δ-quantile of the own-area mass under the
// terms' weights, by the measurement's rule (quantileOf).
func weightedQuantile(terms []popTerm, delta float64) float64 {
	if len(terms) == 0 || !(delta >= 0 && delta <= 1) {
		return math.NaN()
	}
	pairs := make([]weighted, len(terms))
	total := 0.0
	for i, t := range terms {
		pairs[i] = weighted{t.own, t.w}
		total += t.w
	}
	return selectWeighted(pairs, delta*total)
}

// weighted is a value and its weight.
type weighted struct{ x, w float64 }

// selectWeighted returns quantileOf's value without sorting: the smallest
// x whose weight at or below it exceeds level (the largest x if none), by
// quickselect on the weights — O(n) expected rather than a sort per
// record, which took 70 % of an orbit-engine check on grid4. It reorders
// ps. The pivot is the median of three, so the result and its rounding
// are the same on every run.
func selectWeighted(ps []weighted, level float64) float64 {
	below := 0.0 // weight of the values already known to lie below ps
	for len(ps) > 1 {
		pivot, lt, gt := partition3(ps, func(p weighted) float64 { return p.x })
		wLess, wEq := 0.0, 0.0
		for _, p := range ps[:lt] {
			wLess += p.w
		}
		for _, p := range ps[lt:gt] {
			wEq += p.w
		}
		switch {
		case lt > 0 && below+wLess > level:
			ps = ps[:lt]
		case below+wLess+wEq > level || gt == len(ps):
			return pivot // the crossing is at the pivot, or nothing is above it
		default:
			below += wLess + wEq
			ps = ps[gt:]
		}
	}
	return ps[0].x
}

// localMasses averages, over the local areas of cluster 0 (all but the
// global area g), the mean mass their reconstructable queries put on g and
// on their own area — as localMass does on the measured attention — with,
// when crn, the CRN standard errors of the own mass and of the gap (mass
// on g minus own), the per-area ratios linearised.
func localMasses(terms []popTerm, g int, crn bool) (onGlobal, onOwn, seOwn, seGap float64) {
	type acc struct{ w, g, own float64 }
	byArea := map[int]*acc{}
	for _, t := range terms {
		if t.area == g {
			continue
		}
		a := byArea[t.area]
		if a == nil {
			a = &acc{}
			byArea[t.area] = a
		}
		a.w += t.w
		a.g += t.w * t.onG
		a.own += t.w * t.onOwn
	}
	if len(byArea) == 0 {
		nan := math.NaN()
		return nan, nan, nan, nan
	}
	areas := make([]int, 0, len(byArea))
	for j := range byArea {
		areas = append(areas, j)
	}
	slices.Sort(areas) // a fixed summation order
	for _, j := range areas {
		a := byArea[j]
		onGlobal += a.g / a.w
		onOwn += a.own / a.w
	}
	n := float64(len(areas))
	if crn {
		lin := func(v func(t popTerm) float64, mean func(a *acc) float64) float64 {
			return crnSE(terms, func(t popTerm) float64 {
				a := byArea[t.area]
				if t.area == g || a == nil {
					return 0
				}
				return t.w * (v(t) - mean(a)) / (a.w * n)
			})
		}
		seOwn = lin(func(t popTerm) float64 { return t.onOwn }, func(a *acc) float64 { return a.own / a.w })
		seGap = lin(func(t popTerm) float64 { return t.onG - t.onOwn }, func(a *acc) float64 { return (a.g - a.own) / a.w })
	}
	return onGlobal / n, onOwn / n, seOwn, seGap
}

// SharpResult is a claim's sharp prediction: the reduced ODE's value for
// what the claim measures, and the band the measured value must lie in
// (docs/SHARP.md §2). Note alone is set when the claim has none.
type SharpResult struct {
	Engine engine.ID `json:"engine,omitempty"`
	// Mode is the reduced run's expectation: "enumerate", or "crn, N
	// draws per query representative".
	Mode      string `json:"mode,omitempty"`
	Predicted Float  `json:"predicted"`
	// Measured is the value compared with the band: the claim's measured
	// value, but for C4 the FP share on the held-out images.
	Measured Float `json:"measured"`
	Low      Float `json:"low"`
	High     Float `json:"high"`
	// Ratio is measured/predicted, the tightness figure, and SE the
	// combined standard error at the last record behind a curve's band
	// (null for crossing times, whose band is in steps).
	Ratio  Float `json:"ratio"`
	SE     Float `json:"se"`
	Inside bool  `json:"inside"`
	// Bias is the n-sample run's O(1/n) bias that the split-half
	// jackknife removed from the measured value at the last record (the
	// run itself read Measured + Bias; docs/SHARP.md §7); 0 where nothing
	// was removed: crossing times, C5, or no halves (Band says why).
	Bias Float `json:"bias,omitempty"`
	// Band says how the band was derived, with its numbers.
	Band string `json:"band,omitempty"`
	Note string `json:"note,omitempty"`
}

// Available reports whether the claim has a sharp prediction that is
// asserted (a prediction reported for information carries a Note).
func (r *SharpResult) Available() bool { return r != nil && r.Note == "" }

// sharpPredictions maps a claim id to its sharp prediction, given the
// evidence and the claim's measured value. Claims without an entry say why
// in sharpNotes.
var sharpPredictions = map[string]func(ev *Evidence, measured float64) SharpResult{
	"C2": sharpC2,
	"C3": sharpC3,
	"C4": sharpC4,
	"C5": sharpC5,
	"C6": sharpC6,
	"C7": sharpC7,
}

var sharpNotes = map[string]string{
	"C1": "C1 is itself sharp: the full model and the exact recursion agree to rounding",
	"C8": "C8 compares engines against derived bounds already (docs/AGREEMENT.md)",
}

// noSharp is the result of a claim without a sharp prediction.
func noSharp(why string) *SharpResult {
	nan := Float(math.NaN())
	return &SharpResult{Predicted: nan, Measured: nan, Low: nan, High: nan, Ratio: nan, SE: nan, Note: why}
}

// sharpFor evaluates a claim's sharp prediction on the evidence.
func sharpFor(id string, ev *Evidence, measured float64) *SharpResult {
	f, ok := sharpPredictions[id]
	switch {
	case !ok:
		return noSharp(sharpNotes[id])
	case ev.Sharp == nil:
		return noSharp("not computed (check --sharp=false, or a sweep without --sharp)")
	case ev.Sharp.Note != "":
		return noSharp(ev.Sharp.Note)
	case !slices.EqualFunc(ev.Sharp.Measures, ev.Measures, func(p PopMeasure, m Measure) bool { return p.Step == m.Step }):
		return noSharp(fmt.Sprintf("the reduced run's %d records are not at the main run's %d record steps", len(ev.Sharp.Measures), len(ev.Measures)))
	}
	r := f(ev, measured)
	if n := smallSample(id, ev.Sharp); n != "" && r.Available() {
		r.Note, r.Inside = "reported, not asserted: "+n+"; "+r.Band, false
	}
	r.Engine, r.Mode = ev.Sharp.Engine, ev.Sharp.Mode
	if r.Mode == dynamics.OrbitCRN {
		r.Mode = fmt.Sprintf("crn, %d draws per query representative", ev.Sharp.CRNSamples)
	}
	return &r
}

// sharpMinImages is the fewest training (and, for C4, held-out) images
// for which a sharp band is asserted. The bands are first order: standard
// errors estimated from the images, and the n-sample state's own error
// left out of all but C4's. Both break down on few images, most where a
// curve is steep (an early phase event a record early): with n = 8, 16, 32
// on global-local 2 of 8, 1 of 8 and 1 of 12 checks failed a band
// (grid4: 1 of 8, 0 of 8, 0 of 12), with n = 64 none of 36 (grid4: none of
// 24), against a false-alarm rate of 10⁻⁴ per claim (docs/SHARP.md §2).
const sharpMinImages = 64

// smallSample says why the claim's band is not asserted on the images the
// check has, or "".
func smallSample(id string, sh *Sharp) string {
	switch {
	case sh.TrainImages < sharpMinImages:
		return fmt.Sprintf("n = %d training images, fewer than the %d the first-order band needs", sh.TrainImages, sharpMinImages)
	case id == "C4" && sh.HeldImages < sharpMinImages:
		return fmt.Sprintf("held-out images: %d, fewer than the %d the first-order band needs", sh.HeldImages, sharpMinImages)
	}
	return ""
}

// curveBand compares a curve measured at every record of the main run,
// each point a mean over the training images with standard error se(i),
// with the reduced ODE's curve: every point must lie within z_R standard
// errors (measured and predicted, in quadrature), z_R the two-sided
// Bonferroni bound for sharpAlpha over the R records (the points share the
// images, so the bound is conservative). Predicted, Low and High are those
// of the last record; Band names the worst record.
func curveBand(ev *Evidence, measured func(i int) (v, se float64), field func(a *Attention) float64, pred func(pm *PopMeasure) (v, se float64)) SharpResult {
	R := len(ev.Measures)
	z := bonferroniZ(sharpAlpha, max(R, ev.BandRecords))
	worst, worstStep, inside, compared, skipped := 0.0, 0, true, 0, 0
	r := *noSharp("")
	halves := ev.Sharp.Halves
	if field == nil {
		halves = nil
	}
	for i := range R {
		raw, seM := measured(i)
		m := halves.correct(raw, i, field)
		seM *= mutantSEScale(ev)
		p, seP := pred(&ev.Sharp.Measures[i])
		se := math.Hypot(seM, seP)
		if math.IsNaN(m) || math.IsNaN(p) {
			// Undefined on a side (the FP share at Q = 0; no
			// reconstructable query in the law or the images): nothing to
			// compare at this record, said in the band's text.
			if !(math.IsNaN(m) && math.IsNaN(p)) {
				skipped++
			}
			continue
		}
		compared++
		if se == 0 {
			// No noise on either side (an enumeration, and images that all
			// give one value): the two differ by the rounding of their
			// sums, at most N·u relative for N summed terms of one sign —
			// the measured queries and the enumeration's terms (≤
			// DefaultOrbitMaxTerms, the budget sharpOptions leaves).
			a := &ev.Measures[i].Attention
			N := float64(a.Queries + a.Irreducible + dynamics.DefaultOrbitMaxTerms)
			se = N * 0x1p-53 * math.Max(math.Max(math.Abs(m), math.Abs(p)), 1) / z
		}
		dev := math.Abs(m-p) / se
		if !(dev <= z) {
			inside = false
		}
		if !(dev <= worst) {
			worst, worstStep = dev, ev.Measures[i].Step
		}
		if i == R-1 {
			r.Predicted, r.Measured, r.Low, r.High, r.Ratio, r.SE = Float(p), Float(m), Float(p-z*se), Float(p+z*se), Float(m/p), Float(se)
			r.Bias = Float(raw - m)
		}
	}
	r.Inside = inside && compared > 0
	r.Band = fmt.Sprintf("±%.2f·SE at each of the %d records (SE = √(SE_n² + SE_pred²); Bonferroni for a %.2g false-alarm rate); the largest deviation is %.2f·SE, at step %d", z, compared, sharpAlpha, worst, worstStep)
	if skipped > 0 {
		r.Band += fmt.Sprintf("; %d records defined on one side only, not compared", skipped)
	}
	r.Band += "; " + ev.Sharp.jackknifeNote(halves != nil)
	return r
}

// jackknifeNote says how the measured value was corrected for the
// n-sample run's bias, or why it was not.
func (sh *Sharp) jackknifeNote(applied bool) string {
	switch {
	case applied:
		return fmt.Sprintf("measured values corrected for the n-sample run's O(1/n) bias by the split-half jackknife, 2·m_n − (m_{n/2} + m'_{n/2})/2 (two runs on %d images each; not where a half's value is undefined)", sh.Halves.Images)
	case sh.Halves == nil:
		return "measured values not corrected for the n-sample run's O(1/n) bias: " + sh.HalvesNote
	}
	return "measured values not corrected for the n-sample run's O(1/n) bias (not a quantity of the attention the halves measure)"
}

// sharpC2 compares the reconstructable loss per image over the run.
func sharpC2(ev *Evidence, _ float64) SharpResult {
	return curveBand(ev,
		func(i int) (float64, float64) {
			a := &ev.Measures[i].Attention
			return a.ReconstructableLoss, earlySE(a.ReconstructableLossSE, ev.Sharp.EarlyLossSD, i)
		},
		func(a *Attention) float64 { return a.ReconstructableLoss },
		func(pm *PopMeasure) (float64, float64) { return pm.ReconstructableLoss, pm.ReconstructableLossSE })
}

// sharpC7 compares 1 − the mean own-area mass over the run.
func sharpC7(ev *Evidence, _ float64) SharpResult {
	return curveBand(ev,
		func(i int) (float64, float64) {
			a := &ev.Measures[i].Attention
			return 1 - a.OwnMean, earlySE(a.OwnMeanSE, ev.Sharp.EarlyOwnSD, i)
		},
		func(a *Attention) float64 { return 1 - a.OwnMean },
		func(pm *PopMeasure) (float64, float64) { return 1 - pm.OwnMean, pm.OwnMeanSE })
}

// earlySE is a measured point's standard error: the per-image one, or at
// the first records the spread over independent training sets when it is
// larger (Sharp.EarlyLossSD).
func earlySE(se float64, early []float64, i int) float64 {
	if i < len(early) && early[i] > se {
		return early[i]
	}
	return se
}

// crossing returns the step of the first record at which v(i) passes
// thr — upwards (≥) when up, downwards (<) otherwise — or +Inf.
func crossing(ev *Evidence, v func(i int) float64, thr float64, up bool) float64 {
	for i, m := range ev.Measures {
		if x := v(i); (up && x >= thr) || (!up && x < thr) {
			return float64(m.Step)
		}
	}
	return math.Inf(1)
}

// mutantSEScale is 1, or √n under the band-inflated mutant (a weakened
// judge that the controls must catch: controls.go).
func mutantSEScale(ev *Evidence) float64 {
	if mutant.On(mutant.BandInflated) && ev.Sharp != nil {
		return math.Sqrt(float64(ev.Sharp.TrainImages))
	}
	return 1
}

// crossingBand predicts the record at which a measured curve passes thr,
// and the band of records the measured crossing may fall in: the curve
// measured at a record lies within z standard errors of the predicted one
// (§2), so it cannot pass before the predicted curve shifted by z·SE
// towards thr does, and must have passed once the curve shifted away
// does.
func crossingBand(ev *Evidence, pred func(i int) (v, se float64), seMeasured func(i int) float64, thr float64, up bool, z float64) (p, lo, hi float64) {
	toward := 1.0
	if !up {
		toward = -1
	}
	shifted := func(k float64) func(i int) float64 {
		return func(i int) float64 {
			v, se := pred(i)
			return v + k*toward*math.Hypot(se, seMeasured(i)*mutantSEScale(ev))
		}
	}
	return crossing(ev, shifted(0), thr, up), crossing(ev, shifted(z), thr, up), crossing(ev, shifted(-z), thr, up)
}

// sharpC3 predicts the first record at which the δ-quantile of own-area
// mass reaches 1 − ε: when the fraction R(t) of queries at or above 1 − ε
// reaches 1 − δ. The measured fraction lies within sharpZ standard errors
// of the population's, which gives the band of crossingBand.
func sharpC3(ev *Evidence, measured float64) SharpResult {
	pm, ms := ev.Sharp.Measures, ev.Measures
	p, lo, hi := crossingBand(ev,
		func(i int) (float64, float64) { return pm[i].OwnReached, pm[i].OwnReachedSE },
		func(i int) float64 { return ms[i].Attention.OwnReachedSE },
		1-ev.Env["δ"], true, sharpZ)
	return SharpResult{Predicted: Float(p), Measured: Float(measured), Low: Float(lo), High: Float(hi), Ratio: Float(measured / p), SE: Float(math.NaN()),
		Inside: measured >= lo && measured <= hi,
		Band:   fmt.Sprintf("the first records where the population fraction R(t) at or above 1 − ε, ±%.2f·SE (measured and predicted, in quadrature), reaches 1 − δ", sharpZ)}
}

// sharpC4 compares the FP share measured on the held-out images at the
// last record with the reduced ODE's. The training images are not used:
// there the PP correlations fit the training masks, an O(1/n) optimism no
// standard error covers; the held-out share's own O(1/n) bias (the state
// fits the training set) is removed by the split-half jackknife
// (docs/SHARP.md §7). The band adds, in quadrature, the held-out
// images' standard error, the prediction's Monte Carlo error and the
// n-sample state's own error propagated by the adjoint of the orbit
// recursion (Sharp.FPShareStateSE; docs/SHARP.md §4).
func sharpC4(ev *Evidence, _ float64) SharpResult {
	sh := ev.Sharp
	if ev.HeldOut == nil {
		return *noSharp("no held-out images were measured")
	}
	pm := sh.Measures[len(sh.Measures)-1]
	raw, seM := ev.HeldOut.FPShare, ev.HeldOut.FPShareSE
	m := raw
	if sh.Halves != nil {
		m = jackknifeOr(raw, sh.Halves.HeldFP[0], sh.Halves.HeldFP[1])
	}
	if math.IsNaN(m) || math.IsNaN(pm.FPShare) {
		return *noSharp("the FP share is undefined at the last record (no logit gap on either side)")
	}
	if math.IsNaN(sh.FPShareStateSE) {
		return *noSharp("the n-sample state's error on the FP share was not computed: " + sh.StateNote)
	}
	// The prediction's two CRN errors, at the state and along the path,
	// share the draws but add in quadrature: over 24 CRN seeds their
	// spread is 0.88 of √(SE_pred² + SE_path²) (TestCRNPathSE).
	se := math.Sqrt(seM*seM + pm.FPShareSE*pm.FPShareSE + sh.FPSharePathSE*sh.FPSharePathSE + sh.FPShareStateSE*sh.FPShareStateSE)
	lo, hi := pm.FPShare-sharpZ*se, pm.FPShare+sharpZ*se
	return SharpResult{Predicted: Float(pm.FPShare), Low: Float(lo), High: Float(hi), Ratio: Float(m / pm.FPShare), SE: Float(se),
		Measured: Float(m), Bias: Float(raw - m), Inside: m >= lo && m <= hi,
		Band: fmt.Sprintf("the held-out FP share (%d images) at the last record, ±%.2f·SE with SE = √(SE_held² + SE_pred² + SE_path² + SE_state²) = √(%.2g² + %.2g² + %.2g² + %.2g²): SE_state the n-sample state's own error from n = %d training images and SE_path the reduced run's from its CRN draws, each propagated by the adjoint of the reduced ODE; %s",
			sh.HeldImages, sharpZ, seM, pm.FPShareSE, sh.FPSharePathSE, sh.FPShareStateSE, sh.TrainImages, sh.jackknifeNote(sh.Halves != nil))}
}

// sharpC6 predicts C6's three attention events of the local queries —
// their mass on the global area falls below their own-area mass, their
// own-area mass passes ½, then 1 − ε — each with the band of crossingBand
// at the Bonferroni z for three comparisons. The claim's measured value is
// the number of order violations; Predicted, Low and High are those of the
// last event, and Ratio its measured/predicted step.
func sharpC6(ev *Evidence, _ float64) SharpResult {
	if _, ok := ev.Setting.GlobalArea(); !ok {
		return *noSharp("the setting has no global area")
	}
	pm, ms := ev.Sharp.Measures, ev.Measures
	ph := phaseEvents(ev, ev.Env["ε"])
	z := bonferroniZ(sharpAlpha, 3)
	own := func(i int) (float64, float64) { return pm[i].LocalOwn, pm[i].LocalOwnSE }
	seOwn := func(i int) float64 { return ms[i].Attention.LocalOwnSE }
	events := []struct {
		name     string
		measured int
		curve    func(i int) (float64, float64)
		se       func(i int) float64
		thr      float64
		up       bool
	}{
		{"decoupling", ph.Decouple, func(i int) (float64, float64) { return pm[i].LocalGlobal - pm[i].LocalOwn, pm[i].LocalGapSE },
			func(i int) float64 { return ms[i].Attention.LocalGapSE }, 0, false},
		{"own-area mass ½", ph.LocalHalf, own, seOwn, 0.5, true},
		{"own-area mass 1 − ε", ph.LocalWide, own, seOwn, 1 - ev.Env["ε"], true},
	}
	r := SharpResult{Inside: true, SE: Float(math.NaN())}
	var parts []string
	for _, e := range events {
		p, lo, hi := crossingBand(ev, e.curve, e.se, e.thr, e.up, z)
		m := float64(e.measured)
		if e.measured < 0 {
			m = math.Inf(1)
		}
		in := m >= lo && m <= hi
		r.Inside = r.Inside && in
		parts = append(parts, fmt.Sprintf("%s at step %v, predicted %v in [%v, %v]", e.name, m, p, lo, hi))
		r.Predicted, r.Measured, r.Low, r.High, r.Ratio = Float(p), Float(m), Float(lo), Float(hi), Float(m/p)
	}
	r.Band = fmt.Sprintf("events of the local queries (±%.2f·SE, Bonferroni over 3): %s", z, strings.Join(parts, "; "))
	return r
}

// sharpC5 predicts the 2δ-quantile of the pairwise total variation at the
// last record from the reduced ODE's final state on a pool of fresh images
// (the joint law of two queries is not in the orbit terms). The measured
// quantile of n images estimates the level 2δ of the law; the fraction of
// pairs below a value is a mean over images of per-image fractions in
// [0, 1], whose variance is at most p(1 − p), so its standard error is at
// most √(p(1 − p)(1/n + 1/n_pool)) with the pool's; the band is the pool's
// quantiles at the levels 2δ ∓ sharpZ of it (docs/SHARP.md §2).
func sharpC5(ev *Evidence, measured float64) SharpResult {
	sh := ev.Sharp
	if len(sh.PoolTV) == 0 {
		return *noSharp("no pair of queries in different areas in the pool")
	}
	p := 2 * ev.Env["δ"]
	if !(p > 0 && p <= 1) {
		// Options.validate keeps δ in (0, ½]; a caller that bypasses it
		// gets a reason, not a NaN band.
		return *noSharp(fmt.Sprintf("2δ = %g is not a level in (0, 1]: the 2δ-quantile is undefined", p))
	}
	n := float64(sh.TrainImages)
	se := math.Sqrt(p * (1 - p) * (1/n + 1/float64(sh.PoolImages)))
	q := func(level float64) float64 {
		return quantileOf(sh.PoolTV, nil, math.Min(1, math.Max(0, level)))
	}
	pred, lo, hi := q(p), q(p-sharpZ*se), q(p+sharpZ*se)
	return SharpResult{Predicted: Float(pred), Measured: Float(measured), Low: Float(lo), High: Float(hi), Ratio: Float(measured / pred), SE: Float(math.NaN()),
		Inside: measured >= lo && measured <= hi,
		Band:   fmt.Sprintf("the %d-image pool's quantiles at the levels 2δ ∓ %.2f·SE_level, SE_level = √(p(1 − p)(1/n + 1/n_pool)) = %.3g", sh.PoolImages, sharpZ, se)}
}
