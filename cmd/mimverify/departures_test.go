package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every reduced engine refuses a setting that departs from the assumptions
// with exit status 2, naming the broken assumption and writing nothing; the
// full engine runs it.
func TestReducedEnginesRefuseDepartures(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "d.yaml")
	if err := os.WriteFile(cfg, []byte("preset: grid4\ndepartures:\n  feature_overlap: 0.3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, eng := range []string{"exact", "population", "flow", "orbit", "meanfield"} {
		out := filepath.Join(dir, eng+".json")
		status, _, stderr := runCLI(t, "run", "--config", cfg, "--engine", eng, "--steps", "2", "--out", out)
		if status != 2 || !strings.Contains(stderr, "feature overlap 0.3: the (A, B) reduction needs orthonormal features, SPEC §2") {
			t.Errorf("%s: status %d, stderr %q", eng, status, stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: wrote %s", eng, out)
		}
	}
	out := filepath.Join(dir, "full.json")
	if status, _, stderr := runCLI(t, "run", "--config", cfg, "--engine", "full", "--steps", "2", "--out", out); status != 0 {
		t.Fatalf("full: status %d: %s", status, stderr)
	}
	if r := readRun(t, out); len(r.Records) == 0 || r.Records[len(r.Records)-1].Step != 2 {
		t.Errorf("full: records %+v, want the last at step 2", r.Records)
	}
}
