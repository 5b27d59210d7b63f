package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"regexp"
	"strconv"
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

// logTicks marks a logarithmic axis at the powers of ten (labelled, every
// one or every few when the range spans many decades) and, over a few
// decades, at their multiples 2…9 (unlabelled). It replaces plot.LogTicks,
// which truncates log10 towards zero and so misses the lowest decade of
// ranges such as [1e-4, 1] or [0.1, 10].
type logTicks struct{}

// Ticks implements plot.Ticker.
func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi >= lo) || !finite(hi) {
		return nil
	}
	e0 := int(math.Floor(math.Log10(lo) + 1e-9))
	e1 := int(math.Ceil(math.Log10(hi) - 1e-9))
	if e1 <= e0 {
		e1 = e0 + 1
	}
	decades := e1 - e0
	stride := 1 + (decades-1)/8
	var ticks []plot.Tick
	for e := e0; e <= e1; e++ {
		v := math.Pow10(e)
		t := plot.Tick{Value: v}
		if (e-e0)%stride == 0 {
			t.Label = strconv.FormatFloat(v, 'g', -1, 64)
		}
		ticks = append(ticks, t)
		if decades <= 6 && e < e1 {
			for m := 2; m <= 9; m++ {
				ticks = append(ticks, plot.Tick{Value: float64(m) * v})
			}
		}
	}
	var in []plot.Tick
	for _, t := range ticks {
		if t.Value >= lo*(1-1e-12) && t.Value <= hi*(1+1e-12) {
			in = append(in, t)
		}
	}
	return in
}

// eventLines draws the phase events as labelled vertical dashed lines at
// their steps. It has no data range, so it never widens the axes.
type eventLines struct {
	events []judge.Event
}

// Plot implements plot.Plotter.
func (e eventLines) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := draw.LineStyle{Color: color.RGBA{0x44, 0x44, 0x44, 0xff}, Width: vg.Points(0.9), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}
	txt := draw.TextStyle{
		Color:    color.RGBA{0x22, 0x22, 0x22, 0xff},
		Font:     font.From(sans, 8),
		Rotation: math.Pi / 2,
		XAlign:   draw.XRight,
		YAlign:   draw.YTop,
		Handler:  p.TextHandler,
	}
	for _, ev := range e.events {
		x := trX(float64(ev.Step))
		c.StrokeLine2(sty, x, c.Min.Y, x, c.Max.Y)
	}
	// Labels read upwards, ending near the top, right of their line, on a
	// light background so that they stay readable over the curves. A label
	// that would overlap an earlier one moves down below it.
	type placed struct{ box vg.Rectangle }
	var done []placed
	for _, ev := range e.events {
		x := trX(float64(ev.Step))
		w, h := txt.Width(ev.Name), txt.Height(ev.Name)
		top := c.Max.Y - vg.Points(3)
		box := func(top vg.Length) vg.Rectangle {
			return vg.Rectangle{Min: vg.Point{X: x + vg.Points(0.8), Y: top - w - vg.Points(1)}, Max: vg.Point{X: x + vg.Points(2) + h, Y: top + vg.Points(1)}}
		}
		for moved := true; moved; {
			moved = false
			b := box(top)
			for _, d := range done {
				if b.Min.X < d.box.Max.X && d.box.Min.X < b.Max.X && b.Min.Y < d.box.Max.Y && d.box.Min.Y < b.Max.Y {
					top = d.box.Min.Y - vg.Points(3)
					moved = true
				}
			}
		}
		if top-w < c.Min.Y {
			top = c.Max.Y - vg.Points(3) // no room: overlap rather than leave the plot
		}
		bg := box(top)
		done = append(done, placed{bg})
		c.SetColor(color.NRGBA{0xff, 0xff, 0xff, 0xd0})
		c.Fill(bg.Path())
		c.FillText(txt, vg.Point{X: x + vg.Points(1.5), Y: top}, ev.Name)
	}
}

// legendEntry is one line of a legend.
type legendEntry struct {
	name  string
	thumb plot.Thumbnailer
}

// legendBox draws the legend inside the data area, in a corner, on a white
// box. (plot.Legend draws on the canvas before the axes' padding, so that it
// can stick out of the data area, and it has no background.)
type legendBox struct {
	entries   []legendEntry
	top, left bool
}

