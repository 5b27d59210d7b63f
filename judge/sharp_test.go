package judge

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"mimverify/dynamics"
	"mimverify/engine"
	"mimverify/theory"
)

// allMasks returns every image of s — each cluster, each of the 2^P masks —
// with z constant: under γ = ½ and equiprobable clusters they are equally
// likely, so their plain average is the population expectation.
func allMasks(s *theory.Setting) []theory.Sample {
	var out []theory.Sample
	for k, cl := range s.Clusters {
		z := make([]float64, cl.NumAreas())
		for j := range z {
			z[j] = s.Z.L
		}
		for bits := range 1 << s.P {
			m := make([]bool, s.P)
			for p := range m {
				m[p] = bits>>p&1 == 1
			}
			out = append(out, theory.Sample{Cluster: k, Z: z, Mask: m})
		}
	}
	return out
}

// TestPopulationLawMatchesAllMasks checks the reduced engine's population
// law of the attention (dynamics.Orbit.EachAttention summarised by
// popMeasurer.measure) against MeasureAttention over every mask of grid4 with
// z constant, at a symmetric state reached by 40 orbit steps: the two share
// no code but the setting, and must agree to rounding.
func TestPopulationLawMatchesAllMasks(t *testing.T) {
	for _, keys := range []theory.KeyMode{theory.KeysUnmasked, theory.KeysAll} {
		s, err := theory.Preset("grid4")
		if err != nil {
			t.Fatal(err)
		}
		s.Z = theory.ZLaw{Kind: theory.ZConstant, L: 1.2, U: 1.2}
		s.Keys = keys
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		eng := &dynamics.OrbitEngine{Options: dynamics.OrbitOptions{Mode: dynamics.OrbitEnumerate}}
		tr, err := eng.Run(engine.NewProblem(&s, nil, 1), engine.Every(40, 40), engine.Observer{})
		if err != nil {
			t.Fatal(err)
		}
		last := tr.Final()
		x := make([]float64, eng.Used.Dim())
		eng.Used.Project(last.Correlations, x)
		const eps, delta = 0.1, 0.1
		var pm popMeasurer
		pop := pm.measure(&s, eng.Used, x, last.Step, eps)
		all := MeasureAttention(&s, last.Correlations, allMasks(&s), eps, delta, false)
		perImage := float64(all.Queries) / float64(len(s.Clusters)<<s.P)
		for _, c := range []struct {
			name      string
			pop, meas float64
		}{
			{"reconstructable queries per image", pop.Queries, perImage},
			{"mean own-area mass", pop.OwnMean, all.OwnMean},
			{"fraction at or above 1 − ε", pop.OwnReached, all.OwnReached},
			{"reconstructable loss per image", pop.ReconstructableLoss, all.ReconstructableLoss},
		} {
			// Rounding: MeasureAttention sums its N ≈ 2^20 queries one
			// by one, whose error is bounded by N·u relative (u = 2^−53,
			// the values being of one sign); the orbit side sums far fewer.
			tol := float64(all.Queries+all.Irreducible) * 0x1p-53
			if d := math.Abs(c.pop - c.meas); !(d <= tol*math.Max(1, math.Abs(c.meas))) {
				t.Errorf("keys %s, %s: population law %.15g, all masks %.15g", keys, c.name, c.pop, c.meas)
			}
		}
		if pop.OwnMeanSE != 0 || pop.ReconstructableLossSE != 0 {
			t.Errorf("keys %s: an exact enumeration has no Monte Carlo error, got SE %g, %g", keys, pop.OwnMeanSE, pop.ReconstructableLossSE)
		}
		if !(pop.OwnMean > 0.3 && pop.OwnMean < 0.99) {
			t.Errorf("keys %s: own-area mass %g at step 40: the state is not in the interesting range the test needs", keys, pop.OwnMean)
		}
	}
}

// synthEvidence is evidence with R records whose measured reconstructable
// loss is the predicted one plus dev(i) standard errors (SE 0.01 measured,
// 0 predicted), and whose fraction at or above 1 − ε rises linearly.
func synthEvidence(R int, dev func(i int) float64) *Evidence {
	ev := &Evidence{Env: map[string]float64{"ε": 0.1, "δ": 0.1}, Sharp: &Sharp{}}
	for i := range R {
		pred := 1.0 / float64(i+1)
		reached := float64(i) / float64(R-1)
		ev.Measures = append(ev.Measures, Measure{Step: 10 * i, Attention: Attention{
			ReconstructableLoss: pred + dev(i)*0.01, ReconstructableLossSE: 0.01,
			OwnReached: reached, OwnReachedSE: 0.01}})
		ev.Sharp.Measures = append(ev.Sharp.Measures, PopMeasure{Step: 10 * i, ReconstructableLoss: pred, OwnReached: reached})
	}
	return ev
}

