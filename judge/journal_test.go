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
	"syscall"
	"testing"
)

// A results file holding the whole test plan, written by one run, and its
// lines.
func journal(t *testing.T) (string, []string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "r.jsonl")
	var calls atomic.Int32
	if _, err := (&Runner{Plan: testPlan(t), Jobs: 2, Results: path, Check: fakeCheck(&calls)}).Run(); err != nil {
		t.Fatal(err)
	}
	return path, strings.SplitAfter(mustRead(t, path), "\n")
}

// editLine rewrites the JSON point of a line through f.
func editLine(t *testing.T, line string, f func(p map[string]any)) string {
	t.Helper()
	var l map[string]any
	if err := json.Unmarshal([]byte(line), &l); err != nil {
		t.Fatal(err)
	}
	f(l["point"].(map[string]any))
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// The reader refuses, naming the line, every line the sweep could not have
// written, in the resuming sweep (openResults) and in merge (ReadResults)
// alike, and leaves the file untouched; it forgives only a torn last line,
// and reads a point recorded twice with the same results once.
func TestJournalRefusesForeignLines(t *testing.T) {
	path, lines := journal(t)
	n := len(lines) - 1 // the last element is "" after the final newline
	cases := []struct {
		name, want string
		text       string
	}{
		{"garbage tail", "line 3: 10 bytes after the line's JSON value", strings.Join(lines[:2], "") + strings.TrimSuffix(lines[2], "\n") + " GARBAGE {}\n" + strings.Join(lines[3:], "")},
		{"second value", "line 3: ", strings.Join(lines[:2], "") + strings.TrimSuffix(lines[2], "\n") + lines[4] + strings.Join(lines[3:], "")},
		{"out of plan", "line 4: point index 99 is not a point", strings.Join(lines[:3], "") + editLine(t, lines[3], func(p map[string]any) { p["index"] = 99 }) + strings.Join(lines[4:], "")},
		{"negative index", "line 2: point index -1 is not a point", lines[0] + editLine(t, lines[1], func(p map[string]any) { p["index"] = -1 }) + strings.Join(lines[2:], "")},
		{"conflicting duplicate", fmt.Sprintf("line %d: point", n+1), strings.Join(lines, "") + editLine(t, lines[2], func(p map[string]any) { p["steps"] = 12345.0 })},
	}
	for _, c := range cases {
		if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		var calls atomic.Int32
		_, err := (&Runner{Plan: testPlan(t), Results: path, Check: fakeCheck(&calls)}).Run()
		if !errors.Is(err, ErrCorruptResults) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: sweep error %v, want ErrCorruptResults containing %q", c.name, err, c.want)
		}
		if _, _, err := ReadResults(path); !errors.Is(err, ErrCorruptResults) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: merge error %v, want ErrCorruptResults containing %q", c.name, err, c.want)
		}
		if calls.Load() != 0 || mustRead(t, path) != c.text {
			t.Errorf("%s: %d points ran or the file changed", c.name, calls.Load())
		}
	}
	// Forgiven: a duplicate with the same results (another run time) and a
	// torn last line, which the resuming sweep truncates away.
	same := editLine(t, lines[2], func(p map[string]any) { p["seconds"] = 99.0 })
	text := strings.Join(lines, "") + same + lines[3][:len(lines[3])/2]
	os.WriteFile(path, []byte(text), 0o644)
	_, pts, err := ReadResults(path)
	if err != nil || len(pts) != n-1 {
		t.Fatalf("same duplicate and torn tail: %d points, error %v; want %d", len(pts), err, n-1)
	}
	var calls atomic.Int32
	if _, err := (&Runner{Plan: testPlan(t), Results: path, Check: fakeCheck(&calls)}).Run(); err != nil || calls.Load() != 0 {
		t.Fatalf("resume: error %v, %d points ran, want none", err, calls.Load())
	}
	if got := mustRead(t, path); got != strings.Join(lines, "")+same {
		t.Error("the torn last line was not truncated away")
	}
}

// While a sweep holds its results file, a second one is refused at once,
// naming the process holding it (this one), and writes nothing.
func TestJournalLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.jsonl")
	rf, _, err := openResults(path, testPlan(t), Shard{})
	if err != nil {
		t.Fatal(err)
	}
	before := mustRead(t, path)
	var calls atomic.Int32
	_, err = (&Runner{Plan: testPlan(t), Results: path, Check: fakeCheck(&calls)}).Run()
	want := fmt.Sprintf("in use by process %d", os.Getpid())
	if !errors.Is(err, ErrResultsInUse) || !strings.Contains(err.Error(), want) {
		t.Errorf("second sweep: error %v, want ErrResultsInUse %q", err, want)
	}
	if calls.Load() != 0 || mustRead(t, path) != before {
		t.Error("the refused sweep ran points or wrote")
	}
	rf.close()
	if _, err := (&Runner{Plan: testPlan(t), Results: path, Check: fakeCheck(&calls)}).Run(); err != nil {
		t.Errorf("after the first closed: %v", err)
	}
}

