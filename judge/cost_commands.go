package judge

import (
	"cmp"
	"fmt"
	"slices"

	"mimverify/dynamics"
	"mimverify/engine"
	"mimverify/theory"
)

// The peak memory of the commands beyond 'run' — reduce, check, sweep —
// estimated from their stages' EstimateCost (docs/PERFORMANCE.md §Limits),
// before anything is allocated, for the refusal that names it. Stages that
// run at once add up; a phase's peak is the sum of what it holds, and the
// command's the largest phase's. TestCostEstimatesHold measures them.

// EstimateReduceCost is the peak memory of 'mimverify reduce': the orbit
// (or mean-field) objective, the lifted states of the relation check
// (1.5 states measured at P = 1024), the conservation-law search's
// gradients (states × Dim, their SVD), and 4 MB for the closed form's
// expressions where there is one (measured 0–5 MB on grids of 16 to 256
// positions: the collector's pacing at a small heap, as much as their size).
func EstimateReduceCost(s *theory.Setting, meanField bool, states int) (Cost, error) {
	st := stateBytes(s)
	c, size, err := orbitMemory(s, dynamics.OrbitOptions{MeanField: meanField}, st)
	if err != nil {
		return Cost{}, err
	}
	if states == 0 {
		states = size.Dim + 8
	}
	c.Bytes += -6.5*st + 3*8*float64(states*size.Dim) + baseBytes
	if dynamics.ClosedFormReason(s, meanField) == "" {
		c.Bytes += 4e6
	}
	c.Cheaper = "reduce the orbit level (without --meanfield: its CRN mode draws z), or a setting with fewer areas or a constant z law"
	if !meanField {
		c.Cheaper = "a setting with fewer areas or positions, or a constant z law"
	}
	return c, nil
}

// EstimateCheckCost is the peak memory of Check(s, opt): the training and
// held-out samples and the main run's records and measures, held
// throughout, and the largest of its phases: the main run (with the
// agreement stage beside it when C8 is selected), the reduced ODE of the
// sharp predictions beside C1's full model, and the three controls, which
// run at once (judge/controls.go). Under departures from the assumptions
// the full model is the main run and the in-assumption reference runs
// before it (judge/departures.go).
func EstimateCheckCost(s *theory.Setting, opt Options) (Cost, error) {
	opt.defaults()
	if err := s.Validate(); err != nil {
		return Cost{}, err
	}
	_, steps := runEnv(s, opt)
	st := stateBytes(s)
	records := float64(len(engine.LogSpaced(steps, 200).Record))
	held := checkBytes + float64(opt.Samples+opt.Eval)*sampleBytes(s) + records*(st+measureBytes(s))
	c := Cost{Cheaper: "select fewer claims (--claims), or lower --samples or --max-steps"}
	if s.Departs() {
		return departedCheckCost(s, opt, steps, held+records*st)
	}
	if opt.Main == engine.Orbit {
		// gatherOrbitMain: CRN at mainCRNSamples draws where the
		// enumeration is over its budget.
		// A setting the orbit objective cannot be built on is not
		// refused here: the main run says why (exit 1, as before).
		o, size, err := orbitMemory(s, dynamics.OrbitOptions{}, st)
		if err == nil && size.Mode == dynamics.OrbitCRN {
			o, _, err = orbitMemory(s, dynamics.OrbitOptions{CRNSamples: mainCRNSamples}, st)
		}
		if err != nil {
			o = Cost{}
		}
		c.Bytes = baseBytes + held - float64(opt.Samples)*sampleBytes(s) + o.Bytes
		c.Cheaper = "lower --max-steps, or use --engine exact with fewer --samples"
		return c, nil
	}
	phases, err := checkPhases(s, opt, steps, st, records)
	if err != nil {
		return Cost{}, err
	}
	c.Bytes = baseBytes + held + slices.Max(phases)
	if !opt.NoSharp {
		c.Cheaper = "--sharp=false and --controls=false (the reduced ODE and the controls' three runs), select fewer claims (--claims), or lower --samples or --max-steps"
	}
	return c, nil
}

// departedCheckCost is EstimateCheckCost under departures from the
// assumptions (gatherDeparted): the in-assumption reference's check, whose
// evidence is kept, then the full model's run beside it, whose measurements
// embed each sample's P×d patches (measured on default with feature
// overlap 0.3: 60 MB at 32 samples, 82 MB at 256). held is what the
// departed run holds of its own.
func departedCheckCost(s *theory.Setting, opt Options, steps int, held float64) (Cost, error) {
	ins := s.InAssumption()
	refOpt := opt
	refOpt.NoControls = true // no controls on a departed check
	ref, err := EstimateCheckCost(&ins, refOpt)
	if err != nil {
		return Cost{}, err
	}
	full, err := EstimateCost(engine.Full, s, EngineOptions{}, opt.Samples, steps)
	if err != nil {
		return Cost{}, err
	}
	embedded := float64(opt.Samples+opt.Eval) * 8 * float64(s.P*s.Dim())
	return Cost{Bytes: ref.Bytes + held + embedded + full.Bytes - baseBytes,
		Cheaper: "lower --samples, --max-steps, P, extra_dim or departures.heads, or select fewer claims (--claims)"}, nil
}

