package dynamics

import (
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestOrbitWorkCalibration checks that Work is an honest cost model on the
// CRN presets: one LossGrad on one core takes Work × the time of a pair of
// term's kernel, within [0.4, 1.5]× (the time of a pair measured by the
// same objective with the lane kernels and the factored control switched
// off, where Work counts term's pairs only). Above 1.5 Work would
// understate the cost (a budget would overrun), below 0.4 it would
// overstate it more than 2.5× (a budget would give too few draws). A
// timing, so behind MIMVERIFY_CALIBRATE=1 (a quiet machine; about two
// seconds).
func TestOrbitWorkCalibration(t *testing.T) {
	if os.Getenv("MIMVERIFY_CALIBRATE") == "" {
		t.Skip("set MIMVERIFY_CALIBRATE=1 to time Work's constants")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	best := func(o *Orbit, x []float64, reps int) float64 {
		g := make([]float64, o.Dim())
		m := time.Duration(1 << 62)
		for range reps {
			t0 := time.Now()
			o.LossGrad(x, g)
			m = min(m, time.Since(t0))
		}
		return float64(m)
	}
	for _, name := range []string{"vit14", "default", "random-regions", "coverage"} {
		o := mustPresetOrbit(t, name, OrbitOptions{Mode: OrbitCRN})
		slow := mustPresetOrbit(t, name, OrbitOptions{Mode: OrbitCRN})
		for _, pr := range slow.probs {
			pr.fast, pr.ctrl = false, nil
		}
		rng := rand.New(rand.NewPCG(1, 2))
		x := make([]float64, o.Dim())
		for i := range x {
			x[i] = 0.3 * rng.NormFloat64()
		}
		pair := best(slow, x, 3) / slow.Work()
		ratio := best(o, x, 20) / (o.Work() * pair)
		t.Logf("%s: term %.3g ns a pair; LossGrad %.3g ms = %.2f × Work (%.3g pairs)", name, pair, ratio*o.Work()*pair/1e6, ratio, o.Work())
		if !(ratio >= 0.4 && ratio <= 1.5) {
			t.Errorf("%s: LossGrad takes %.2f × Work × a pair's time, outside [0.4, 1.5]", name, ratio)
		}
	}
}
