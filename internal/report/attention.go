package report

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"mimverify/internal/atomicfile"
	"mimverify/judge"
	"mimverify/theory"
)

// mapCluster is one cluster's attention maps laid out for a page: a row
// per query, a column per step.
type mapCluster struct {
	Caption string
	Steps   []int
	Rows    []mapRow
}

type mapRow struct {
	Label string
	// Cells are SVG markup, one per step; attentionSVG escapes the only
	// free text it writes.
	Cells []template.HTML
}

// mapClusters groups a report's attention maps by cluster, query and step.
func mapClusters(r *judge.Report) []mapCluster {
	var out []mapCluster
	for k, c := range r.Setting.Clusters {
		mc := mapCluster{Caption: fmt.Sprintf("cluster %d (%s)", k, c.Name)}
		rows := map[int]int{} // query → row
		for _, m := range r.Maps {
			if m.Cluster != k {
				continue
			}
			si := slices.Index(mc.Steps, m.Step)
			if si < 0 {
				mc.Steps = append(mc.Steps, m.Step)
				si = len(mc.Steps) - 1
			}
			ri, ok := rows[m.Query]
			if !ok {
				ri = len(mc.Rows)
				rows[m.Query] = ri
				mc.Rows = append(mc.Rows, mapRow{Label: fmt.Sprintf("query %d (area %d)", m.Query, m.Area)})
			}
			for len(mc.Rows[ri].Cells) <= si {
				mc.Rows[ri].Cells = append(mc.Rows[ri].Cells, "")
			}
			mc.Rows[ri].Cells[si] = template.HTML(attentionSVG(&r.Setting, c, m))
		}
		if len(mc.Rows) > 0 {
			out = append(out, mc)
		}
	}
	return out
}

// attentionSVG draws one attention map on the grid (one row of P cells
// when the setting has no grid): white to dark blue, scaled to the map's
// largest weight so that the pattern shows at every step, the cluster's
// area borders in grey and the query outlined in red.
func attentionSVG(s *theory.Setting, c theory.Cluster, m judge.AttentionMap) string {
	rows, cols := 1, len(m.Weights)
	if s.Side > 0 && s.Side*s.Side == len(m.Weights) {
		rows, cols = s.Side, s.Side
	}
	if cols == 0 || len(c.Areas) != len(m.Weights) {
		return ""
	}
	top := 0.0
	for _, w := range m.Weights {
		if finite(w) {
			top = math.Max(top, float64(w))
		}
	}
	size := math.Min(16, math.Max(2, math.Floor(160/float64(cols))))
	w, h := size*float64(cols), size*float64(rows)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="attention" width="%g" height="%g" viewBox="0 0 %g %g" role="img">`, w+2, h+2, w+2, h+2)
	fmt.Fprintf(&b, `<title>%s</title><g transform="translate(1,1)">`, html.EscapeString(fmt.Sprintf("attention of query %d at step %d; darkest = %.3g", m.Query, m.Step, top)))
	for q, wt := range m.Weights {
		x, y := float64(q%cols)*size, float64(q/cols)*size
		v := 0.0
		if top > 0 && finite(wt) {
			v = float64(wt) / top
		}
		// White (v = 0) to #08306b (v = 1), linearly in RGB.
		col := fmt.Sprintf("#%02x%02x%02x", int(255-v*(255-0x08)), int(255-v*(255-0x30)), int(255-v*(255-0x6b)))
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="%s"><title>position %d: %s</title></rect>`, x, y, size, size, col, q, prose(wt))
	}
	if path := areaBorders(c.Areas, rows, cols, size); path != "" {
		fmt.Fprintf(&b, `<path d="%s" stroke="#999" stroke-width="1" fill="none"/>`, path)
	}
	qx, qy := float64(m.Query%cols)*size, float64(m.Query/cols)*size
	fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="none" stroke="#d7191c" stroke-width="2"/>`, qx, qy, size, size)
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%g" height="%g" fill="none" stroke="#222" stroke-width="1"/></g></svg>`, w, h)
	return b.String()
}

// WriteCheckFigures writes a report's figures into dir as SVG files: each
// curve figure (figure-N.svg) and each attention map
// (attention-cK-qP-tSTEP.svg), atomically. It returns the files' paths.
func WriteCheckFigures(dir string, r *judge.Report) ([]string, error) {
	figs, err := renderFigures(r)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	write := func(name, svg string) error {
		path := filepath.Join(dir, name)
		files = append(files, path)
		doc := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + svg + "\n"
		return atomicfile.Write(path, func(w io.Writer) error { _, err := io.WriteString(w, doc); return err })
	}
	for i, f := range figs {
		if f.SVG == "" {
			continue
		}
		if err := write(fmt.Sprintf("figure-%d.svg", i+1), f.SVG); err != nil {
			return nil, err
		}
	}
	for _, m := range r.Maps {
		if m.Cluster < 0 || m.Cluster >= len(r.Setting.Clusters) {
			continue
		}
		svg := attentionSVG(&r.Setting, r.Setting.Clusters[m.Cluster], m)
		if svg == "" {
			continue
		}
		if err := write(fmt.Sprintf("attention-c%d-q%d-t%d.svg", m.Cluster, m.Query, m.Step), svg); err != nil {
			return nil, err
		}
	}
	return files, nil
}
