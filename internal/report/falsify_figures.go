package report

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"mimverify/internal/atomicfile"
	"mimverify/judge"
)

// WriteFalsifyFigures writes, per claim with candidates inside its regime,
// the margin plot (falsifyFigure) as SVG into dir, and returns the file
// names (relative to dir) by claim.
func WriteFalsifyFigures(dir string, r *judge.FalsifyReport) (map[string]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	files := map[string]string{}
	for i := range r.Results {
		f, ok := falsifyFigure(r, &r.Results[i])
		if !ok {
			continue
		}
		data, err := f.render("svg")
		if err != nil {
			return nil, fmt.Errorf("report: margin plot of %s: %w", r.Results[i].Claim, err)
		}
		name := "falsify-" + r.Results[i].Claim + ".svg"
		if err := atomicfile.Write(filepath.Join(dir, name), func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
			return nil, err
		}
		files[r.Results[i].Claim] = name
	}
	return files, nil
}

// falsifyFigure plots every candidate of a claim's search over the two
// fields that move its margin most (largest |correlation| between the
// field, on the search's scale, and the margin, over the candidates inside
// the regime): inside, a disc coloured by the margin on the diverging
// margin map; outside the regime, a small grey cross; the counterexample
// as found (or the tightest point) ringed in black.
func falsifyFigure(r *judge.FalsifyReport, res *judge.FalsifyResult) (styledFigure, bool) {
	dims := r.Space.Dims
	a, b, ok := mostMoving(r.Space, res)
	if !ok {
		return styledFigure{}, false
	}
	p := styledPlot(fmt.Sprintf("%s: verdict margin of the candidates (fails where < 0)", res.Claim))
	p.X.Label.Text, p.Y.Label.Text = dims[a].Field, dims[b].Field
	// A log axis where the field spans more than a decade; below that its
	// ticks would be one label or none.
	if d := dims[a]; d.Log && d.Hi > 10*d.Lo {
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, logTicks{}
	}
	if d := dims[b]; d.Log && d.Hi > 10*d.Lo {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, logTicks{}
	}
	p.Add(plotter.NewGrid())
	span := 1.0
	for _, ev := range res.Trace {
		if ev.Inside && !math.IsNaN(float64(ev.Margin)) {
			span = math.Max(span, math.Min(3, math.Ceil(math.Abs(float64(ev.Margin)))))
		}
	}
	cmap := marginMap{span: span}
	var outside plotter.XYs
	for _, ev := range res.Trace {
		xy := plotter.XY{X: float64(ev.Candidate.Values[a]), Y: float64(ev.Candidate.Values[b])}
		m := float64(ev.Margin)
		if !ev.Inside || math.IsNaN(m) {
			outside = append(outside, xy)
			continue
		}
		s, err := plotter.NewScatter(plotter.XYs{xy})
		if err != nil {
			continue
		}
		s.GlyphStyle.Shape, s.GlyphStyle.Radius = draw.CircleGlyph{}, vg.Points(3.5)
		s.GlyphStyle.Color, _ = cmap.At(m)
		p.Add(s)
	}
	f := styledFigure{plot: p, width: vg.Points(figWidth), height: vg.Points(figHeight)}
	if len(outside) > 0 {
		if s, err := plotter.NewScatter(outside); err == nil {
			s.GlyphStyle.Shape, s.GlyphStyle.Radius, s.GlyphStyle.Color = draw.CrossGlyph{}, vg.Points(2), classColors[classNone]
			p.Add(s)
			f.legend.add("outside the claim's regime", s)
		}
	}
	if t := res.Tightest; t != nil {
		if s, err := plotter.NewScatter(plotter.XYs{{X: float64(t.Candidate.Values[a]), Y: float64(t.Candidate.Values[b])}}); err == nil {
			s.GlyphStyle.Shape, s.GlyphStyle.Radius = draw.RingGlyph{}, vg.Points(6)
			p.Add(s)
			name := "tightest point"
			if res.Found {
				name = "counterexample as found"
			}
			f.legend.add(name, s)
		}
	}
	f.bar = &colorBar{cmap: cmap, lo: -span, hi: span, ticks: marginTicks(span), label: "verdict margin (log scale)"}
	return f, true
}

// mostMoving returns the two fields whose values correlate most with the
// margin over the candidates inside the regime.
func mostMoving(sp *judge.SearchSpace, res *judge.FalsifyResult) (int, int, bool) {
	if len(sp.Dims) < 2 {
		return 0, 0, false
	}
	var margins []float64
	cols := make([][]float64, len(sp.Dims))
	for _, ev := range res.Trace {
		if !ev.Inside || math.IsNaN(float64(ev.Margin)) || math.IsInf(float64(ev.Margin), 0) {
			continue
		}
		margins = append(margins, float64(ev.Margin))
		for j, d := range sp.Dims {
			v := float64(ev.Candidate.Values[j])
			if d.Log {
				v = math.Log(v)
			}
			cols[j] = append(cols[j], v)
		}
	}
	if len(margins) < 3 {
		return 0, 0, false
	}
	type scored struct {
		j int
		r float64
	}
	var s []scored
	for j := range cols {
		r := math.Abs(stat.Correlation(cols[j], margins, nil))
		if math.IsNaN(r) {
			r = 0 // a field that never varied
		}
		s = append(s, scored{j, r})
	}
	sort.SliceStable(s, func(i, k int) bool { return s[i].r > s[k].r })
	return s[0].j, s[1].j, true
}
