package report

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"mimverify/internal/atomicfile"
	"mimverify/judge"
)

// The classes of a cell of a phase diagram, and their colours: green where
// the claim met its prediction at every seed, red where it did not, pale
// outside the regime (the same hue: what the measurement says), grey where
// nothing was measured.
type phaseClass int

const (
	classHolds phaseClass = iota
	classFails
	classHoldsEmp
	classBreaks
	classNone
)

var classNames = []string{"holds", "fails", "holds empirically (outside regime)", "breaks (outside regime)", "not measured"}

var classColors = []color.RGBA{
	{0x1e, 0x7b, 0x34, 0xff},
	{0xb3, 0x26, 0x1e, 0xff},
	{0xa8, 0xd8, 0xb0, 0xff},
	{0xf4, 0xb0, 0xa8, 0xff},
	{0xd0, 0xd0, 0xd0, 0xff},
}

// insideRegime reports whether a cell's claim is inside its regime: every
// measured seed was asserted. The colours and the drawn regime boundary
// both read it.
func insideRegime(cc judge.CellClaim) bool { return cc.Seeds > 0 && cc.InRegime == cc.Seeds }

// classify puts a cell's claim in its class.
func classify(cc judge.CellClaim) phaseClass {
	inside := insideRegime(cc)
	switch {
	case cc.Seeds == 0:
		return classNone
	case inside && cc.Holds == cc.Seeds:
		return classHolds
	case inside:
		return classFails
	case cc.Holds == cc.Seeds:
		return classHoldsEmp
	}
	return classBreaks
}

// cellLabel is the text in a cell: measured/predicted with one seed, the
// seeds that met the prediction with several.
func cellLabel(cc judge.CellClaim, seeds int) string {
	if seeds > 1 {
		return fmt.Sprintf("%d/%d", cc.Holds, cc.Seeds)
	}
	if !finite(cc.Ratio) {
		return "—"
	}
	return strconv.FormatFloat(float64(cc.Ratio), 'g', 2, 64)
}

// sweepFigure is one figure of a sweep: a phase diagram (two axes) or a
// line plot (one axis) of one claim.
type sweepFigure struct {
	ID, Title string
	// Kind names the files: phase, ratio or line.
	Kind string
	plot *plot.Plot
	// legend, when not nil, is drawn at the right of the plot.
	legend func(draw.Canvas)
}

// sweepFigures draws one figure per claim: a phase diagram over the first
// two axes when the sweep has exactly two, a line plot with a band over
// the seeds when it has one; none otherwise (the tables say it all).
func sweepFigures(sw *judge.Sweep) (figs []sweepFigure, err error) {
	defer func() {
		if e := recover(); e != nil { // gonum/plot panics on degenerate input
			err = fmt.Errorf("report: drawing the sweep's figures: %v", e)
		}
	}()
	if len(sw.Axes) == 0 || len(sw.Axes) > 2 || sw.Plan == nil || len(sw.Plan.Axes) != len(sw.Axes) {
		return nil, nil
	}
	for _, id := range sweepClaims(sw) {
		if len(sw.Axes) == 1 {
			p := linePlot(sw, id)
			figs = append(figs, sweepFigure{ID: id, Title: p.Title.Text, Kind: "line", plot: p})
			continue
		}
		p := phaseDiagram(sw, id)
		figs = append(figs, sweepFigure{ID: id, Title: p.Title.Text, Kind: "phase", plot: p, legend: drawPhaseLegend})
		p, legend := ratioDiagram(sw, id)
		figs = append(figs, sweepFigure{ID: id, Title: p.Title.Text, Kind: "ratio", plot: p, legend: legend})
	}
	return figs, nil
}

// cellClaim finds a claim in a cell.
func cellClaim(c judge.SweepCell, id string) (judge.CellClaim, bool) {
	for _, cc := range c.Claims {
		if cc.ID == id {
			return cc, true
		}
	}
	return judge.CellClaim{}, false
}

// valueTicks labels integer positions with an axis's values.
type valueTicks []string

// Ticks implements plot.Ticker.
func (v valueTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for i, s := range v {
		if float64(i) >= lo && float64(i) <= hi {
			ts = append(ts, plot.Tick{Value: float64(i), Label: s})
		}
	}
	return ts
}

// phaseDiagram is a claim over two axes: the first axis up, the second
// across; cells coloured by class and labelled; a thick line along the
// regime boundary (between cells inside and outside the regime).
func phaseDiagram(sw *judge.Sweep, id string) *plot.Plot {
	p, g := gridPlot(sw, id, id+": where it holds", func(cell int, cc judge.CellClaim, g *phaseGrid) {
		cl := classify(cc)
		g.fill[cell], g.label[cell] = classColors[cl], cellLabel(cc, sw.Plan.Seeds)
		g.dark[cell] = cl == classHolds || cl == classFails
	})
	p.Add(g)
	return p
}

