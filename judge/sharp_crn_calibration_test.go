package judge

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"mimverify/dynamics"
	"mimverify/engine"
	"mimverify/theory"
)

// calibrationSettings are the two three-cluster settings with two-point z
// of issue 26's comparison (P = 9 on a 3×3 grid, P = 12 on a line).
var calibrationSettings = []string{`name: p9-three
P: 9
side: 3
clusters:
  - {name: rows, areas: [0,0,0,1,1,1,2,2,2]}
  - {name: cols, areas: [0,1,2,0,1,2,0,1,2]}
  - {name: halves, areas: [0,0,0,0,1,1,1,1,1]}
z: {kind: two-point, L: 0.5, U: 1.5}
gamma: 0.5
eta: 5
extra_dim: 4
`, `name: p12-three
P: 12
clusters:
  - {name: thirds, areas: [0,0,0,0,1,1,1,1,2,2,2,2]}
  - {name: halves, areas: [0,0,0,0,0,0,1,1,1,1,1,1]}
  - {name: alt, areas: [0,1,0,1,0,1,0,1,0,1,0,1]}
z: {kind: two-point, L: 0.5, U: 1.5}
gamma: 0.5
eta: 5
extra_dim: 4
`}

// TestSharpCalibration measures, for each calibration setting over seeds
// 1…N (MIMVERIFY_SHARP_CALIBRATION=N, at least 20), the standardised
// deviations (prediction − population)/SE of the sharp C2 and C7 curves at
// every record, where "population" is the population engine with exact
// enumeration (level 2 of SPEC §3, not the orbit code) measured through the
// exact population law, and SE the curve band's √(SE_n² + SE_pred²). It
// prints the table of docs/SHARP.md §3 and fails when an RMS exceeds 1.2.
// MIMVERIFY_SHARP_CRN=D measures instead the prediction forced to CRN with
// D draws per representative (seeded per check), the mode the budget chose
// before issue 26. Several minutes: not part of the ordinary suite.
func TestSharpCalibration(t *testing.T) {
	seeds, _ := strconv.Atoi(os.Getenv("MIMVERIFY_SHARP_CALIBRATION"))
	if seeds == 0 {
		t.Skip("set MIMVERIFY_SHARP_CALIBRATION=20 (seeds) to run the calibration of docs/SHARP.md §3")
	}
	if seeds < 20 {
		t.Fatalf("MIMVERIFY_SHARP_CALIBRATION=%d: the calibration is over at least 20 seeds (issue 26)", seeds)
	}
	crn, _ := strconv.Atoi(os.Getenv("MIMVERIFY_SHARP_CRN"))
	defer func() { sharpCRNOverride = 0 }()
	var table strings.Builder
	fmt.Fprintf(&table, "| setting | mode | seeds | records | RMS z C2 | RMS z C7 | max |z| | max rel. error |\n|---|---|---|---|---|---|---|---|\n")
	for _, text := range calibrationSettings {
		s, err := theory.ParseConfig([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		ref := populationReference(t, &s)
		t.Logf("%s: population reference, %d records, %.0f s", s.Name, len(ref), time.Since(start).Seconds())
		var c2, c7 devStats
		mode := ""
		for seed := uint64(1); seed <= uint64(seeds); seed++ {
			sharpCRNOverride = crn
			opt := Options{Seed: seed, Claims: []string{"C2", "C7"}}
			opt.defaults()
			r := newRun(&s, opt)
			if err := r.gather(); err != nil {
				t.Fatal(err)
			}
			sh := r.ev.Sharp
			if sh == nil || sh.Note != "" {
				t.Fatalf("%s seed %d: no sharp prediction: %v", s.Name, seed, sh)
			}
			t.Logf("%s seed %d: %d records, %.0f s", s.Name, seed, len(r.ev.Measures), time.Since(start).Seconds())
			mode = sh.Mode
			if sh.Mode == dynamics.OrbitCRN {
				mode = fmt.Sprintf("crn, %d draws", sh.CRNSamples)
			}
			for i, m := range r.ev.Measures {
				pop, ok := ref[m.Step]
				if !ok {
					t.Fatalf("%s: no reference at step %d", s.Name, m.Step)
				}
				pm := sh.Measures[i]
				a := &m.Attention
				c2.add(pm.ReconstructableLoss, pop.ReconstructableLoss, math.Hypot(a.ReconstructableLossSE, pm.ReconstructableLossSE))
				c7.add(1-pm.OwnMean, 1-pop.OwnMean, math.Hypot(a.OwnMeanSE, pm.OwnMeanSE))
			}
		}
		fmt.Fprintf(&table, "| %s | %s | %d | %d | %.3g | %.3g | %.3g | %.2g |\n", s.Name, mode, seeds, c2.n, c2.rms(), c7.rms(), math.Max(c2.max, c7.max), math.Max(c2.rel, c7.rel))
		for _, z := range []*devStats{&c2, &c7} {
			// 1.2 is issue 26's bar: an SE that claims its error (RMS 1)
			// may understate it by 20 % at most.
			if z.rms() > 1.2 {
				t.Errorf("%s: RMS of (prediction − population)/SE = %.3f > 1.2", s.Name, z.rms())
			}
		}
	}
	t.Logf("\n%s", table.String())
}

// devStats accumulates standardised deviations.
type devStats struct {
	n            int
	ss, max, rel float64
}

func (z *devStats) add(pred, pop, se float64) {
	d := (pred - pop) / se
	z.n++
	z.ss += d * d
	z.max = math.Max(z.max, math.Abs(d))
	z.rel = math.Max(z.rel, math.Abs(pred-pop)/math.Abs(pop))
}

func (z *devStats) rms() float64 { return math.Sqrt(z.ss / float64(z.n)) }

// populationReference runs the population engine with exact enumeration
// on the check's planned schedule and measures every record through the
// exact population law (an enumerated orbit law of the record's state,
// which is symmetric from the symmetric start), by step.
func populationReference(t *testing.T, s *theory.Setting) map[int]PopMeasure {
	t.Helper()
	opt := Options{Seed: 1, Claims: []string{"C2", "C7"}}
	opt.defaults()
	r := newRun(s, opt)
	law, err := dynamics.NewOrbit(s, dynamics.OrbitOptions{Mode: dynamics.OrbitEnumerate, MaxTerms: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, law.Dim())
	var pm popMeasurer
	ref := map[int]PopMeasure{}
	obs := engine.Observer{Record: func(rec *theory.Record) error {
		law.Project(rec.Correlations, x)
		ref[rec.Step] = pm.measure(s, law, x, rec.Step, 0.1)
		return nil
	}, Discard: true}
	pop := &dynamics.Population{Options: dynamics.PopulationOptions{Mode: dynamics.PopulationEnumerate}}
	if _, err := pop.Run(r.problem, r.schedule, obs); err != nil {
		t.Fatal(err)
	}
	return ref
}
