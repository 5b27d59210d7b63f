package report

import (
	"bufio"
	"fmt"
	"html/template"
	"io"
	"strings"

	"mimverify/judge"
)

// The HTML page of a sweep: the figures (phase diagrams or line plots,
// inline SVG), the per-cell summary over seeds, and every point's verdicts,
// measurements outside the regime included.
func init() {
	register(Format{Name: "html", Extensions: []string{".html", ".htm"}, Sweep: writeSweepHTML})
}

type sweepHTMLCell struct {
	Text, Class string
}

type sweepHTMLPage struct {
	Title      string
	Class      string // the outcome's banner class
	Total      string
	Facts      []string
	Figures    []template.HTML
	CellHead   []string
	CellRows   [][]string
	PointHead  []string
	PointRows  [][]sweepHTMLCell
	Seeds      int
	FigureNote string
}

var sweepTemplate = template.Must(template.New("sweep").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
` + sharedCSS + `main{max-width:1400px;margin:0 auto;padding:0 1.2rem 2rem}
header{padding:1rem 1.2rem;background:#2d3e50;color:#fff}header h1{margin:0;font-size:1.3rem}
header.fails{background:#b3261e}header.holds{background:#1e7b34}header p.total{margin:.3rem 0 0;font-weight:600}
table{border-collapse:collapse;background:#fff;font-size:.88rem}
th,td{border:1px solid #ddd;padding:.3rem .45rem;text-align:left;vertical-align:top}
td.holds{background:#eaf6ec}td.fails{background:#fde7e6;font-weight:600}
td.emp{background:#f2faf3;color:#555}td.breaks{background:#fdf2f0;color:#8a1c14}td.na{color:#777}
.figs{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}.figs figure{flex:0 1 auto;max-width:100%;overflow-x:auto}
</style>
</head>
<body>
<header class="{{.Class}}"><h1>{{.Title}}</h1><p class="total">{{.Total}}</p></header>
<main>
<ul>{{range .Facts}}<li>{{.}}</li>{{end}}</ul>
{{if .Figures}}<h2>Figures</h2>
<p>{{.FigureNote}}</p>
<div class="figs">{{range .Figures}}<figure>{{.}}</figure>{{end}}</div>{{end}}
{{if .CellRows}}<h2>Per cell over {{.Seeds}} seeds</h2>
<p>Seeds at which the measurement met the prediction, the fraction and its 95 % Wilson interval.</p>
<table><thead><tr>{{range .CellHead}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .CellRows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</tbody></table>{{end}}
<h2>Points</h2>
<p>Inside its regime a claim holds or fails; outside it, it is not asserted but still measured: “holds empirically” or “breaks”, with the first failing regime predicate.</p>
<table><thead><tr>{{range .PointHead}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .PointRows}}<tr>{{range .}}<td{{with .Class}} class="{{.}}"{{end}}>{{.Text}}</td>{{end}}</tr>{{end}}</tbody></table>
</main>
</body>
</html>
`))

func writeSweepHTML(w io.Writer, sw *judge.Sweep) error {
	figs, err := sweepFigures(sw)
	if err != nil {
		return err
	}
	o, _ := sw.Outcome()
	pg := sweepHTMLPage{Title: "mimverify sweep: " + sw.Setting.Name, Facts: append(sweepFacts(sw), provenanceLines(sw.Provenance)...),
		Class: string(o.Status), Total: sw.TotalLine()}
	if len(sw.Axes) == 2 {
		pg.FigureNote = "Per claim, two diagrams over the grid. Verdict: each cell coloured by the claim's verdict (pale: outside the proved regime, where the claim is measured but not asserted), labelled measured/predicted (with several seeds: the seeds that met the prediction). Verdict margin: by how many decades the measurement could move and still meet the prediction — blue holds with room, white at the bound, vermillion fails, whatever the relation — labelled measured/predicted. The thick line is the regime boundary."
	} else if len(figs) > 0 {
		pg.FigureNote = "The measured quantity against the varied field: markers on a solid line are the mean over the seeds, bars their least to greatest value; the paper's prediction (envelope) dotted grey; the reduced ODE's sharp prediction dashed, its band shaded, when the sweep ran with --sharp. Log axes where the values span more than a decade."
	}
	for _, f := range figs {
		svg, err := f.render("svg")
		if err != nil {
			return fmt.Errorf("report: figure %s: %w", f.ID, err)
		}
		// The SVG comes from vgsvg, which escapes every text it draws.
		pg.Figures = append(pg.Figures, template.HTML(inlineSVG(svg)))
	}
	if repeated(sw) {
		pg.Seeds = sw.Plan.Seeds
		pg.CellHead, pg.CellRows = cellRows(sw)
	}
	pg.PointHead, pg.PointRows = sweepHTMLPoints(sw)
	bw := bufio.NewWriter(w)
	if err := sweepTemplate.Execute(bw, pg); err != nil {
		return fmt.Errorf("report: writing HTML: %w", err)
	}
	return bw.Flush()
}

// sweepHTMLPoints is the points table with a class per claim cell.
func sweepHTMLPoints(sw *judge.Sweep) ([]string, [][]sweepHTMLCell) {
	header, rows := sweepRows(sw)
	ids := sweepClaims(sw)
	out := make([][]sweepHTMLCell, len(rows))
	for i, row := range rows {
		first := len(header) - len(ids)
		for j, txt := range row {
			c := sweepHTMLCell{Text: txt}
			if j >= first && sw.Points[i].Error == "" {
				for _, r := range sw.Points[i].Results {
					if r.ID == ids[j-first] {
						c.Class = htmlClass(r)
					}
				}
			}
			out[i] = append(out[i], c)
		}
	}
	return header, out
}

func htmlClass(r judge.ClaimResult) string {
	switch {
	case r.Verdict == judge.Holds:
		return "holds"
	case r.Verdict == judge.Fails:
		return "fails"
	case r.Empirical == judge.Holds:
		return "emp"
	case r.Empirical == judge.Fails:
		return "breaks"
	}
	return "na"
}

// sweepFacts describes the sweep in a few lines.
func sweepFacts(sw *judge.Sweep) []string {
	facts := []string{fmt.Sprintf("base setting %s (P = %d, %d clusters, γ = %g, η = %g)", sw.Setting.Name, sw.Setting.P, len(sw.Setting.Clusters), sw.Setting.Gamma, sw.Setting.Eta)}
	if sw.Plan != nil {
		for _, ax := range sw.Plan.Axes {
			facts = append(facts, fmt.Sprintf("axis %s: %s", ax.Field, strings.Join(ax.Values, ", ")))
		}
		facts = append(facts, fmt.Sprintf("%d cells × %d seeds = %d points (seed from %d); %d samples, ε = %s, δ = %s, step budget %d; plan %s",
			sw.Plan.Cells(), sw.Plan.Seeds, len(sw.Points), sw.Plan.Seed, sw.Plan.Samples, prose(sw.Plan.Epsilon), prose(sw.Plan.Delta), sw.Plan.MaxSteps, sw.PlanHash))
	}
	if sw.Shard != "" {
		facts = append(facts, "shard "+sw.Shard+" of the plan only: 'mimverify merge' combines the shards")
	}
	return facts
}

// markdownFigures links the sweep's figures that WriteSweepFigures writes
// into figDir (relative to the Markdown file); without a directory it
// says how to get them. Never inlined: Markdown readers such as GitHub do
// not show data: images.
func markdownFigures(w io.Writer, sw *judge.Sweep, figDir string) error {
	figs, err := sweepFigures(sw)
	if err != nil || len(figs) == 0 {
		return err
	}
	fmt.Fprintf(w, "## Figures\n\n")
	if figDir == "" {
		fmt.Fprintf(w, "Run with `--figures DIR` to write the figures as SVG and PNG files and link them here.\n\n")
		return nil
	}
	for _, f := range figs {
		fmt.Fprintf(w, "![%s](%s)\n\n", mdText(f.Title), mdLink(figDir, f.Kind+"-"+f.ID+".svg"))
	}
	return nil
}
