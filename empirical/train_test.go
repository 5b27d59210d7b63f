package empirical

import (
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gonum.org/v1/gonum/mat"

	"mimverify/engine"
	"mimverify/theory"
)

func preset(t testing.TB, name string) theory.Setting {
	t.Helper()
	s, err := theory.Preset(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestGDDecreasesLoss checks that full-batch GD with a small step decreases
// the empirical loss at every step on the default preset.
//
// Why η = 0.02 is small enough (descent lemma: L(Q − η∇L) < L(Q) whenever
// ∇L ≠ 0 and η < 2/β, β a bound on the second derivative of L along unit
// directions). The loss of one sample is Σ_{p∈M} ℓ_p(Qᵀe_p): each query sees
// only its own row e_pᵀQ, so along a direction U, L⁽²⁾ = avg Σ_p ℓ_p⁽²⁾(Uᵀe_p)
// ≤ β_1 Σ_p ‖Uᵀe_p‖² ≤ β_1 ‖U‖_F², β_1 the bound for one query
// ℓ(w) = ½‖Σ_q π_q(w) x̃_q − x_p‖², s_q = w·h_q. Along a unit u let
// δ_q = u·h_q; |δ_q| ≤ M = max‖h_q‖ = √(1 + U²) (x̃_q ⟂ e_q), and ‖x̃_q‖,
// ‖ŷ‖, ‖x_p‖ ≤ U. π being a softmax, dŷ = Cov_π(x̃, δ) and
// d²ŷ = E_π[(x̃ − ŷ)((δ − δ̄)² − Var δ)]; by Cauchy–Schwarz ‖dŷ‖ ≤ U·M and
// ‖d²ŷ‖ ≤ U·√(E(δ − δ̄)⁴) ≤ U·2M², whatever the number of keys. Hence
// ℓ⁽²⁾ = ‖dŷ‖² + (ŷ − x_p)·d²ŷ ≤ U²M² + 2U·2UM² = 5U²M². With U = 1.5:
// β ≤ 5·2.25·3.25 ≈ 36.6, so any η < 2/36.6 ≈ 0.055 descends; η = 0.02 has a
// margin of 2.7 and still moves the loss visibly in 30 steps.
func TestGDDecreasesLoss(t *testing.T) {
	s := preset(t, "default")
	s.Eta = 0.02
	traj, err := train(&s, trainOpts{Steps: 30, RecordEvery: 1, Seed: 5, Samples: s.Samples(5, 64)})
	if err != nil {
		t.Fatal(err)
	}
	if len(traj.Records) != 31 {
		t.Fatalf("%d records, want 31", len(traj.Records))
	}
	for i := 1; i < len(traj.Records); i++ {
		prev, cur := traj.Records[i-1].Loss, traj.Records[i].Loss
		if !(cur < prev) {
			t.Errorf("step %d: loss %.17g did not decrease from %.17g", traj.Records[i].Step, cur, prev)
		}
	}
	if f, l := traj.Records[0].Loss, traj.Final().Loss; !(l < f) {
		t.Errorf("loss went from %g to %g", f, l)
	} else {
		t.Logf("loss %.6g → %.6g in 30 steps of η = %g", f, l, s.Eta)
	}
}

// TestDeterministicAcrossGOMAXPROCS runs the same training at GOMAXPROCS = 1
// and 2 and requires bit-identical trajectories (==, not approximately),
// for GD (4 chunks), SGD (a batch of 40: a partial last chunk) with keys
// "all", and GD from a Gaussian Q(0) with the mean loss.
func TestDeterministicAcrossGOMAXPROCS(t *testing.T) {
	old := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(old)

	s := preset(t, "default")
	sAll := s.Clone()
	sAll.Keys = theory.KeysAll
	sGauss := preset(t, "grid4")
	sGauss.Init = theory.Init{Kind: theory.InitGaussian, Sigma: 0.5}
	sGauss.Loss = theory.LossMean
	runs := []struct {
		name string
		s    *theory.Setting
		opt  trainOpts
	}{
		{"gd", &s, trainOpts{Steps: 8, RecordEvery: 3, Seed: 9, Samples: s.Samples(9, 64)}},
		{"sgd-all", &sAll, trainOpts{Steps: 6, RecordEvery: 2, Seed: 11, SGD: true, Batch: 40}},
		{"gd-gaussian-init", &sGauss, trainOpts{Steps: 10, RecordEvery: 5, Seed: 12, Samples: sGauss.Samples(12, 50)}},
	}
	for _, r := range runs {
		var trajs [2]theory.Trajectory
		for i, procs := range []int{1, 2} {
			runtime.GOMAXPROCS(procs)
			var err error
			trajs[i], err = train(r.s, r.opt)
			if err != nil {
				t.Fatal(err)
			}
		}
		// cmp compares float64 with ==.
		if diff := cmp.Diff(trajs[0], trajs[1]); diff != "" {
			t.Errorf("%s: trajectories differ between GOMAXPROCS 1 and 2 (-1 +2):\n%s", r.name, diff)
		}
		if trajs[0].Final().Loss == trajs[0].Records[0].Loss {
			t.Errorf("%s: the loss did not move: the comparison is vacuous", r.name)
		}
	}
}

// descend runs GD on the model directly, returning Q after each step.
func descend(t *testing.T, m *Model, q *mat.Dense, samples []theory.Sample, eta float64, steps int) []*mat.Dense {
	t.Helper()
	d := m.Embedding().D
	grad := mat.NewDense(d, d, nil)
	var qs []*mat.Dense
	for i := 0; i < steps; i++ {
		m.LossGrad(q, samples, grad)
		grad.Scale(-eta, grad)
		q.Add(q, grad)
		qs = append(qs, mat.DenseCopyOf(q))
	}
	return qs
}

// TestOutOfSpanStaysZero checks SPEC §2's lemma on the full model: from
// Q(0) = 0, the components of Q outside span{e_p v_{k,j}ᵀ, e_p e_qᵀ} stay 0.
//
// In the axis basis they are exactly 0 (the gradient's rows beyond P and
// columns beyond P + F are sums of products with exact zeros). In a random
// basis ∇Q = E_pos W is formed in standard coordinates and its out-of-span
// coordinates Eᵀ∇E are zero only up to rounding: each step leaks at most
// ~ c·d·ε·‖η∇‖_F (ε = 2.2e-16, c small), so after T steps the out-of-span norm
// is below d·ε·Σ_t‖ΔQ_t‖_F ≤ d·ε·T·max‖Q‖_F; we require ≤ 4·d·ε·Σ_t‖ΔQ_t‖_F,
// i.e. ~1e-14·‖Q‖ here. A gradient with a genuine out-of-span term would
// give O(‖ΔQ‖).
func TestOutOfSpanStaysZero(t *testing.T) {
	s := preset(t, "grid4")
	samples := s.Samples(2, 32)
	for _, axis := range []bool{false, true} {
		var e *Embedding
		if axis {
			e = AxisEmbedding(&s)
		} else {
			e = NewEmbedding(&s, 2)
		}
		m, err := NewModel(&s, e)
		if err != nil {
			t.Fatal(err)
		}
		q := mat.NewDense(e.D, e.D, nil)
		qs := descend(t, m, q, samples, s.Eta, 20)
		moved := 0.0
		prev := mat.NewDense(e.D, e.D, nil)
		for _, qt := range qs {
			var dq mat.Dense
			dq.Sub(qt, prev)
			moved += mat.Norm(&dq, 2)
			prev = qt
			_, out := e.OutOfSpan(qt)
			tol := 4 * float64(e.D) * 0x1p-52 * moved
			if axis {
				tol = 0
			}
			if out > tol {
				t.Fatalf("axis=%v: out-of-span norm %g > %g (‖Q‖_F = %g)", axis, out, tol, mat.Norm(qt, 2))
			}
		}
		_, out := e.OutOfSpan(q)
		t.Logf("axis=%v: after 20 steps ‖Q‖_F = %.3g, out-of-span norm %.3g", axis, mat.Norm(q, 2), out)
		if mat.Norm(q, 2) < 0.1 {
			t.Fatalf("Q barely moved: the check is vacuous")
		}
	}
}

// TestOutOfSpanConstantGaussianInit: from a Gaussian Q(0) the out-of-span
// coordinates keep their initial values, up to the same rounding bound as
// above; the in-span coordinates do move. Q(0)'s in-span coordinates are
// theory.InitialCorrelations (to ~d·ε·σ: one change of basis there and back).
func TestOutOfSpanConstantGaussianInit(t *testing.T) {
	s := preset(t, "grid4")
	s.Init = theory.Init{Kind: theory.InitGaussian, Sigma: 0.3}
	e := NewEmbedding(&s, 4)
	m, err := NewModel(&s, e)
	if err != nil {
		t.Fatal(err)
	}
	q := InitialQ(&s, e, s.InitialCorrelations(4), 4)
	want := s.InitialCorrelations(4)
	if diff := e.Project(q).MaxAbsDiff(want); diff > 4*float64(e.D)*0x1p-52 {
		t.Errorf("Project(Q(0)) differs from theory.InitialCorrelations by %g", diff)
	}
	out0, n0 := e.OutOfSpan(q)
	if n0 < 0.1 {
		t.Fatalf("out-of-span part of Q(0) has norm %g: not a Gaussian init", n0)
	}
	qs := descend(t, m, q, s.Samples(4, 32), s.Eta, 15)
	var moved float64
	prev := InitialQ(&s, e, s.InitialCorrelations(4), 4)
	for _, qt := range qs {
		var dq mat.Dense
		dq.Sub(qt, prev)
		moved += mat.Norm(&dq, 2)
		prev = qt
	}
	out, _ := e.OutOfSpan(q)
	var diff mat.Dense
	diff.Sub(out, out0)
	// The coordinates of Q(0) themselves carry ~d·ε·‖Q(0)‖ of rounding from
	// the two changes of basis, hence the second term.
	tol := 4 * float64(e.D) * 0x1p-52 * (moved + mat.Norm(InitialQ(&s, e, s.InitialCorrelations(4), 4), 2))
	if dn := mat.Norm(&diff, 2); dn > tol {
		t.Errorf("out-of-span coordinates moved by %g > %g", dn, tol)
	}
	if moved < 0.1 {
		t.Errorf("Q barely moved (Σ‖ΔQ‖ = %g): the check is vacuous", moved)
	}
}

// TestNonFiniteDetected: an absurd step size (η = 1e300, bypassing
// validation) with z = 1000 makes the first update overflow (‖∇‖ ~ z³ = 1e9,
// so η∇ exceeds the largest float64 ≈ 1.8e308); Train must stop with a
// *theory.NonFiniteError at the step where the loss or gradient became
// non-finite instead of returning NaN. (With a huge η but O(1) z the softmax
// merely saturates and everything stays finite: that is not an error.)
func TestNonFiniteDetected(t *testing.T) {
	s := preset(t, "grid4")
	s.Eta = 1e300
	s.Z = theory.ZLaw{Kind: theory.ZConstant, L: 1000, U: 1000}
	traj, err := train(&s, trainOpts{Steps: 50, RecordEvery: 1, Seed: 1, Samples: s.Samples(1, 16)})
	var nf *theory.NonFiniteError
	if !errors.As(err, &nf) {
		t.Fatalf("err = %v, want a *theory.NonFiniteError", err)
	}
	if nf.Engine != "full" || nf.Step != 1 || finite(nf.Value) || len(traj.Records) != 1 {
		t.Errorf("unexpected error contents: %+v", nf)
	}
	if nf.Quantity != "loss" && nf.Quantity != "gradient of Q" {
		t.Errorf("quantity %q", nf.Quantity)
	}
	for _, r := range traj.Records {
		if !finite(r.Loss) {
			t.Errorf("record at step %d carries a non-finite loss", r.Step)
		}
	}
	t.Logf("%v", err)
}

// TestProject builds Q = Σ A e_p v_{k,j}ᵀ + Σ B e_p e_qᵀ from known random
// A, B with outer products of the basis vectors, adds components outside
// the span (v eᵀ, e (extra)ᵀ, (extra) eᵀ, v vᵀ), and checks that Project
// returns A and B. Each entry is a dot product of d terms of size O(1), so
// the error is ~d·ε; 1e-13 is that bound for d ≤ 30.
func TestProject(t *testing.T) {
	s := preset(t, "grid4")
	e := NewEmbedding(&s, 8)
	d := e.D
	rng := theory.NewRand(99, theory.StreamInit)
	want := s.Shape().New()
	q := mat.NewDense(d, d, nil)
	outer := func(a float64, u, v []float64) {
		var o mat.Dense
		o.Outer(a, mat.NewVecDense(d, u), mat.NewVecDense(d, v))
		q.Add(q, &o)
	}
	for k := range want.A {
		for p := range want.A[k] {
			for j := range want.A[k][p] {
				want.A[k][p][j] = rng.NormFloat64()
				outer(want.A[k][p][j], e.Vector(p), e.Vector(e.FeatureIndex(k, j)))
			}
		}
	}
	for p := range want.B {
		for q2 := range want.B[p] {
			want.B[p][q2] = rng.NormFloat64()
			outer(want.B[p][q2], e.Vector(p), e.Vector(q2))
		}
	}
	extra := e.P + e.F
	outer(3, e.Vector(e.FeatureIndex(1, 0)), e.Vector(2)) // v eᵀ
	outer(-2, e.Vector(5), e.Vector(extra))               // e (extra)ᵀ
	outer(1.5, e.Vector(extra+1), e.Vector(0))            // (extra) eᵀ
	outer(0.7, e.Vector(e.FeatureIndex(0, 1)), e.Vector(e.FeatureIndex(0, 1)))
	got := e.Project(q)
	if diff := got.MaxAbsDiff(want); diff > 1e-13 {
		t.Errorf("Project differs from the A, B used to build Q by %g", diff)
	}
	if _, out := e.OutOfSpan(q); math.Abs(out-math.Sqrt(9+4+2.25+0.49)) > 1e-13 {
		t.Errorf("out-of-span norm %g, want %g", out, math.Sqrt(9+4+2.25+0.49))
	}
	// Compose is the inverse of Project on the span.
	if diff := e.Project(e.Compose(want, nil)).MaxAbsDiff(want); diff > 1e-13 {
		t.Errorf("Project(Compose(c)) differs from c by %g", diff)
	}
}

// TestEmbeddingOrthonormal checks EᵀE = I. Householder QR produces an
// orthogonal factor to within a small multiple of d·ε (backward stability),
// in practice ~√d·ε (≈ 3e-15 at d = 218; observed 1.6e-15). We require
// max |EᵀE − I| ≤ 1e-14, below the worst-case d·ε = 4.8e-14 at d = 218.
func TestEmbeddingOrthonormal(t *testing.T) {
	for _, name := range []string{"grid4", "default", "vit14"} {
		s := preset(t, name)
		e := NewEmbedding(&s, 1)
		if e.D != s.Dim() {
			t.Fatalf("%s: dimension %d, want %d", name, e.D, s.Dim())
		}
		var g mat.Dense
		g.Mul(e.Basis.T(), e.Basis)
		worst := 0.0
		for i := 0; i < e.D; i++ {
			for j := 0; j < e.D; j++ {
				want := 0.0
				if i == j {
					want = 1
				}
				worst = math.Max(worst, math.Abs(g.At(i, j)-want))
			}
		}
		if tol := 1e-14; worst > tol {
			t.Errorf("%s: max |EᵀE − I| = %g > %g", name, worst, tol)
		}
		t.Logf("%s (d = %d): max |EᵀE − I| = %.3g", name, e.D, worst)
	}
	// Same seed, same basis; another seed, another basis; the axis basis is
	// the identity.
	s := preset(t, "grid4")
	if !mat.Equal(NewEmbedding(&s, 3).Basis, NewEmbedding(&s, 3).Basis) {
		t.Error("the same seed gave different bases")
	}
	if mat.EqualApprox(NewEmbedding(&s, 3).Basis, NewEmbedding(&s, 4).Basis, 1e-3) {
		t.Error("different seeds gave the same basis")
	}
	a := AxisEmbedding(&s)
	for i := 0; i < a.D; i++ {
		v := a.Vector(i)
		for j, x := range v {
			if (i == j && x != 1) || (i != j && x != 0) {
				t.Fatalf("axis basis vector %d = %v", i, v)
			}
		}
	}
}

// TestTrainRecords checks the record schedule, the time and engine fields,
// and that the first record of a zero init is A = B = 0 with the loss of
// uniform attention (which the reference transcription computes).
func TestTrainRecords(t *testing.T) {
	s := preset(t, "grid4")
	samples := s.Samples(3, 20)
	traj, err := train(&s, trainOpts{Steps: 7, RecordEvery: 3, Seed: 3, Samples: samples})
	if err != nil {
		t.Fatal(err)
	}
	var steps []int
	for _, r := range traj.Records {
		steps = append(steps, r.Step)
		if r.Time != s.Eta*float64(r.Step) {
			t.Errorf("step %d: time %g", r.Step, r.Time)
		}
	}
	if diff := cmp.Diff([]int{0, 3, 6, 7}, steps); diff != "" {
		t.Errorf("recorded steps (-want +got):\n%s", diff)
	}
	if traj.Engine != "full" {
		t.Errorf("engine %q", traj.Engine)
	}
	r0 := traj.Records[0]
	if a, b := r0.MaxAbs(); a != 0 || b != 0 {
		t.Errorf("zero init: record 0 has max|A| = %g, max|B| = %g", a, b)
	}
	e := NewEmbedding(&s, 3)
	if want := referenceLoss(&s, e, mat.NewDense(e.D, e.D, nil), samples); math.Abs(r0.Loss-want) > 1e-12*want {
		t.Errorf("record 0 loss %.17g, want %.17g", r0.Loss, want)
	}
	if a, _ := traj.Final().MaxAbs(); a == 0 {
		t.Error("A did not move")
	}
	// Zero steps: one record.
	traj, err = train(&s, trainOpts{Steps: 0, RecordEvery: 5, Seed: 3, Samples: samples})
	if err != nil || len(traj.Records) != 1 {
		t.Errorf("Steps = 0: %d records, err %v", len(traj.Records), err)
	}
}

// TestOptionsValidation checks that bad options are rejected with errors
// naming the option.
func TestOptionsValidation(t *testing.T) {
	s := preset(t, "grid4")
	good := s.Samples(1, 4)
	badZ := s.Samples(1, 4)
	badZ[2].Z = append([]float64(nil), badZ[2].Z...)
	badZ[2].Z[0] = 99
	for _, c := range []struct {
		opt  trainOpts
		want string
	}{
		{trainOpts{Steps: -1, RecordEvery: 1, Samples: good}, "steps = -1"},
		{trainOpts{Steps: 1, RecordEvery: 1}, "samples"},
		{trainOpts{Steps: 1, RecordEvery: 1, Samples: badZ}, "samples[2]"},
		{trainOpts{Steps: 1, RecordEvery: 1, SGD: true}, "Batch"},
	} {
		_, err := train(&s, c.opt)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("options %+v: err = %v, want an error naming %s", c.opt, err, c.want)
		}
	}
	var calls int
	if _, err := train(&s, trainOpts{Steps: 3, RecordEvery: 1, SGD: true, Batch: 5, Progress: func(step, steps int) {
		calls++
		if steps != 3 || step != calls {
			t.Errorf("progress (%d, %d) at call %d", step, steps, calls)
		}
	}}); err != nil {
		t.Fatal(err)
	}
	if calls != 3 {
		t.Errorf("progress called %d times, want 3", calls)
	}
}

// TestRoundsDoNotChangeResult: the partial losses and gradients are reduced
// in chunk order whatever the number of chunks per round and the number of
// workers, so LossGrad (loss and every gradient entry) and Loss are
// bit-identical with rounds of 1, 2 or 32 chunks (100 samples: 7 chunks,
// the last partial) at GOMAXPROCS 1, 2 and 3, for both key modes on grid4
// and default, on a fresh Model and on one Model reused across all of them
// (its workers and partials grown as GOMAXPROCS and the round size grow).
func TestRoundsDoNotChangeResult(t *testing.T) {
	oldProcs, oldRound := runtime.GOMAXPROCS(0), roundChunks
	defer func() { runtime.GOMAXPROCS(oldProcs); roundChunks = oldRound }()
	for _, c := range []struct {
		preset string
		keys   theory.KeyMode
	}{
		{"grid4", theory.KeysUnmasked}, {"grid4", theory.KeysAll},
		{"default", theory.KeysUnmasked}, {"default", theory.KeysAll},
	} {
		s, keys := preset(t, c.preset), c.keys
		s.Keys = keys
		e := NewEmbedding(&s, 6)
		samples := s.Samples(6, 100)
		q := randomQ(e.D, 0.5, 6)
		reused, err := NewModel(&s, e)
		if err != nil {
			t.Fatal(err)
		}
		var ref []uint64
		for _, procs := range []int{1, 2, 3} {
			for _, r := range []int{1, 2, 32} {
				runtime.GOMAXPROCS(procs)
				roundChunks = r
				fresh, err := NewModel(&s, e)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range []*Model{fresh, reused} {
					// bits: the loss of LossGrad, the loss of Loss, then ∇Q.
					g := mat.NewDense(e.D, e.D, nil)
					bits := []uint64{math.Float64bits(m.LossGrad(q, samples, g)), math.Float64bits(m.Loss(q, samples))}
					for _, x := range g.RawMatrix().Data {
						bits = append(bits, math.Float64bits(x))
					}
					if ref == nil {
						ref = bits
						continue
					}
					for i := range ref {
						if bits[i] != ref[i] {
							t.Errorf("%s, keys %s, GOMAXPROCS %d, %d chunks per round, reused model %t: entry %d (0 LossGrad's loss, 1 Loss, then ∇Q) is %.17g, want %.17g",
								c.preset, keys, procs, r, m == reused, i, math.Float64frombits(bits[i]), math.Float64frombits(ref[i]))
							break
						}
					}
				}
			}
		}
	}
}

// trainOpts are the options of the tests' train.
type trainOpts struct {
	Steps, RecordEvery int
	Seed               uint64
	Samples            []theory.Sample
	SGD                bool
	Batch              int
	Progress           func(step, steps int)
}

// train runs the full engine as the CLI does: from the seed's initial
// state, recording every RecordEvery steps.
func train(s *theory.Setting, o trainOpts) (theory.Trajectory, error) {
	var obs engine.Observer
	if o.Progress != nil {
		obs.Step = func(step, steps int) error { o.Progress(step, steps); return nil }
	}
	f := &Full{SGD: o.SGD, Batch: o.Batch}
	return f.Run(engine.NewProblem(s, o.Samples, o.Seed), engine.Every(o.Steps, o.RecordEvery), obs)
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
