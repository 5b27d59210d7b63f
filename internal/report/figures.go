package report

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"regexp"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"mimverify/judge"
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

// curveMeta is what a trajectory figure shows beyond its series: the name
// of its y axis (the quantity), and which claim's sharp band it draws — a
// value band at the last record (C2, C7: the ±z·SE band of docs/SHARP.md
// §2, which the report carries at the last record only) or step intervals
// (C3's crossing time, C6's three events). Keyed by judge's figure titles
// (judge/figures.go); a figure not listed gets its title as y label.
type curveMeta struct {
	y                string
	valueBand, steps string
}

var curveFigures = map[string]curveMeta{
	"loss":                           {y: "loss per image", valueBand: "C2"},
	"attention mass on own area":     {y: "attention mass (share of 1)", steps: "C3"},
	"1 − attention mass on own area": {y: "1 − own-area attention mass", valueBand: "C7"},
	"FP correlations":                {y: "FP correlation (mean)"},
	"PP correlations":                {y: "max |B|, FP share"},
	"local queries (global layout)":  {y: "local queries' mass", steps: "C6"},
}

// renderFigures draws one figure per distinct Series.Figure, in order of
// first appearance, with the report's phase events and sharp bands.
func renderFigures(r *judge.Report) ([]figure, error) {
	var figs []figure
	for _, g := range groupSeries(r.Series) {
		f, err := curveFigure(g, r)
		if err != nil {
			return nil, fmt.Errorf("report: figure %q: %w", g.title, err)
		}
		figs = append(figs, f)
	}
	return figs, nil
}

// curveFigure draws one trajectory figure: measured curves solid, the
// reduced ODE dashed in the colour of the curve it predicts with its band
// shaded, the paper's envelope dotted grey, thresholds dash-dot grey; the
// phase events as numbered dashed lines; the legend below the axes.
func curveFigure(g *group, r *judge.Report) (f figure, err error) {
	f.Title = g.title
	meta, ok := curveFigures[g.title]
	if !ok {
		meta.y = g.title
	}
	p := styledPlot(g.title)
	p.X.Label.Text, p.Y.Label.Text = "step t", meta.y
	p.X.Tick.Marker, p.Y.Tick.Marker = linearTicks{}, linearTicks{}
	p.Add(plotter.NewGrid())
	var lg legend
	b, err := addSeries(p, g, &f, &lg)
	if err != nil || b.xmin > b.xmax {
		if err == nil {
			f.Notes = append(f.Notes, "no drawable point in this figure")
		}
		return f, err
	}
	if c, ok := claimByID(r, meta.valueBand); ok {
		addValueBand(p, c, b, &lg, predictionColor(g))
	}
	if c, ok := claimByID(r, meta.steps); ok {
		addStepBands(p, c, &lg, predictionColor(g))
	}
	xmin, xmax := setXAxis(p, g.logX, b)
	setYAxis(p, g.logY, b)
	if shown := eventsWithin(r.Events, xmin, xmax); len(shown) > 0 {
		// Numbered in the order they happened.
		slices.SortStableFunc(shown, func(a, b judge.Event) int { return cmp.Compare(a.Step, b.Step) })
		p.Add(eventMarks(shown))
		for i, ev := range shown {
			lg.add(fmt.Sprintf("%s (step %d)", ev.Name, ev.Step), eventThumb(i+1))
		}
	}
	sf := styledFigure{plot: p, legend: lg, width: vg.Points(figWidth), height: vg.Points(figHeight)}
	f.SVG, err = sf.svg()
	return f, err
}

// claimByID finds a claim's result by id ("" finds none).
func claimByID(r *judge.Report, id string) (judge.ClaimResult, bool) {
	for _, c := range r.Results {
		if id != "" && c.ID == id {
			return c, true
		}
	}
	return judge.ClaimResult{}, false
}

// dataRange is the range of the points drawn.
type dataRange struct{ xmin, xmax, ymin, ymax float64 }

func (b *dataRange) cover(x, y float64) {
	b.xmin, b.xmax = math.Min(b.xmin, x), math.Max(b.xmax, x)
	b.ymin, b.ymax = math.Min(b.ymin, y), math.Max(b.ymax, y)
}

