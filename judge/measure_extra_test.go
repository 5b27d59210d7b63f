package judge

import (
	"math"
	"testing"

	"mimverify/theory"
)

// Measurement tests that pin what the claims read: the δ-quantile and the
// area-wide fraction on hand-built measures whose values are exact binary
// fractions (ties and boundaries included), C3's first step, and the
// attention at scores far beyond exp's range (validation admits z ≤ 1e6).

// eightSetting is one cluster of P = 8 positions in two areas of four.
func eightSetting() theory.Setting {
	s := theory.Setting{P: 8, Clusters: []theory.Cluster{{Areas: []int{0, 0, 0, 0, 1, 1, 1, 1}}},
		Z: theory.ZLaw{Kind: theory.ZUniform, L: 0.5, U: 2}, Gamma: 0.5, Eta: 1}
	if err := s.Resolve(); err != nil {
		panic(err)
	}
	return s
}

// maskOf returns the mask of P = 8 positions with the given positions unmasked.
func maskOf(unmasked ...int) []bool {
	m := []bool{true, true, true, true, true, true, true, true}
	for _, p := range unmasked {
		m[p] = false
	}
	return m
}

// With A = B = 0 every key scores 0, so a masked query of area a puts mass
// U_a/(U_0 + U_1) on its own area, U_j the unmasked count of area j: with
// U_0 + U_1 = 4 the own masses are exact binary fractions. The two images
// give the multiset {¼, ¼, ¼, ½, ½, ½, ½, ¾} (n = 8; ties at ¼ and ½):
//
//	image 1: unmasked {0} ∪ {4, 5, 6}: three area-0 queries with ¼, one area-1 query with ¾;
//	image 2: unmasked {0, 1} ∪ {4, 5}: four queries with ½.
func quantileSamples() []theory.Sample {
	z := []float64{1, 1}
	return []theory.Sample{
		{Cluster: 0, Z: z, Mask: maskOf(0, 4, 5, 6)},
		{Cluster: 0, Z: z, Mask: maskOf(0, 1, 4, 5)},
	}
}

// quantileByDefinition is the δ-quantile as Attention.OwnQuantile defines
// it — the largest v such that a fraction ≥ 1 − δ of the values is ≥ v —
// by brute force over the candidates.
func quantileByDefinition(xs []float64, delta float64) float64 {
	best := math.Inf(-1)
	for _, v := range xs {
		n := 0
		for _, x := range xs {
			if x >= v {
				n++
			}
		}
		if float64(n) >= (1-delta)*float64(len(xs)) && v > best {
			best = v
		}
	}
	return best
}

func TestOwnQuantilePinned(t *testing.T) {
	s := eightSetting()
	c := s.Shape().New()
	own := []float64{0.25, 0.25, 0.25, 0.5, 0.5, 0.5, 0.5, 0.75}
	// #{x ≥ ¼} = 8, #{x ≥ ½} = 5, #{x ≥ ¾} = 1. Each δ below is exact in
	// binary except 0.37, so (1 − δ)·8 is computed exactly.
	cases := []struct {
		delta, want float64
		why         string
	}{
		{0.125, 0.25, "7 values needed: only ¼ has them"},
		{0.25, 0.25, "6 needed: ½ has 5 (ties at ½ do not lift the quantile)"},
		{0.37, 0.25, "5.04 needed: just short of the boundary at ½"},
		{0.375, 0.5, "exactly 5 needed: the boundary is inclusive"},
		{0.5, 0.5, "4 needed"},
		{0.875, 0.75, "1 needed: the largest value"},
	}
	for _, tc := range cases {
		if def := quantileByDefinition(own, tc.delta); def != tc.want {
			t.Fatalf("δ = %g: the definition gives %v, the table %v: the table is wrong", tc.delta, def, tc.want)
		}
		at := MeasureAttention(&s, c, quantileSamples(), 0.1, tc.delta, false)
		if at.Queries != 8 || at.Irreducible != 0 {
			t.Fatalf("queries %d, irreducible %d; want 8, 0", at.Queries, at.Irreducible)
		}
		if at.OwnQuantile != tc.want {
			t.Errorf("δ = %g: OwnQuantile = %v, want %v (%s)", tc.delta, at.OwnQuantile, tc.want, tc.why)
		}
		if at.OwnMin != 0.25 || at.OwnMean != 3.5/8 {
			t.Errorf("δ = %g: OwnMin %v, OwnMean %v; want ¼, 7/16", tc.delta, at.OwnMin, at.OwnMean)
		}
	}
}

// OwnReached counts the queries at or above 1 − ε: a value exactly at the
// level is reached.
func TestOwnReachedBoundary(t *testing.T) {
	s := eightSetting()
	c := s.Shape().New()
	for _, tc := range []struct{ eps, want float64 }{
		{0.25, 1.0 / 8}, // 1 − ε = ¾: the single ¾ is at the level
		{0.5, 5.0 / 8},  // ½: four ½ and the ¾
		{0.24, 0},       // 0.76: none
		{0.75, 1},       // ¼: all
	} {
		at := MeasureAttention(&s, c, quantileSamples(), tc.eps, 0.1, false)
		if at.OwnReached != tc.want {
			t.Errorf("ε = %g: OwnReached = %v, want %v", tc.eps, at.OwnReached, tc.want)
		}
	}
}

