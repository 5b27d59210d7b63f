package report

import (
	"bufio"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"

	"mimverify/judge"
)

// htmlPredicate is a regime predicate ready for the page.
type htmlPredicate struct {
	Holds bool
	Text  string
	Why   string
	LaTeX string
}

// htmlClaim is a claim ready for the page.
type htmlClaim struct {
	judge.ClaimResult
	Class              string // row class: holds, fails, na, unknown
	Label              string
	Predicted, Measure string
	Violation          string
	// Sharp is the table's sharp cell (sharpCell).
	Sharp string
	// SharpText and SharpBand say the sharp prediction (sharpLine).
	SharpText, SharpBand string
	Regime               []htmlPredicate
}

// htmlPartition is one cluster's partition map.
type htmlPartition struct {
	Caption string
	SVG     template.HTML
}

// htmlFigure is one figure ready for the page.
type htmlFigure struct {
	Title string
	SVG   template.HTML
	Notes []string
}

// htmlEvent is one phase event ready for the page.
type htmlEvent struct {
	Name, Step, Time string
	Happened         bool
}

type htmlPage struct {
	Title      string
	Overall    string
	Class      string
	Headline   string
	Summary    string
	Claims     []htmlClaim
	Figures    []htmlFigure
	Events     []htmlEvent
	Setting    []string
	Partitions []htmlPartition
	Maps       []mapCluster
	Run        []string
	Controls   []string
	Falsify    []string
	Format     string
}

