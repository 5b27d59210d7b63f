package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"regexp"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"mimverify/judge"
)

// Figure size, in points.
const (
	figWidth  = 460
	figHeight = 270
)

// palette is the Okabe–Ito colour-blind-safe palette (yellow left out: it
// is unreadable on white).
var palette = []color.RGBA{
	{0x00, 0x72, 0xB2, 0xff}, // blue
	{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	{0x00, 0x9E, 0x73, 0xff}, // bluish green
	{0xCC, 0x79, 0xA7, 0xff}, // reddish purple
	{0xE6, 0x9F, 0x00, 0xff}, // orange
	{0x56, 0xB4, 0xE9, 0xff}, // sky blue
	{0x00, 0x00, 0x00, 0xff}, // black
}

// sans is the font of every text of the figures.
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// figure is one rendered plot: its title, the SVG markup (no XML prolog),
// and notes on what could not be drawn.
type figure struct {
	Title string
	SVG   string
	Notes []string
}

// group collects the series of one figure.
type group struct {
	title  string
	series []judge.Series
	logY   bool
	logX   bool
}

// groupSeries groups the series by Figure, in order of first appearance.
func groupSeries(ss []judge.Series) []*group {
	var out []*group
	byName := map[string]*group{}
	for _, s := range ss {
		g := byName[s.Figure]
		if g == nil {
			g = &group{title: s.Figure}
			byName[s.Figure] = g
			out = append(out, g)
		}
		g.series = append(g.series, s)
		g.logY = g.logY || s.LogY
		g.logX = g.logX || s.LogX
	}
	return out
}

// points returns the drawable points of a series: both coordinates finite
// and, on a log axis, positive. It also returns how many points were dropped.
func points(s judge.Series, logX, logY bool) (plotter.XYs, int) {
	n := min(len(s.X), len(s.Y))
	xys := make(plotter.XYs, 0, n)
	origin := 0 // step 0 on a log step axis: expected off the plot, not a dropped point
	for i := 0; i < n; i++ {
		x, y := float64(s.X[i]), float64(s.Y[i])
		if logX && x == 0 {
			origin++
			continue
		}
		if !finite(x) || !finite(y) || (logY && y <= 0) || (logX && x < 0) {
			continue
		}
		xys = append(xys, plotter.XY{X: x, Y: y})
	}
	return xys, max(len(s.X), len(s.Y)) - len(xys) - origin
}

var (
	svgProlog   = regexp.MustCompile(`(?s)^.*?(<svg\b)`)
	svgFontFace = regexp.MustCompile(`font-family:Liberation (Sans|Serif|Mono);`)
	xlinkNS     = regexp.MustCompile(`\s*xmlns:xlink="[^"]*"`)
)

// inlineSVG turns a vgsvg document into markup fit for an HTML page: no XML
// prolog or comment, font fallbacks for readers without Liberation fonts, and
// no unused xlink namespace.
func inlineSVG(doc []byte) string {
	s := svgProlog.ReplaceAllString(string(doc), "$1")
	s = svgFontFace.ReplaceAllStringFunc(s, func(m string) string {
		switch {
		case strings.Contains(m, "Sans"):
			return "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"
		case strings.Contains(m, "Mono"):
			return "font-family:'Liberation Mono','Courier New',monospace;"
		}
		return "font-family:'Liberation Serif','Times New Roman',serif;"
	})
	if !strings.Contains(s, "xlink:") {
		s = xlinkNS.ReplaceAllString(s, "")
	}
	return strings.TrimSpace(s)
}

// renderFigures draws one figure per distinct Series.Figure, in order of
// first appearance, with the events of the report as vertical lines.
func renderFigures(r *judge.Report) ([]figure, error) {
	var figs []figure
	for _, g := range groupSeries(r.Series) {
		f, err := renderFigure(g, r.Events)
		if err != nil {
			return nil, fmt.Errorf("report: figure %q: %w", g.title, err)
		}
		figs = append(figs, f)
	}
	return figs, nil
}

func renderFigure(g *group, events []judge.Event) (f figure, err error) {
	f.Title = g.title
	defer func() {
		// gonum/plot panics on some degenerate input (a log axis with no
		// positive range, for one); report it rather than crash the
		// command.
		if e := recover(); e != nil {
			err = fmt.Errorf("drawing failed: %v", e)
		}
	}()

	p := newPlot(g.title)
	drawn, legend, b, err := addSeries(p, g, &f)
	if err != nil {
		return f, err
	}
	if len(drawn) == 0 {
		f.Notes = append(f.Notes, "no drawable point in this figure")
		return f, nil
	}
	xmin, xmax := setXAxis(p, g.logX, b)
	setYAxis(p, g.logY, b)

	shown := eventsWithin(events, xmin, xmax)
	if len(shown) > 0 {
		p.Add(eventLines{events: shown})
	}
	legend.top, legend.left = legendCorner(drawn, shown, p.X.Min, p.X.Max, p.Y.Min, p.Y.Max, g.logX, g.logY)
	p.Add(legend)

	f.SVG, err = plotSVG(p)
	return f, err
}

// styledPlot returns an empty plot with a title and the fonts every figure
// uses: the title at 12 pt, axis labels at 10, tick labels at 9.
func styledPlot(title string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sans, 12)
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = font.From(sans, 10)
		ax.Tick.Label.Font = font.From(sans, 9)
	}
	return p
}