// The curve band holds a curve within z_R standard errors everywhere and
// rejects one that leaves it at a single record, on either side.
func TestCurveBandEdges(t *testing.T) {
	const R = 50
	z := distuv.UnitNormal.Quantile(1 - sharpAlpha/(2*R))
	for _, c := range []struct {
		name   string
		dev    func(i int) float64
		inside bool
	}{
		{"on the prediction", func(int) float64 { return 0 }, true},
		{"just inside everywhere", func(int) float64 { return 0.99 * z }, true},
		{"just outside at one record, above", func(i int) float64 { return map[bool]float64{true: 1.01 * z}[i == 17] }, false},
		{"just outside at one record, below", func(i int) float64 { return map[bool]float64{true: -1.01 * z}[i == 3] }, false},
	} {
		ev := synthEvidence(R, c.dev)
		r := sharpC2(ev, ev.Measures[R-1].Attention.ReconstructableLoss)
		if r.Inside != c.inside {
			t.Errorf("%s: inside = %v, want %v (%s)", c.name, r.Inside, c.inside, r.Band)
		}
	}
}

// The crossing band of C3 brackets the predicted crossing by the records
// where R ± z·SE reaches 1 − δ, and a measured time outside it fails.
func TestCrossingBandEdges(t *testing.T) {
	ev := synthEvidence(101, func(int) float64 { return 0 })
	zse := 0.01 * sharpZ
	// R(i) = i/100 reaches 1 − δ = 0.9 at record 90 (step 900); R ± z·SE
	// reaches it at the first records i ≥ 100·(0.9 ∓ z·SE).
	lo, hi := 10*math.Ceil(100*(0.9-zse)), 10*math.Ceil(100*(0.9+zse))
	r := sharpC3(ev, 900)
	if float64(r.Predicted) != 900 || float64(r.Low) != lo || float64(r.High) != hi || !r.Inside {
		t.Errorf("band %v [%v, %v], inside %v; want 900 [%v, %v]", r.Predicted, r.Low, r.High, r.Inside, lo, hi)
	}
	if early := sharpC3(ev, lo-10); early.Inside {
		t.Errorf("a crossing one record before the band is inside: %+v", early)
	}
	if late := sharpC3(ev, hi+10); late.Inside {
		t.Errorf("a crossing one record after the band is inside: %+v", late)
	}
}

// The CRN standard errors of the population law (crnSE) are what they
// claim: over 24 independent sets of draws at one state, the spread of
// the mean own-area mass, the fraction at or above 1 − ε and the loss
// matches the mean reported SE within spreadBounds (the χ² points of the
// spread of 24 values: 0.57 and 1.47). The state (8
// steps from Q = 0) and the threshold put the fraction near ½: near 0 or 1
// a set of draws with no miss reports SE 0, the rare-event bias of any
// plug-in binomial SE.
func TestCRNStandardErrors(t *testing.T) {
	s, err := theory.Preset("default")
	if err != nil {
		t.Fatal(err)
	}
	eng := &dynamics.OrbitEngine{Options: dynamics.OrbitOptions{CRNSamples: 256}}
	tr, err := eng.Run(engine.NewProblem(&s, nil, 1), engine.Every(8, 8), engine.Observer{})
	if err != nil {
		t.Fatal(err)
	}
	const seeds = 24
	vals := make([][3]float64, seeds)
	var ses [3]float64
	for i := range seeds {
		o, err := dynamics.NewOrbit(&s, dynamics.OrbitOptions{CRNSamples: 256, Seed: uint64(100 + i)})
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float64, o.Dim())
		o.Project(tr.Final().Correlations, x)
		var pm popMeasurer
		m := pm.measure(&s, o, x, 8, 0.22) // 1 − ε at the mean own-area mass
		vals[i] = [3]float64{m.OwnMean, m.OwnReached, m.ReconstructableLoss}
		ses[0] += m.OwnMeanSE / seeds
		ses[1] += m.OwnReachedSE / seeds
		ses[2] += m.ReconstructableLossSE / seeds
	}
	lo, hi := spreadBounds(seeds)
	for k, name := range []string{"mean own-area mass", "fraction ≥ 1 − ε", "reconstructable loss"} {
		col := make([]float64, seeds)
		for i := range vals {
			col[i] = vals[i][k]
		}
		sd := stat.StdDev(col, nil)
		if r := sd / ses[k]; !(r >= lo && r <= hi) {
			t.Errorf("%s: spread over draws %.3g, mean reported SE %.3g (ratio %.2f)", name, sd, ses[k], r)
		} else {
			t.Logf("%s: mean %.3g, spread %.3g, reported SE %.3g (ratio %.2f)", name, stat.Mean(col, nil), sd, ses[k], r)
		}
	}
}

