package dynamics

import (
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"mimverify/theory"
)

// TestOrbitWorkCalibration measures the costs behind Work on the CRN
// presets: the lane kernels' time per (draw term, key group + class) and
// the factored control's per operation of its cost model, each against
// term's time per (term, key group + class) on the same problems, and
// fails if either exceeds its constant (orbitLanePairCost,
// orbitCtrlOpCost), so that Work does not understate an evaluation. A
// timing, so behind MIMVERIFY_CALIBRATE=1 (a quiet machine; it takes about
// two seconds).
func TestOrbitWorkCalibration(t *testing.T) {
	if os.Getenv("MIMVERIFY_CALIBRATE") == "" {
		t.Skip("set MIMVERIFY_CALIBRATE=1 to time Work's constants")
	}
	for _, name := range []string{"vit14", "default", "random-regions", "coverage"} {
		s, err := theory.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		o, err := NewOrbit(&s, OrbitOptions{Mode: OrbitCRN})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		x := make([]float64, o.Dim())
		for i := range x {
			x[i] = 0.3 * rng.NormFloat64()
		}
		var tLane, tCtrl, tTerm time.Duration
		var pLane, opCtrl, pTerm float64
		for range 20 {
			for _, pr := range o.probs {
				pr.setBWeights(x)
				gn := float64(len(pr.groups) + len(pr.classes))
				if pr.fast {
					t0 := time.Now()
					n := pr.evalSamples(x, true)
					tLane += time.Since(t0)
					pLane += float64(n*(pr.blocks[0].c1-pr.blocks[0].c0)) * gn
				}
				if pr.ctrl != nil {
					t0 := time.Now()
					pr.evalControl(x)
					tCtrl += time.Since(t0)
					opCtrl += ctrlCostNodes * float64(len(pr.classes)*len(pr.ctrl.zn)*numMom)
				}
				t0 := time.Now()
				for _, b := range pr.blocks[:min(len(pr.blocks), 256)] {
					pr.setWeightsFast(x, b.z)
					for cv := b.c0; cv < b.c1; cv++ {
						pr.term(x, b.z, pr.counts[cv*len(pr.groups):(cv+1)*len(pr.groups)], b.z[pr.ownArea], 1e-3, true)
						pTerm += gn
					}
				}
				tTerm += time.Since(t0)
			}
		}
		pair := float64(tTerm) / pTerm
		lane, ctrl := float64(tLane)/pLane/pair, float64(tCtrl)/max(opCtrl, 1)/pair
		t.Logf("%s: term %.3g ns a pair; lane kernels %.3g of it per draw term and pair, factored control %.3g per operation", name, pair, lane, ctrl)
		if lane > orbitLanePairCost || ctrl > orbitCtrlOpCost {
			t.Errorf("%s: measured %.3g and %.3g exceed orbitLanePairCost %g, orbitCtrlOpCost %g", name, lane, ctrl, orbitLanePairCost, orbitCtrlOpCost)
		}
	}
}
