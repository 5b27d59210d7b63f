package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mimverify/theory"
)

// quickSweep is a sweep of eight grid4 points of about 0.1 s each, run one
// at a time: long enough (≈ 1 s) for a second sweep to meet its lock.
func quickSweep(results string, extra ...string) []string {
	return append([]string{"sweep", "--preset", "grid4", "--vary", "gamma=0.3,0.35,0.4,0.45,0.5,0.55,0.6,0.65",
		"--claims", "C2,C3", "--samples", "64", "--eval", "16", "--jobs", "1", "--progress", "never", "--results", results}, extra...)
}

// waitProc waits for a started CLI process to its end and returns its status and
// standard error, failing on a Go panic or stack dump.
func waitProc(t *testing.T, cmd *exec.Cmd, stderr *bytes.Buffer) int {
	t.Helper()
	err := cmd.Wait()
	if strings.Contains(stderr.String(), "panic") || strings.Contains(stderr.String(), "goroutine ") {
		t.Fatalf("%v: a Go trace on stderr:\n%s", cmd.Args[1:], stderr)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0
}

// Two sweeps on one results file: the second, started while the first
// holds the file, is refused with exit 2 naming the process; the first's
// sweep equals that of a single run without a results file, row for row.
// Then a results file with a garbage tail on line 3, with an index outside
// the plan, or with one point recorded twice with different results is
// refused by sweep and by merge with exit 2 naming the line.
func TestTwoSweepsOnOneResultsFile(t *testing.T) {
	dir := t.TempDir()
	results := filepath.Join(dir, "r.jsonl")
	var errA, errB bytes.Buffer
	a := cliProcess(t, nil, quickSweep(results, "--format", "json", "--out", filepath.Join(dir, "a.json"))...)
	a.Stderr = &errA
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	// Start the second once the first holds the file (its header is the
	// first thing written under the lock).
	for deadline := time.Now().Add(10 * time.Second); countLines(results) < 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first sweep wrote no header")
		}
	}
	b := cliProcess(t, nil, quickSweep(results, "--format", "json", "--out", filepath.Join(dir, "b.json"))...)
	b.Stderr = &errB
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	statusB := waitProc(t, b, &errB)
	statusA := waitProc(t, a, &errA)
	if statusA != 0 {
		t.Fatalf("first sweep: exit %d: %s", statusA, errA.String())
	}
	want := fmt.Sprintf("in use by process %d", a.Process.Pid)
	if statusB != 2 || !strings.Contains(errB.String(), "--results") || !strings.Contains(errB.String(), want) {
		t.Fatalf("second sweep: exit %d, stderr %q; want 2 naming --results, %q", statusB, errB.String(), want)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.json")); err == nil {
		t.Error("the refused sweep wrote its --out")
	}
	single := quickSweep("", "--format", "json", "--out", filepath.Join(dir, "one.json"))
	if st, _, e := runCLI(t, single...); st != 0 { // --results "": no results file
		t.Fatalf("single run: exit %d: %s", st, e)
	}
	sameSweep(t, "the sweep that held the file", filepath.Join(dir, "one.json"), filepath.Join(dir, "a.json"))
	if n := countLines(results); n != 9 {
		t.Errorf("results file: %d lines, want a header and 8 points", n)
	}
	refuseCorruptJournal(t, results)
}

// refuseCorruptJournal edits a complete results file three ways and checks
// that sweep and merge refuse each, exit 2, naming the line.
func refuseCorruptJournal(t *testing.T, results string) {
	t.Helper()
	data, err := os.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	edit := func(i int, f func(p map[string]any)) string {
		var l map[string]any
		json.Unmarshal([]byte(lines[i]), &l)
		f(l["point"].(map[string]any))
		b, _ := json.Marshal(l)
		return string(b) + "\n"
	}
	cases := []struct{ name, text, want string }{
		{"garbage tail on line 3", strings.Join(lines[:2], "") + strings.TrimSuffix(lines[2], "\n") + ` GARBAGE {"x": 1}` + "\n" + strings.Join(lines[3:], ""), "line 3: "},
		{"index outside the plan", strings.Join(lines[:4], "") + edit(4, func(p map[string]any) { p["index"] = 8.0 }) + strings.Join(lines[5:], ""), "line 5: point index 8 is not a point"},
		{"conflicting duplicate", string(data) + edit(2, func(p map[string]any) { p["steps"] = 1.0 }), "line 10: point"},
	}
	for _, c := range cases {
		path := filepath.Join(filepath.Dir(results), "bad.jsonl")
		if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		st, _, e := runCLI(t, quickSweep(path)...)
		if st != 2 || !strings.Contains(e, "--results") || !strings.Contains(e, c.want) {
			t.Errorf("%s: sweep exit %d, stderr %q; want 2 naming --results and %q", c.name, st, e, c.want)
		}
		st, _, e = runCLI(t, "merge", path)
		if st != 2 || !strings.Contains(e, c.want) {
			t.Errorf("%s: merge exit %d, stderr %q; want 2 naming %q", c.name, st, e, c.want)
		}
		if got, _ := os.ReadFile(path); string(got) != c.text {
			t.Errorf("%s: the refused file was modified", c.name)
		}
	}
}