// Plot implements plot.Plotter.
func (l legendBox) Plot(c draw.Canvas, p *plot.Plot) {
	if len(l.entries) == 0 {
		return
	}
	sty := draw.TextStyle{Color: color.Black, Font: font.From(sans, 9), XAlign: draw.XLeft, YAlign: draw.YCenter, Handler: p.TextHandler}
	thumbW, gap, pad, margin := vg.Points(18), vg.Points(4), vg.Points(4), vg.Points(5)
	var textW, lineH vg.Length
	for _, e := range l.entries {
		textW = max(textW, sty.Width(e.name))
		lineH = max(lineH, sty.Height(e.name))
	}
	lineH += vg.Points(2)
	w := pad + thumbW + gap + textW + pad
	h := pad + lineH*vg.Length(len(l.entries)) + pad
	box := vg.Rectangle{Min: vg.Point{X: c.Max.X - margin - w, Y: c.Max.Y - margin - h}}
	if l.left {
		box.Min.X = c.Min.X + margin
	}
	if !l.top {
		box.Min.Y = c.Min.Y + margin
	}
	box.Max = vg.Point{X: box.Min.X + w, Y: box.Min.Y + h}
	c.SetColor(color.NRGBA{0xff, 0xff, 0xff, 0xe6})
	c.Fill(box.Path())
	c.SetLineStyle(draw.LineStyle{Color: color.RGBA{0xbb, 0xbb, 0xbb, 0xff}, Width: vg.Points(0.6)})
	c.Stroke(box.Path())
	for i, e := range l.entries {
		y := box.Max.Y - pad - lineH*vg.Length(i)
		icon := &draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: box.Min.X + pad, Y: y - lineH},
			Max: vg.Point{X: box.Min.X + pad + thumbW, Y: y},
		}}
		e.thumb.Thumbnail(icon)
		c.FillText(sty, vg.Point{X: box.Min.X + pad + thumbW + gap, Y: y - lineH/2}, e.name)
	}
}

// linearTicks marks a linear axis at round numbers (1, 2 or 5 times a power
// of ten), about five of them labelled, with unlabelled ticks between.
// Labels are the shortest decimal form ("250", not "250.00").
type linearTicks struct{}

// Ticks implements plot.Ticker.
func (linearTicks) Ticks(lo, hi float64) []plot.Tick {
	if !finite(lo) || !finite(hi) || hi <= lo {
		return nil
	}
	raw := (hi - lo) / 5
	mag := math.Pow10(int(math.Floor(math.Log10(raw))))
	step, minor := mag, mag/5
	switch f := raw / mag; {
	case f >= 7:
		step, minor = 10*mag, 2*mag
	case f >= 3:
		step, minor = 5*mag, mag
	case f >= 1.5:
		step, minor = 2*mag, mag/2
	}
	var ticks []plot.Tick
	for k := math.Ceil(lo/minor - 1e-9); k*minor <= hi*(1+1e-12)+1e-300; k++ {
		v := k * minor
		t := plot.Tick{Value: v}
		if r := v / step; math.Abs(r-math.Round(r)) < 1e-6 {
			v = math.Round(r) * step
			if math.Abs(v) < step*1e-9 {
				v = 0
			}
			t.Value = v
			t.Label = strconv.FormatFloat(v, 'g', 6, 64)
		}
		ticks = append(ticks, t)
		if len(ticks) > 200 {
			break
		}
	}
	return ticks
}