// checkPhases is the memory of each phase of an exact-main check beyond
// what it holds throughout (EstimateCheckCost).
func checkPhases(s *theory.Setting, opt Options, steps int, st, records float64) ([]float64, error) {
	r := &run{opt: opt, claims: selectedClaims(opt.Claims)}
	engineBytes := func(id engine.ID, n, steps int) (float64, error) {
		c, err := EstimateCost(id, s, EngineOptions{}, n, steps)
		return c.Bytes - baseBytes, err
	}
	exact, err := engineBytes(engine.Exact, opt.Samples, steps)
	if err != nil {
		return nil, err
	}
	main := exact
	if r.needs(engine.Flow) || r.needs(engine.Population) {
		// agreementChecks: the population engine over 20 recorded steps,
		// and GD and the flow on 64 samples over 5 records.
		pop, err := engineBytes(engine.Population, 0, 20)
		if err != nil {
			return nil, err
		}
		flow, err := engineBytes(engine.Flow, min(64, opt.Samples), 160)
		if err != nil {
			return nil, err
		}
		main += pop + flow + 2*21*st
	}
	second := 0.0
	if r.needsSharp() {
		// Where the orbit objective cannot be built the sharp stage only
		// says why (gatherSharp): no cost.
		o, size, err := orbitMemory(s, dynamics.OrbitOptions{}, st)
		if err == nil && size.Mode == dynamics.OrbitCRN && opt.Power > 1 {
			// sharpOptions: CRN at Power times the default draws.
			o, size, err = orbitMemory(s, dynamics.OrbitOptions{CRNSamples: sharpCRNDraws(opt.Power)}, st)
		}
		if err == nil {
			// The path of C4's adjoint: the state and gradient of every step.
			second += o.Bytes + 16*float64(size.Dim)*float64(steps+1) + float64(2*opt.Samples)*sampleBytes(s)
		}
	}
	if r.needs(engine.Full) || opt.WithFull {
		t1 := min(c1Steps, steps)
		full, err := engineBytes(engine.Full, c1Images(opt.Samples, opt.Power), t1)
		if err != nil {
			return nil, err
		}
		second += full + 2*float64(t1+1)*st // both runs record every step
	}
	controls := 0.0
	if !opt.NoControls && !opt.NoSharp {
		controls = 3 * (exact + records*(st+measureBytes(s)) + float64(opt.Samples)*2*float64(s.P*s.P))
	}
	return []float64{main, second, controls}, nil
}

// EstimateSweepCost is the peak memory of a sweep of plan with jobs points
// at once: the jobs costliest points' checks beside one another, each cell
// estimated once (its seeds cost the same), in one process: the runtime
// and checkBytes, mostly the collector's headroom over one heap, once
// (measured on default at --jobs 2: 1.14× the peak counted once, 1.37×
// counted per point).
func EstimateSweepCost(plan *Plan, jobs int) (Cost, error) {
	points, err := plan.Points()
	if err != nil {
		return Cost{}, err
	}
	var costs []Cost
	for i := 0; i < len(points); i += plan.Seeds {
		p := points[i]
		c, err := EstimateCheckCost(&p.Setting, p.Options)
		if err != nil {
			return Cost{}, fmt.Errorf("point %d: %w", p.Index, err)
		}
		for range min(plan.Seeds, jobs) {
			costs = append(costs, c)
		}
	}
	slices.SortFunc(costs, func(a, b Cost) int { return cmp.Compare(b.Bytes, a.Bytes) })
	out := Cost{Bytes: baseBytes + checkBytes, Cheaper: "lower --jobs (the points run at once add up)"}
	for _, c := range costs[:min(jobs, len(costs))] {
		out.Bytes += c.Bytes - baseBytes - checkBytes
	}
	if jobs == 1 || len(costs) == 1 {
		out.Cheaper = costs[0].Cheaper
	}
	return out, nil
}

// selectedClaims is the claims newRun selects.
func selectedClaims(ids []string) []theory.Claim {
	claims := theory.Claims()
	if len(ids) > 0 {
		claims = slices.DeleteFunc(claims, func(c theory.Claim) bool { return !slices.Contains(ids, c.ID) })
	}
	return claims
}

// stateBytes is one (A, B) state's size.
func stateBytes(s *theory.Setting) float64 {
	P, F := float64(s.P), float64(s.NumFeatures())
	return 8 * (P*F + P*P)
}

// checkBytes is what a check holds beyond its engines and samples: the
// judge's measurements, the report and its figures (10 MB measured on
// default with 16 samples: 25 MB against the process's 14 MB).
const checkBytes = 10e6

// sampleBytes is what one sample costs a check: its mask and z, and its
// measurement at the last record, whose pairwise total variations over
// (γP)²/2 query pairs the collector lets grow to about 2·P² bytes
// (measured: 8.5 KB per training sample at P = 64, 140 KB at P = 256).
func sampleBytes(s *theory.Setting) float64 {
	return float64(s.P) + 8*float64(s.NumFeatures()) + 96 + 2*float64(s.P*s.P)
}

// measureBytes is one record's measures: the attention's maps per cluster
// (per query, per area, area × area) and the FP summary.
func measureBytes(s *theory.Setting) float64 {
	b := 0.0
	for _, c := range s.Clusters {
		N := float64(c.NumAreas())
		b += 8 * (float64(s.P) + 2*N + N*N)
	}
	return b + 512
}
