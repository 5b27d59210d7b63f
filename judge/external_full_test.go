package judge

import (
	"errors"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"mimverify/empirical"
	"mimverify/engine"
	"mimverify/theory"
)

// fullOf writes a trajectory of (A, B) as the full model's Q in the seeded
// random basis of emb, adding rest·(1 + grow·t) outside the span (rest in
// basis coordinates; grow 0 keeps it constant, as SPEC §2 says it stays).
func fullOf(emb *empirical.Embedding, s *theory.Setting, tr theory.Trajectory, rest *mat.Dense, grow float64) *FullTrajectory {
	ft := &FullTrajectory{Engine: "test"}
	for p := range s.P {
		ft.Positions = append(ft.Positions, emb.Vector(p))
	}
	for k, c := range s.Clusters {
		var vs [][]float64
		for j := range c.NumAreas() {
			vs = append(vs, emb.Vector(emb.FeatureIndex(k, j)))
		}
		ft.Features = append(ft.Features, vs)
	}
	for _, r := range tr.Records {
		var scaled mat.Dense
		scaled.Scale(1+grow*float64(r.Step), rest)
		q := emb.Compose(r.Correlations, &scaled)
		rows := make([][]float64, emb.D)
		for i := range rows {
			rows[i] = mat.Row(nil, i, q)
		}
		ft.Records = append(ft.Records, FullRecord{Step: r.Step, Time: r.Time, Loss: r.Loss, Q: rows})
	}
	return ft
}

// randomRest is a d×d matrix of seeded standard normals times scale.
func randomRest(d int, scale float64) *mat.Dense {
	rng := theory.NewRand(3, theory.StreamBasis)
	m := mat.NewDense(d, d, nil)
	for i := range d {
		for j := range d {
			m.Set(i, j, scale*rng.NormFloat64())
		}
	}
	return m
}

// TestCheckFullTrajectoryMatches: the exact recursion's run written as the
// full model's Q in a random orthonormal basis, with a constant component
// outside the span (what a Gaussian start leaves, SPEC §2), is projected
// back to its (A, B) within rounding — |ΔA|, |ΔB| ≤ 64·d·2⁻⁵²·‖Q‖_F, a
// triple product of d-term sums — and judged with CheckTrajectory's
// verdicts and measured values within 1e-9 relative (far above that
// rounding, far below a real difference); the out-of-span norm is
// reported as the rest's, its drift within float64 rounding, no warning.
// A rest that grows with t is warned about in the report and the claims'
// details, the verdicts unchanged (the projection is what is judged).
func TestCheckFullTrajectoryMatches(t *testing.T) {
	s, _ := theory.Preset("grid4")
	samples := s.Samples(1, 64)
	tr := externalRun(t, engine.Exact, s, samples, engine.LogSpaced(300, 40))
	opt := Options{Samples: 64, Eval: 16, Seed: 1, Claims: []string{"C1", "C2", "C3", "C5", "C7"}, NoControls: true}
	want, err := CheckTrajectory(s, tr, samples, opt)
	if err != nil {
		t.Fatal(err)
	}
	emb := empirical.NewEmbedding(&s, 5)
	rest := randomRest(emb.D, 0.1)
	_, restNorm := emb.OutOfSpan(emb.FromCoords(rest))
	for _, grow := range []float64{0, 0.01} {
		ft := fullOf(emb, &s, tr, rest, grow)
		back, span, err := ProjectFull(&s, ft)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range back.Records {
			q := mat.NewDense(emb.D, emb.D, nil)
			for j, row := range ft.Records[i].Q {
				q.SetRow(j, row)
			}
			if diff, tol := r.MaxAbsDiff(tr.Records[i].Correlations), 64*float64(emb.D)*0x1p-52*mat.Norm(q, 2); diff > tol {
				t.Fatalf("grow %g, step %d: projection differs from (A, B) by %g > %g", grow, r.Step, diff, tol)
			}
		}
		if math.Abs(float64(span.Initial)-restNorm) > 1e-12*restNorm {
			t.Errorf("initial out-of-span norm %v, the rest's is %v", span.Initial, restNorm)
		}
		got, err := CheckFullTrajectory(s, ft, samples, opt)
		if err != nil {
			t.Fatal(err)
		}
		if got.Run.OutOfSpan == nil {
			t.Fatal("no out-of-span report")
		}
		o := got.Run.OutOfSpan
		switch {
		case grow == 0 && (o.Drift > o.Bound64 || o.Warning != ""):
			t.Errorf("constant rest: drift %v > float64 bound %v, or a warning %q", o.Drift, o.Bound64, o.Warning)
		case grow > 0 && (o.Warning == "" || math.Abs(float64(o.Final)-restNorm*(1+grow*300)) > 1e-9*float64(o.Final)):
			t.Errorf("growing rest: final %v (want %v), warning %q", o.Final, restNorm*(1+grow*300), o.Warning)
		}
		for i, w := range want.Results {
			g := got.Results[i]
			m, gm := float64(w.Measured), float64(g.Measured)
			if g.ID != w.ID || g.Verdict != w.Verdict || !(m == gm || math.Abs(m-gm) <= 1e-9*math.Abs(m) || math.IsNaN(m) && math.IsNaN(gm)) {
				t.Errorf("grow %g, %s: %s %v; from (A, B) %s %s %v", grow, g.ID, g.Verdict, gm, w.ID, w.Verdict, m)
			}
			if warned := strings.Contains(g.Detail, "warning: Q's component outside"); warned != (grow > 0 && g.ID != "C1") {
				t.Errorf("grow %g, %s: warning in detail %v: %s", grow, g.ID, warned, g.Detail)
			}
		}
	}
}

// A full-model run whose embedding or Q does not fit the setting, or whose
// vectors are not orthonormal, is bad input naming the vector or record.
func TestCheckFullTrajectoryBadInput(t *testing.T) {
	s, _ := theory.Preset("grid4")
	samples := s.Samples(1, 8)
	tr := externalRun(t, engine.Exact, s, samples, engine.Every(20, 10))
	emb := empirical.NewEmbedding(&s, 5)
	good := func() *FullTrajectory { return fullOf(emb, &s, tr, mat.NewDense(emb.D, emb.D, nil), 0) }
	cases := []struct {
		name   string
		mutate func(ft *FullTrajectory)
		want   string
	}{
		{"short positions", func(ft *FullTrajectory) { ft.Positions = ft.Positions[1:] }, "positions has 15 vectors"},
		{"missing cluster", func(ft *FullTrajectory) { ft.Features = ft.Features[:1] }, "features has 1 clusters"},
		{"short vector", func(ft *FullTrajectory) { ft.Features[1][0] = ft.Features[1][0][1:] }, "features[1][0] has"},
		{"not orthonormal", func(ft *FullTrajectory) { ft.Features[0][1] = ft.Positions[3] }, "positions[3] · features[0][1] = 1"},
		{"Q of the wrong size", func(ft *FullTrajectory) { ft.Records[1].Q = ft.Records[1].Q[1:] }, "records[1] (step 10): Q:"},
		{"NaN in Q", func(ft *FullTrajectory) { ft.Records[2].Q[0][0] = math.NaN() }, "records[2] (step 20): Q: row 0: entry 0 is NaN"},
		{"no records", func(ft *FullTrajectory) { ft.Records = nil }, "no records"},
	}
	for _, c := range cases {
		ft := good()
		c.mutate(ft)
		_, err := CheckFullTrajectory(s, ft, samples, Options{NoControls: true})
		if !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrOptions containing %q", c.name, err, c.want)
		}
	}
}