// The measured side's standard errors (per-image ratio estimators) are
// what they claim: over 24 independent sets of 128 images at one state,
// the spread of the mean own-area mass, the fraction at or above 1 − ε,
// the reconstructable loss and the FP share matches the mean reported SE
// (within spreadBounds, as TestCRNStandardErrors).
func TestImageStandardErrors(t *testing.T) {
	s, err := theory.Preset("default")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := (&dynamics.OrbitEngine{}).Run(engine.NewProblem(&s, nil, 1), engine.Every(8, 8), engine.Observer{})
	if err != nil {
		t.Fatal(err)
	}
	c := tr.Final().Correlations
	const sets = 24
	stats := func(a *Attention) [4][2]float64 {
		return [4][2]float64{{a.OwnMean, a.OwnMeanSE}, {a.OwnReached, a.OwnReachedSE},
			{a.ReconstructableLoss, a.ReconstructableLossSE}, {a.FPShare, a.FPShareSE}}
	}
	var vals [4][]float64
	var ses [4]float64
	for i := range sets {
		a := MeasureAttention(&s, c, s.Samples(uint64(200+i), 128), 0.22, 0.1, false)
		for k, v := range stats(&a) {
			vals[k] = append(vals[k], v[0])
			ses[k] += v[1] / sets
		}
	}
	lo, hi := spreadBounds(sets)
	for k, name := range []string{"mean own-area mass", "fraction ≥ 1 − ε", "reconstructable loss", "FP share"} {
		sd := stat.StdDev(vals[k], nil)
		if r := sd / ses[k]; !(r >= lo && r <= hi) {
			t.Errorf("%s: spread over image sets %.3g, mean reported SE %.3g (ratio %.2f)", name, sd, ses[k], r)
		} else {
			t.Logf("%s: mean %.3g, spread %.3g, reported SE %.3g (ratio %.2f)", name, stat.Mean(vals[k], nil), sd, ses[k], r)
		}
	}
}

// spreadBounds are the 0.1 % and 99.9 % points of the ratio of a sample
// standard deviation over n independent draws to the true one,
// √(χ²_{n−1}/(n−1)): a reported standard error that describes the spread
// puts the ratio outside them once in 500 tests.
func spreadBounds(n int) (lo, hi float64) {
	chi := distuv.ChiSquared{K: float64(n - 1)}
	return math.Sqrt(chi.Quantile(0.001) / float64(n-1)), math.Sqrt(chi.Quantile(0.999) / float64(n-1))
}

// TestSharpOptionsPower: at Options.Power K the reduced run takes K times
// the default CRN draws where power 1 takes the default, and at least K
// times power 1's draws where the budget halves them (a long run on vit14,
// whose three clusters cost the most per draw: the budget is K times larger
// too, and part of a step's cost — the control variate's quadrature — does
// not grow with the draws); an enumeration, which has no draws, stays one.
func TestSharpOptionsPower(t *testing.T) {
	// resolved is the mode and draws the orbit engine takes from opt.
	resolved := func(s *theory.Setting, opt dynamics.OrbitOptions) (string, int) {
		o, err := dynamics.NewOrbit(s, opt)
		if err != nil {
			t.Fatal(err)
		}
		return o.Mode(), o.NumSamples()
	}
	for _, c := range []struct {
		preset         string
		steps, records int
	}{{"default", 5000, 123}, {"vit14", 12000, 200}, {"global-local", 2000, 100}} {
		s, err := theory.Preset(c.preset)
		if err != nil {
			t.Fatal(err)
		}
		one, why, _ := sharpOptions(&s, c.steps, c.records, 1)
		if why != "" {
			t.Fatalf("%s: %s", c.preset, why)
		}
		mode1, draws1 := resolved(&s, one)
		for _, k := range []int{3, 4} {
			opt, why, _ := sharpOptions(&s, c.steps, c.records, k)
			if why != "" {
				t.Fatalf("%s at power %d: %s", c.preset, k, why)
			}
			mode, draws := resolved(&s, opt)
			ok := mode == mode1 && draws == draws1
			if mode1 == dynamics.OrbitCRN {
				ok = mode == mode1 && draws >= k*draws1 && draws <= k*dynamics.DefaultCRNSamples &&
					(draws1 != dynamics.DefaultCRNSamples || draws == k*draws1)
			}
			if !ok {
				t.Errorf("%s at power %d: %s with %d terms; power 1: %s with %d", c.preset, k, mode, draws, mode1, draws1)
			}
		}
		t.Logf("%s: power 1: %s, %d terms", c.preset, mode1, draws1)
	}
}
