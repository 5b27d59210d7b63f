package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mimverify/judge"
)

// The HTML report draws each attention map once, in its cluster's table,
// and --figures writes one SVG file per map and per curve figure.
func TestAttentionMapsRendered(t *testing.T) {
	r := sampleReport(t)
	w := make([]judge.Float, r.Setting.P)
	w[3] = 1
	r.Maps = []judge.AttentionMap{
		{Cluster: 0, Query: 0, Area: 0, Step: 10, Weights: w},
		{Cluster: 0, Query: 0, Area: 0, Step: 500, Weights: w},
		{Cluster: 1, Query: 9, Area: 1, Step: 500, Weights: w},
	}
	var buf bytes.Buffer
	if err := Write(&buf, r, "html"); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if n := strings.Count(page, `class="attention"`); n != 3 || !strings.Contains(page, "Attention maps") {
		t.Errorf("%d attention maps on the page, want 3", n)
	}
	// The attended cell is the darkest colour, the others white.
	if !strings.Contains(page, `fill="#08306b"><title>position 3: 1</title>`) {
		t.Error("the attended position is not drawn at full colour")
	}
	dir := t.TempDir()
	files, err := WriteCheckFigures(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	maps := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil || !strings.Contains(string(data), "<svg") {
			t.Errorf("%s: %v, not an SVG", f, err)
		}
		if strings.HasPrefix(filepath.Base(f), "attention-") {
			maps++
		}
	}
	if maps != 3 || len(files) <= 3 {
		t.Errorf("%d files of which %d maps; want the curve figures and 3 maps", len(files), maps)
	}
}
