package judge

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"mimverify/dynamics"
	"mimverify/engine"
	"mimverify/theory"
)

// curvePoint is one record of one training set in
// TestCurveSpreadDecomposition: the measured value m on the training
// images at the n-sample state, q on the same images at the reduced ODE's
// state, the prediction p, and the standard errors the band uses — the
// per-image seN, and seM = max(seN, the early spread) (earlySE).
type curvePoint struct{ m, q, p, seN, seM, seP float64 }

// curveStates runs the exact engine and the orbit engine (the check's
// options) on one training set and measures C2's and C7's curves
// (index 0 and 1) at every record, as curvePoints.
func curveStates(t *testing.T, s *theory.Setting, seed uint64) (steps []int, pts [2][]curvePoint) {
	opt := Options{Seed: seed}
	opt.defaults()
	r := newRun(s, opt)
	sch := r.schedule
	at := map[int]int{}
	for i, st := range sch.Record {
		at[st] = i
	}
	pts = [2][]curvePoint{make([]curvePoint, len(sch.Record)), make([]curvePoint, len(sch.Record))}
	values := func(rec *theory.Record) [2][2]float64 {
		a := MeasureAttention(s, rec.Correlations, r.problem.Samples, opt.Epsilon, opt.Delta, false)
		return [2][2]float64{{a.ReconstructableLoss, a.ReconstructableLossSE}, {1 - a.OwnMean, a.OwnMeanSE}}
	}
	exact, _ := opt.engine(engine.Exact)
	if _, err := exact.Run(r.problem, sch, engine.Observer{Record: func(rec *theory.Record) error {
		v := values(rec)
		for c := range pts {
			pts[c][at[rec.Step]].m, pts[c][at[rec.Step]].seN = v[c][0], v[c][1]
		}
		return nil
	}, Discard: true}); err != nil {
		t.Fatal(err)
	}
	earlyLoss, earlyOwn := r.earlySpread()
	for i := range sch.Record {
		pts[0][i].seM = earlySE(pts[0][i].seN, earlyLoss, i)
		pts[1][i].seM = earlySE(pts[1][i].seN, earlyOwn, i)
	}
	o, why, _ := sharpOptions(s, sch.Steps, len(sch.Record), 1)
	if why != "" {
		t.Fatal(why)
	}
	eng := &dynamics.OrbitEngine{Options: o}
	var pm popMeasurer
	var x []float64
	if _, err := eng.Run(r.problem, sch, engine.Observer{Record: func(rec *theory.Record) error {
		if x == nil {
			x = make([]float64, eng.Used.Dim())
		}
		eng.Used.Project(rec.Correlations, x)
		p := pm.measure(s, eng.Used, x, rec.Step, opt.Epsilon)
		v, i := values(rec), at[rec.Step]
		pts[0][i].q, pts[0][i].p, pts[0][i].seP = v[0][0], p.ReconstructableLoss, p.ReconstructableLossSE
		pts[1][i].q, pts[1][i].p, pts[1][i].seP = v[1][0], 1-p.OwnMean, p.OwnMeanSE
		return nil
	}, Discard: true}); err != nil {
		t.Fatal(err)
	}
	return sch.Record, pts
}

// TestCurveSpreadDecomposition measures, over independent training sets,
// what the curve bands of C2 and C7 stand for (docs/SHARP.md §5, "What
// limits the curves' bands"): the spread of measured − predicted (m − p)
// against the per-image SE_n the band uses, and its two parts — the
// images' sampling error at the reduced ODE's own state (q − p, q the
// same images measured at that state) and the n-sample state's error
// (m − q). It asserts what the band relies on at every record: that the band's SE — the measured point's (SE_n, or the
// early spread where it is larger: earlySE) and the prediction's SE_pred in
// quadrature — is not smaller than the spread of m − p over the checks
// (the CRN draws are seeded by each check's seed, so p varies too), i.e.
// sd(m − p) ≤ c·mean SE_band with c the 99.9 % point of √(χ²_{k−1}/(k−1))
// for k seeds. Set MIMVERIFY_SHARP_SPREAD to the number of seeds (8:
// about a minute per preset on two cores) and
// MIMVERIFY_SHARP_SPREAD_PRESETS to the presets (default "default grid4").
func TestCurveSpreadDecomposition(t *testing.T) {
	k, _ := strconv.Atoi(os.Getenv("MIMVERIFY_SHARP_SPREAD"))
	if k < 3 {
		t.Skip("set MIMVERIFY_SHARP_SPREAD to the number of training sets (≥ 3)")
	}
	c := math.Sqrt(distuv.ChiSquared{K: float64(k - 1)}.Quantile(0.999) / float64(k-1))
	for _, name := range strings.Fields(envOr("MIMVERIFY_SHARP_SPREAD_PRESETS", "default grid4")) {
		s, err := theory.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		var steps []int
		var sets [][2][]curvePoint
		for seed := uint64(1); seed <= uint64(k); seed++ {
			var pts [2][]curvePoint
			steps, pts = curveStates(t, &s, seed)
			sets = append(sets, pts)
		}
		R := len(steps)
		for ci, claim := range []string{"C2", "C7"} {
			table := fmt.Sprintf("%s %s over %d training sets (relative to seed 1's prediction p; SE_M = max(SE_n, early spread), SE_band = √(SE_M² + SE_pred²)):\n| step | p | SE_n | SE_pred | sd(m − p) | sd(p) | sd(q − p) | sd(m − q) | mean(m − p) | sd(m − p)/SE_n | sd(m − p)/SE_M | sd(m − p)/SE_band |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n", name, claim, k)
			for i := range R {
				var mp, ps, qp, mq, seN, seM, seB []float64
				for _, set := range sets {
					pt := set[ci][i]
					mp, ps, qp, mq = append(mp, pt.m-pt.p), append(ps, pt.p), append(qp, pt.q-pt.p), append(mq, pt.m-pt.q)
					seN, seM, seB = append(seN, pt.seN), append(seM, pt.seM), append(seB, math.Hypot(pt.seM, pt.seP))
				}
				p, seP, se, sem, seb := sets[0][ci][i].p, sets[0][ci][i].seP, stat.Mean(seN, nil), stat.Mean(seM, nil), stat.Mean(seB, nil)
				sd := stat.StdDev(mp, nil)
				if sd > c*seb {
					t.Errorf("%s %s step %d: the spread of measured − predicted over %d checks, %.3g, exceeds %.2f × the band's mean SE %.3g: the band understates it", name, claim, steps[i], k, sd, c, seb)
				}
				if i%(R/8) == 0 || i == R-1 || steps[i] <= 30 {
					table += fmt.Sprintf("| %d | %.4g | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %+.3f | %.2f | %.2f | %.2f |\n", steps[i], p, se/p, seP/p, sd/p, stat.StdDev(ps, nil)/p, stat.StdDev(qp, nil)/p, stat.StdDev(mq, nil)/p, stat.Mean(mp, nil)/p, sd/se, sd/sem, sd/seb)
				}
			}
			t.Log("\n" + table)
		}
	}
}

// envOr returns the environment variable key, or def when it is unset.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
