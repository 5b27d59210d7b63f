package report

// The one figure style of the tool (docs/FORMATS.md, "Figures"): every
// figure kind — trajectories, one-axis sweep plots, verdict and margin
// diagrams, attention maps — takes its fonts, colours, line styles, legend
// and colour bar from here.

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"mimverify/judge"
	"mimverify/theory/expr"
)

// Sizes, in points. A figure is drawn at figWidth × figHeight (the data
// area, axes and title), with its legend below and its colour bar at the
// right; the HTML pages show SVGs at their natural size or larger, never
// scaled down, so 9 pt tick labels stay 12 px on screen.
const (
	figWidth    = 430
	figHeight   = 250
	barWidth    = 92 // the colour bar's strip at the right of a heatmap
	legendFont  = 9
	legendThumb = 22
	// legendIndent is the legend's left margin.
	legendIndent = 12
)

// The roles a curve plays, each with its own line style.
type role int

const (
	// roleMeasured is a measured curve: solid, in a palette colour.
	roleMeasured role = iota
	// rolePrediction is the reduced ODE's (sharp) prediction: dashed, in
	// the colour of the measured curve it predicts, its band shaded.
	rolePrediction
	// roleEnvelope is the paper's envelope (a bound): dotted grey.
	roleEnvelope
	// roleReference is a fixed threshold such as 1 − ε: thin dash-dot grey.
	roleReference
)

var (
	envelopeGrey  = color.RGBA{0x55, 0x55, 0x55, 0xff}
	referenceGrey = color.RGBA{0x99, 0x99, 0x99, 0xff}
	inkColor      = color.RGBA{0x22, 0x22, 0x22, 0xff}
)

// lineStyle is the stroke of a curve of the given role and colour.
func lineStyle(r role, col color.Color) draw.LineStyle {
	switch r {
	case rolePrediction:
		return draw.LineStyle{Color: col, Width: vg.Points(1.8), Dashes: []vg.Length{vg.Points(6), vg.Points(3)}}
	case roleEnvelope:
		return draw.LineStyle{Color: envelopeGrey, Width: vg.Points(1.6), Dashes: []vg.Length{vg.Points(1.2), vg.Points(2.4)}}
	case roleReference:
		return draw.LineStyle{Color: referenceGrey, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(6), vg.Points(2), vg.Points(1), vg.Points(2)}}
	}
	return draw.LineStyle{Color: col, Width: vg.Points(1.6)}
}

// bandColor is the shading of a prediction's band: its colour, translucent.
func bandColor(col color.Color) color.Color {
	r, g, b, _ := col.RGBA()
	return color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 0x38}
}

// styledPlot returns an empty plot with a title and the fonts every figure
// uses: the title at 11 pt, axis labels at 10, tick labels at 9.
func styledPlot(title string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sans, 11)
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = font.From(sans, 10)
		ax.Tick.Label.Font = font.From(sans, 9)
	}
	return p
}

// legendEntry is one line of a legend.
type legendEntry struct {
	name  string
	thumb plot.Thumbnailer
}

// legend is drawn below a figure's axes, outside the data, in as many
// columns as the width allows.
type legend []legendEntry

func (l *legend) add(name string, th ...plot.Thumbnailer) {
	*l = append(*l, legendEntry{name, thumbs(th)})
}

// thumbs draws several thumbnails on top of each other (a band under its
// line).
type thumbs []plot.Thumbnailer

func (t thumbs) Thumbnail(c *draw.Canvas) {
	for _, th := range t {
		th.Thumbnail(c)
	}
}

var legendText = draw.TextStyle{Color: inkColor, Font: font.From(sans, legendFont), XAlign: draw.XLeft, YAlign: draw.YCenter, Handler: plot.DefaultTextHandler}

// layout returns the legend's columns, rows and column width in a strip
// of the given width.
func (l legend) layout(width vg.Length) (cols, rows int, colW vg.Length) {
	if len(l) == 0 {
		return 0, 0, 0
	}
	for _, e := range l {
		colW = max(colW, legendText.Width(e.name))
	}
	colW += vg.Points(legendThumb + 6 + 14)
	cols = max(1, min(len(l), int(width/colW)))
	rows = (len(l) + cols - 1) / cols
	return cols, rows, colW
}

// height is the room the legend takes below a figure of the given width.
func (l legend) height(width vg.Length) vg.Length {
	_, rows, _ := l.layout(width - vg.Points(legendIndent))
	if rows == 0 {
		return 0
	}
	return vg.Points(6) + vg.Length(rows)*vg.Points(legendFont+5)
}

