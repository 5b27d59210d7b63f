package report

import (
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"mimverify/judge"
)

// claimAxis names the measured quantity of each claim on a y axis, with
// its unit (docs/CLAIMS.md); a claim not listed gets its title.
var claimAxis = map[string]string{
	"C1": "relative gap full vs exact",
	"C2": "reconstructable loss at T",
	"C3": "T(ε), steps",
	"C4": "FP share of the logit gap",
	"C5": "2δ-quantile of TV distance",
	"C6": "events missing or misordered",
	"C7": "1 − own-area mass at T",
	"C8": "measured gap / bound",
}

// lineCell is one value of a one-axis sweep, over its seeds: the measured
// values, the paper's predictions, and the reduced ODE's predictions and
// bands (when made).
type lineCell struct {
	x                      float64
	meas, pred             []float64
	sharp, sharpLo, sharp2 []float64
}

// lineCells collects claim id's values per axis value; x is the value when
// every value of the axis is a number, its index otherwise (numeric says
// which).
func lineCells(sw *judge.Sweep, id string) (cells []lineCell, numeric bool) {
	ax := sw.Plan.Axes[0]
	xs := make([]float64, len(ax.Values))
	numeric = true
	for i, v := range ax.Values {
		x, err := strconv.ParseFloat(v, 64)
		numeric = numeric && err == nil && finite(x)
		xs[i] = x
	}
	cells = make([]lineCell, len(ax.Values))
	for i := range cells {
		cells[i].x = float64(i)
		if numeric {
			cells[i].x = xs[i]
		}
	}
	for _, pt := range sw.Points {
		if pt.Cell < 0 || pt.Cell >= len(cells) {
			continue
		}
		c := &cells[pt.Cell]
		for _, r := range pt.Results {
			if r.ID != id {
				continue
			}
			c.meas = appendFinite(c.meas, float64(r.Measured))
			c.pred = appendFinite(c.pred, float64(r.Predicted))
			if sh := r.Sharp; sh != nil && finite(sh.Predicted) {
				c.sharp = append(c.sharp, float64(sh.Predicted))
				c.sharpLo = append(c.sharpLo, float64(sh.Low))
				c.sharp2 = append(c.sharp2, float64(sh.High))
			}
		}
	}
	return cells, numeric
}

func appendFinite(xs []float64, v float64) []float64 {
	if finite(v) {
		return append(xs, v)
	}
	return xs
}

// mean is the mean of xs (NaN when empty or any is not finite).
func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// linePlot is a claim over one axis: the measured quantity against the
// varied field — the mean over the seeds as markers on a solid line, their
// least to greatest as error bars — with the paper's prediction (dotted
// grey) and the reduced ODE's (dashed, its band shaded). Axes are
// logarithmic where the values are positive and span more than a decade.
func linePlot(sw *judge.Sweep, id string) styledFigure {
	ax := sw.Plan.Axes[0]
	cells, numeric := lineCells(sw, id)
	p := styledPlot(id + ": measured and predicted against " + ax.Field)
	p.X.Label.Text = fieldLabel(ax.Field)
	p.Y.Label.Text = claimAxis[id]
	if p.Y.Label.Text == "" {
		p.Y.Label.Text = id
	}
	p.Y.Tick.Marker = linearTicks{}
	p.Add(plotter.NewGrid())
	f := styledFigure{plot: p, width: vg.Points(figWidth), height: vg.Points(figHeight)}
	var meas, pred, sharp, lo, hi plotter.XYs
	var errs plotter.YErrors
	for _, c := range cells {
		if m := mean(c.meas); finite(m) {
			meas = append(meas, plotter.XY{X: c.x, Y: m})
			errs = append(errs, struct{ Low, High float64 }{m - slices.Min(c.meas), slices.Max(c.meas) - m})
		}
		if v := mean(c.pred); finite(v) {
			pred = append(pred, plotter.XY{X: c.x, Y: v})
		}
		if v, l, h := mean(c.sharp), mean(c.sharpLo), mean(c.sharp2); finite(v) {
			sharp = append(sharp, plotter.XY{X: c.x, Y: v})
			if finite(l) && finite(h) {
				lo, hi = append(lo, plotter.XY{X: c.x, Y: l}), append(hi, plotter.XY{X: c.x, Y: h})
			}
		}
	}
	if len(meas)+len(pred)+len(sharp) == 0 {
		p.Title.Text += " (nothing measured)"
		return f
	}
	all := slices.Concat(meas, pred, sharp, lo, hi)
	logY := positiveDecades(all, func(xy plotter.XY) float64 { return xy.Y })
	logX := numeric && positiveDecades(all, func(xy plotter.XY) float64 { return xy.X })
	addLineSeries(&f, meas, errs, pred, sharp, lo, hi, logY, sw.Plan.Seeds)
	lineAxes(p, all, numeric, logX, logY, ax.Values)
	return f
}

