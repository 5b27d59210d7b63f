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

// The maps of one cluster share one scale: a map whose largest weight is
// half the cluster's top is drawn at half the colour, not at full colour
// as when each map was scaled to its own maximum; the page shows the
// scale's colour bar, and the Markdown report links the map files.
func TestAttentionMapsShareAScale(t *testing.T) {
	r := sampleReport(t)
	full, half := make([]judge.Float, r.Setting.P), make([]judge.Float, r.Setting.P)
	full[3], half[3] = 0.8, 0.4
	r.Maps = []judge.AttentionMap{
		{Cluster: 0, Query: 0, Area: 0, Step: 10, Weights: half},
		{Cluster: 0, Query: 0, Area: 0, Step: 500, Weights: full},
	}
	page := render(t, r, "html")
	if want := `fill="` + hexColor(blues(0.5)) + `"><title>position 3: 0.4</title>`; !strings.Contains(page, want) {
		t.Errorf("the half-weight map is not drawn at half the colour (%s)", want)
	}
	if !strings.Contains(page, `fill="#08306b"><title>position 3: 0.8</title>`) {
		t.Error("the cluster's largest weight is not drawn at full colour")
	}
	if !strings.Contains(page, `class="colorbar"`) || !strings.Contains(page, ">0.8</text>") {
		t.Error("no colour bar labelled with the cluster's largest weight")
	}
	var md bytes.Buffer
	if err := WriteLinked(&md, r, "markdown", "figs"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"](figs/figure-1.svg)", "](figs/attention-c0-q0-t10.svg)", "darkest = 0.8"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("linked Markdown lacks %q", want)
		}
	}
	if strings.Contains(md.String(), "data:") {
		t.Error("Markdown inlines an image")
	}
}
