package report

import (
	"fmt"
	"image/color"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"mimverify/judge"
)

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

// eventMarks draws the phase events as dashed vertical lines, each with
// its number in a circle at the top of the data area (the legend names
// them): numbers, not rotated names, so that events a few steps apart do
// not collide; a circle that would overlap the previous one moves down.
// It has no data range, so it never widens the axes.
type eventMarks []judge.Event

const eventRadius = 6 // points

// Plot implements plot.Plotter.
func (e eventMarks) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := draw.LineStyle{Color: inkColor, Width: vg.Points(0.7), Dashes: []vg.Length{vg.Points(3), vg.Points(3)}}
	var placed []vg.Point
	for i, ev := range e {
		x := trX(float64(ev.Step))
		c.StrokeLine2(sty, x, c.Min.Y, x, c.Max.Y)
		at := vg.Point{X: x, Y: c.Max.Y - vg.Points(eventRadius+2)}
		for moved := true; moved; {
			moved = false
			for _, q := range placed {
				if math.Hypot(float64(q.X-at.X), float64(q.Y-at.Y)) < 2*eventRadius+1 {
					at.Y = q.Y - vg.Points(2*eventRadius+2)
					moved = true
				}
			}
		}
		placed = append(placed, at)
		drawEventNumber(c, at, i+1)
	}
}

// drawEventNumber draws n in a white circle with a dark outline at at.
func drawEventNumber(c draw.Canvas, at vg.Point, n int) {
	r := vg.Points(eventRadius)
	circle := func() vg.Path {
		var pa vg.Path
		pa.Move(vg.Point{X: at.X + r, Y: at.Y})
		pa.Arc(at, r, 0, 2*math.Pi)
		pa.Close()
		return pa
	}
	c.SetColor(color.White)
	c.Fill(circle())
	c.SetLineStyle(draw.LineStyle{Color: inkColor, Width: vg.Points(0.8)})
	c.Stroke(circle())
	txt := draw.TextStyle{Color: inkColor, Font: font.From(sans, 8), XAlign: draw.XCenter, YAlign: draw.YCenter, Handler: plot.DefaultTextHandler}
	c.FillText(txt, at, strconv.Itoa(n))
}

// eventThumb is the legend swatch of the n-th event: its numbered circle.
type eventThumb int

func (n eventThumb) Thumbnail(c *draw.Canvas) {
	drawEventNumber(*c, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: (c.Min.Y + c.Max.Y) / 2}, int(n))
}

// stepBand is a predicted step with its band of steps [lo, hi] (hi may be
// +Inf: the band runs past the last record).
type stepBand struct {
	name         string
	pred, lo, hi float64
}

// c6Event reads one event of C6's sharp band, as judge/sharp.go's sharpC6
// writes it: "NAME at step M, predicted P in [LO, HI]".
var c6Event = regexp.MustCompile(`([^:;]+?) at step [^,]+, predicted ([^ ]+) in \[([^,]+), ([^\]]+)\]`)

// stepBands returns a claim's sharp predictions that are steps: C6's three
// events (from its band), or the claim's own Predicted, Low and High (C3,
// the crossing time).
func stepBands(c judge.ClaimResult) []stepBand {
	sh := c.Sharp
	if sh == nil || math.IsNaN(float64(sh.Predicted)) {
		return nil
	}
	if c.ID != "C6" {
		return []stepBand{{name: c.ID, pred: float64(sh.Predicted), lo: float64(sh.Low), hi: float64(sh.High)}}
	}
	var out []stepBand
	for _, m := range c6Event.FindAllStringSubmatch(sh.Band, -1) {
		num := func(s string) float64 {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return math.NaN()
			}
			return v
		}
		out = append(out, stepBand{name: strings.TrimSpace(m[1]), pred: num(m[2]), lo: num(m[3]), hi: num(m[4])})
	}
	return out
}

// addStepBands shades, for a claim whose sharp prediction is a step, the
// band of steps in which the reduced ODE predicts it, with the predicted
// step as a dashed line, one colour per event (a single one in the colour
// one).
func addStepBands(p *plot.Plot, c judge.ClaimResult, lg *legend, one color.Color) {
	bands := stepBands(c)
	for i, b := range bands {
		if math.IsNaN(b.lo) || math.IsNaN(b.pred) {
			continue
		}
		col := one // a single band shares its reduced-ODE curve's colour
		if len(bands) > 1 {
			col = palette[(i+2)%len(palette)]
		}
		p.Add(stepSpan{band: b, col: col})
		name := fmt.Sprintf("%s predicted step %s, band [%s, %s]", c.ID, trimG(b.pred), trimG(b.lo), trimG(b.hi))
		if len(bands) > 1 {
			name = fmt.Sprintf("%s %s: predicted step %s, band [%s, %s]", c.ID, b.name, trimG(b.pred), trimG(b.lo), trimG(b.hi))
		}
		lg.add(name, rectThumb{fill: bandColor(col)}, lineThumb(lineStyle(rolePrediction, col)))
	}
}

// stepSpan draws a stepBand across the data area; it does not widen the
// axes (a band past the last record runs to the right edge).
type stepSpan struct {
	band stepBand
	col  color.Color
}

// Plot implements plot.Plotter.
func (s stepSpan) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	clip := func(v float64) vg.Length {
		return trX(math.Max(p.X.Min, math.Min(p.X.Max, v)))
	}
	x0, x1 := clip(s.band.lo), clip(s.band.hi)
	if x1-x0 < vg.Points(2) { // a band of one record: still visible
		x0, x1 = x0-vg.Points(1), x1+vg.Points(1)
	}
	c.FillPolygon(bandColor(s.col), []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
	if s.band.pred >= p.X.Min && s.band.pred <= p.X.Max {
		x := trX(s.band.pred)
		c.StrokeLine2(lineStyle(rolePrediction, s.col), x, c.Min.Y, x, c.Max.Y)
	}
}
