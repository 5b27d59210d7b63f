package main

import (
	"os"
	"path/filepath"
	"slices"
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
		for _, ext := range []string{".yaml", ".json"} {
			path := filepath.Join(dir, name+ext)
			if status, _, errs := runCLI(t, "setting", "--preset", name, "--out", path); status != 0 {
				t.Fatalf("%s: %s", path, errs)
			}
			data, _ := os.ReadFile(path)
			side := want.Side
			if side == 0 {
				side = 16
			}
			rows := 0
			for _, c := range want.Clusters {
				rows += (len(c.Areas) + side - 1) / side
			}
			// The label rows, plus at most 40 lines for the other fields.
			if n := strings.Count(string(data), "\n"); n > rows+40 {
				t.Errorf("%s: %d lines for %d label rows: the labels are not compact", path, n, rows)
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
