package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSharpBiasInJSON reads a check report as a JSON consumer does (a
// generic decode, not the writer's types): the curves and C4 carry
// sharp.bias, the part of the run's reading the split-half jackknife
// removed (docs/FORMATS.md; docs/SHARP.md §7), so that for C2 — whose
// claim value is the run's own reading at the last record — sharp.measured
// + sharp.bias is the claim's measured value to two roundings; C3 (a
// crossing step, not corrected) has none; and each corrected band says so.
func TestSharpBiasInJSON(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.json")
	status, _, errs := runCLI(t, "check", "--preset", "grid4", "--claims", "C2,C3,C4", "--controls=false", "--out", out, "--progress", "never")
	if status != 0 {
		t.Fatalf("status %d: %s", status, errs)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Results []struct {
			ID       string         `json:"id"`
			Measured float64        `json:"measured"`
			Sharp    map[string]any `json:"sharp"`
		} `json:"results"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, r := range doc.Results {
		bias, has := r.Sharp["bias"].(float64)
		band, _ := r.Sharp["band"].(string)
		switch r.ID {
		case "C2", "C4":
			seen++
			if !has || bias == 0 || !strings.Contains(band, "split-half jackknife") {
				t.Errorf("%s: sharp.bias %v (present %v), band %q: want a removed bias and the band saying so", r.ID, r.Sharp["bias"], has, band)
			}
			if m, _ := r.Sharp["measured"].(float64); r.ID == "C2" && math.Abs(m+bias-r.Measured) > 4*0x1p-53*math.Abs(r.Measured) {
				t.Errorf("C2: sharp.measured %v + bias %v is not the claim's measured %v", m, bias, r.Measured)
			}
		case "C3":
			seen++
			if has {
				t.Errorf("C3: sharp.bias %v on a crossing step, which is not corrected", bias)
			}
		}
	}
	if seen != 3 {
		t.Fatalf("%d of the claims C2, C3, C4 in the report", seen)
	}
}
