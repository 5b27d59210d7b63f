package dynamics

import (
	"errors"
	"math"
	"strings"
	"testing"

	"mimverify/engine"
	"mimverify/theory"
)

// quadObjective is L(c) = ½ Σ_i w_i (c_i − c*_i)² on the flattened
// correlations: its gradient flow is c*_i + (c0_i − c*_i)·e^{−w_i τ} and
// gradient descent gives c*_i + (c0_i − c*_i)·(1 − η w_i)^t.
type quadObjective struct {
	w, target []float64
	buf       []float64
	nanAbove  float64 // when > 0, the gradient is NaN once any entry exceeds it
}

func (q *quadObjective) LossGrad(c, grad theory.Correlations) (loss, stderr float64) {
	copy(q.buf, c.Flat())
	for i, x := range q.buf {
		d := x - q.target[i]
		loss += q.w[i] * d * d / 2
		if q.nanAbove > 0 && x > q.nanAbove {
			loss = math.NaN()
			d = math.NaN()
		}
		q.buf[i] = q.w[i] * d
	}
	copy(grad.Flat(), q.buf)
	return loss, 0
}

// flowTestSetting is grid4 (352 correlation entries) with step size eta.
func flowTestSetting(t *testing.T, eta float64) *theory.Setting {
	t.Helper()
	s, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	s.Eta = eta
	return &s
}

// newQuad returns a quadratic objective on s's shape with curvatures w_i in
// [wmin, wmax], targets in [−1, 1] and an initial state in [−1, 1], all
// deterministic.
func newQuad(s *theory.Setting, wmin, wmax float64) (*quadObjective, theory.Correlations) {
	c0 := s.Shape().New()
	n := len(c0.Flat())
	q := &quadObjective{w: make([]float64, n), target: make([]float64, n), buf: make([]float64, n)}
	x := make([]float64, n)
	for i := range q.w {
		q.w[i] = wmin + (wmax-wmin)*float64((i*37)%101)/100
		q.target[i] = math.Sin(float64(i) * 1.3)
		x[i] = math.Cos(float64(i) * 0.7)
	}
	copy(c0.Flat(), x)
	return q, c0
}

// closedForm returns the flow (gd = false) or GD (gd = true) state after t
// steps of size eta, from c0.
func (q *quadObjective) closedForm(c0 theory.Correlations, eta float64, t int, gd bool) []float64 {
	x := append([]float64(nil), c0.Flat()...)
	for i := range x {
		var f float64
		if gd {
			f = math.Pow(1-eta*q.w[i], float64(t))
		} else {
			f = math.Exp(-q.w[i] * eta * float64(t))
		}
		x[i] = q.target[i] + (x[i]-q.target[i])*f
	}
	return x
}

// gdLoop runs plain gradient descent on obj for steps steps from c0.
func gdLoop(obj Objective, c0 theory.Correlations, eta float64, steps int) theory.Correlations {
	c, g := c0.Clone(), c0.Clone()
	x, dx := c.Flat(), g.Flat()
	for t := 0; t < steps; t++ {
		obj.LossGrad(c, g)
		for i := range x {
			x[i] -= eta * dx[i]
		}
	}
	return c
}

func maxAbsDiffFlat(a, b []float64) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

func TestEverySchedule(t *testing.T) {
	for _, c := range []struct {
		steps, every int
		want         string
	}{
		{25, 10, "[0 10 20 25]"}, {20, 10, "[0 10 20]"}, {7, 0, "[0 7]"}, {0, 5, "[0]"}, {3, 1, "[0 1 2 3]"},
	} {
		sch := engine.Every(c.steps, c.every)
		if got := fmtInts(sch.Record); got != c.want || sch.Validate() != nil {
			t.Errorf("steps %d every %d: %s (%v), want %s", c.steps, c.every, got, sch.Validate(), c.want)
		}
	}
}

func fmtInts(x []int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range x {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(itoaTest(v))
	}
	b.WriteByte(']')
	return b.String()
}

func itoaTest(v int) string {
	if v == 0 {
		return "0"
	}
	s := ""
	for ; v > 0; v /= 10 {
		s = string(rune('0'+v%10)) + s
	}
	return s
}

