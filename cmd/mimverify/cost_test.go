package main

import (
	"fmt"
	"os"
	"path/filepath"
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

// The memory estimate of every engine is within [0.8, 1.5]× the peak
// resident memory measured in a child process (its max RSS), over a grid of
// settings (P = 64 to 256), sample counts and engines: below 0.8 a run the
// machine cannot hold would start, above 1.5 a run it can would be refused.
func TestCostEstimatesHold(t *testing.T) {
	if testing.Short() {
		t.Skip("a grid of runs in child processes")
	}
	g256 := gridSetting(t, 16, 4)
	// The child is this test binary, which carries the test packages' code
	// (rapid, an HTML parser, a JUnit reader, …): its resident memory
	// before any work is not the mimverify binary's. Its own baseline,
	// measured on a command that computes nothing, is replaced by the one
	// the estimate assumes for mimverify (judge's baseBytes, 14 MB).
	if status, out, _ := cli(t, "version"); status != 0 {
		t.Fatalf("version: status %d: %s", status, out)
	}
	_, _, testBase := cli(t, "version")
	const binaryBase = 14e6
	for _, c := range []struct {
		setting string // a preset or a config file
		eng     engine.ID
		n       int
	}{
		{"default", engine.Exact, 256}, {g256, engine.Exact, 64},
		{"default", engine.Full, 256}, {g256, engine.Full, 16},
		{"default", engine.Population, 0}, {g256, engine.Flow, 64},
		{"default", engine.Orbit, 0}, {"vit14", engine.MeanField, 0}, {g256, engine.Orbit, 0},
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
		status, out, childRSS := cli(t, args...)
		if status != 0 {
			t.Fatalf("%v: status %d: %s", args, status, out)
		}
		rss := float64(childRSS) - float64(testBase) + binaryBase
		ratio := cost.Bytes / rss
		t.Logf("%-7s %-10s n = %4d: estimate %6.1f MB, peak RSS %6.1f MB (child %.1f MB, its baseline %.1f MB), ratio %.2f", s.Name, c.eng, c.n, cost.Bytes/1e6, rss/1e6, float64(childRSS)/1e6, float64(testBase)/1e6, ratio)
		if !(ratio >= 0.8 && ratio <= 1.5) {
			t.Errorf("%s %s n = %d: estimate %.1f MB is %.2f× the peak %.1f MB, outside [0.8, 1.5]", s.Name, c.eng, c.n, cost.Bytes/1e6, ratio, rss/1e6)
		}
	}
}
