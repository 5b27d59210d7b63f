package judge

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"mimverify/theory"
)

// The Wilson interval against values computed independently of its closed
// form: the roots of the score test (p − k/n)² = z²·p(1 − p)/n found by
// bisection, printed to 4 decimals; the check is to 5e-5, the rounding of
// the reference values.
func TestWilson(t *testing.T) {
	for _, c := range []struct {
		k, n   int
		lo, hi float64
	}{
		{0, 10, 0, 0.2775},
		{10, 10, 0.7225, 1},
		{5, 10, 0.2366, 0.7634},
		{1, 3, 0.0615, 0.7923},
		{81, 100, 0.7222, 0.8749},
	} {
		lo, hi := Wilson(c.k, c.n)
		if math.Abs(lo-c.lo) > 5e-5 || math.Abs(hi-c.hi) > 5e-5 {
			t.Errorf("Wilson(%d, %d) = [%.5f, %.5f], want [%.4f, %.4f]", c.k, c.n, lo, hi, c.lo, c.hi)
		}
	}
	if lo, hi := Wilson(0, 0); lo != 0 || hi != 1 {
		t.Errorf("Wilson(0, 0) = [%g, %g], want [0, 1]", lo, hi)
	}
}

func testPlan(t *testing.T) *Plan {
	t.Helper()
	s, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	return NewPlan(s, Options{Claims: []string{"C2"}, Seed: 7},
		[]Axis{{"gamma", []string{"0.3", "0.5"}}, {"z.kind", []string{"constant", "uniform", "two-point"}}}, 2)
}

// Points come in plan order — first axis slowest, seed fastest — with the
// seeds counted from the base seed, and every shard split is a partition.
func TestPlanPointsOrderAndShards(t *testing.T) {
	p := testPlan(t)
	pts, err := p.Points()
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 12 {
		t.Fatalf("%d points, want 2 × 3 × 2", len(pts))
	}
	for i, pt := range pts {
		wantG, wantZ := []string{"0.3", "0.5"}[i/6], []string{"constant", "uniform", "two-point"}[(i/2)%3]
		if pt.Index != i || pt.Values[0] != wantG || pt.Values[1] != wantZ || pt.Options.Seed != 7+uint64(i%2) {
			t.Errorf("point %d: index %d, values %v, seed %d; want %s %s seed %d", i, pt.Index, pt.Values, pt.Options.Seed, wantG, wantZ, 7+i%2)
		}
		if fmt.Sprint(pt.Setting.Gamma) != wantG || string(pt.Setting.Z.Kind) != wantZ {
			t.Errorf("point %d: setting γ = %g, z %s", i, pt.Setting.Gamma, pt.Setting.Z.Kind)
		}
	}
	for n := 1; n <= 5; n++ {
		seen := make([]int, len(pts))
		for i := range n {
			for _, pt := range pts {
				if (Shard{i, n}).Has(pt.Index) {
					seen[pt.Index]++
				}
			}
		}
		for i, c := range seen {
			if c != 1 {
				t.Errorf("%d shards: point %d is in %d shards", n, i, c)
			}
		}
	}
	if a, b := p.Hash(), testPlan(t).Hash(); a != b {
		t.Errorf("the same plan hashes to %s and %s", a, b)
	}
	q := testPlan(t)
	q.Seeds = 3
	if p.Hash() == q.Hash() {
		t.Error("plans with different seeds hash the same")
	}
	var back Plan
	b, _ := json.Marshal(p)
	if err := json.Unmarshal(b, &back); err != nil || back.Hash() != p.Hash() {
		t.Errorf("a plan read back from JSON hashes to %s, not %s (%v)", back.Hash(), p.Hash(), err)
	}
}

func TestPlanBadInputNamesTheField(t *testing.T) {
	for _, c := range []struct {
		axes []Axis
		want string
	}{
		{[]Axis{{"colour", []string{"red"}}}, "colour"},
		{[]Axis{{"gamma", []string{"0.5", "x"}}}, "gamma=x"},
		{[]Axis{{"gamma", []string{"1.5"}}}, "gamma"},
		{[]Axis{{"samples", []string{"2.5"}}}, "samples=2.5"},
		{[]Axis{{"epsilon", []string{"0.7"}}}, "epsilon=0.7"},
		{nil, "axes"},
	} {
		p := testPlan(t)
		p.Axes = c.axes
		if _, err := p.Points(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("axes %v: error %v, want one naming %q", c.axes, err, c.want)
		}
	}
}

