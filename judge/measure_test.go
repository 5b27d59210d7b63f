package judge

import (
	"math"
	"testing"

	"mimverify/theory"
)

func twoAreaSetting(keys theory.KeyMode) theory.Setting {
	s := theory.Setting{P: 4, Clusters: []theory.Cluster{{Areas: []int{0, 0, 1, 1}}}, Z: theory.ZLaw{Kind: theory.ZUniform, L: 0.5, U: 2},
		Gamma: 0.5, Keys: keys, Eta: 1}
	if err := s.Resolve(); err != nil {
		panic(err)
	}
	return s
}

// The attention statistics of a hand-built state, computed here by hand
// from the definitions (SPEC §1–§2).
func TestMeasureAttentionByHand(t *testing.T) {
	s := twoAreaSetting(theory.KeysUnmasked)
	c := s.Shape().New()
	copy(c.A[0][0], []float64{1.5, -0.5}) // query 0 (area 0)
	copy(c.A[0][2], []float64{0.2, 0.7})  // query 2 (area 1)
	c.B[0][1], c.B[0][3] = 0.3, -0.1
	c.B[2][1], c.B[2][3] = -0.4, 0.25
	z := []float64{1, 2}
	// Image 1: queries 0 and 2 masked, keys 1 (area 0) and 3 (area 1).
	// Image 2: area 0 fully masked: queries 0 and 1 are irreducible.
	samples := []theory.Sample{
		{Cluster: 0, Z: z, Mask: []bool{true, false, true, false}},
		{Cluster: 0, Z: z, Mask: []bool{true, true, false, false}},
	}
	at := MeasureAttention(&s, c, samples, 0.1, 0.5, true)

	softmax2 := func(a, b float64) (float64, float64) {
		ea, eb := math.Exp(a), math.Exp(b)
		return ea / (ea + eb), eb / (ea + eb)
	}
	// Query 0: own area 0 holds key 1.
	p01, p03 := softmax2(z[0]*1.5+0.3, z[1]*(-0.5)-0.1)
	// Query 2: own area 1 holds key 3.
	p21, p23 := softmax2(z[0]*0.2-0.4, z[1]*0.7+0.25)
	loss0 := 0.5*math.Pow(p01*z[0]-z[0], 2) + 0.5*math.Pow(p03*z[1], 2)
	loss2 := 0.5*math.Pow(p21*z[0], 2) + 0.5*math.Pow(p23*z[1]-z[1], 2)
	// Image 2: queries 0, 1 have keys 2, 3, both in area 1, so S_1 = 1.
	irr := 2 * (0.5*z[0]*z[0] + 0.5*z[1]*z[1])
	tv := 0.5 * (math.Abs(p01-p21) + math.Abs(p03-p23))

	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-14*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %.17g, want %.17g", name, got, want)
		}
	}
	if at.Queries != 2 || at.Irreducible != 2 || at.Pairs != 1 {
		t.Fatalf("queries %d, irreducible %d, pairs %d; want 2, 2, 1", at.Queries, at.Irreducible, at.Pairs)
	}
	near("OwnMean", at.OwnMean, (p01+p23)/2)
	near("OwnMin", at.OwnMin, math.Min(p01, p23))
	reached := 0.0
	for _, own := range []float64{p01, p23} {
		if own >= 1-0.1 {
			reached += 0.5
		}
	}
	near("OwnReached", at.OwnReached, reached)
	near("ReconstructableLoss", at.ReconstructableLoss, (loss0+loss2)/2)
	near("IrreducibleLoss", at.IrreducibleLoss, irr/2)
	near("TVMin", at.TVMin, tv)
	near("OwnByArea[0][0]", at.OwnByArea[0][0], p01)
	near("MassByArea[0][1][0]", at.MassByArea[0][1][0], p21)
	near("OwnByQuery[0][2]", at.OwnByQuery[0][2], p23)
	if !math.IsNaN(at.OwnByQuery[0][1]) || !math.IsNaN(at.OwnByQuery[0][3]) {
		t.Errorf("positions never a reconstructable query have own mass %v, %v; want NaN", at.OwnByQuery[0][1], at.OwnByQuery[0][3])
	}

	// Without the pairwise TV the rest is unchanged and TV is NaN.
	noTV := MeasureAttention(&s, c, samples, 0.1, 0.5, false)
	if !math.IsNaN(noTV.TVMin) || noTV.OwnMean != at.OwnMean {
		t.Errorf("withTV=false: TVMin %v, OwnMean %v", noTV.TVMin, noTV.OwnMean)
	}
}

// With keys "all", masked keys (the query itself included) take attention
// through B alone and carry no content.
func TestMeasureAttentionAllKeys(t *testing.T) {
	s := twoAreaSetting(theory.KeysAll)
	c := s.Shape().New()
	c.B[0][0] = 2 // query 0 attends to itself
	samples := []theory.Sample{{Cluster: 0, Z: []float64{1, 1}, Mask: []bool{true, false, false, false}}}
	at := MeasureAttention(&s, c, samples, 0.1, 0, false)
	e2 := math.Exp(2)
	own := 1 / (e2 + 3) // key 1 of the four keys, scores 2, 0, 0, 0
	if math.Abs(at.OwnMean-own) > 1e-15 {
		t.Errorf("own mass %v, want %v", at.OwnMean, own)
	}
	// ŷ = S_0 v_0 + S_1 v_1 with S_1 = 2/(e²+3): loss ½(S_0 − 1)² + ½S_1².
	want := 0.5*math.Pow(own-1, 2) + 0.5*math.Pow(2/(e2+3), 2)
	if math.Abs(at.ReconstructableLoss-want) > 1e-15 {
		t.Errorf("loss %v, want %v", at.ReconstructableLoss, want)
	}
}

func TestSummarizeFP(t *testing.T) {
	s := twoAreaSetting(theory.KeysUnmasked)
	c := s.Shape().New()
	for p, a := range s.Clusters[0].Areas {
		c.A[0][p][a] = float64(p + 1) // own: 1, 2, 3, 4
		c.A[0][p][1-a] = -1           // off
	}
	c.B[1][2] = -7
	f := SummarizeFP(&s, c)
	if f.OwnMean != 2.5 || f.OffMean != -1 || f.MaxAbsB != 7 {
		t.Errorf("SummarizeFP = %+v, want own 2.5, off −1, max|B| 7", f)
	}
}