// sharedCSS is the style both HTML pages (check report, sweep) share.
const sharedCSS = `body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",Arial,sans-serif;margin:0;color:#1b1b1b;background:#fafafa;line-height:1.4}
h2{font-size:1.2rem;margin:1.6rem 0 .6rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
th{background:#f0f0f0}
figure{margin:0;background:#fff;border:1px solid #ddd;padding:.5rem}
figure svg{max-width:100%;height:auto;display:block;margin:0 auto}
`

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
` + sharedCSS + `main{max-width:1200px;margin:0 auto;padding:0 1.2rem 2rem}
header.banner{padding:1rem 1.2rem;color:#fff}
header.banner h1{margin:0;font-size:1.1rem;font-weight:500;opacity:.9}
header.banner .verdict{margin:.3rem 0 0;font-size:1.7rem;font-weight:700}
header.banner .summary{margin:.2rem 0 0;opacity:.95}
header.fails{background:#b3261e}header.holds{background:#1e7b34}header.none{background:#5f6368}header.unknown{background:#8a6d00}
table.events{width:auto;min-width:40%}
table.maps{width:auto}table.maps td{vertical-align:middle}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.92rem}
th,td{border:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.rel{text-align:center}
code{font-family:"DejaVu Sans Mono","Liberation Mono",Menlo,Consolas,monospace;font-size:.88em}
tr.claim.fails td{background:#fde7e6}tr.claim.fails td.verdict{background:#b3261e;color:#fff;font-weight:700}
tr.claim.holds td{background:#eaf6ec}tr.claim.holds td.verdict{background:#1e7b34;color:#fff;font-weight:700}
tr.claim.na td{background:#f3f3f3;color:#555}tr.claim.na td.verdict{font-weight:700}
tr.claim.unknown td{background:#fff6d6}
tr.detail td{font-size:.85rem;color:#333;border-top:none;padding-top:.1rem}
tr.detail.fails td{background:#fff5f4}
ul.regime{margin:.2rem 0;padding-left:1.2rem}
ul.regime li.bad{color:#b3261e;font-weight:600}
.mark{display:inline-block;width:1.1em}
p.why{margin:.15rem 0}
details.tex{margin:.2rem 0}details.tex summary{cursor:pointer;color:#555}details.tex p{margin:.1rem 0}
code.tex{overflow-wrap:anywhere;word-break:break-all}
.figs{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}.figs figure{flex:0 1 auto;max-width:100%}
td.sharp{font-size:.85rem;font-variant-numeric:tabular-nums}
.mapscale{margin:.2rem 0 .4rem}
figcaption{font-size:.82rem;color:#555}
.parts{display:flex;flex-wrap:wrap;gap:1.2rem}
.parts figure{padding:.6rem}
ul.facts{padding-left:1.2rem}
footer{color:#777;font-size:.8rem;margin-top:2rem}
</style>
</head>
<body>
<header class="banner {{.Class}}">
<h1>{{.Title}}</h1>
<p class="verdict">{{.Headline}}</p>
<p class="summary">{{.Summary}}</p>
</header>
<main>
<h2>Claims</h2>
<table class="claims">
<thead><tr><th>ID</th><th>Claim</th><th>Source</th><th>Verdict</th><th>Formula</th><th>Predicted</th><th>Rel.</th><th>Measured</th><th>Sharp: prediction, band, ratio</th></tr></thead>
<tbody>
{{range .Claims}}<tr class="claim {{.Class}}" id="claim-{{.ID}}">
<td><strong>{{.ID}}</strong></td><td>{{.Title}}</td><td>{{.Provenance}}</td><td class="verdict">{{.Label}}</td>
<td><code>{{.Formula}}</code></td><td class="num">{{.Predicted}}</td><td class="rel">{{.Relation}}</td><td class="num">{{.Measure}}</td><td class="sharp">{{.Sharp}}</td>
</tr>
<tr class="detail {{.Class}}"><td></td><td colspan="8">
{{if .Statement}}<p class="why">{{.Statement}}</p>{{end}}
{{if .Quantity}}<p class="why">Measured: {{.Quantity}}.{{if .Engines}} Engines: {{range $i, $e := .Engines}}{{if $i}}, {{end}}{{$e}}{{end}}.{{end}}</p>{{end}}
{{if .Violation}}<p class="why"><strong>Fails: {{.Violation}}.</strong></p>{{end}}
{{if .SharpText}}<p class="why">Sharp prediction: {{.SharpText}}{{if .SharpBand}} — band: {{.SharpBand}}{{end}}.</p>{{end}}
{{if .Detail}}<p class="why">{{.Detail}}</p>{{end}}
{{if .Regime}}<ul class="regime">{{range .Regime}}<li class="{{if .Holds}}ok{{else}}bad{{end}}"><span class="mark">{{if .Holds}}✓{{else}}✗{{end}}</span><code>{{.Text}}</code>{{if .Why}} — {{.Why}}{{end}}</li>{{end}}</ul>{{end}}
{{if .LaTeX}}<details class="tex"><summary>LaTeX</summary><p><code class="tex">{{.LaTeX}}</code></p>{{range .Regime}}{{if .LaTeX}}<p><code class="tex">{{.LaTeX}}</code></p>{{end}}{{end}}</details>{{end}}
</td></tr>
{{else}}<tr><td colspan="9">No claims.</td></tr>
{{end}}</tbody>
</table>
{{if .Figures}}<h2>Figures</h2>
<div class="figs">
{{range .Figures}}<figure>
{{if .SVG}}{{.SVG}}{{else}}<p><strong>{{.Title}}</strong></p>{{end}}
{{if .Notes}}<figcaption>{{range .Notes}}{{.}}<br>{{end}}</figcaption>{{end}}
</figure>
{{end}}</div>
{{end}}
{{if .Events}}<h2>Phase events</h2>
<p>Dashed vertical lines in the figures, numbered in each figure's legend, mark the events that happened within the plotted steps.</p>
<table class="events">
<thead><tr><th>Event</th><th>Step</th><th>Time</th></tr></thead>
<tbody>
{{range .Events}}<tr><td>{{.Name}}</td><td class="num">{{if .Happened}}{{.Step}}{{else}}<em>did not happen</em>{{end}}</td><td class="num">{{.Time}}</td></tr>
{{end}}</tbody>
</table>
{{end}}
{{if .Maps}}<h2>Attention maps</h2>
<p>The attention of a masked query patch (red outline) over the grid, for an image of each cluster with every z at the middle of its range and the query the only masked patch; darker is more attention, on one scale for all the maps of a cluster (its colour bar), so that steps and queries compare; grey lines are the cluster's area borders. Local, diverse attention: each query ends up on its own area.</p>
{{range .Maps}}<h3>{{.Caption}}</h3>
<div class="mapscale">{{.Bar}}</div>
<table class="maps"><thead><tr><th></th>{{range .Steps}}<th>step {{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr><td>{{.Label}}</td>{{range .Cells}}<td>{{.}}</td>{{end}}</tr>{{end}}</tbody></table>
{{end}}{{end}}
{{if .Controls}}<h2>Controls</h2>
<p>The judge proves its power on every check (docs/JUDGE.md §Controls): the right model on other samples must pass the sharp bands, a model learning 30 % too fast or too slow must fail them.</p>
<ul class="facts">{{range .Controls}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Falsify}}<h2>Falsify</h2>
<p>Each claim's regime searched for a counterexample (docs/FALSIFY.md):</p>
<ul class="facts" id="falsify">{{range .Falsify}}<li>{{.}}</li>{{end}}</ul>{{end}}
<h2>Setting</h2>
<ul class="facts">{{range .Setting}}<li>{{.}}</li>{{end}}</ul>
{{if .Partitions}}<div class="parts">
{{range .Partitions}}<figure>{{.SVG}}<figcaption>{{.Caption}}</figcaption></figure>
{{end}}</div>{{end}}
<h2>Run</h2>
<ul class="facts">{{range .Run}}<li>{{.}}</li>{{end}}</ul>
<footer>mimverify report{{if .Format}} ({{.Format}}){{end}}. Values that are not finite are shown as “—” and left out of the figures.</footer>
</main>
</body>
</html>
`))

func init() {
	register(Format{Name: "html", Extensions: []string{".html", ".htm"}, Check: writeHTML})
}

// newHTMLClaim is one claim's row and detail.
func newHTMLClaim(c judge.ClaimResult) htmlClaim {
	hc := htmlClaim{ClaimResult: c, Label: verdictCell(c), Predicted: cell(c.Predicted), Measure: cell(c.Measured), SharpText: sharpLine(c), Sharp: sharpCell(c)}
	if c.Sharp != nil {
		hc.SharpBand = c.Sharp.Band
	}
	switch c.Verdict {
	case judge.Holds:
		hc.Class = "holds"
	case judge.Fails:
		hc.Class = "fails"
		hc.Violation = violation(c)
	case judge.NotAsserted:
		hc.Class = "na"
	default:
		hc.Class = "unknown"
	}
	for _, p := range c.Regime {
		hc.Regime = append(hc.Regime, htmlPredicate{Holds: p.Holds, Text: evaluated(p), Why: p.Why, LaTeX: p.LaTeX})
	}
	return hc
}

// writeHTML writes the report as one self-contained HTML page.
func writeHTML(w io.Writer, r *judge.Report) error {
	figs, err := renderFigures(r)
	if err != nil {
		return err
	}
	pg := htmlPage{
		Title:    title(r),
		Overall:  overall(r),
		Headline: headline(r),
		Summary:  count(r).summary(),
		Setting:  settingLines(&r.Setting),
		Run:      slices.Concat(runLines(&r.Run), provenanceLines(r.Provenance)),
		Format:   r.Format,
	}
	switch pg.Overall {
	case "FAILS", "ERROR":
		pg.Class = "fails"
	case "HOLDS":
		pg.Class = "holds"
	default:
		pg.Class = "none"
	}
	for _, c := range r.Results {
		pg.Claims = append(pg.Claims, newHTMLClaim(c))
	}
	for _, f := range figs {
		// The SVG comes from vgsvg, which escapes every text it draws.
		pg.Figures = append(pg.Figures, htmlFigure{Title: f.Title, SVG: template.HTML(f.SVG), Notes: f.Notes})
	}
	for _, e := range r.Events {
		step, t := eventStep(e)
		pg.Events = append(pg.Events, htmlEvent{Name: e.Name, Step: step, Time: t, Happened: e.Step >= 0})
	}
	for k, c := range r.Setting.Clusters {
		if len(c.Areas) == 0 || (r.Setting.Side == 0 && len(c.Areas) > 1024) {
			continue
		}
		name := c.Name
		if name == "" {
			name = fmt.Sprintf("cluster %d", k)
		}
		sizes := c.AreaSizes()
		parts := make([]string, len(sizes))
		for i, n := range sizes {
			parts[i] = fmt.Sprint(n)
		}
		pg.Partitions = append(pg.Partitions, htmlPartition{
			Caption: fmt.Sprintf("%s (π = %s): %d areas of sizes %s", name, prose(c.Prob), len(sizes), strings.Join(parts, ", ")),
			// partitionSVG escapes the only free text it writes (titles).
			SVG: template.HTML(partitionSVG(&r.Setting, c)),
		})
	}
	pg.Maps = mapClusters(r)
	for _, c := range r.Controls {
		pg.Controls = append(pg.Controls, c.Line())
	}
	for i := range r.Falsify {
		pg.Falsify = append(pg.Falsify, r.Falsify[i].Line())
	}
	bw := bufio.NewWriter(w)
	if err := pageTemplate.Execute(bw, pg); err != nil {
		return fmt.Errorf("report: writing HTML: %w", err)
	}
	return bw.Flush()
}