// seriesRole reads a curve's role from its name, as judge/figures.go names
// them: the reduced ODE's curves end "reduced ODE (sharp)", the paper's
// envelopes say "predicted" or "envelope", and 1 − ε is the threshold.
func seriesRole(name string) role {
	switch {
	case strings.Contains(name, "reduced ODE"):
		return rolePrediction
	case strings.Contains(name, "predicted") || strings.Contains(name, "envelope"):
		return roleEnvelope
	case name == "1 − ε":
		return roleReference
	}
	return roleMeasured
}

// seriesColors gives each measured curve of g a palette colour in order,
// and each prediction the colour of the measured curve whose name shares
// the most leading words with it ("reconstructable part, reduced ODE" →
// "reconstructable part").
func seriesColors(g *group) []color.Color {
	cols := make([]color.Color, len(g.series))
	k := 0
	for i, s := range g.series {
		if seriesRole(s.Name) == roleMeasured {
			cols[i] = palette[k%len(palette)]
			k++
		}
	}
	for i, s := range g.series {
		if seriesRole(s.Name) != rolePrediction {
			continue
		}
		cols[i], k = palette[k%len(palette)], k+1
		stem := strings.Fields(strings.Split(s.Name, ",")[0])
		best := 0
		for j, m := range g.series {
			if seriesRole(m.Name) != roleMeasured {
				continue
			}
			n := 0
			for w := strings.Fields(m.Name); n < len(w) && n < len(stem) && w[n] == stem[n]; n++ {
			}
			if n > best {
				best, cols[i] = n, cols[j]
			}
		}
	}
	return cols
}

// predictionColor is the colour of g's first reduced-ODE curve, which its
// band shares (the first palette colour when there is none).
func predictionColor(g *group) color.Color {
	cols := seriesColors(g)
	for i, s := range g.series {
		if seriesRole(s.Name) == rolePrediction {
			return cols[i]
		}
	}
	return palette[0]
}

// addSeries draws the series of g on p in their roles' styles, adds them
// to the legend, and returns the range they cover. It notes on f what
// could not be drawn.
func addSeries(p *plot.Plot, g *group, f *figure, lg *legend) (dataRange, error) {
	b := dataRange{math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)}
	cols := seriesColors(g)
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
			b.cover(pt.X, pt.Y)
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return b, err
		}
		line.LineStyle = lineStyle(seriesRole(s.Name), cols[i])
		p.Add(line)
		th := []plot.Thumbnailer{line}
		if len(xys) < 2 { // a line through one point draws nothing
			sc, err := scatterOf(xys, line.Color, draw.CircleGlyph{})
			if err != nil {
				return b, err
			}
			p.Add(sc)
			th = append(th, sc)
		}
		lg.add(name, th...)
	}
	return b, nil
}

// addValueBand shades a claim's sharp band [Low, High] at the last record
// (a bar over the last step) and extends the y range to it.
func addValueBand(p *plot.Plot, c judge.ClaimResult, b dataRange, lg *legend, col color.Color) {
	sh := c.Sharp
	if sh == nil || !finite(sh.Low) || !finite(sh.High) || !(sh.High >= sh.Low) {
		return
	}
	p.Add(valueBar{x: b.xmax, lo: float64(sh.Low), hi: float64(sh.High), col: col})
	lg.add(fmt.Sprintf("%s band of the reduced ODE at the last record", c.ID), rectThumb{fill: bandColor(col), outline: true})
}

// valueBar is a shaded band [lo, hi] drawn as a bar 8 pt wide ending at
// step x; it does not widen the axes.
type valueBar struct {
	x, lo, hi float64
	col       color.Color
}

// Plot implements plot.Plotter.
func (v valueBar) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	lo, hi := v.lo, v.hi
	if _, log := p.Y.Scale.(plot.LogScale); log {
		lo = math.Max(lo, p.Y.Min)
	}
	lo, hi = math.Max(lo, p.Y.Min), math.Min(hi, p.Y.Max)
	if !(hi >= lo) {
		return
	}
	x := trX(v.x)
	pts := []vg.Point{{X: x - vg.Points(8), Y: trY(lo)}, {X: x, Y: trY(lo)}, {X: x, Y: trY(hi)}, {X: x - vg.Points(8), Y: trY(hi)}}
	c.FillPolygon(bandColor(v.col), pts)
	c.StrokeLines(draw.LineStyle{Color: v.col, Width: vg.Points(0.8)}, append(pts, pts[0]))
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