// draw draws the legend in c, column by column from the top left.
func (l legend) draw(c draw.Canvas) {
	cols, rows, colW := l.layout(c.Max.X - c.Min.X - vg.Points(legendIndent))
	lineH := vg.Points(legendFont + 5)
	for i, e := range l {
		col, row := i/rows, i%rows
		if cols > 0 {
			col, row = i%cols, i/cols
		}
		x := c.Min.X + vg.Points(legendIndent) + vg.Length(col)*colW
		y := c.Max.Y - vg.Points(4) - vg.Length(row)*lineH
		icon := &draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: x, Y: y - lineH + vg.Points(2)},
			Max: vg.Point{X: x + vg.Points(legendThumb), Y: y - vg.Points(1)},
		}}
		e.thumb.Thumbnail(icon)
		c.FillText(legendText, vg.Point{X: x + vg.Points(legendThumb+5), Y: y - lineH/2}, e.name)
	}
}

// rectThumb is a legend swatch: a filled rectangle, outlined when asked.
type rectThumb struct {
	fill    color.Color
	outline bool
}

func (r rectThumb) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y}}
	c.FillPolygon(r.fill, pts)
	if r.outline {
		c.StrokeLines(draw.LineStyle{Color: inkColor, Width: vg.Points(0.5)}, append(pts, pts[0]))
	}
}

// lineThumb is a legend swatch of a line style.
type lineThumb draw.LineStyle

func (l lineThumb) Thumbnail(c *draw.Canvas) {
	y := (c.Min.Y + c.Max.Y) / 2
	c.StrokeLine2(draw.LineStyle(l), c.Min.X, y, c.Max.X, y)
}

// colorMap maps a value to a colour (a sequential or diverging map).
type colorMap interface {
	At(float64) (color.Color, error)
}

// colorBar is the labelled colour bar at the right of a heatmap: the map
// from lo (bottom) to hi (top), ticks at the given values, and the label
// along its side.
type colorBar struct {
	cmap   colorMap
	lo, hi float64
	ticks  []plot.Tick
	label  string
}

// draw draws the bar in the strip c (barWidth wide), its height that of
// the data area between top and bottom.
func (b colorBar) draw(c draw.Canvas, bottom, top vg.Length) {
	x, w := c.Min.X+vg.Points(8), vg.Points(12)
	h := top - bottom
	const steps = 64
	for i := range steps {
		v := b.lo + (b.hi-b.lo)*(float64(i)+0.5)/steps
		col, err := b.cmap.At(v)
		if err != nil {
			continue
		}
		y0 := bottom + h*vg.Length(i)/steps
		c.FillPolygon(col, []vg.Point{{X: x, Y: y0}, {X: x + w, Y: y0}, {X: x + w, Y: y0 + h/steps + 0.3}, {X: x, Y: y0 + h/steps + 0.3}})
	}
	frame := []vg.Point{{X: x, Y: bottom}, {X: x + w, Y: bottom}, {X: x + w, Y: top}, {X: x, Y: top}, {X: x, Y: bottom}}
	c.StrokeLines(draw.LineStyle{Color: inkColor, Width: vg.Points(0.5)}, frame)
	txt := draw.TextStyle{Color: inkColor, Font: font.From(sans, 8), XAlign: draw.XLeft, YAlign: draw.YCenter, Handler: plot.DefaultTextHandler}
	for _, t := range b.ticks {
		y := bottom + h*vg.Length((t.Value-b.lo)/(b.hi-b.lo))
		c.StrokeLine2(draw.LineStyle{Color: inkColor, Width: vg.Points(0.5)}, x+w, y, x+w+vg.Points(3), y)
		c.FillText(txt, vg.Point{X: x + w + vg.Points(5), Y: y}, t.Label)
	}
	// The label reads upwards along the strip's right edge, clear of the
	// tick labels.
	lab := draw.TextStyle{Color: inkColor, Font: font.From(sans, 9), XAlign: draw.XCenter, YAlign: draw.YBottom, Rotation: math.Pi / 2, Handler: plot.DefaultTextHandler}
	c.FillText(lab, vg.Point{X: c.Max.X - vg.Points(2), Y: (bottom + top) / 2}, b.label)
}

// styledFigure is a figure ready to draw: its plot, legend (below) and
// colour bar (at the right), and the size of its plot.
type styledFigure struct {
	plot   *plot.Plot
	legend legend
	bar    *colorBar
	width  vg.Length
	height vg.Length
}

// size is the whole figure's size: the plot, the legend below and the
// colour bar at the right.
func (f styledFigure) size() (vg.Length, vg.Length) {
	w := f.width
	if f.bar != nil {
		w += vg.Points(barWidth)
	}
	return w, f.height + f.legend.height(w)
}

