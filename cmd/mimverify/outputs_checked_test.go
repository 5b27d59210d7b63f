package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Every output path of check and sweep, --figures included, is checked
// before computing: a file where a directory is needed, a read-only
// directory and the same path as --out are refused with exit 2 naming the
// flag, and no report is written.
func TestFiguresCheckedBeforeComputing(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	os.WriteFile(file, []byte("x"), 0o644)
	ro := smallTmpfs(t, 1<<20, true)
	report := filepath.Join(dir, "r.json")
	check := []string{"check", "--preset", "grid4", "--max-steps", "400"}
	sweep := []string{"sweep", "--preset", "grid4", "--vary", "gamma=0.3,0.5", "--claims", "C1", "--max-steps", "400"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{append(check, "--figures", file, "--out", report), "--figures " + file + " is a file"},
		{append(check, "--figures", filepath.Join(file, "sub"), "--out", report), "is a file, not a directory"},
		{append(check, "--figures", filepath.Join(ro, "figs"), "--out", report), "not writable"},
		{append(check, "--figures", ro, "--out", report), "not writable"},
		{append(check, "--figures", filepath.Join(dir, "same"), "--out", filepath.Join(dir, "same")), "same path"},
		{append(sweep, "--figures", file, "--out", report), "--figures " + file + " is a file"},
		{append(sweep, "--figures", report, "--out", report), "same path"},
	} {
		start := time.Now()
		status, _, errs := runCLI(t, c.args...)
		if status != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: status %d, stderr %q; want 2 saying %q", c.args[len(c.args)-4:], status, errs, c.want)
		}
		if _, err := os.Stat(report); err == nil {
			t.Fatalf("%v: the report was written before the refusal", c.args)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("%v: refused after %v: the check ran first", c.args, el)
		}
	}
}

// The free space that limits --out is the file system that receives it: a
// device (even one on a full file system) never runs out, a regular file is
// limited by its own disk, and '--out -' by the disk of the file the
// standard output is redirected to, not the working directory's.
func TestOutputSpaceOfTheRightFileSystem(t *testing.T) {
	small := smallTmpfs(t, 256<<10, false)
	null := filepath.Join(small, "null")
	if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Skipf("cannot make a null device here: %v", err)
	}
	// 1001 records of 24 numbers: about 0.7 MB of JSON, over 256 kB.
	long := []string{"run", "--config", tinySetting(t), "--engine", "exact", "--samples", "4", "--steps", "1000", "--record-every", "1", "--progress", "never"}
	if status, _, errs := runCLI(t, append(long, "--out", null)...); status != 0 {
		t.Errorf("--out a null device on a small disk: status %d: %s", status, errs)
	}
	if status, _, errs := runCLI(t, append(long, "--out", filepath.Join(small, "t.json"))...); status != 2 || !strings.Contains(errs, "GB free") {
		t.Errorf("--out a file on a 256 kB disk: status %d, stderr %q; want 2 naming the free space", status, errs)
	}
	// 3000 samples of P = 4 with two areas: about 300 kB of JSON.
	dump := []string{"run", "--config", tinySetting(t), "--engine", "exact", "--samples", "3000", "--steps", "0", "--progress", "never", "--dump-samples"}
	if status, _, errs := runCLI(t, append(dump, filepath.Join(small, "d.json"))...); status != 2 || !strings.Contains(errs, "--dump-samples") || !strings.Contains(errs, "GB free") {
		t.Errorf("--dump-samples on a 256 kB disk: status %d, stderr %q; want 2 naming the free space", status, errs)
	}
	if status, _, errs := runCLI(t, append(dump, null)...); status != 0 {
		t.Errorf("--dump-samples to a null device on a small disk: status %d: %s", status, errs)
	}
	// An npz goes through spill files in $TMPDIR: their disk counts too.
	t.Setenv("TMPDIR", small)
	if status, _, errs := runCLI(t, append(long, "--format", "npz", "--out", null)...); status != 2 || !strings.Contains(errs, "spill files") {
		t.Errorf("--format npz with TMPDIR on a 256 kB disk: status %d, stderr %q; want 2 naming the spill files", status, errs)
	}
	cmd := exec.Command("sh", append([]string{"-c", `exec "$0" "$@" >"$OUT"`, os.Args[0]}, append(long, "--out", "-")...)...)
	cmd.Env = append(os.Environ(), "MIMVERIFY_AS_CLI=1", "OUT="+filepath.Join(small, "stdout.json"))
	errs, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(errs), "the standard output has") {
		t.Errorf("--out - into a file on a 256 kB disk: status %d, %q; want 2 naming the standard output's free space", cmd.ProcessState.ExitCode(), errs)
	}
}