// legendCorner picks the corner of the data area with the fewest points
// near it, so that the legend hides as little as possible.
func legendCorner(all []plotter.XYs, events []judge.Event, xmin, xmax, ymin, ymax float64, logX, logY bool) (top, left bool) {
	norm := func(v, lo, hi float64, log bool) float64 {
		if log {
			v, lo, hi = math.Log(v), math.Log(lo), math.Log(hi)
		}
		if hi <= lo {
			return 0.5
		}
		return (v - lo) / (hi - lo)
	}
	var counts [2][2]int // [top][left]
	for _, xys := range all {
		for _, pt := range xys {
			u := norm(pt.X, xmin, xmax, logX)
			v := norm(pt.Y, ymin, ymax, logY)
			if u > 0.35 && u < 0.65 {
				continue
			}
			if v > 0.35 && v < 0.65 {
				continue
			}
			t, l := 0, 0
			if v >= 0.65 {
				t = 1
			}
			if u <= 0.35 {
				l = 1
			}
			counts[t][l]++
		}
	}
	// The event labels take the top of the plot near their lines.
	for _, ev := range events {
		u := norm(float64(ev.Step), xmin, xmax, logX)
		switch {
		case u <= 0.4:
			counts[1][1] += 25
		case u >= 0.6:
			counts[1][0] += 25
		}
	}
	best := counts[1][0] // top right is the default
	top, left = true, false
	for _, cand := range [][2]int{{1, 1}, {0, 0}, {0, 1}} {
		if n := counts[cand[0]][cand[1]]; n < best {
			best, top, left = n, cand[0] == 1, cand[1] == 1
		}
	}
	return top, left
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

	p := plot.New()
	p.Title.Text = g.title
	p.Title.TextStyle.Font = font.From(sans, 12)
	p.X.Label.Text = "step"
	p.X.Label.TextStyle.Font = font.From(sans, 10)
	p.Y.Label.TextStyle.Font = font.From(sans, 10)
	p.X.Tick.Label.Font = font.From(sans, 9)
	p.Y.Tick.Label.Font = font.From(sans, 9)
	p.X.Tick.Marker = linearTicks{}
	p.Y.Tick.Marker = linearTicks{}
	p.Add(plotter.NewGrid())

	xmin, xmax := math.Inf(1), math.Inf(-1)
	ymin, ymax := math.Inf(1), math.Inf(-1)
	var drawn []plotter.XYs
	var legend legendBox
	for i, s := range g.series {
		xys, dropped := points(s, g.logX, g.logY)
		name := s.Name
		if name == "" {
			name = fmt.Sprintf("series %d", i+1)
		}
		if dropped > 0 {
			why := "not finite"
			if g.logY || g.logX {
				why = "not finite or not positive on a log axis"
			}
			f.Notes = append(f.Notes, fmt.Sprintf("%s: %d of %d points not drawn (%s)", name, dropped, max(len(s.X), len(s.Y)), why))
		}
		if len(s.X) != len(s.Y) {
			f.Notes = append(f.Notes, fmt.Sprintf("%s: %d x values but %d y values", name, len(s.X), len(s.Y)))
		}
		if len(xys) == 0 {
			continue
		}
		for _, pt := range xys {
			xmin, xmax = math.Min(xmin, pt.X), math.Max(xmax, pt.X)
			ymin, ymax = math.Min(ymin, pt.Y), math.Max(ymax, pt.Y)
		}
		col := palette[i%len(palette)]
		line, err := plotter.NewLine(xys)
		if err != nil {
			return f, err
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
				return f, err
			}
			sc.GlyphStyle.Color = col
			sc.GlyphStyle.Radius = vg.Points(2.5)
			sc.GlyphStyle.Shape = draw.CircleGlyph{}
			p.Add(sc)
		}
		legend.entries = append(legend.entries, legendEntry{name, line})
		drawn = append(drawn, xys)
	}
	if len(drawn) == 0 {
		f.Notes = append(f.Notes, "no drawable point in this figure")
		return f, nil
	}

	if xmin == xmax {
		xmin, xmax = xmin-1, xmax+1
	}
	p.X.Min, p.X.Max = xmin, xmax
	if g.logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = logTicks{}
		p.X.Label.Text = "step (log scale)"
	}
	if g.logY {
		lo := math.Pow10(int(math.Floor(math.Log10(ymin) + 1e-9)))
		hi := math.Pow10(int(math.Ceil(math.Log10(ymax) - 1e-9)))
		if hi <= lo {
			hi = lo * 10
		}
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
		p.Y.Min, p.Y.Max = lo, hi
		p.Y.Label.Text = "log scale"
	} else {
		if ymin == ymax {
			d := math.Max(math.Abs(ymin)*0.1, 1)
			ymin, ymax = ymin-d, ymax+d
		}
		pad := (ymax - ymin) * 0.04
		p.Y.Min, p.Y.Max = ymin-pad, ymax+pad
	}

	var shown []judge.Event
	for _, ev := range events {
		s := float64(ev.Step)
		if ev.Step >= 0 && s >= xmin && s <= xmax {
			shown = append(shown, ev)
		}
	}
	if len(shown) > 0 {
		p.Add(eventLines{events: shown})
	}
	legend.top, legend.left = legendCorner(drawn, shown, p.X.Min, p.X.Max, p.Y.Min, p.Y.Max, g.logX, g.logY)
	p.Add(legend)

	c := vgsvg.New(vg.Points(figWidth), vg.Points(figHeight))
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return f, err
	}
	f.SVG = inlineSVG(buf.Bytes())
	return f, nil
}