// Only regular files and new paths are results files.
func TestJournalPath(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, "/dev/null", dir} {
		if err := CheckResultsPath(p); !errors.Is(err, ErrResultsPath) {
			t.Errorf("%s: %v, want ErrResultsPath", p, err)
		}
		var calls atomic.Int32
		if _, err := (&Runner{Plan: testPlan(t), Results: p, Check: fakeCheck(&calls)}).Run(); !errors.Is(err, ErrResultsPath) {
			t.Errorf("sweep on %s: %v, want ErrResultsPath", p, err)
		}
		if _, _, err := ReadResults(p); !errors.Is(err, ErrResultsPath) {
			t.Errorf("merge of %s: %v, want ErrResultsPath", p, err)
		}
	}
	if err := CheckResultsPath(filepath.Join(dir, "new.jsonl")); err != nil {
		t.Errorf("a new path: %v", err)
	}
}

// A complete results file that cannot be written is read and the sweep
// rendered without writing; an incomplete one is refused. (As root, which
// writes read-only files, only the reader behind the fallback is tested.)
func TestJournalReadOnly(t *testing.T) {
	path, lines := journal(t)
	plan := testPlan(t)
	if done, err := readOnlyResults(path, plan, Shard{}); err != nil || len(done) != len(lines)-2 {
		t.Errorf("complete: %d points, error %v", len(done), err)
	}
	short := filepath.Join(filepath.Dir(path), "short.jsonl")
	os.WriteFile(short, []byte(strings.Join(lines[:4], "")), 0o444)
	want := "read-only and holds 3 of"
	if _, err := readOnlyResults(short, plan, Shard{}); !errors.Is(err, ErrResultsPath) || !strings.Contains(err.Error(), want) {
		t.Errorf("incomplete: %v", err)
	}
	if os.Geteuid() == 0 {
		return
	}
	os.Chmod(path, 0o444)
	var calls atomic.Int32
	one, _ := (&Runner{Plan: plan, Check: fakeCheck(&calls)}).Run()
	calls.Store(0)
	sw, err := (&Runner{Plan: plan, Results: path, Check: fakeCheck(&calls)}).Run()
	if err != nil || calls.Load() != 0 || !samePoints(one, sw) {
		t.Fatalf("complete read-only file: error %v, %d points ran", err, calls.Load())
	}
	if _, err := (&Runner{Plan: plan, Results: short, Check: fakeCheck(&calls)}).Run(); !errors.Is(err, ErrResultsPath) || !strings.Contains(err.Error(), want) {
		t.Errorf("incomplete read-only file: %v", err)
	}
}

// quantileOf never indexes with a level outside [0, 1]: it returns NaN.
func TestQuantileOfRefusesBadLevels(t *testing.T) {
	xs := []float64{1, 2, 3}
	for _, q := range []float64{math.NaN(), -0.1, 1.2, math.Inf(1), math.Inf(-1)} {
		if v := quantileOf(xs, nil, q); !math.IsNaN(v) {
			t.Errorf("q = %g: %g, want NaN", q, v)
		}
		if v := quantileOf(xs, []float64{1, 1, 1}, q); !math.IsNaN(v) {
			t.Errorf("weighted, q = %g: %g, want NaN", q, v)
		}
	}
	if v := quantileOf(xs, nil, 1); v != 3 {
		t.Errorf("q = 1: %g, want the largest, 3", v)
	}
}

// C5's sharp prediction at 2δ > 1 (δ outside DeltaRange, as a caller that
// bypasses Options.validate could give) is not asserted, with the reason,
// rather than a NaN band; the options refuse such a δ.
func TestSharpC5OutsideItsLevels(t *testing.T) {
	ev := &Evidence{Env: map[string]float64{"δ": 0.6}, Sharp: &Sharp{PoolTV: []float64{0.1, 0.2, 0.3}, PoolImages: 100, TrainImages: 100}}
	r := sharpC5(ev, 0.2)
	if r.Inside || !strings.Contains(r.Note, "2δ = 1.2") {
		t.Errorf("δ = 0.6: %+v, want not asserted with the reason", r)
	}
	for _, d := range []float64{0.6, 1, math.NaN(), 0} {
		o := Options{Delta: d, Epsilon: 0.1, Samples: 16, Eval: 16, MaxSteps: 10}
		if err := o.validate(); err == nil || !strings.Contains(err.Error(), "delta") {
			t.Errorf("δ = %g: %v, want refused", d, err)
		}
	}
	ev.Env["δ"] = 0.5
	if r := sharpC5(ev, 0.3); r.Note != "" || math.IsNaN(float64(r.Low)) || math.IsNaN(float64(r.High)) {
		t.Errorf("δ = ½: %+v, want a finite band", r)
	}
}
