package report

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"mimverify/judge"
)

// ratioDiagram is the second picture of a claim over two axes: each cell
// coloured by log₁₀(measured/predicted) (the mean over the seeds) on a
// diverging blue–red map centred at 1, where the measurement equals the
// prediction, and the regime boundary. The verdict diagram says which side
// of the prediction each cell falls; this one says how far.
func ratioDiagram(sw *judge.Sweep, id string) (*plot.Plot, func(draw.Canvas)) {
	rel := claimRelation(sw, id)
	logs := make([]float64, len(sw.Plan.Axes[0].Values)*len(sw.Plan.Axes[1].Values))
	for i := range logs {
		logs[i] = math.NaN()
	}
	span := 0.0
	p, g := gridPlot(sw, id, fmt.Sprintf("%s: measured / predicted (holds when %s 1)", id, rel), func(cell int, cc judge.CellClaim, g *phaseGrid) {
		if cc.Ratio > 0 && finite(cc.Ratio) {
			logs[cell] = math.Log10(float64(cc.Ratio))
			span = math.Max(span, math.Abs(logs[cell]))
			g.label[cell] = strconv.FormatFloat(float64(cc.Ratio), 'g', 2, 64)
		} else {
			g.label[cell] = "—"
		}
	})
	// A symmetric range, at least a factor 10 either way, so that 1 is
	// always white and a cell's colour reads the same in every diagram.
	span = math.Max(1, math.Ceil(span))
	cmap := moreland.SmoothBlueRed()
	cmap.SetMin(-span)
	cmap.SetMax(span)
	for i, v := range logs {
		if math.IsNaN(v) {
			continue
		}
		if col, err := cmap.At(v); err == nil {
			g.fill[i] = col
		}
		g.dark[i] = math.Abs(v) > 0.6*span
	}
	p.Add(g)
	return p, func(c draw.Canvas) { drawRatioLegend(c, cmap, span) }
}

// claimRelation is the relation of a claim in the sweep (≤ when unknown).
func claimRelation(sw *judge.Sweep, id string) string {
	for _, pt := range sw.Points {
		for _, r := range pt.Results {
			if r.ID == id && r.Relation != "" {
				return string(r.Relation)
			}
		}
	}
	return "≤"
}

// drawRatioLegend draws the colour bar: measured/predicted from 10^−span
// (bottom) to 10^span (top), with the regime boundary's line below it.
func drawRatioLegend(c draw.Canvas, cmap interface {
	At(float64) (color.Color, error)
}, span float64) {
	txt := draw.TextStyle{Color: color.Black, Font: font.From(sans, 8), XAlign: draw.XLeft, YAlign: draw.YCenter, Handler: plot.DefaultTextHandler}
	x, top, h, w := c.Min.X+vg.Points(10), c.Max.Y-vg.Points(30), vg.Points(150), vg.Points(14)
	const steps = 60
	for i := range steps {
		v := -span + 2*span*(float64(i)+0.5)/steps
		col, err := cmap.At(v)
		if err != nil {
			continue
		}
		y0 := top - h + h*vg.Length(i)/steps
		c.FillPolygon(col, []vg.Point{{X: x, Y: y0}, {X: x + w, Y: y0}, {X: x + w, Y: y0 + h/steps + 0.5}, {X: x, Y: y0 + h/steps + 0.5}})
	}
	for _, v := range []float64{-span, 0, span} {
		y := top - h + h*vg.Length((v+span)/(2*span))
		c.FillText(txt, vg.Point{X: x + w + vg.Points(5), Y: y}, strconv.FormatFloat(math.Pow(10, v), 'g', 3, 64))
	}
	c.FillText(txt, vg.Point{X: x, Y: top + vg.Points(12)}, "measured / predicted")
	y := top - h - vg.Points(20)
	c.StrokeLine2(draw.LineStyle{Color: color.Black, Width: vg.Points(2.5)}, x, y, x+w, y)
	c.FillText(txt, vg.Point{X: x + w + vg.Points(5), Y: y}, "regime boundary")
}
