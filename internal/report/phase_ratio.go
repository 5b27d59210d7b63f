package report

import (
	"fmt"
	"math"
	"strconv"

	"mimverify/judge"
)

// ratioDiagram is the second picture of a claim over two axes: each cell
// coloured by its verdict margin (marginOf the mean measured/predicted over
// the seeds) on the diverging marginMap — blue where the claim holds with
// room, white at the bound, vermillion where it fails short, whatever the
// claim's relation — labelled with measured/predicted, with a colour bar
// and the regime boundary. The verdict diagram says which side of the
// prediction each cell falls; this one says how far.
func ratioDiagram(sw *judge.Sweep, id string) styledFigure {
	rel := claimRelation(sw, id)
	margins := make([]float64, len(sw.Plan.Axes[0].Values)*len(sw.Plan.Axes[1].Values))
	for i := range margins {
		margins[i] = math.NaN()
	}
	span := 0.0
	f, g := gridPlot(sw, id, fmt.Sprintf("%s: verdict margin (cells: measured / predicted, holds when %s 1)", id, rel), func(cell int, cc judge.CellClaim, g *phaseGrid) {
		g.label[cell] = "—"
		if m := marginOf(float64(cc.Ratio), rel); !math.IsNaN(m) {
			margins[cell] = m
			span = math.Max(span, math.Abs(m))
			g.label[cell] = strconv.FormatFloat(float64(cc.Ratio), 'g', 2, 64)
		}
	})
	// A symmetric range of whole decades, at least one either way, so that
	// the bound is always white and a colour reads the same in every
	// diagram of the page.
	span = math.Max(1, math.Ceil(span))
	cmap := marginMap{span: span}
	for i, v := range margins {
		if math.IsNaN(v) {
			continue
		}
		g.fill[i], _ = cmap.At(v)
		g.dark[i] = math.Abs(v) > 0.55*span
	}
	f.plot.Add(g)
	f.bar = &colorBar{cmap: cmap, lo: -span, hi: span, ticks: marginTicks(span), label: "verdict margin (log scale)"}
	f.legend.add("regime boundary", lineThumb(boundaryLine))
	f.legend.add("no ratio (not measured, or prediction ≤ 0)", rectThumb{fill: classColors[classNone], outline: true})
	return f
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