// gridPlot is the plot of a two-axis sweep's claim id, axes and ticks set,
// with its grid: each measured cell marked inside or outside the regime
// and passed to fill.
func gridPlot(sw *judge.Sweep, id, title string, fill func(cell int, cc judge.CellClaim, g *phaseGrid)) (*plot.Plot, *phaseGrid) {
	ya, xa := sw.Plan.Axes[0], sw.Plan.Axes[1]
	p := styledPlot(title)
	p.X.Label.Text, p.Y.Label.Text = xa.Field, ya.Field
	p.X.Tick.Marker, p.Y.Tick.Marker = valueTicks(xa.Values), valueTicks(ya.Values)
	p.X.Min, p.X.Max = -0.5, float64(len(xa.Values))-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(len(ya.Values))-0.5
	g := newPhaseGrid(sw)
	for _, c := range sw.Cells {
		cc, ok := cellClaim(c, id)
		if !ok || c.Cell >= len(g.fill) {
			continue
		}
		g.inside[c.Cell] = insideRegime(cc)
		fill(c.Cell, cc, &g)
	}
	return p, &g
}

// newPhaseGrid returns the grid of a two-axis sweep with every cell grey
// ("not measured") until filled. Cell = y·nx + x: the first axis varies
// slowest, and is drawn up.
func newPhaseGrid(sw *judge.Sweep) phaseGrid {
	g := phaseGrid{nx: len(sw.Plan.Axes[1].Values), ny: len(sw.Plan.Axes[0].Values)}
	n := g.nx * g.ny
	g.fill, g.label, g.dark, g.inside = make([]color.Color, n), make([]string, n), make([]bool, n), make([]bool, n)
	for i := range g.fill {
		g.fill[i] = classColors[classNone]
	}
	return g
}

// legendWidth is the room at the right of a phase diagram for its legend.
const legendWidth = 190

// drawPhaseLegend draws the classes and the boundary line, top to bottom,
// in the canvas at the right of a phase diagram.
func drawPhaseLegend(c draw.Canvas) {
	txt := draw.TextStyle{Color: color.Black, Font: font.From(sans, 8), XAlign: draw.XLeft, YAlign: draw.YCenter, Handler: plot.DefaultTextHandler}
	x, y := c.Min.X+vg.Points(10), c.Max.Y-vg.Points(30)
	box := vg.Points(10)
	for cl, name := range classNames {
		c.FillPolygon(classColors[cl], []vg.Point{{X: x, Y: y - box/2}, {X: x + box, Y: y - box/2}, {X: x + box, Y: y + box/2}, {X: x, Y: y + box/2}})
		c.FillText(txt, vg.Point{X: x + box + vg.Points(5), Y: y}, name)
		y -= vg.Points(16)
	}
	c.StrokeLine2(draw.LineStyle{Color: color.Black, Width: vg.Points(2.5)}, x, y, x+box, y)
	c.FillText(txt, vg.Point{X: x + box + vg.Points(5), Y: y}, "regime boundary")
}

// phaseGrid draws the cells of a phase diagram: each filled and labelled
// (in white on a dark fill), and a thick line between cells inside and
// outside the regime. The boundary counts a cell as inside when most of
// its seeds were asserted (the regime depends on the seed only through a
// seed axis).
type phaseGrid struct {
	nx, ny int
	fill   []color.Color
	label  []string
	dark   []bool
	inside []bool
}

// Plot implements plot.Plotter.
func (g phaseGrid) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	txt := draw.TextStyle{Font: font.From(sans, 8), XAlign: draw.XCenter, YAlign: draw.YCenter, Handler: p.TextHandler}
	for y := range g.ny {
		for x := range g.nx {
			i := y*g.nx + x
			x0, x1 := trX(float64(x)-0.5), trX(float64(x)+0.5)
			y0, y1 := trY(float64(y)-0.5), trY(float64(y)+0.5)
			c.FillPolygon(g.fill[i], []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
			txt.Color = color.Black
			if g.dark[i] {
				txt.Color = color.White
			}
			c.FillText(txt, vg.Point{X: (x0 + x1) / 2, Y: (y0 + y1) / 2}, g.label[i])
		}
	}
	line := draw.LineStyle{Color: color.Black, Width: vg.Points(2.5)}
	for y := range g.ny {
		for x := range g.nx {
			i := y*g.nx + x
			if x+1 < g.nx && g.inside[i] != g.inside[i+1] {
				xe := trX(float64(x) + 0.5)
				c.StrokeLine2(line, xe, trY(float64(y)-0.5), xe, trY(float64(y)+0.5))
			}
			if y+1 < g.ny && g.inside[i] != g.inside[i+g.nx] {
				ye := trY(float64(y) + 0.5)
				c.StrokeLine2(line, trX(float64(x)-0.5), ye, trX(float64(x)+0.5), ye)
			}
		}
	}
}