// fakeCheck is a judge whose result depends on the point only, and which
// counts its calls.
func fakeCheck(calls *atomic.Int32) func(theory.Setting, Options) (*Report, error) {
	return func(s theory.Setting, o Options) (*Report, error) {
		calls.Add(1)
		m := s.Gamma*10 + float64(o.Seed)
		return &Report{Run: RunInfo{Steps: int(o.Seed)}, Results: []ClaimResult{{ID: "C2", Verdict: Holds, Measured: Float(m), Predicted: Float(math.NaN())}}}, nil
	}
}

// A results file cut in the middle of a line (a kill during a write) is
// resumed: the cut line's point runs again, the complete ones do not.
func TestRunnerResumesACutFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.jsonl")
	var calls atomic.Int32
	full, err := (&Runner{Plan: testPlan(t), Jobs: 3, Results: path, Check: fakeCheck(&calls)}).Run()
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(data), "\n")
	// Keep the header, five points and half of the sixth.
	cut := strings.Join(lines[:6], "") + lines[6][:len(lines[6])/2]
	if err := os.WriteFile(path, []byte(cut), 0o644); err != nil {
		t.Fatal(err)
	}
	calls.Store(0)
	r := &Runner{Plan: testPlan(t), Jobs: 2, Results: path, Check: fakeCheck(&calls)}
	resumed, err := r.Run()
	if err != nil {
		t.Fatal(err)
	}
	if r.Resumed != 5 || calls.Load() != 7 {
		t.Errorf("resumed %d points and ran %d, want 5 and 7", r.Resumed, calls.Load())
	}
	if !samePoints(full, resumed) {
		t.Error("the resumed sweep differs from the uninterrupted one")
	}
	if n := strings.Count(mustRead(t, path), "\n"); n != 13 {
		t.Errorf("results file has %d lines, want 13", n)
	}
	// Another plan is refused, and the file is left as it was.
	before := mustRead(t, path)
	other := testPlan(t)
	other.Seed = 8
	if _, err := (&Runner{Plan: other, Results: path, Check: fakeCheck(&calls)}).Run(); !errors.Is(err, ErrOtherPlan) {
		t.Errorf("another plan: error %v", err)
	}
	if mustRead(t, path) != before {
		t.Error("a refused results file was modified")
	}
}

// Assemble refuses an incomplete set of shards and gives the same sweep as
// one run for a complete one.
func TestAssembleShards(t *testing.T) {
	dir := t.TempDir()
	var calls atomic.Int32
	one, err := (&Runner{Plan: testPlan(t), Jobs: 1, Check: fakeCheck(&calls)}).Run()
	if err != nil {
		t.Fatal(err)
	}
	var parts []map[int]SweepPoint
	for i := range 3 {
		path := filepath.Join(dir, fmt.Sprint(i))
		if _, err := (&Runner{Plan: testPlan(t), Shard: Shard{i, 3}, Jobs: 2, Results: path, Check: fakeCheck(&calls)}).Run(); err != nil {
			t.Fatal(err)
		}
		_, pts, err := ReadResults(path)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, pts)
	}
	if _, err := Assemble(testPlan(t), parts[:2]); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("two of three shards: error %v, want points missing", err)
	}
	merged, err := Assemble(testPlan(t), parts)
	if err != nil {
		t.Fatal(err)
	}
	if !samePoints(one, merged) {
		t.Error("merged shards differ from one run")
	}
}

func samePoints(a, b *Sweep) bool {
	if len(a.Points) != len(b.Points) {
		return false
	}
	for i := range a.Points {
		if !samePoint(a.Points[i], b.Points[i]) {
			return false
		}
	}
	ca, _ := json.Marshal(a.Cells)
	cb, _ := json.Marshal(b.Cells)
	return string(ca) == string(cb)
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
