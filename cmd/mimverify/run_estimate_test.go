package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run says what it will cost: --dry-run prints the estimate and writes
// nothing; a run estimated over 10 s (or 1 GB of output) prints it on
// stderr before it starts; the default engine is exact.
func TestRunAnnouncesItsCost(t *testing.T) {
	out := filepath.Join(t.TempDir(), "t.json")
	status, stdout, stderr := runCLI(t, "run", "--steps", "100000", "--record-every", "1", "--out", out, "--dry-run")
	if status != 0 || !strings.Contains(stdout, "estimate for the exact engine, 100000 steps") || !strings.Contains(stdout, "GB of output") {
		t.Errorf("--dry-run: status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("--dry-run wrote %s (%v)", out, err)
	}
	// The full model at P = 64 is estimated at about 10 s per 200 steps:
	// 400 steps pass the 10 s mark, so the estimate goes to stderr before
	// the run starts (which /dev/full then stops at its first record).
	status, _, stderr = runCLI(t, "run", "--engine", "full", "--steps", "400", "--out", "/dev/full", "--progress", "never")
	if status == 0 || !strings.HasPrefix(stderr, "mimverify run: estimate for the full engine, 400 steps") {
		t.Errorf("a long run: status %d, stderr %q; want the estimate first", status, stderr)
	}
	status, _, stderr = runCLI(t, "run", "--steps", "20", "--progress", "never")
	if status != 0 || strings.Contains(stderr, "estimate") {
		t.Errorf("a short run: status %d, stderr %q (no estimate expected)", status, stderr)
	}
}
