package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"mimverify/engine"
	"mimverify/judge"
	"mimverify/theory"
)

// gridSetting writes a setting on a side×side grid with two clusters,
// blocks of blk×blk and bands of two rows.
func gridSetting(t *testing.T, side, blk int) string {
	var blocks, bands []string
	for r := range side {
		for c := range side {
			blocks = append(blocks, fmt.Sprint((r/blk)*(side/blk)+c/blk))
			bands = append(bands, fmt.Sprint(r/2))
		}
	}
	path := filepath.Join(t.TempDir(), fmt.Sprintf("grid%d.yaml", side))
	cfg := fmt.Sprintf("P: %d\nside: %d\nclusters: [{areas: [%s]}, {areas: [%s]}]\nz: {kind: constant, L: 1}\ngamma: 0.5\neta: 1\n",
		side*side, side, strings.Join(blocks, ","), strings.Join(bands, ","))
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// stripSetting writes a setting of P positions in one cluster of areas of
// size consecutive positions (no grid).
func stripSetting(t *testing.T, P, size int) string {
	labels := make([]string, P)
	for p := range labels {
		labels[p] = fmt.Sprint(p / size)
	}
	path := filepath.Join(t.TempDir(), fmt.Sprintf("strip%d.yaml", P))
	cfg := fmt.Sprintf("P: %d\nclusters: [{areas: [%s]}]\nz: {kind: constant, L: 1}\ngamma: 0.5\neta: 1\n", P, strings.Join(labels, ","))
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The memory estimate of every engine is within [0.8, 1.5]× the peak
// resident memory measured in a child process (its max RSS), over a grid of
// settings (P = 16 to 2048, issue 24's campaign sizes among them), sample
// counts and engines, and then of reduce, check and sweep: below 0.8 a run
// the machine cannot hold would start, above 1.5 a run it can would be
// refused.
func TestCostEstimatesHold(t *testing.T) {
	if testing.Short() {
		t.Skip("a grid of runs in child processes")
	}
	g256, g1024 := gridSetting(t, 16, 4), gridSetting(t, 32, 8)
	// The sizes of issue 24's campaign, whose peaks were 2.5–3.7× the
	// estimates then: P = 2048 exact, P = 1024 orbit, P = 512 full.
	p512, p2048 := stripSetting(t, 512, 32), stripSetting(t, 2048, 64)
	// Singleton areas on a 16×16 grid, z i.i.d.: 256 area classes per
	// CRN draw.
	single256 := filepath.Join(t.TempDir(), "single256.yaml")
	labels := make([]string, 256)
	for p := range labels {
		labels[p] = fmt.Sprint(p)
	}
	if err := os.WriteFile(single256, []byte("P: 256\nside: 16\nclusters: [{areas: ["+strings.Join(labels, ",")+"]}]\nz: {kind: uniform, L: 0.5, U: 1.5}\ngamma: 0.5\neta: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The child is the mimverify binary itself, built here: this test
	// binary carries the test packages' code and data, which move the
	// collector's pacing and so the peak (by 2–6 MB, not a constant).
	bin := buildMimverify(t)
	for _, c := range []struct {
		setting string // a preset or a config file
		eng     engine.ID
		n       int
	}{
		{"default", engine.Exact, 256}, {g256, engine.Exact, 64},
		{"default", engine.Full, 256}, {g256, engine.Full, 16},
		{"default", engine.Population, 0}, {g256, engine.Flow, 64},
		{"default", engine.Orbit, 0}, {"vit14", engine.MeanField, 0}, {g256, engine.Orbit, 0},
		{p2048, engine.Exact, 16}, {g1024, engine.Orbit, 0}, {p512, engine.Full, 4}, {single256, engine.Orbit, 0},
	} {
		sel := []string{"--preset", c.setting}
		s, err := theory.Preset(c.setting)
		if err != nil {
			sel = []string{"--config", c.setting}
			if s, err = theory.LoadConfig(c.setting); err != nil {
				t.Fatal(err)
			}
		}
		cost, err := judge.EstimateCost(c.eng, &s, judge.EngineOptions{}, c.n, 1)
		if err != nil {
			t.Fatal(err)
		}
		args := append([]string{"run", "--engine", string(c.eng), "--steps", "1", "--progress", "never"}, sel...)
		if c.n > 0 {
			args = append(args, "--samples", fmt.Sprint(c.n))
		}
		status, out, peak := peakOf(t, bin, args...)
		if status != 0 {
			t.Fatalf("%v: status %d: %s", args, status, out)
		}
		checkRatio(t, fmt.Sprintf("%-7s %-10s n = %4d", s.Name, c.eng, c.n), cost.Bytes, float64(peak))
	}
	commandEstimatesHold(t, bin, g256, g1024)
}

// checkRatio fails the test when the estimate is outside [0.8, 1.5]× the
// measured peak.
func checkRatio(t *testing.T, what string, estimate, peak float64) {
	t.Helper()
	ratio := estimate / peak
	t.Logf("%s: estimate %6.1f MB, peak RSS %6.1f MB, ratio %.2f", what, estimate/1e6, peak/1e6, ratio)
	if !(ratio >= 0.8 && ratio <= 1.5) {
		t.Errorf("%s: estimate %.1f MB is %.2f× the peak %.1f MB, outside [0.8, 1.5]", what, estimate/1e6, ratio, peak/1e6)
	}
}

// commandEstimatesHold is TestCostEstimatesHold for reduce, check (its
// stages: main run, controls, reduced ODE, agreement, measurements) and
// sweep (points at once): the estimate is the one the command prints when
// it refuses (--max-memory 1e-9), the peak that of the same command run.
func commandEstimatesHold(t *testing.T, bin, g256, g1024 string) {
	g64, single := gridSetting(t, 8, 2), campaignSettings(t)["single"]
	departed := filepath.Join(t.TempDir(), "overlap.yaml")
	if err := os.WriteFile(departed, []byte("preset: default\ndepartures: {feature_overlap: 0.3}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fast := []string{"--max-steps", "300", "--progress", "never"}
	for _, args := range [][]string{
		{"reduce", "--preset", "vit14"},
		{"reduce", "--config", g1024},
		{"reduce", "--config", g256, "--meanfield"},
		{"reduce", "--config", single},
		append([]string{"check", "--config", g64, "--claims", "C2,C3", "--samples", "64"}, fast...),
		append([]string{"check", "--config", g256, "--claims", "C2", "--sharp=false", "--controls=false", "--samples", "16", "--eval", "16"}, fast...),
		append([]string{"check", "--config", single, "--claims", "C1,C2,C3", "--max-steps", "100"}, fast[2:]...),
		// --power 4: four times the images and the reduced run's draws.
		append([]string{"check", "--preset", "default", "--claims", "C2,C4", "--power", "4", "--controls=false"}, fast...),
		append([]string{"check", "--config", departed, "--claims", "C2", "--sharp=false", "--samples", "32", "--eval", "32"}, fast...),
		append([]string{"sweep", "--preset", "default", "--vary", "gamma=0.4,0.5", "--claims", "C2,C3", "--samples", "64", "--jobs", "2"}, fast...),
		append([]string{"sweep", "--preset", "default", "--vary", "gamma=0.4,0.5", "--claims", "C2,C3", "--engine", "orbit", "--jobs", "2"}, fast...),
	} {
		status, out, _ := peakOf(t, bin, append(args, "--max-memory", "1e-9")...)
		m := regexp.MustCompile(`needs about ([0-9.e+-]+) GB`).FindStringSubmatch(out)
		if status != 2 || m == nil {
			t.Fatalf("%v --max-memory 1e-9: status %d, %q; want 2 with the estimate", args, status, out)
		}
		gb, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		status, out, peak := peakOf(t, bin, args...)
		if status > 1 {
			t.Fatalf("%v: status %d: %s", args, status, out)
		}
		checkRatio(t, strings.Join(append(args[:2:2], filepath.Base(args[2])), " "), gb*1e9, float64(peak))
	}
}

// buildMimverify builds the mimverify binary into a temporary directory
// (the build cache makes it a link); the test is skipped where no go
// command is on the PATH.
func buildMimverify(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build mimverify with: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "mimverify")
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// peakOf runs bin with args and returns its exit status, output and peak
// resident memory in bytes (the VmHWM it writes at exit, MIMVERIFY_HWM_FILE).
func peakOf(t *testing.T, bin string, args ...string) (status int, out string, peak int64) {
	t.Helper()
	hwm := filepath.Join(t.TempDir(), "hwm")
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "MIMVERIFY_HWM_FILE="+hwm)
	b, err := cmd.CombinedOutput()
	if err != nil && cmd.ProcessState == nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(hwm)
	if err != nil {
		t.Fatalf("%v: no peak written: %v\n%s", args, err, b)
	}
	kb, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), string(b), kb * 1024
}