// positiveDecades reports whether the values v(xy) are all positive and
// span more than a decade: a log axis shows them better.
func positiveDecades(xys plotter.XYs, v func(plotter.XY) float64) bool {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, xy := range xys {
		lo, hi = math.Min(lo, v(xy)), math.Max(hi, v(xy))
	}
	return lo > 0 && hi/lo > 10
}

// addLineSeries draws a line plot's curves in the figure style and adds
// them to its legend.
func addLineSeries(f *styledFigure, meas plotter.XYs, errs plotter.YErrors, pred, sharp, lo, hi plotter.XYs, logY bool, seeds int) {
	p := f.plot
	if len(lo) > 1 {
		band := slices.Clone(hi)
		for i := len(lo) - 1; i >= 0; i-- {
			band = append(band, lo[i])
		}
		if logY {
			band = slices.DeleteFunc(band, func(xy plotter.XY) bool { return xy.Y <= 0 })
		}
		if poly, err := plotter.NewPolygon(band); err == nil && len(band) > 2 {
			poly.Color, poly.LineStyle.Width = bandColor(palette[0]), 0
			p.Add(poly)
			f.legend.add("band of the reduced ODE", rectThumb{fill: bandColor(palette[0])})
		}
	}
	if l, err := plotter.NewLine(sharp); err == nil && len(sharp) > 0 {
		l.LineStyle = lineStyle(rolePrediction, palette[0])
		p.Add(l)
		f.legend.add("reduced ODE (sharp prediction)", l)
	}
	if l, sc, err := plotter.NewLinePoints(pred); err == nil && len(pred) > 0 {
		l.LineStyle = lineStyle(roleEnvelope, nil)
		sc.GlyphStyle = draw.GlyphStyle{Color: envelopeGrey, Radius: vg.Points(2), Shape: draw.BoxGlyph{}}
		p.Add(l, sc)
		f.legend.add("paper's prediction (envelope)", l, sc)
	}
	if len(meas) == 0 {
		return
	}
	l, sc, err := plotter.NewLinePoints(meas)
	if err != nil {
		return
	}
	l.LineStyle = lineStyle(roleMeasured, palette[0])
	sc.GlyphStyle = draw.GlyphStyle{Color: palette[0], Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
	p.Add(l, sc)
	name := "measured"
	if seeds > 1 {
		name = "measured, mean over " + strconv.Itoa(seeds) + " seeds (bars: least to greatest)"
		if eb, err := plotter.NewYErrorBars(struct {
			plotter.XYs
			plotter.YErrors
		}{meas, errs}); err == nil {
			eb.LineStyle = draw.LineStyle{Color: palette[0], Width: vg.Points(1)}
			p.Add(eb)
		}
	}
	f.legend.add(name, l, sc)
}

// lineAxes fits a line plot's axes to its points, on log scales when asked;
// a non-numeric axis is labelled with its values.
func lineAxes(p *plot.Plot, all plotter.XYs, numeric, logX, logY bool, values []string) {
	b := dataRange{math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)}
	for _, xy := range all {
		b.cover(xy.X, xy.Y)
	}
	setYAxis(p, logY, b)
	if !numeric {
		p.X.Tick.Marker = valueTicks(values)
		p.X.Min, p.X.Max = -0.5, float64(len(values))-0.5
		return
	}
	pad := (b.xmax - b.xmin) * 0.05
	p.X.Tick.Marker = sweptTicks(values)
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Min, p.X.Max = b.xmin/1.25, b.xmax*1.25
		return
	}
	if pad == 0 {
		pad = 1
	}
	p.X.Min, p.X.Max = b.xmin-pad, b.xmax+pad
}

// sweptTicks marks a numeric axis at the swept values, labelled as the
// user wrote them.
type sweptTicks []string

// Ticks implements plot.Ticker.
func (v sweptTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for _, s := range v {
		if x, err := strconv.ParseFloat(s, 64); err == nil && x >= lo && x <= hi {
			ts = append(ts, plot.Tick{Value: x, Label: s})
		}
	}
	return ts
}
