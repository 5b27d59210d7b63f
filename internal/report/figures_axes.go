package report

import (
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"mimverify/judge"
)

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
