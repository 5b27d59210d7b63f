package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mimverify/dynamics"
	"mimverify/engine"
	"mimverify/judge"
	"mimverify/theory"
)

// nanAt is the exact engine, except that the loss becomes NaN at step
// nanStep: what an unstable step size does (no preset is unstable enough to
// meet NaN within a quick test: the softmax saturates first).
type nanAt struct{ nanStep int }

func (nanAt) ID() engine.ID { return engine.Exact }

func (e nanAt) Run(p engine.Problem, sch engine.Schedule, obs engine.Observer) (theory.Trajectory, error) {
	step := obs.Step
	obs.Step = func(t, steps int) error {
		if t == e.nanStep {
			return &theory.NonFiniteError{Engine: string(engine.Exact), Step: t, Quantity: "loss", Value: math.NaN()}
		}
		if step == nil {
			return nil
		}
		return step(t, steps)
	}
	return dynamics.Exact{}.Run(p, sch, obs)
}

// withNaNEngine makes --engine exact meet NaN at step 30 for the test.
func withNaNEngine(t *testing.T) {
	for i := range judge.Engines {
		if judge.Engines[i].ID == engine.Exact {
			orig := judge.Engines[i].New
			judge.Engines[i].New = func(judge.EngineOptions) (engine.Engine, error) { return nanAt{30}, nil }
			t.Cleanup(func() { judge.Engines[i].New = orig })
			return
		}
	}
	t.Fatal("no exact engine in the registry")
}

// leftovers lists the hidden temporary files left in dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, ".mv-*"))
	if err != nil {
		t.Fatal(err)
	}
	return matches
}

// A run that meets NaN exits 1 naming the step and the quantity, and the
// previous output (JSON or npz) stays as it was: the partial trajectory is
// not written anywhere (docs/FORMATS.md, "A run that stops").
func TestRunNaNKeepsPreviousOutput(t *testing.T) {
	withNaNEngine(t)
	dir := t.TempDir()
	for _, name := range []string{"old.json", "old.npz"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("previous"), 0o644); err != nil {
			t.Fatal(err)
		}
		status, _, errs := runCLI(t, "run", "--preset", "grid4", "--engine", "exact", "--steps", "100", "--samples", "16",
			"--eta", "1e6", "--progress", "never", "--out", path)
		if status != 1 || !strings.Contains(errs, "step 30") || !strings.Contains(errs, "loss") {
			t.Errorf("%s: status %d, stderr %q; want 1 naming step 30 and the loss", name, status, errs)
		}
		if b, _ := os.ReadFile(path); string(b) != "previous" {
			t.Errorf("%s: the previous output was replaced (%d bytes)", name, len(b))
		}
	}
	if left := leftovers(t, dir); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// startCLI starts mimverify as a subprocess with extra environment.
func startCLI(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "MIMVERIFY_AS_CLI=1")
	var errs bytes.Buffer
	cmd.Stderr = &errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &errs
}

// A signal that ends a command from outside — the terminal closed (SIGHUP),
// Ctrl-\ (SIGQUIT), besides SIGINT and SIGTERM — during 'run --out' removes
// the temporary file, keeps the previous output and exits 128 + the signal.
func TestRunSignalsKeepPreviousOutput(t *testing.T) {
	cfg := tinySetting(t)
	for _, c := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGHUP, 129}, {syscall.SIGQUIT, 131}, {syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		dir := t.TempDir()
		out := filepath.Join(dir, "old.json")
		os.WriteFile(out, []byte("previous"), 0o644)
		cmd, errs := startCLI(t, "run", "--config", cfg, "--engine", "exact", "--samples", "4", "--steps", "10000000",
			"--record-every", "1", "--max-hours", "0", "--progress", "never", "--out", out)
		deadline := time.Now().Add(20 * time.Second)
		for len(leftovers(t, dir)) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond) // into the run, past the first records
		cmd.Process.Signal(c.sig)
		cmd.Wait()
		if got := cmd.ProcessState.ExitCode(); got != c.code {
			t.Errorf("%v: exit status %d, want %d (stderr %q)", c.sig, got, c.code, errs)
		}
		if strings.Contains(errs.String(), "goroutine ") {
			t.Errorf("%v: a Go stack dump on stderr", c.sig)
		}
		if b, _ := os.ReadFile(out); string(b) != "previous" {
			t.Errorf("%v: the previous output was replaced (%d bytes)", c.sig, len(b))
		}
		if left := leftovers(t, dir); len(left) > 0 {
			t.Errorf("%v: temporary files left: %v", c.sig, left)
		}
	}
}