// --results must be a regular file or a new path: a FIFO (which sweep
// read forever), /dev/null (truncate failed, exit 1), /dev/stdout and "-"
// (which created a file named -) are refused before any point runs, exit
// 2 naming --results.
func TestResultsMustBeARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, "/dev/null", "/dev/stdout", "-", dir} {
		cmd := cliProcess(t, nil, quickSweep(path)...)
		cmd.Dir = dir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cmd.Stdout = new(bytes.Buffer) // a pipe, as in the report
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		timer := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill() })
		st := waitProc(t, cmd, &stderr)
		timer.Stop()
		if st != 2 || !strings.Contains(stderr.String(), "--results") {
			t.Errorf("--results %s: exit %d, stderr %q; want 2 naming --results", path, st, stderr.String())
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "-")); err == nil {
		t.Error("--results - created a file named -")
	}
	if st, _, e := runCLI(t, "merge", fifo); st != 2 || !strings.Contains(e, "regular file") {
		t.Errorf("merge of a FIFO: exit %d, %q", st, e)
	}
}

// A complete results file that is read-only renders the sweep again
// without writing; merge --figures on a sweep of three axes exits 2, as
// sweep --figures does.
func TestResultsReadOnlyAndFigureAxes(t *testing.T) {
	dir := t.TempDir()
	results := filepath.Join(dir, "r.jsonl")
	three := []string{"sweep", "--preset", "grid4", "--vary", "gamma=0.4", "--vary", "keys=all", "--vary", "z.kind=constant",
		"--claims", "C2", "--samples", "16", "--eval", "16", "--progress", "never", "--results", results}
	st, first, e := runCLI(t, three...)
	if st != 0 {
		t.Fatalf("sweep: exit %d: %s", st, e)
	}
	os.Chmod(results, 0o444)
	before, _ := os.ReadFile(results)
	st, again, e := runCLI(t, three...)
	if st != 0 || again != first {
		t.Errorf("read-only complete file: exit %d, %s; output differs: %v", st, e, again != first)
	}
	if after, _ := os.ReadFile(results); !bytes.Equal(before, after) {
		t.Error("the read-only results file changed")
	}
	st, _, e = runCLI(t, append(three, "--figures", filepath.Join(dir, "f"))...)
	st2, _, e2 := runCLI(t, "merge", "--figures", filepath.Join(dir, "f"), results)
	if st != 2 || st2 != 2 || !strings.Contains(e2, "--figures") {
		t.Errorf("--figures on three axes: sweep exit %d (%s), merge exit %d (%s); want 2 and 2", st, e, st2, e2)
	}
}

// δ beyond ½ is refused by check and sweep (check --delta 0.6 panicked in
// quantileOf; sweep --vary delta=0.3,0.6 took the sweep down); δ = ½, the
// end of the range, runs.
func TestDeltaRange(t *testing.T) {
	base := []string{"--preset", "grid4", "--samples", "16", "--eval", "16", "--max-steps", "300", "--claims", "C5", "--progress", "never"}
	st, _, e := runCLI(t, append([]string{"check", "--delta", "0.6"}, base...)...)
	if st != 2 || !strings.Contains(e, "--delta = 0.6: must be in (0, 0.5]") {
		t.Errorf("check --delta 0.6: exit %d, %q", st, e)
	}
	st, _, e = runCLI(t, append([]string{"sweep", "--vary", "delta=0.3,0.6"}, base...)...)
	if st != 2 || !strings.Contains(e, "delta") {
		t.Errorf("sweep --vary delta=0.3,0.6: exit %d, %q", st, e)
	}
	st, out, e := runCLI(t, append([]string{"check", "--delta", "0.5"}, base...)...)
	if st > 1 || !strings.Contains(out, "C5") {
		t.Errorf("check --delta 0.5: exit %d, %q %q", st, out, e)
	}
}

// run --eta 0 keeps the setting's η, as --help says; a setting whose η/4
// would be 0 is refused by check with exit 2 naming eta (it exited 1 with
// "exact: eta = 0").
func TestEtaEdges(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")
	if st, _, e := runCLI(t, "run", "--preset", "grid4", "--engine", "exact", "--eta", "0", "--steps", "1", "--samples", "8", "--out", out); st != 0 {
		t.Fatalf("run --eta 0: exit %d: %s", st, e)
	}
	grid4, _ := theory.Preset("grid4")
	if got := readRun(t, out).Setting.Eta; got != grid4.Eta {
		t.Errorf("run --eta 0 ran with η = %g, want the preset's %g", got, grid4.Eta)
	}
	cfg := filepath.Join(dir, "tiny.yaml")
	os.WriteFile(cfg, []byte("preset: grid4\neta: 5e-324\n"), 0o644)
	st, _, e := runCLI(t, "check", "--config", cfg, "--claims", "C8", "--samples", "16", "--progress", "never")
	if st != 2 || !strings.Contains(e, "eta = 5e-324: must be a step size in [1e-09") {
		t.Errorf("check with η = 5e-324: exit %d, %q", st, e)
	}
}

// --config - reads the setting from the standard input.
func TestConfigFromStdin(t *testing.T) {
	cmd := cliProcess(t, nil, "setting", "--config", "-", "--format", "json")
	cmd.Stdin = strings.NewReader("preset: grid4\ngamma: 0.35\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("setting --config -: %v", err)
	}
	var s theory.Setting
	if err := json.Unmarshal(out, &s); err != nil || s.Gamma != 0.35 || s.P != 16 {
		t.Errorf("read P = %d, γ = %g (%v); want grid4's P = 16 with γ = 0.35", s.P, s.Gamma, err)
	}
}
