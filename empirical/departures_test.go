package empirical

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gonum.org/v1/gonum/mat"

	"mimverify/engine"
	"mimverify/theory"
)

func smallDeparted(t *testing.T, dep theory.Departures) theory.Setting {
	t.Helper()
	s, err := theory.Grid(3, theory.Blocks(2))
	if err != nil {
		t.Fatal(err)
	}
	s.ExtraDim = 2
	s.Eta = 0.5
	s.Departures = dep
	if err := s.Resolve(); err != nil {
		t.Fatal(err)
	}
	return s
}

func runFull(t *testing.T, s *theory.Setting, samples []theory.Sample, steps int) theory.Trajectory {
	t.Helper()
	tr, err := (&Full{}).Run(engine.NewProblem(s, samples, 7), engine.Every(steps, 1), engine.Observer{})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// With every departure off, the departures' loop (forced) is the
// in-assumption loop, bit for bit; so is a setting whose departures are at
// their off values (heads 1, optimizer gd).
func TestDeparturesOffBitIdentical(t *testing.T) {
	s := smallDeparted(t, theory.Departures{})
	smp := s.Samples(7, 40)
	want := runFull(t, &s, smp, 12)
	forceDeparted = true
	got := runFull(t, &s, smp, 12)
	forceDeparted = false
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("forced departures' loop differs (-want +got):\n%s", diff)
	}
	off := smallDeparted(t, theory.Departures{Heads: 1, Optimizer: theory.OptGD})
	if off.Departs() {
		t.Fatalf("off values depart: %v", off.Broken())
	}
	if diff := cmp.Diff(want, runFull(t, &off, smp, 12)); diff != "" {
		t.Fatalf("off values differ:\n%s", diff)
	}
}

// A minibatch of every sample (without replacement) is full-batch GD,
// exactly: the indices are sorted, so the batch is the set in its order.
func TestBatchOfAllIsFullGD(t *testing.T) {
	s := smallDeparted(t, theory.Departures{})
	smp := s.Samples(7, 40)
	want := runFull(t, &s, smp, 10)
	b := smallDeparted(t, theory.Departures{Batch: 40})
	if diff := cmp.Diff(want, runFull(t, &b, smp, 10)); diff != "" {
		t.Fatalf("batch = n differs from full GD:\n%s", diff)
	}
	// A smaller batch is a different run (the test can fail).
	b.Departures.Batch = 10
	if cmp.Equal(want, runFull(t, &b, smp, 10)) {
		t.Fatal("batch 10 of 40 gave the full-batch trajectory")
	}
	b.Departures.Batch = 41
	if _, err := (&Full{}).Run(engine.NewProblem(&b, smp, 7), engine.Every(1, 1), engine.Observer{}); err == nil {
		t.Fatal("batch 41 > 40 samples without replacement accepted")
	}
}

// relDiff is max|a−b| / max|b|.
func relDiff(a, b []float64) float64 {
	num, den := 0.0, 0.0
	for i := range a {
		num = math.Max(num, math.Abs(a[i]-b[i]))
		den = math.Max(den, math.Abs(b[i]))
	}
	return num / den
}

// The general path with one head, the read-out W = I and no noise is the
// fast path's function: same loss and gradient to rounding (1e-12
// relative: sums of ~10² terms of size ≤ 1 reordered, each rounding 1e-16).
func TestGeneralPathIsFastPath(t *testing.T) {
	s := smallDeparted(t, theory.Departures{})
	e := NewEmbedding(&s, 3)
	m, _ := NewModel(&s, e)
	q := randomQ(e.D, 0.7, 4)
	smp := s.Samples(3, 37)
	g := mat.NewDense(e.D, e.D, nil)
	l := m.LossGrad(q, smp, g)
	id := mat.NewDense(e.D, e.D, nil)
	for i := range e.D {
		id.Set(i, i, 1)
	}
	for _, w := range []*mat.Dense{nil, id} {
		gq := []*mat.Dense{mat.NewDense(e.D, e.D, nil)}
		gl := m.LossGradParams(Params{Q: []*mat.Dense{q}, W: w}, smp, gq, mat.NewDense(e.D, e.D, nil))
		if math.Abs(gl-l) > 1e-12*l {
			t.Errorf("W=%v: loss %.17g, fast path %.17g", w != nil, gl, l)
		}
		if r := relDiff(gq[0].RawMatrix().Data, g.RawMatrix().Data); r > 1e-12 {
			t.Errorf("W=%v: gradient differs by %.3g (relative)", w != nil, r)
		}
	}
}

