package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"mimverify/theory"
)

// 'setting --out' writes every preset's label arrays one grid row per line
// and reads back to the same setting, in YAML and in JSON.
func TestSettingLabelsCompactAndRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, name := range theory.PresetNames() {
		want, err := theory.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		side := want.Side
		if side == 0 {
			side = 16
		}
		for _, ext := range []string{".yaml", ".json"} {
			path := filepath.Join(dir, name+ext)
			if status, _, errs := runCLI(t, "setting", "--preset", name, "--out", path); status != 0 {
				t.Fatalf("%s: %s", path, errs)
			}
			data, _ := os.ReadFile(path)
			arrays := labelArrays(string(data))
			if len(arrays) != len(want.Clusters) {
				t.Fatalf("%s: %d areas arrays for %d clusters", path, len(arrays), len(want.Clusters))
			}
			for k, rows := range arrays {
				areas := want.Clusters[k].Areas
				if lines := (len(areas) + side - 1) / side; len(rows) != lines {
					t.Errorf("%s: cluster %d's %d labels take %d lines, want ⌈%d/%d⌉ = %d", path, k, len(areas), len(rows), len(areas), side, lines)
				}
				if got := slices.Concat(rows...); !slices.Equal(got, areas) {
					t.Errorf("%s: cluster %d's areas array reads %v, want %v", path, k, got, areas)
				}
			}
			back, err := theory.LoadConfig(path)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			for k, c := range want.Clusters {
				if k >= len(back.Clusters) || !slices.Equal(back.Clusters[k].Areas, c.Areas) {
					t.Errorf("%s: cluster %d's labels differ after the round trip", path, k)
				}
			}
		}
	}
}

// labelArrays parses the areas arrays of a setting file, YAML or JSON, in
// order: per array, the labels on each of its lines that holds any (the
// lines from the opening "[" to the closing "]").
func labelArrays(text string) [][][]int {
	var arrays [][][]int
	var cur [][]int
	in := false
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, `"areas": [`) || strings.Contains(line, "areas: [") {
			in, cur = true, nil
			line = line[strings.Index(line, "[")+1:]
		}
		if !in {
			continue
		}
		body, closed := strings.CutSuffix(strings.TrimSuffix(strings.TrimSpace(line), ","), "]")
		var row []int
		for _, f := range strings.Split(body, ",") {
			if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
				row = append(row, n)
			}
		}
		if len(row) > 0 {
			cur = append(cur, row)
		}
		if closed {
			arrays, in = append(arrays, cur), false
		}
	}
	return arrays
}
