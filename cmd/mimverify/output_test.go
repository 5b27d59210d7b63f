package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestMain lets a test run the command as its own process (for signals and
// peak memory): with MIMVERIFY_AS_CLI=1 the test binary is mimverify.
func TestMain(m *testing.M) {
	if os.Getenv("MIMVERIFY_AS_CLI") == "1" {
		os.Exit(processMain()) // it writes its peak memory where MIMVERIFY_HWM_FILE says
	}
	os.Exit(m.Run())
}

// cli runs mimverify as a subprocess and returns its exit status, output
// and peak resident memory in bytes: the child's own VmHWM, which it writes
// at exit. (The max RSS that wait4 reports is not the child's: Go starts
// children with vfork, and Linux carries the parent's high-water mark
// across the child's exec, so it is at least the test process's own.)
func cli(t *testing.T, args ...string) (status int, out string, maxRSS int64) {
	t.Helper()
	hwm := filepath.Join(t.TempDir(), "hwm")
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "MIMVERIFY_AS_CLI=1", "MIMVERIFY_HWM_FILE="+hwm)
	b, err := cmd.CombinedOutput()
	if err != nil && cmd.ProcessState == nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(hwm)
	if err != nil {
		t.Fatalf("the child did not report its peak memory: %v (status %d: %s)", err, cmd.ProcessState.ExitCode(), b)
	}
	kb, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), string(b), kb * 1024
}

// tinySetting is a setting of 24 correlation entries, for long runs.
func tinySetting(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "tiny.yaml")
	cfg := "P: 4\nclusters: [{areas: [0, 0, 1, 1]}]\nz: {kind: constant, L: 1}\ngamma: 0.5\neta: 1\n"
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// nullDevice returns a private null device (mknod, as root) so that a
// regression that replaced a device by a file could not damage the
// machine's /dev/null; the test is skipped where mknod is not allowed.
func nullDevice(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "null")
	if err := syscall.Mknod(path, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Skipf("cannot make a null device here: %v", err)
	}
	return path
}

// A run recording every step of 200 000 streams its records: its peak
// memory stays below 100 MB where keeping them would take about 200 MB
// (200 001 records of 24 numbers and their slice headers, ~1 kB each with
// the JSON), and the device it writes to stays a device.
func TestLongRunStreamsRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("a 200 000-step run")
	}
	null := nullDevice(t)
	status, out, rss := cli(t, "run", "--config", tinySetting(t), "--engine", "exact", "--samples", "4",
		"--steps", "200000", "--record-every", "1", "--out", null, "--progress", "never")
	if status != 0 {
		t.Fatalf("status %d: %s", status, out)
	}
	t.Logf("peak RSS %.1f MB for 200001 records", float64(rss)/1e6)
	if rss > 100e6 {
		t.Errorf("peak RSS %.1f MB: the records are kept in memory, not streamed", float64(rss)/1e6)
	}
	if fi, err := os.Stat(null); err != nil || fi.Mode()&os.ModeDevice == 0 {
		t.Errorf("%s is no longer a device: %v %v", null, fi.Mode(), err)
	}
}

// The output-path cases of issue 8, each refused before any computing
// (exit 2, naming the flag) or written where the user meant.
func TestOutputPaths(t *testing.T) {
	dir := t.TempDir()
	cfg := tinySetting(t)
	quickRun := []string{"run", "--engine", "exact", "--steps", "3", "--samples", "4", "--progress", "never"}
	refused := []struct {
		args []string
		want string
	}{
		{[]string{"--config", cfg, "--out", cfg}, "--config"},
		{[]string{"--config", cfg, "--out", filepath.Join(dir, "a.json"), "--dump-samples", filepath.Join(dir, "a.json")}, "--dump-samples"},
		{[]string{"--config", cfg, "--out", filepath.Join(dir, "missing", "t.json")}, "missing"},
		{[]string{"--config", cfg, "--out", dir}, "directory"},
	}
	for _, c := range refused {
		status, _, errs := runCLI(t, append(quickRun, c.args...)...)
		if status != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: status %d, stderr %q; want 2 naming %q", c.args, status, errs, c.want)
		}
	}
	// check: --out naming the config is refused before the judge runs.
	if status, _, errs := runCLI(t, "check", "--config", cfg, "--out", cfg); status != 2 || !strings.Contains(errs, "--config") {
		t.Errorf("check --out = --config: status %d, %q", status, errs)
	}
	// A symlinked --out keeps its link; an existing file keeps its mode.
	target := filepath.Join(dir, "target.json")
	link := filepath.Join(dir, "link.json")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if status, _, errs := runCLI(t, append(quickRun, "--config", cfg, "--out", link)...); status != 0 {
		t.Fatalf("symlinked --out: status %d: %s", status, errs)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v %v", fi.Mode(), err)
	}
	if fi, err := os.Stat(target); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() == 0 {
		t.Errorf("target: mode %v size %d (%v); want 0600 and the trajectory", fi.Mode().Perm(), fi.Size(), err)
	}
}