// draw draws the figure on dc: the plot at the top left, the colour bar
// at its right, level with the data area, the legend below.
func (f styledFigure) draw(dc draw.Canvas) {
	w, _ := f.size()
	lh := f.legend.height(w)
	top := draw.Crop(dc, 0, 0, lh, 0)
	area := top
	if f.bar != nil {
		area = draw.Crop(top, 0, -vg.Points(barWidth), 0, 0)
	}
	// gonum/plot places the glyph box of a centred y label at the linear
	// mid-range, which a log axis maps near its top: a long label then
	// squeezes the data area from above. The plot keeps a one-space label
	// (reserving the label's width) and the label is drawn here, centred
	// on the data area.
	label := f.plot.Y.Label.Text
	f.plot.Y.Label.Text = " "
	f.plot.Draw(area)
	f.plot.Y.Label.Text = label
	if data := f.plot.DataCanvas(area); label != "" {
		sty := f.plot.Y.Label.TextStyle
		sty.Rotation, sty.XAlign, sty.YAlign = math.Pi/2, draw.XCenter, draw.YTop
		area.FillText(sty, vg.Point{X: area.Min.X, Y: (data.Min.Y + data.Max.Y) / 2}, label)
	}
	if f.bar != nil {
		data := f.plot.DataCanvas(area)
		f.bar.draw(draw.Crop(top, f.width, 0, 0, 0), data.Min.Y, data.Max.Y)
	}
	if lh > 0 {
		f.legend.draw(draw.Crop(dc, 0, 0, 0, -(dc.Max.Y - dc.Min.Y - lh)))
	}
}

// render draws the figure in a format gonum/plot writes ("svg", "png").
// gonum/plot panics on some degenerate input (a log axis with no positive
// range, for one): that is returned as an error, not a crash.
func (f styledFigure) render(format string) (out []byte, err error) {
	defer func() {
		if e := recover(); e != nil {
			out, err = nil, fmt.Errorf("drawing failed: %v", e)
		}
	}()
	w, h := f.size()
	c, err := draw.NewFormattedCanvas(w, h, format)
	if err != nil {
		return nil, err
	}
	f.draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// svg renders the figure as SVG markup ready to inline.
func (f styledFigure) svg() (string, error) {
	doc, err := f.render("svg")
	if err != nil {
		return "", err
	}
	return inlineSVG(doc), nil
}

// marginMap is the diverging map of a verdict margin (marginOf): blue
// where the claim holds with room (m > 0), white at the bound, vermillion
// where it fails (m < 0), the Okabe–Ito blue and vermillion of the
// palette, so that blue means "holds with room" in every figure.
type marginMap struct{ span float64 }

var (
	marginHolds = color.RGBA{0x00, 0x72, 0xB2, 0xff}
	marginFails = color.RGBA{0xD5, 0x5E, 0x00, 0xff}
	marginZero  = color.RGBA{0xf7, 0xf7, 0xf7, 0xff}
)

// At implements colorMap.
func (m marginMap) At(v float64) (color.Color, error) {
	if math.IsNaN(v) {
		return nil, fmt.Errorf("margin NaN")
	}
	t := math.Max(-1, math.Min(1, v/m.span))
	end := marginHolds
	if t < 0 {
		end, t = marginFails, -t
	}
	mix := func(a, b uint8) uint8 { return uint8(math.Round(float64(a) + t*(float64(b)-float64(a)))) }
	return color.RGBA{mix(marginZero.R, end.R), mix(marginZero.G, end.G), mix(marginZero.B, end.B), 0xff}, nil
}

// marginOf is a claim's verdict margin: log₁₀ of the factor by which the
// measurement could grow (relation ≤, <) or shrink (≥, >) and still meet
// the prediction — positive when it holds with room, 0 at the bound,
// negative when it fails. For "=" it is −|log₁₀ ratio|. NaN when the
// ratio measured/predicted is not a positive finite number. It is
// judge.VerdictMargin of the ratio against 1, the quantity falsify
// minimises (one definition of the margin).
func marginOf(ratio float64, rel string) float64 {
	if !(ratio > 0) || math.IsInf(ratio, 0) {
		return math.NaN()
	}
	return judge.VerdictMargin(expr.Relation(rel), ratio, 1)
}

// marginTicks labels a margin colour bar from −span to span decades.
func marginTicks(span float64) []plot.Tick {
	var ts []plot.Tick
	step := math.Max(1, math.Ceil(span/3))
	for v := -span; v <= span+1e-9; v += step {
		lab := "at the bound"
		if f := math.Pow(10, math.Abs(v)); v > 0 {
			lab = "room ×" + trimG(f)
		} else if v < 0 {
			lab = "short ×" + trimG(f)
		}
		ts = append(ts, plot.Tick{Value: v, Label: lab})
	}
	return ts
}

// trimG is a number in its shortest form.
func trimG(x float64) string { return strings.TrimSuffix(fmt.Sprintf("%.3g", x), ".0") }

// blues is the sequential map of attention weights, white (0) to dark blue
// (1), linear in RGB; the attention maps and their colour bar share it.
func blues(v float64) color.RGBA {
	v = math.Max(0, math.Min(1, v))
	return color.RGBA{uint8(255 - v*(255-0x08)), uint8(255 - v*(255-0x30)), uint8(255 - v*(255-0x6b)), 0xff}
}

// scatterOf is a scatter of markers in a colour, for measured points.
func scatterOf(xys plotter.XYs, col color.Color, shape draw.GlyphDrawer) (*plotter.Scatter, error) {
	sc, err := plotter.NewScatter(xys)
	if err != nil {
		return nil, err
	}
	sc.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(3), Shape: shape}
	return sc, nil
}