// newPlot returns an empty trajectory plot: styledPlot with the step axis,
// linear ticks and a grid.
func newPlot(title string) *plot.Plot {
	p := styledPlot(title)
	p.X.Label.Text = "step"
	p.X.Tick.Marker = linearTicks{}
	p.Y.Tick.Marker = linearTicks{}
	p.Add(plotter.NewGrid())
	return p
}

// dataRange is the range of the points drawn.
type dataRange struct{ xmin, xmax, ymin, ymax float64 }

// addSeries draws the series of g on p, each in its own colour (dashed once
// the palette runs out), and returns the points drawn per series, their
// legend, and the range they cover. It notes on f what could not be drawn.
func addSeries(p *plot.Plot, g *group, f *figure) (drawn []plotter.XYs, legend legendBox, b dataRange, err error) {
	b = dataRange{math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)}
	for i, s := range g.series {
		xys, dropped := points(s, g.logX, g.logY)
		name := s.Name
		if name == "" {
			name = fmt.Sprintf("series %d", i+1)
		}
		f.Notes = append(f.Notes, seriesNotes(s, name, dropped, g.logX || g.logY)...)
		if len(xys) == 0 {
			continue
		}
		for _, pt := range xys {
			b.xmin, b.xmax = math.Min(b.xmin, pt.X), math.Max(b.xmax, pt.X)
			b.ymin, b.ymax = math.Min(b.ymin, pt.Y), math.Max(b.ymax, pt.Y)
		}
		line, err := addLine(p, xys, i)
		if err != nil {
			return nil, legend, b, err
		}
		legend.entries = append(legend.entries, legendEntry{name, line})
		drawn = append(drawn, xys)
	}
	return drawn, legend, b, nil
}

// seriesNotes says what of series s (called name) is not drawn: the dropped
// points, and the unmatched tail of X or Y.
func seriesNotes(s judge.Series, name string, dropped int, logAxis bool) []string {
	var notes []string
	if dropped > 0 {
		why := "not finite"
		if logAxis {
			why = "not finite or not positive on a log axis"
		}
		notes = append(notes, fmt.Sprintf("%s: %d of %d points not drawn (%s)", name, dropped, max(len(s.X), len(s.Y)), why))
	}
	if len(s.X) != len(s.Y) {
		notes = append(notes, fmt.Sprintf("%s: %d x values but %d y values", name, len(s.X), len(s.Y)))
	}
	return notes
}

// addLine draws the i-th series of a figure as a line, with a dot when it
// has a single point (a line through one point draws nothing).
func addLine(p *plot.Plot, xys plotter.XYs, i int) (*plotter.Line, error) {
	col := palette[i%len(palette)]
	line, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	line.Color = col
	line.Width = vg.Points(1.6)
	if k := i / len(palette); k > 0 {
		line.Dashes = []vg.Length{vg.Points(float64(2 + 2*k)), vg.Points(2)}
	}
	p.Add(line)
	if len(xys) < 2 {
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle.Color = col
		sc.GlyphStyle.Radius = vg.Points(2.5)
		sc.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(sc)
	}
	return line, nil
}

// setXAxis fits the step axis to the data, widened around a single step,
// and returns its range.
func setXAxis(p *plot.Plot, logX bool, b dataRange) (xmin, xmax float64) {
	xmin, xmax = b.xmin, b.xmax
	if xmin == xmax {
		xmin, xmax = xmin-1, xmax+1
	}
	p.X.Min, p.X.Max = xmin, xmax
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = logTicks{}
		p.X.Label.Text = "step (log scale)"
	}
	return xmin, xmax
}

// setYAxis fits the value axis to the data: on a log axis, out to whole
// decades; on a linear one, with a margin, widened around a single value.
func setYAxis(p *plot.Plot, logY bool, b dataRange) {
	ymin, ymax := b.ymin, b.ymax
	if logY {
		lo := math.Pow10(int(math.Floor(math.Log10(ymin) + 1e-9)))
		hi := math.Pow10(int(math.Ceil(math.Log10(ymax) - 1e-9)))
		if hi <= lo {
			hi = lo * 10
		}
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
		p.Y.Min, p.Y.Max = lo, hi
		p.Y.Label.Text = "log scale"
		return
	}
	if ymin == ymax {
		d := math.Max(math.Abs(ymin)*0.1, 1)
		ymin, ymax = ymin-d, ymax+d
	}
	pad := (ymax - ymin) * 0.04
	p.Y.Min, p.Y.Max = ymin-pad, ymax+pad
}

// eventsWithin returns the events that happened at a step in [xmin, xmax].
func eventsWithin(events []judge.Event, xmin, xmax float64) []judge.Event {
	var shown []judge.Event
	for _, ev := range events {
		s := float64(ev.Step)
		if ev.Step >= 0 && s >= xmin && s <= xmax {
			shown = append(shown, ev)
		}
	}
	return shown
}

// plotSVG draws p as an SVG figure, ready to inline.
func plotSVG(p *plot.Plot) (string, error) {
	c := vgsvg.New(vg.Points(figWidth), vg.Points(figHeight))
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", err
	}
	return inlineSVG(buf.Bytes()), nil
}
