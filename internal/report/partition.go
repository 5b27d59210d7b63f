package report

import (
	"fmt"
	"html"
	"image/color"
	"math"
	"strings"

	"mimverify/theory"
)

// areaColor is the fill of an area label: the figure palette for the first
// labels, then hues spread by the golden angle.
func areaColor(label int) string {
	light := []string{
		"#56B4E9", "#E69F00", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
		"#999999", "#88CCEE", "#DDCC77", "#117733", "#AA4499",
	}
	if label >= 0 && label < len(light) {
		return light[label]
	}
	h := math.Mod(float64(label)*137.508, 360)
	return fmt.Sprintf("hsl(%.0f,55%%,60%%)", h)
}

// inkOn returns black or white, whichever reads better on the fill.
func inkOn(fill string) string {
	var c color.RGBA
	if _, err := fmt.Sscanf(fill, "#%02x%02x%02x", &c.R, &c.G, &c.B); err != nil {
		return "#000"
	}
	lum := 0.2126*float64(c.R) + 0.7152*float64(c.G) + 0.0722*float64(c.B)
	if lum < 110 {
		return "#fff"
	}
	return "#000"
}

// partitionSVG draws a cluster's partition: the grid of positions (Side×Side,
// row-major) or, when the setting has no grid, one row of P positions, each
// cell filled with its area's colour and, when cells are large enough,
// labelled with the area number. Hovering a cell shows its position and area.
func partitionSVG(s *theory.Setting, c theory.Cluster) string {
	rows, cols := 1, len(c.Areas)
	if s.Side > 0 && s.Side*s.Side == len(c.Areas) {
		rows, cols = s.Side, s.Side
	}
	if cols == 0 {
		return ""
	}
	maxW := 220.0
	if rows == 1 {
		maxW = 640
	}
	size := math.Min(28, math.Max(3, math.Floor(maxW/float64(cols))))
	w, h := size*float64(cols), size*float64(rows)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="partition" width="%g" height="%g" viewBox="0 0 %g %g" role="img">`, w+2, h+2, w+2, h+2)
	fmt.Fprintf(&b, `<title>%s</title>`, html.EscapeString(fmt.Sprintf("partition of cluster %s into %d areas", c.Name, c.NumAreas())))
	b.WriteString(`<g transform="translate(1,1)">`)
	label := size >= 12 && c.NumAreas() <= 99
	for p, a := range c.Areas {
		r, col := p/cols, p%cols
		x, y := float64(col)*size, float64(r)*size
		fill := areaColor(a)
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="%s" stroke="#fff" stroke-width="%g"><title>%s</title></rect>`,
			x, y, size, size, fill, math.Min(1, size/8), html.EscapeString(posTitle(s, rows, p, a)))
		if label {
			fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="%g" text-anchor="middle" dominant-baseline="central" fill="%s">%d</text>`,
				x+size/2, y+size/2, math.Floor(size*0.5), inkOn(fill), a)
		}
	}
	// Area borders: a dark line between neighbours of different areas.
	if path := areaBorders(c.Areas, rows, cols, size); path != "" {
		fmt.Fprintf(&b, `<path d="%s" stroke="#222" stroke-width="1.5" fill="none"/>`, path)
	}
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%g" height="%g" fill="none" stroke="#222" stroke-width="1.5"/>`, w, h)
	b.WriteString(`</g></svg>`)
	return b.String()
}

func posTitle(s *theory.Setting, rows, p, a int) string {
	if rows > 1 {
		return fmt.Sprintf("position %d (row %d, column %d): area %d", p, p/s.Side, p%s.Side, a)
	}
	return fmt.Sprintf("position %d: area %d", p, a)
}

// areaBorders is the SVG path of the lines between grid neighbours of
// different areas, for cells of the given size ("" when there is none).
func areaBorders(areas []int, rows, cols int, size float64) string {
	var path strings.Builder
	for p, a := range areas {
		r, col := p/cols, p%cols
		x, y := float64(col)*size, float64(r)*size
		if col+1 < cols && areas[p+1] != a {
			fmt.Fprintf(&path, "M%g %gV%g", x+size, y, y+size)
		}
		if r+1 < rows && areas[p+cols] != a {
			fmt.Fprintf(&path, "M%g %gH%g", x, y+size, x+size)
		}
	}
	return path.String()
}