// TestFlowQuadraticClosedForm: the flow of the quadratic matches its closed
// form c* + (c0 − c*)e^{−wτ} at every record within 1e-7 (RelTol 1e-8,
// AbsTol 1e-10, entries O(1), curvatures in [0.2, 5]), with the loss at the
// record state.
func TestFlowQuadraticClosedForm(t *testing.T) {
	const eta = 0.1
	s := flowTestSetting(t, eta)
	q, c0 := newQuad(s, 0.2, 5)
	var progress []int
	tr, err := (&Flow{Objective: q}).Run(engine.Problem{Setting: s, Init: c0}, engine.Every(55, 10),
		engine.Observer{Step: func(step, steps int) error {
			if steps != 55 {
				t.Errorf("progress steps = %d", steps)
			}
			progress = append(progress, step)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Engine != "flow" {
		t.Errorf("engine %q", tr.Engine)
	}
	if got := fmtInts(progress); got != "[0 10 20 30 40 50 55]" {
		t.Errorf("progress %s", got)
	}
	if len(tr.Records) != 7 {
		t.Fatalf("%d records", len(tr.Records))
	}
	worst := 0.0
	for _, r := range tr.Records {
		if r.Time != eta*float64(r.Step) {
			t.Errorf("record step %d time %v", r.Step, r.Time)
		}
		want := q.closedForm(c0, eta, r.Step, false)
		d := maxAbsDiffFlat(r.Correlations.Flat(), want)
		worst = math.Max(worst, d)
		wl := 0.0
		for i, x := range want {
			wl += q.w[i] * (x - q.target[i]) * (x - q.target[i]) / 2
		}
		if math.Abs(r.Loss-wl) > 1e-7*math.Max(1, wl) || r.LossStdErr != 0 {
			t.Errorf("step %d: loss %v ± %v, want %v", r.Step, r.Loss, r.LossStdErr, wl)
		}
	}
	t.Logf("max deviation from the closed form over the records: %.2e", worst)
	if worst > 1e-7 {
		t.Errorf("flow deviates from the closed form by %.3g > 1e-7", worst)
	}
	if c0.MaxAbsDiff(tr.Records[0].Correlations) != 0 {
		t.Error("record 0 is not Init")
	}
	// The records own their correlations.
	tr.Records[1].A[0][0][0] = 1e6
	if tr.Records[2].A[0][0][0] == 1e6 || c0.A[0][0][0] == 1e6 {
		t.Error("records share storage")
	}
	// Zero Init means zeros.
	tr, err = (&Flow{Objective: q}).Run(engine.Problem{Setting: s}, engine.Every(0, 0), engine.Observer{})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := tr.Records[0].MaxAbs(); len(tr.Records) != 1 || a != 0 || b != 0 {
		t.Errorf("zero Init: %d records, max |A| %v, max |B| %v", len(tr.Records), a, b)
	}
}

// TestFlowVsGDOrderEta: at a fixed time τ = 2, the gap between GD with step
// η and the flow is O(η): it matches the exact gap
// |c0 − c*|·|(1 − ηw)^t − e^{−wηt}| within 1e-7, and halving η (doubling the
// steps) divides it by a factor in [1.8, 2.2].
func TestFlowVsGDOrderEta(t *testing.T) {
	const tau = 2.0
	var gaps []float64
	for _, eta := range []float64{0.04, 0.02, 0.01} {
		s := flowTestSetting(t, eta)
		q, c0 := newQuad(s, 0.2, 3)
		steps := int(math.Round(tau / eta))
		tr, err := (&Flow{Objective: q}).Run(engine.Problem{Setting: s, Init: c0}, engine.Every(steps, steps), engine.Observer{})
		if err != nil {
			t.Fatal(err)
		}
		gd := gdLoop(q, c0, eta, steps)
		gap := gd.MaxAbsDiff(tr.Final().Correlations)
		exact := maxAbsDiffFlat(q.closedForm(c0, eta, steps, true), q.closedForm(c0, eta, steps, false))
		if math.Abs(gap-exact) > 1e-7 {
			t.Errorf("η = %v: GD–flow gap %.6g, exact %.6g", eta, gap, exact)
		}
		if len(gaps) > 0 {
			r := gaps[len(gaps)-1] / gap
			t.Logf("η = %v: gap %.4e (exact %.4e), ratio on halving η %.3f", eta, gap, exact, r)
			if r < 1.8 || r > 2.2 {
				t.Errorf("η = %v: gap ratio %.3f on halving η, want [1.8, 2.2]", eta, r)
			}
		} else {
			t.Logf("η = %v: gap %.4e (exact %.4e)", eta, gap, exact)
		}
		gaps = append(gaps, gap)
	}
}

// TestFlowGapBound: on the quadratic (H = diag w) the first-order prediction
// η·u(τ) matches the true GD − flow difference entrywise within 5% of the
// largest gap (its error is O(η²)), and the bound (η/2)∫‖H∇L‖₂ is ≥ the true
// Euclidean gap and ≤ 2× it while w·τ ≤ 1 (exactly: bound/gap →
// (e^{wτ} − 1)/(wτ) ≤ e − 1 as η → 0).
func TestFlowGapBound(t *testing.T) {
	const eta = 0.005
	s := flowTestSetting(t, eta)
	q, c0 := newQuad(s, 0.5, 2)
	tr, gap, err := (&Flow{Objective: q}).RunGap(engine.Problem{Setting: s, Init: c0}, engine.Every(100, 20), engine.Observer{})
	if err != nil {
		t.Fatal(err)
	}
	if len(gap.Predicted) != len(tr.Records) || len(gap.Bound) != len(tr.Records) || len(gap.Deviation) != len(tr.Records) {
		t.Fatalf("gap lengths %d %d %d for %d records", len(gap.Predicted), len(gap.Bound), len(gap.Deviation), len(tr.Records))
	}
	for i, r := range tr.Records {
		gd := q.closedForm(c0, eta, r.Step, true)
		fl := q.closedForm(c0, eta, r.Step, false)
		if d := maxAbsDiffFlat(r.Correlations.Flat(), fl); d > 1e-7 {
			t.Errorf("step %d: augmented flow off the closed form by %.3g", r.Step, d)
		}
		trueMax, trueL2 := 0.0, 0.0
		dev := gap.Deviation[i].Flat()
		devErr := 0.0
		for j := range gd {
			d := gd[j] - fl[j]
			trueMax = math.Max(trueMax, math.Abs(d))
			trueL2 += d * d
			devErr = math.Max(devErr, math.Abs(dev[j]-d))
		}
		trueL2 = math.Sqrt(trueL2)
		if r.Step == 0 {
			if gap.Predicted[0] != 0 || gap.Bound[0] != 0 {
				t.Errorf("step 0: predicted %v bound %v", gap.Predicted[0], gap.Bound[0])
			}
			continue
		}
		t.Logf("step %3d τ = %.2f: true gap max %.4e L2 %.4e; predicted %.4e (deviation error %.1e); bound %.4e (%.3f× L2)",
			r.Step, r.Time, trueMax, trueL2, gap.Predicted[i], devErr, gap.Bound[i], gap.Bound[i]/trueL2)
		if math.Abs(gap.Predicted[i]-trueMax) > 0.05*trueMax || devErr > 0.05*trueMax {
			t.Errorf("step %d: predicted gap %.4g (entrywise error %.3g), true %.4g", r.Step, gap.Predicted[i], devErr, trueMax)
		}
		if gap.Bound[i] < trueL2 || gap.Bound[i] > 2*trueL2 {
			t.Errorf("step %d: bound %.4g not in [1, 2]× the true L2 gap %.4g", r.Step, gap.Bound[i], trueL2)
		}
	}
}

func TestFlowErrors(t *testing.T) {
	s := flowTestSetting(t, 0.01)
	q, c0 := newQuad(s, 1, 1)
	// Flow from 0 towards c* = 2 crosses 1 at τ = ln 2 ≈ 0.693, step ≈ 69,
	// where the gradient becomes NaN.
	for i := range q.target {
		q.target[i] = 2
	}
	q.nanAbove = 1
	_, err := (&Flow{Objective: q}).Run(engine.Problem{Setting: s}, engine.Every(200, 50), engine.Observer{})
	var nf *theory.NonFiniteError
	if !errors.As(err, &nf) {
		t.Fatalf("NaN gradient: got %v, want *theory.NonFiniteError", err)
	}
	t.Logf("NaN gradient: %v", err)
	if nf.Engine != "flow" || nf.Step < 68 || nf.Step > 70 || !strings.Contains(nf.Quantity, "gradient") || !math.IsNaN(nf.Value) {
		t.Errorf("NaN gradient: %+v, want engine flow, step ≈ 69, a gradient quantity", nf)
	}
	q.nanAbove = 0

	for _, c := range []struct {
		flow Flow
		p    engine.Problem
		sch  engine.Schedule
		want string
	}{
		{Flow{Objective: q}, engine.Problem{Setting: s}, engine.Schedule{Steps: -1, Record: []int{0}}, "steps = -1"},
		{Flow{Objective: q}, engine.Problem{Setting: s}, engine.Schedule{Steps: 2, Record: []int{0, 1}}, "end at steps = 2"},
		{Flow{Objective: q, RelTol: -1}, engine.Problem{Setting: s}, engine.Every(1, 1), "RelTol"},
		{Flow{Objective: q}, engine.Problem{Setting: s, Init: theory.Correlations{B: [][]float64{{1}}}}, engine.Every(1, 1), "A has 0 clusters"},
	} {
		if _, err := c.flow.Run(c.p, c.sch, engine.Observer{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error containing %q", c.sch, err, c.want)
		}
	}
	bad := c0.Clone()
	bad.B[1][2] = math.Inf(1)
	if _, err := (&Flow{Objective: q}).Run(engine.Problem{Setting: s, Init: bad}, engine.Every(1, 1), engine.Observer{}); !errors.As(err, &nf) || !strings.Contains(nf.Quantity, "B[1][2]") {
		t.Errorf("infinite Init: got %v", err)
	}
	if _, err := (&Flow{Objective: q}).Run(engine.Problem{}, engine.Every(1, 1), engine.Observer{}); err == nil {
		t.Error("nil setting: no error")
	}
}

// TestFlowVsDescendGrid4: on grid4 with 64 samples (the level-1 objective),
// GD (Descent) for 100 steps of η and 200 steps of η/2 against the flow at
// the same τ = 100η: the gap shrinks by a factor in [1.8, 2.2] when η
// halves, and RunGap's first-order prediction matches the measured gap
// within 10 % with a remainder |measured − predicted| that is O(η²): it
// shrinks by a factor in [3, 5.5] when η halves.
func TestFlowVsDescendGrid4(t *testing.T) {
	s, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	obj, err := NewSampleObjective(&s, s.Samples(1, 64))
	if err != nil {
		t.Fatal(err)
	}
	eta0 := s.Eta / 4
	var prev, prevRem float64
	for _, k := range []int{1, 2, 4} {
		s.Eta = eta0 / float64(k)
		steps := 100 * k
		gd, err := descend(&s, obj, engine.Every(steps, steps), theory.Correlations{}, engine.Observer{})
		if err != nil {
			t.Fatal(err)
		}
		fl, gap, err := (&Flow{Objective: obj}).RunGap(engine.Problem{Setting: &s}, engine.Every(steps, steps), engine.Observer{})
		if err != nil {
			t.Fatal(err)
		}
		g := gd.Final().MaxAbsDiff(fl.Final().Correlations)
		pred := gap.Predicted[len(gap.Predicted)-1]
		a, b := fl.Final().MaxAbs()
		t.Logf("η = %.4g, %d steps, τ = %.1f: flow loss %.6f (GD %.6f), max|A| %.3f max|B| %.3f; gap %.4e, predicted %.4e, bound %.4e",
			s.Eta, steps, fl.Final().Time, fl.Final().Loss, gd.Final().Loss, a, b, g, pred, gap.Bound[len(gap.Bound)-1])
		if math.Abs(pred-g) > 0.1*g {
			t.Errorf("η = %v: predicted gap %.4g, measured %.4g", s.Eta, pred, g)
		}
		rem := math.Abs(g - pred)
		if prev > 0 {
			r, rr := prev/g, prevRem/rem
			t.Logf("ratio on halving η: gap %.3f, remainder %.3f", r, rr)
			if r < 1.8 || r > 2.2 {
				t.Errorf("η = %v: gap ratio %.3f on halving η, want [1.8, 2.2]", s.Eta, r)
			}
			if rr < 3 || rr > 5.5 {
				t.Errorf("η = %v: remainder |gap − predicted| ratio %.3f on halving η, want [3, 5.5]", s.Eta, rr)
			}
		}
		prev, prevRem = g, rem
	}
}