// C3's measured time is the first recorded step whose δ-quantile is at or
// above 1 − ε, later dips notwithstanding.
func TestC3FirstStepPinned(t *testing.T) {
	s, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	env := s.Env()
	env["ε"], env["δ"] = 0.25, 0.1
	ev := &Evidence{Setting: &s, Env: env}
	for i, q := range []float64{0.5, 0.74, 0.75, 0.6, 0.8} {
		ev.Measures = append(ev.Measures, Measure{Step: 10 * i, Attention: Attention{OwnQuantile: q}})
	}
	c := claimByID("C3")
	if got, _ := measureC3(ev, &c); got != 20 {
		t.Errorf("C3 measured %v, want 20 (the first record at 1 − ε = 0.75)", got)
	}
	ev.Measures = ev.Measures[:2]
	if got, _ := measureC3(ev, &c); !math.IsInf(got, 1) {
		t.Errorf("C3 never reached: measured %v, want +Inf", got)
	}
}

// Scores near ±1e5 — z up to 1e6 passes validation — overflow exp unless
// the softmax subtracts the largest score. Two keys one unit apart give
// the own mass 1/(1 + e^{±1}) whatever the common offset.
func TestMeasureAttentionLargeScores(t *testing.T) {
	s := twoAreaSetting(theory.KeysUnmasked)
	s.Z = theory.ZLaw{Kind: theory.ZUniform, L: 1, U: 1e6}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	// Query 0 (area 0) masked; keys 1 (area 0) and 3 (area 1); 2 masked
	// (a reconstructable query of area 1 whose correlations are 0).
	mask := []bool{true, false, true, false}
	for _, tc := range []struct {
		name  string
		z     []float64
		a     []float64 // A[0][0]
		own0  float64   // own mass of query 0
		scale float64   // |scores|
	}{
		{"scores +1e5", []float64{1e5, 1e5 + 1}, []float64{1, 1}, 1 / (1 + math.E), 1e5},
		{"scores −1e5", []float64{1e5, 1e5 + 1}, []float64{-1, -1}, 1 / (1 + 1/math.E), 1e5},
		{"scores +1e6·3", []float64{1e6, 1e6}, []float64{3, 3 - 1e-6}, 1 / (1 + math.Exp(-1)), 3e6},
	} {
		c := s.Shape().New()
		copy(c.A[0][0], tc.a)
		smp := theory.Sample{Cluster: 0, Z: tc.z, Mask: mask}
		if err := s.CheckSample(smp); err != nil {
			t.Fatal(err)
		}
		// Rounding allowance (relative): the scores z·A are rounded at
		// their magnitude, which moves their difference by a few ulps of
		// the scale; exp and the normalisation add a few ulps of 1.
		tol := 4*tc.scale*0x1p-52 + 1e-14
		at := MeasureAttention(&s, c, []theory.Sample{smp}, 0.1, 0.1, true)
		got := at.OwnByQuery[0][0]
		if !(math.Abs(got-tc.own0) <= tol*tc.own0) {
			t.Errorf("%s: own mass of query 0 = %v, want %v", tc.name, got, tc.own0)
		}
		// Query 2 (all scores 0) splits evenly between keys 1 and 3.
		if at.OwnByQuery[0][2] != 0.5 {
			t.Errorf("%s: own mass of query 2 = %v, want ½", tc.name, at.OwnByQuery[0][2])
		}
		// Loss of query 0: ½(S₀z₀ − z₀)² + ½(S₁z₁)², S₁ = 1 − S₀; of query 2: ½(z₀/2)² + ½(z₁/2 − z₁)².
		want := 0.5*math.Pow((tc.own0-1)*tc.z[0], 2) + 0.5*math.Pow((1-tc.own0)*tc.z[1], 2) +
			0.5*math.Pow(tc.z[0]/2, 2) + 0.5*math.Pow(tc.z[1]/2, 2)
		// The loss squares 1 − S₀ and S₁, whose relative error is that of
		// S₀ times S₀/(1 − S₀).
		if !(math.Abs(at.ReconstructableLoss-want) <= 4*tol*max(1, tc.own0/(1-tc.own0))*want) {
			t.Errorf("%s: loss %v, want %v", tc.name, at.ReconstructableLoss, want)
		}
		for name, v := range map[string]float64{"OwnMean": at.OwnMean, "OwnQuantile": at.OwnQuantile, "TVMin": at.TVMin, "FPShare": at.FPShare} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Errorf("%s: %s = %v, want finite", tc.name, name, v)
			}
		}
	}
}

// TestQuantileWeightsMatchCounts pins the weighted quantile the sharp
// predictions read to the measurement's rule: integer weights must give
// the quantile of the list with each value repeated that many times, at
// every level including the exact multiples where "reaches" and
// "exceeds" differ (δ = k/n).
func TestQuantileWeightsMatchCounts(t *testing.T) {
	xs := []float64{0.1, 0.25, 0.5, 0.5, 0.75, 0.9}
	ws := []float64{1, 2, 1, 3, 1, 2}
	var rep []float64
	for i, w := range ws {
		for range int(w) {
			rep = append(rep, xs[i])
		}
	}
	for k := 0; k <= len(rep); k++ {
		q := float64(k) / float64(len(rep))
		if got, want := quantileOf(xs, ws, q), quantileOf(rep, nil, q); got != want {
			t.Errorf("δ = %d/%d: weighted %v, repeated %v", k, len(rep), got, want)
		}
	}
}