// The general path's gradients (two heads, a value map, noise, per-image
// partitions, overlapping features) against central finite differences
// along random directions: error O(h²) ≈ 1e-10 for h = 1e-5 and
// third derivatives O(1), so 1e-6 relative has a wide margin.
func TestGeneralPathFiniteDifference(t *testing.T) {
	s := smallDeparted(t, theory.Departures{Noise: 0.2, Heads: 2, TrainValue: true, RandomPartitions: true, FeatureOverlap: 0.3, PositionOverlap: 0.2})
	s.Keys = theory.KeysAll
	e := NewEmbedding(&s, 3)
	m, _ := NewModel(&s, e)
	smp := s.Samples(3, 20)
	w := randomQ(e.D, 0.3, 8)
	for i := range e.D {
		w.Set(i, i, w.At(i, i)+1)
	}
	pr := Params{Q: []*mat.Dense{randomQ(e.D, 0.6, 5), randomQ(e.D, 0.6, 6)}, W: w}
	gq := []*mat.Dense{mat.NewDense(e.D, e.D, nil), mat.NewDense(e.D, e.D, nil)}
	gw := mat.NewDense(e.D, e.D, nil)
	m.LossGradParams(pr, smp, gq, gw)
	all := []*mat.Dense{pr.Q[0], pr.Q[1], pr.W}
	grads := []*mat.Dense{gq[0], gq[1], gw}
	for i, th := range all {
		u := randomQ(e.D, 1, uint64(20+i))
		const h = 1e-5
		at := func(x float64) float64 {
			saved := mat.DenseCopyOf(th)
			th.Add(th, scaled(x, u))
			l := m.LossGradParams(pr, smp, nil, nil)
			th.Copy(saved)
			return l
		}
		fd := (at(h) - at(-h)) / (2 * h)
		an := mat.Sum(mulElem(grads[i], u))
		if math.Abs(fd-an) > 1e-6*math.Max(1, math.Abs(an)) {
			t.Errorf("parameter %d: directional derivative %.12g, finite difference %.12g", i, an, fd)
		}
	}
}

func scaled(x float64, a *mat.Dense) *mat.Dense {
	var o mat.Dense
	o.Scale(x, a)
	return &o
}

// The value map frozen at W(0) = I is today's model (to rounding: the
// general path sums in another order); h identical heads from Q(0) = 0
// each move by the gradient/h, so h heads at step η are one head at η/h.
func TestValueFrozenAndHeads(t *testing.T) {
	s := smallDeparted(t, theory.Departures{})
	smp := s.Samples(7, 30)
	want := runFull(t, &s, smp, 8)
	v := smallDeparted(t, theory.Departures{TrainValue: true})
	freezeValue = true
	got := runFull(t, &v, smp, 8)
	freezeValue = false
	compareTraj(t, "frozen W", want, got, 1e-11)
	if moved := runFull(t, &v, smp, 8); math.Abs(moved.Final().Loss-want.Final().Loss) < 1e-6 {
		t.Error("a trained value map gave the fixed read-out's loss")
	}
	h := smallDeparted(t, theory.Departures{Heads: 3})
	h.Eta = 3 * s.Eta
	compareTraj(t, "3 heads at 3η", want, runFull(t, &h, smp, 8), 1e-11)
}

// compareTraj compares losses and correlations record by record, relative
// to the largest entry (tol: rounding accumulated over the steps).
func compareTraj(t *testing.T, what string, want, got theory.Trajectory, tol float64) {
	t.Helper()
	if len(want.Records) != len(got.Records) {
		t.Fatalf("%s: %d records, want %d", what, len(got.Records), len(want.Records))
	}
	for i, r := range want.Records {
		g := got.Records[i]
		if math.Abs(g.Loss-r.Loss) > tol*r.Loss {
			t.Errorf("%s: step %d: loss %.17g, want %.17g", what, r.Step, g.Loss, r.Loss)
		}
		if d := relDiff(g.Correlations.Flat(), r.Correlations.Flat()); i > 0 && d > tol {
			t.Errorf("%s: step %d: correlations differ by %.3g", what, r.Step, d)
		}
	}
}
