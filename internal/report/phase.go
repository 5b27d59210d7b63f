package report

import (
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"mimverify/internal/atomicfile"
	"mimverify/judge"
)

// The classes of a cell of a phase diagram, and their colours: blue where
// the claim met its prediction at every seed, vermillion where it did not
// (the margin map's ends: blue always means "holds"), pale outside the
// regime (the same hue: what the measurement says), grey where nothing was
// measured.
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
	marginHolds,
	marginFails,
	{0xa6, 0xcf, 0xe8, 0xff},
	{0xf2, 0xbf, 0x9a, 0xff},
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

// sweepFigure is one figure of a sweep: a verdict or margin diagram (two
// axes) or a line plot (one axis) of one claim.
type sweepFigure struct {
	ID, Title string
	// Kind names the files: phase, ratio or line.
	Kind string
	fig  styledFigure
}

// render draws the figure in a format gonum/plot writes ("svg", "png").
func (f sweepFigure) render(format string) ([]byte, error) { return f.fig.render(format) }

// sweepFigures draws the figures of each claim: a verdict diagram and a
// margin diagram over the two axes when the sweep has exactly two, a line
// plot of the measured quantity against the axis when it has one; none
// otherwise (the tables say it all).
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
			f := linePlot(sw, id)
			figs = append(figs, sweepFigure{ID: id, Title: f.plot.Title.Text, Kind: "line", fig: f})
			continue
		}
		f := phaseDiagram(sw, id)
		figs = append(figs, sweepFigure{ID: id, Title: f.plot.Title.Text, Kind: "phase", fig: f})
		f = ratioDiagram(sw, id)
		figs = append(figs, sweepFigure{ID: id, Title: f.plot.Title.Text, Kind: "ratio", fig: f})
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

// phaseDiagram is a claim's verdict over two axes: the first axis up, the
// second across; cells coloured by class and labelled; a thick line along
// the regime boundary (between cells inside and outside the regime); the
// classes in the legend below.
func phaseDiagram(sw *judge.Sweep, id string) styledFigure {
	f, g := gridPlot(sw, id, id+": verdict", func(cell int, cc judge.CellClaim, g *phaseGrid) {
		cl := classify(cc)
		g.fill[cell], g.label[cell] = classColors[cl], cellLabel(cc, sw.Plan.Seeds)
		g.dark[cell] = cl == classHolds || cl == classFails
	})
	f.plot.Add(g)
	for cl, name := range classNames {
		f.legend.add(name, rectThumb{fill: classColors[cl], outline: true})
	}
	f.legend.add("regime boundary", lineThumb(boundaryLine))
	return f
}

// boundaryLine is the stroke of the regime boundary in the diagrams.
var boundaryLine = draw.LineStyle{Color: color.Black, Width: vg.Points(2.5)}

// gridPlot is the plot of a two-axis sweep's claim id, axes and ticks set,
// with its grid: each measured cell marked inside or outside the regime
// and passed to fill.
func gridPlot(sw *judge.Sweep, id, title string, fill func(cell int, cc judge.CellClaim, g *phaseGrid)) (styledFigure, *phaseGrid) {
	ya, xa := sw.Plan.Axes[0], sw.Plan.Axes[1]
	p := styledPlot(title)
	p.X.Label.Text, p.Y.Label.Text = fieldLabel(xa.Field), fieldLabel(ya.Field)
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
	// Cells at least 64 × 30 pt, so that their 9 pt labels fit; narrower
	// than a trajectory figure, so that a verdict and a margin diagram fit
	// side by side on a 1280 px screen at their natural size.
	w := max(gridMinWidth, 64*g.nx+90)
	h := max(figHeight, 30*g.ny+90)
	return styledFigure{plot: p, width: vg.Points(float64(w)), height: vg.Points(float64(h))}, &g
}

// gridMinWidth is the least width of a diagram's plot, in points.
const gridMinWidth = 360

// fieldLabel names a sweep field on an axis: its symbol and meaning.
func fieldLabel(field string) string {
	if l, ok := fieldLabels[field]; ok {
		return l
	}
	return field
}

var fieldLabels = map[string]string{
	"gamma": "γ, masking ratio (gamma)", "eta": "η, learning rate (eta)", "z.kind": "law of z (z.kind)",
	"z.L": "z lower bound L (z.L)", "z.U": "z upper bound U (z.U)", "samples": "n, training images (samples)",
	"epsilon": "ε (epsilon)", "delta": "δ (delta)", "extra_dim": "extra dimensions (extra_dim)",
	"keys": "keys", "loss": "loss", "mask": "mask", "seed": "seed",
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
	txt := draw.TextStyle{Font: font.From(sans, 9), XAlign: draw.XCenter, YAlign: draw.YCenter, Handler: p.TextHandler}
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
	line := boundaryLine
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
			data, err := f.render(format)
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
