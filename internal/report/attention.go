package report

import (
	"fmt"
	"html"
	"html/template"
	"image/color"
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
// per query, a column per step, all on one colour scale from 0 to Top,
// the largest weight of any of its maps, so that steps and queries can be
// compared; Bar is the scale's colour bar.
type mapCluster struct {
	Caption string
	Steps   []int
	Rows    []mapRow
	Top     float64
	Bar     template.HTML
}

type mapRow struct {
	Label string
	// Cells are SVG markup, one per step; attentionSVG escapes the only
	// free text it writes. Files are the names WriteCheckFigures gives
	// them.
	Cells []template.HTML
	Files []string
}

// mapsNote says a cluster's scale in words.
func mapsNote(mc mapCluster) string {
	return fmt.Sprintf("one colour scale for all its maps, white = 0 to darkest = %s", cell(mc.Top))
}

// mapFile is the file name of an attention map.
func mapFile(m judge.AttentionMap) string {
	return fmt.Sprintf("attention-c%d-q%d-t%d.svg", m.Cluster, m.Query, m.Step)
}

// mapClusters groups a report's attention maps by cluster, query and step,
// each cluster on its own shared scale.
func mapClusters(r *judge.Report) []mapCluster {
	var out []mapCluster
	for k, c := range r.Setting.Clusters {
		mc := mapCluster{Caption: fmt.Sprintf("cluster %d (%s)", k, c.Name)}
		var maps []judge.AttentionMap
		for _, m := range r.Maps {
			if m.Cluster == k && attentionSVG(&r.Setting, c, m, 1) != "" {
				maps = append(maps, m)
				for _, w := range m.Weights {
					if finite(w) {
						mc.Top = math.Max(mc.Top, float64(w))
					}
				}
			}
		}
		rows := map[int]int{} // query → row
		for _, m := range maps {
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
			row := &mc.Rows[ri]
			for len(row.Cells) <= si {
				row.Cells, row.Files = append(row.Cells, ""), append(row.Files, "")
			}
			row.Cells[si] = template.HTML(attentionSVG(&r.Setting, c, m, mc.Top))
			row.Files[si] = mapFile(m)
		}
		if len(mc.Rows) > 0 {
			mc.Bar = template.HTML(attentionBar(mc.Top))
			out = append(out, mc)
		}
	}
	return out
}

// attentionSVG draws one attention map on the grid (one row of P cells
// when the setting has no grid): white (0) to dark blue (top, the largest
// weight of the figure it belongs to), the cluster's area borders in grey
// and the query outlined in red. "" when the map does not fit the cluster.
func attentionSVG(s *theory.Setting, c theory.Cluster, m judge.AttentionMap, top float64) string {
	rows, cols := 1, len(m.Weights)
	if s.Side > 0 && s.Side*s.Side == len(m.Weights) {
		rows, cols = s.Side, s.Side
	}
	if cols == 0 || len(c.Areas) != len(m.Weights) {
		return ""
	}
	size := math.Min(16, math.Max(2, math.Floor(160/float64(cols))))
	w, h := size*float64(cols), size*float64(rows)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="attention" width="%g" height="%g" viewBox="0 0 %g %g" role="img">`, w+2, h+2, w+2, h+2)
	fmt.Fprintf(&b, `<title>%s</title><g transform="translate(1,1)">`, html.EscapeString(fmt.Sprintf("attention of query %d at step %d; scale 0 to %.3g", m.Query, m.Step, top)))
	for q, wt := range m.Weights {
		x, y := float64(q%cols)*size, float64(q/cols)*size
		v := 0.0
		if top > 0 && finite(wt) {
			v = float64(wt) / top
		}
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="%s"><title>position %d: %s</title></rect>`, x, y, size, size, hexColor(blues(v)), q, prose(wt))
	}
	if path := areaBorders(c.Areas, rows, cols, size); path != "" {
		fmt.Fprintf(&b, `<path d="%s" stroke="#999" stroke-width="1" fill="none"/>`, path)
	}
	qx, qy := float64(m.Query%cols)*size, float64(m.Query/cols)*size
	fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="none" stroke="#d7191c" stroke-width="2"/>`, qx, qy, size, size)
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%g" height="%g" fill="none" stroke="#222" stroke-width="1"/></g></svg>`, w, h)
	return b.String()
}

// hexColor writes a colour as #rrggbb.
func hexColor(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// attentionBar is the colour bar of a cluster's attention maps: the blues
// map from 0 to top, labelled, as a small SVG.
func attentionBar(top float64) string {
	const w, h, n = 190.0, 48.0, 32
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="colorbar" width="%g" height="%g" viewBox="0 0 %g %g" role="img"><title>colour scale of the attention maps</title>`, w, h, w, h)
	b.WriteString(`<text x="5" y="11" font-size="11" font-family="sans-serif" fill="#222">attention weight</text>`)
	for i := range n {
		fmt.Fprintf(&b, `<rect x="%g" y="16" width="%g" height="12" fill="%s"/>`, 5+float64(i)*(w-10)/n, (w-10)/n+0.3, hexColor(blues((float64(i)+0.5)/n)))
	}
	fmt.Fprintf(&b, `<rect x="5" y="16" width="%g" height="12" fill="none" stroke="#222" stroke-width="0.6"/>`, w-10)
	fmt.Fprintf(&b, `<text x="5" y="42" font-size="11" font-family="sans-serif" fill="#222">0</text><text x="%g" y="42" font-size="11" font-family="sans-serif" fill="#222" text-anchor="end">%s</text></svg>`, w-5, html.EscapeString(cell(top)))
	return b.String()
}

// figFile is one figure file of a check report: its kind ("figure" or
// "attention"), file name, title and SVG markup.
type figFile struct {
	kind, name, title, svg string
}

// checkFigureFiles lists the figure files of a check report, in the order
// and with the names WriteCheckFigures writes and the Markdown links.
func checkFigureFiles(r *judge.Report) ([]figFile, error) {
	figs, err := renderFigures(r)
	if err != nil {
		return nil, err
	}
	var files []figFile
	for i, f := range figs {
		if f.SVG != "" {
			files = append(files, figFile{"figure", fmt.Sprintf("figure-%d.svg", i+1), f.Title, f.SVG})
		}
	}
	for _, mc := range mapClusters(r) {
		for _, row := range mc.Rows {
			for i, name := range row.Files {
				if name != "" {
					files = append(files, figFile{"attention", name, row.Label, string(row.Cells[i])})
				}
			}
		}
	}
	return files, nil
}

// WriteCheckFigures writes a report's figures into dir as SVG files: each
// curve figure (figure-N.svg) and each attention map
// (attention-cK-qP-tSTEP.svg, on its cluster's shared scale), atomically.
// It returns the files' paths.
func WriteCheckFigures(dir string, r *judge.Report) ([]string, error) {
	files, err := checkFigureFiles(r)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		doc := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + f.svg + "\n"
		if err := atomicfile.Write(path, func(w io.Writer) error { _, err := io.WriteString(w, doc); return err }); err != nil {
			return nil, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}