// linePlot is a claim over one axis: measured/predicted (the mean over the
// seeds, a band from their least to their greatest), a marker per value in
// its class's colour, and the line measured = predicted.
func linePlot(sw *judge.Sweep, id string) *plot.Plot {
	ax := sw.Plan.Axes[0]
	p := styledPlot(id + ": measured / predicted")
	p.X.Label.Text, p.Y.Label.Text = ax.Field, "measured / predicted"
	p.X.Tick.Marker = valueTicks(ax.Values)
	p.X.Min, p.X.Max = -0.5, float64(len(ax.Values))-0.5
	var mean, band plotter.XYs
	var lows plotter.XYs
	var marks [5]plotter.XYs
	for _, c := range sw.Cells {
		cc, ok := cellClaim(c, id)
		if !ok {
			continue
		}
		x := float64(c.Cell)
		if finite(cc.Ratio) {
			mean = append(mean, plotter.XY{X: x, Y: float64(cc.Ratio)})
			band = append(band, plotter.XY{X: x, Y: float64(cc.RatioMax)})
			lows = append(lows, plotter.XY{X: x, Y: float64(cc.RatioMin)})
			cl := classify(cc)
			marks[cl] = append(marks[cl], plotter.XY{X: x, Y: float64(cc.Ratio)})
		}
	}
	if len(mean) == 0 {
		p.Title.Text += " (nothing measured)"
		return p
	}
	for i := len(lows) - 1; i >= 0; i-- {
		band = append(band, lows[i])
	}
	if poly, err := plotter.NewPolygon(band); err == nil && len(band) > 2 {
		poly.Color = color.NRGBA{0x00, 0x72, 0xB2, 0x40}
		poly.LineStyle.Width = 0
		p.Add(poly)
		p.Legend.Add("range over seeds", poly)
	}
	one := plotter.NewFunction(func(float64) float64 { return 1 })
	one.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(one)
	p.Legend.Add("measured = predicted", one)
	if l, err := plotter.NewLine(mean); err == nil {
		l.Color, l.Width = palette[0], vg.Points(1.6)
		p.Add(l)
	}
	for cl, xys := range marks {
		if sc, err := plotter.NewScatter(xys); err == nil && len(xys) > 0 {
			sc.GlyphStyle = draw.GlyphStyle{Color: classColors[cl], Radius: vg.Points(4), Shape: draw.CircleGlyph{}}
			p.Add(sc)
			p.Legend.Add(classNames[cl], sc)
		}
	}
	p.Legend.TextStyle.Font = font.From(sans, 8)
	p.Legend.Top = true
	ratioAxis(p, append(band, plotter.XY{Y: 1}))
	return p
}

// ratioAxis sets the y range to cover the ratios and 1 (measured =
// predicted), on a log scale when they are positive and span more than a
// decade and a half, as ratios far below 1 (a claim met with room to spare)
// usually do.
func ratioAxis(p *plot.Plot, xys plotter.XYs) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, xy := range xys {
		lo, hi = math.Min(lo, xy.Y), math.Max(hi, xy.Y)
	}
	if lo > 0 && hi/lo > 30 {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
		p.Y.Min, p.Y.Max = lo/1.5, hi*1.5
		p.Y.Label.Text += " (log scale)"
		return
	}
	pad := (hi - lo) * 0.05
	p.Y.Min, p.Y.Max = lo-pad, hi+pad
}

// figureSize is the size of a sweep figure, wider for wide grids.
func figureSize(sw *judge.Sweep) (vg.Length, vg.Length) {
	w := figWidth
	if sw.Plan != nil && len(sw.Plan.Axes) == 2 {
		w = max(figWidth, 60*len(sw.Plan.Axes[1].Values)+80) + legendWidth
	}
	return vg.Points(float64(w)), vg.Points(figHeight + 40)
}

// render draws a figure in a format gonum/plot writes ("svg", "png").
func (f sweepFigure) render(sw *judge.Sweep, format string) ([]byte, error) {
	w, h := figureSize(sw)
	c, err := draw.NewFormattedCanvas(w, h, format)
	if err != nil {
		return nil, err
	}
	dc := draw.New(c)
	if f.legend != nil {
		// The legend goes beside the grid, where it hides no cell.
		f.plot.Draw(draw.Crop(dc, 0, -vg.Points(legendWidth), 0, 0))
		f.legend(draw.Crop(dc, w-vg.Points(legendWidth), 0, 0, 0))
	} else {
		f.plot.Draw(dc)
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteSweepFigures writes each figure of a sweep into dir as SVG and PNG
// files named by kind and claim (phase-C3.svg, ratio-C3.png, line-C3.svg),
// each atomically, and returns the files' paths.
func WriteSweepFigures(dir string, sw *judge.Sweep) ([]string, error) {
	figs, err := sweepFigures(sw)
	if err != nil {
		return nil, err
	}
	if len(figs) == 0 {
		return nil, fmt.Errorf("report: figures need one or two axes, the sweep has %d", len(sw.Axes))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	for _, f := range figs {
		for _, format := range []string{"svg", "png"} {
			data, err := f.render(sw, format)
			if err != nil {
				return nil, fmt.Errorf("report: figure %s: %w", f.ID, err)
			}
			path := filepath.Join(dir, f.Kind+"-"+f.ID+"."+format)
			if err := atomicfile.Write(path, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
				return nil, err
			}
			files = append(files, path)
		}
	}
	return files, nil
}
