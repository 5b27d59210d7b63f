package judge

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"mimverify/theory"
)

// gaussianGrid4 is grid4 from a Gaussian Q(0) with σ = 1, so that the
// attention at the initial state is far from uniform and its own-area
// masses take many distinct values.
func gaussianGrid4(t *testing.T) (theory.Setting, theory.Correlations) {
	t.Helper()
	s, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	s.Init = theory.Init{Kind: theory.InitGaussian, Sigma: 1}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return s, s.InitialCorrelations(3)
}

// The quantile invariant holds for the measured quantile and fails for the
// neighbouring order statistics (the index rounded the other way, one off)
// and for the quantile taken on the other side (at 1 − δ).
func TestQuantileInvariant(t *testing.T) {
	s, c := gaussianGrid4(t)
	samples := s.Samples(1, 64)
	const delta = 0.1
	at := MeasureAttention(&s, c, samples, 0.1, delta, false)
	if r := quantileInvariant(&s, c, samples, &at, delta); !r.OK {
		t.Fatalf("the measured quantile fails its definition: %v", r.Rejected)
	}
	own := accumulate(&s, c, samples, false).own
	lo, _, _ := summarize(own, 0) // sorts own
	k := int(math.Floor(delta * float64(len(own))))
	for name, v := range map[string]float64{
		"index + 1 (rounded up)": own[k+1],
		"index − 1":              own[k-1],
		"at 1 − δ":               own[int(math.Floor((1-delta)*float64(len(own))))],
	} {
		if v == at.OwnQuantile {
			t.Fatalf("%s: the same value as the quantile (ties): pick another state", name)
		}
		wrong := at
		wrong.OwnQuantile = v
		if r := quantileInvariant(&s, c, samples, &wrong, delta); r.OK {
			t.Errorf("%s: a quantile %.6g (the right one %.6g) passes the invariant", name, v, at.OwnQuantile)
		}
	}
	wrong := at
	wrong.OwnMin = lo + 1e-9
	if r := quantileInvariant(&s, c, samples, &wrong, delta); r.OK {
		t.Error("a wrong smallest mass passes the invariant")
	}
}

// The early stop's invariant: a run that stopped at or after
// max(200, 4·t_q) holds, one that stopped before fails, one that ran to
// its plan holds whatever its quantiles, and one stopped without ever
// reaching 1 − ε fails.
func TestEarlyStopInvariant(t *testing.T) {
	s, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	const eps = 0.1
	run := func(reach int, steps ...int) []Measure {
		var ms []Measure
		for _, st := range steps {
			m := Measure{Step: st}
			m.Attention.OwnQuantile = 0.5
			if reach >= 0 && st >= reach {
				m.Attention.OwnQuantile = 0.95
			}
			ms = append(ms, m)
		}
		return ms
	}
	for _, c := range []struct {
		name    string
		ms      []Measure
		planned int
		ok      bool
	}{
		{"stopped at 4·t_q", run(80, 0, 40, 80, 160, 320), 5000, true},
		{"stopped at the minimum of the two conditions", run(80, 0, 40, 80, 160, 200), 5000, false},
		{"stopped at 200 while 4·t_q = 120", run(30, 0, 10, 30, 100, 200), 5000, true},
		{"stopped before 200", run(10, 0, 10, 20, 40, 100), 5000, false},
		{"ran to its plan", run(-1, 0, 10, 100, 300), 300, true},
		{"stopped, never reached", run(-1, 0, 10, 100, 300), 5000, false},
	} {
		if r := earlyStopInvariant(&s, c.ms, c.planned, eps); r.OK != c.ok {
			t.Errorf("%s: OK = %v, want %v (%v)", c.name, r.OK, c.ok, r.Rejected)
		}
	}
}

// The standard errors' invariant holds on a real state with the judge's
// standard errors, and fails when they are twice or half as large; and
// its bounds are the χ² quantiles they say.
func TestSEInvariant(t *testing.T) {
	s, c := gaussianGrid4(t)
	if r := seInvariant(&s, c, 7, 0.1, 0.1); !r.OK {
		t.Fatalf("the judge's standard errors fail against their replicates: %v", r.Rejected)
	}
	var loss, lossSE []float64
	for i := range seReplicates {
		at := MeasureAttention(&s, c, s.Samples(100+uint64(i), seImages), 0.1, 0.1, false)
		loss, lossSE = append(loss, at.ReconstructableLoss), append(lossSE, at.ReconstructableLossSE)
	}
	t.Logf("s_R/σ̂ of the loss at a Gaussian state of grid4: %.3f", stat.StdDev(loss, nil)/stat.Mean(lossSE, nil))
	if why := seCompare("loss", loss, lossSE); why != "" {
		t.Errorf("right SE rejected: %s", why)
	}
	for _, f := range []float64{2, 0.5} {
		scaled := make([]float64, len(lossSE))
		for i, x := range lossSE {
			scaled[i] = f * x
		}
		if why := seCompare("loss", loss, scaled); !strings.Contains(why, "outside") {
			t.Errorf("SE × %g passes the invariant", f)
		}
	}
	lo, hi := seRatioBounds(seReplicates, seAlpha)
	chi := distuv.ChiSquared{K: seReplicates - 1}
	if p := chi.CDF(lo * lo * (seReplicates - 1)); math.Abs(p-seAlpha/2) > 1e-9 {
		t.Errorf("lower bound %.4f is the %.3g point of the χ², want %.3g", lo, p, seAlpha/2)
	}
	if p := chi.Survival(hi * hi * (seReplicates - 1)); math.Abs(p-seAlpha/2) > 1e-9 {
		t.Errorf("upper bound %.4f leaves %.3g above, want %.3g", hi, p, seAlpha/2)
	}
	t.Logf("bounds on s_R/σ̂ for R = %d: [%.3f, %.3f]", seReplicates, lo, hi)
}

// TestBitsDiffer: the step invariant's comparison finds a one-ulp change in
// any entry of the state, and in the loss, and nothing in equal records.
func TestBitsDiffer(t *testing.T) {
	s, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	c := s.InitialCorrelations(3)
	a := theory.Record{Step: 7, Loss: 0.25, Correlations: c.Clone()}
	b := theory.Record{Step: 7, Loss: 0.25, Correlations: c.Clone()}
	if why := bitsDiffer(&a, &b); why != "" {
		t.Fatalf("equal records differ: %s", why)
	}
	flat := b.Correlations.Flat()
	for _, k := range []int{0, len(flat) / 2, len(flat) - 1} {
		old := flat[k]
		flat[k] = math.Nextafter(old, math.Inf(1))
		if why := bitsDiffer(&a, &b); !strings.Contains(why, fmt.Sprintf("state entry %d ", k)) {
			t.Errorf("entry %d one ulp up: %q", k, why)
		}
		flat[k] = old
	}
	b.Loss = math.Nextafter(0.25, 0)
	if why := bitsDiffer(&a, &b); !strings.Contains(why, "loss") {
		t.Errorf("loss one ulp down: %q", why)
	}
}