// shell runs mimverify through sh with a redirection of its standard
// output (such as ">&-" to close it) and returns its status and stderr.
func shell(t *testing.T, redirect string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command("sh", append([]string{"-c", `exec "$0" "$@" ` + redirect, os.Args[0]}, args...)...)
	cmd.Env = append(os.Environ(), "MIMVERIFY_AS_CLI=1")
	var errs bytes.Buffer
	cmd.Stderr = &errs
	cmd.Run()
	return cmd.ProcessState.ExitCode(), errs.String()
}

// Output lost on the standard output — closed at start or on a full disk —
// is a failure (exit 1, saying so), and '--out -' into a closed standard
// output is refused before computing (exit 2); a redirection to /dev/null is
// not a closed output.
func TestStandardOutputFailures(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skipf("no /dev/full here: %v", err)
	}
	quick := []string{"run", "--config", tinySetting(t), "--engine", "exact", "--samples", "4", "--steps", "5", "--progress", "never"}
	for _, c := range []struct {
		redirect string
		args     []string
		status   int
		want     string
	}{
		{">&-", []string{"setting", "--preset", "grid4"}, 1, "standard output is closed"},
		{">&-", quick, 1, "standard output is closed"},
		{">&-", append(quick, "--out", "-"), 2, "--out -: the standard output is closed"},
		{">/dev/full", []string{"setting", "--preset", "grid4"}, 1, "no space left"},
		{">/dev/full", quick, 1, "no space left"},
		{">/dev/full", append(quick, "--out", "-"), 1, "no space left"},
		{">/dev/null", []string{"setting", "--preset", "grid4"}, 0, ""},
		{">/dev/null", append(quick, "--out", "-"), 0, ""},
	} {
		status, errs := shell(t, c.redirect, c.args...)
		if status != c.status || !strings.Contains(errs, c.want) {
			t.Errorf("%s %v: status %d, stderr %q; want %d saying %q", c.redirect, c.args, status, errs, c.status, c.want)
		}
	}
}

// smallTmpfs mounts a tmpfs of size bytes in a new directory (read-only
// when ro) and unmounts it at the end; the test is skipped where mounting
// is not allowed (not root, no CAP_SYS_ADMIN).
func smallTmpfs(t *testing.T, size int, ro bool) string {
	t.Helper()
	dir := t.TempDir()
	var flags uintptr
	if ro {
		flags = syscall.MS_RDONLY
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", flags, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// A full disk fails 'setting --out' (exit 1, naming the path) and leaves
// the previous file as it was.
func TestFullDiskKeepsPreviousOutput(t *testing.T) {
	dir := smallTmpfs(t, 64<<10, false)
	out := filepath.Join(dir, "old.yaml")
	if status, _, errs := runCLI(t, "setting", "--preset", "grid4", "--out", out); status != 0 {
		t.Fatalf("status %d: %s", status, errs)
	}
	before, _ := os.ReadFile(out)
	fill, _ := os.Create(filepath.Join(dir, "fill"))
	fill.Write(make([]byte, 128<<10)) // fails when the disk is full: that is the point
	fill.Close()
	status, _, errs := runCLI(t, "setting", "--preset", "default", "--out", out)
	if status != 1 || !strings.Contains(errs, out) || !strings.Contains(errs, "no space") {
		t.Errorf("full disk: status %d, stderr %q; want 1 naming %s and the full disk", status, errs, out)
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(before, after) {
		t.Error("the previous file changed")
	}
	if left := leftovers(t, dir); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
