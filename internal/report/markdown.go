package report

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"mimverify/judge"
	"mimverify/theory"
)

// mdText escapes text for a Markdown table cell or line: pipes (which would
// split a cell), backslashes, and the characters that start inline HTML,
// emphasis, code or links. Newlines become spaces.
func mdText(s string) string {
	var b strings.Builder
	for _, r := range oneLine(s) {
		switch r {
		case '|':
			b.WriteString(`\|`)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\\', '*', '_', '`', '[', ']':
			b.WriteRune('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdRow writes one table row from already-escaped cells.
func mdRow(w io.Writer, cells ...string) {
	fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
}

// settingLines describes the setting in short lines (unescaped).
func settingLines(s *theory.Setting) []string {
	var lines []string
	p := fmt.Sprintf("P = %d positions", s.P)
	if s.Side > 0 {
		p += fmt.Sprintf(" (%d×%d grid)", s.Side, s.Side)
	}
	lines = append(lines, p)
	for k, c := range s.Clusters {
		name := c.Name
		if name == "" {
			name = "cluster " + strconv.Itoa(k)
		}
		sizes := c.AreaSizes()
		parts := make([]string, len(sizes))
		for i, n := range sizes {
			parts[i] = strconv.Itoa(n)
		}
		lines = append(lines, fmt.Sprintf("cluster %d %s: π = %s, %d areas of sizes %s", k, name, prose(c.Prob), len(sizes), strings.Join(parts, ", ")))
	}
	z := fmt.Sprintf("z law: %s on [%s, %s]", s.Z.Kind, prose(s.Z.L), prose(s.Z.U))
	if s.Z.Kind == theory.ZConstant {
		z = fmt.Sprintf("z law: constant z = %s", prose(s.Z.L))
	}
	lines = append(lines,
		fmt.Sprintf("γ = %s (%s mask)", prose(s.Gamma), s.Mask),
		z,
		fmt.Sprintf("η = %s", prose(s.Eta)),
		fmt.Sprintf("keys: %s; loss: %s", s.Keys, s.Loss),
	)
	init := fmt.Sprintf("init: %s", s.Init.Kind)
	if s.Init.Kind == theory.InitGaussian {
		init += fmt.Sprintf(" (σ = %s)", prose(s.Init.Sigma))
	}
	lines = append(lines, fmt.Sprintf("%s; extra dimensions: %d (d = %d)", init, s.ExtraDim, s.Dim()))
	return lines
}

// runLines describes the run in short lines (unescaped).
func runLines(r *judge.RunInfo) []string {
	lines := []string{
		fmt.Sprintf("engines: %s", strings.ReplaceAll(engineList(r.Engines), ",", ", ")),
		fmt.Sprintf("steps: %d; samples: %d; evaluation samples: %d; seed: %d%s", r.Steps, r.Samples, r.Eval, r.Seed, powerNote(r.Power)),
		fmt.Sprintf("ε = %s; δ = %s", prose(r.Epsilon), prose(r.Delta)),
		fmt.Sprintf("wall time: %s s", prose(r.Seconds)),
	}
	return append(lines, outOfSpanLines(r.OutOfSpan)...)
}

// powerNote is "; power: K (…)" for a check at Options.Power K > 1 (its
// bands rest on K times the evidence), empty at 1.
func powerNote(power int) string {
	if power > 1 {
		return fmt.Sprintf("; power: %d (%d× the evidence behind the sharp bands)", power, power)
	}
	return ""
}

// outOfSpanLines describe Q's component outside the span of SPEC §2 on a
// full-model external run (judge.OutOfSpan), and its warning; none
// otherwise.
func outOfSpanLines(o *judge.OutOfSpan) []string {
	if o == nil {
		return nil
	}
	lines := []string{fmt.Sprintf("Q's out-of-span norm: %s at step 0, %s at the last record (Q moved %s in all); its largest drift %s at step %d, rounding bound %s in float64, %s in float32",
		prose(o.Initial), prose(o.Final), prose(o.Moved), prose(o.Drift), o.DriftStep, prose(o.Bound64), prose(o.Bound32))}
	if o.Warning != "" {
		lines = append(lines, "warning: "+o.Warning)
	}
	return lines
}

// eventStep formats an event's step, or says it did not happen.
func eventStep(e judge.Event) (step, time string) {
	if e.Step < 0 {
		return "did not happen", "—"
	}
	return strconv.Itoa(e.Step), cell(e.Time)
}

func init() {
	register(Format{Name: "markdown", Extensions: []string{".md"},
		Check: func(w io.Writer, r *judge.Report) error { return writeMarkdown(w, r, "") },
		Sweep: func(w io.Writer, sw *judge.Sweep) error { return sweepMarkdown(w, sw, "") }})
}

// WriteLinked renders a check report like Write; in Markdown it also links
// the figure files WriteCheckFigures writes into figDir, a path relative
// to the Markdown file (Markdown readers such as GitHub do not show
// images inlined as data: URLs).
func WriteLinked(w io.Writer, r *judge.Report, format, figDir string) error {
	if format != "markdown" || figDir == "" || r == nil {
		return Write(w, r, format)
	}
	return writeMarkdown(w, r, figDir)
}

// WriteSweepLinked renders a sweep like WriteSweep; in Markdown it also
// links the figure files WriteSweepFigures writes into figDir (relative to
// the Markdown file).
func WriteSweepLinked(w io.Writer, sw *judge.Sweep, format, figDir string) error {
	if format != "markdown" || figDir == "" || sw == nil {
		return WriteSweep(w, sw, format)
	}
	return sweepMarkdown(w, sw, figDir)
}

// mdMath writes a formula as inline math, $…$, in the LaTeX GitHub
// renders: subscripts and stars braced (C_{\min}, T^{*}), words upright
// (\text{bound}, \log), and the
// characters that would end a table cell or start HTML written as
// commands.
func mdMath(s string) string {
	s = strings.TrimSpace(oneLine(s))
	if s == "" {
		return ""
	}
	s = mathSub.ReplaceAllString(s, "_{$1}")
	s = mathWord.ReplaceAllStringFunc(s, func(w string) string {
		switch w {
		case "max", "min", "log", "exp":
			return `\` + w
		}
		return `\text{` + w + `}`
	})
	s = strings.NewReplacer("|", `\vert `, "*", "^{*}", "<", `\lt `, ">", `\gt `, "&", `\&`, "%", `\%`, "#", `\#`, "$", `\$`).Replace(s)
	return "$" + s + "$"
}

// mdTeX writes LaTeX (judge's latex fields, expr.Expr.LaTeX) as inline
// math, $…$, with the characters that would end a table cell or start HTML
// written as commands; a result without LaTeX (a report read from an older
// file) falls back to its text formula through mdMath.
func mdTeX(latex, text string) string {
	latex = strings.TrimSpace(oneLine(latex))
	if latex == "" {
		return mdMath(text)
	}
	// The LaTeX printers escape $ themselves (NameLaTeX): a second escape
	// would end the math.
	return "$" + strings.NewReplacer("|", `\vert `, "<", `\lt `, ">", `\gt `).Replace(latex) + "$"
}

var (
	mathSub  = regexp.MustCompile(`_([A-Za-z0-9]+)`)
	mathWord = regexp.MustCompile(`\b[A-Za-z]{2,}\b`)
)

// writeMarkdown writes the report as GitHub-flavoured Markdown, linking
// the figures in figDir when it is not empty.
func writeMarkdown(w io.Writer, r *judge.Report, figDir string) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# %s\n\n", mdText(title(r)))
	fmt.Fprintf(bw, "**%s**  \n%s\n\n", mdText(headline(r)), mdText(count(r).summary()))

	fmt.Fprintf(bw, "## Setting\n\n")
	for _, l := range settingLines(&r.Setting) {
		fmt.Fprintf(bw, "- %s\n", mdText(l))
	}
	fmt.Fprintf(bw, "\n## Run\n\n")
	for _, l := range slices.Concat(runLines(&r.Run), provenanceLines(r.Provenance)) {
		fmt.Fprintf(bw, "- %s\n", mdText(l))
	}

	fmt.Fprintf(bw, "\n## Claims\n\n")
	mdRow(bw, "ID", "Claim", "Source", "Verdict", "Formula", "Predicted", "Relation", "Measured", "Sharp (prediction, band, ratio)")
	mdRow(bw, "---", "---", "---", "---", "---", "---:", ":---:", "---:", "---")
	for _, c := range r.Results {
		v := mdText(verdictCell(c))
		if c.Verdict == judge.Fails {
			v = "**" + v + "**"
		}
		mdRow(bw, mdText(c.ID), mdText(c.Title), mdText(string(c.Provenance)), v,
			mdTeX(c.LaTeX, c.Formula), cell(c.Predicted), mdText(string(c.Relation)), cell(c.Measured), mdText(sharpCell(c)))
	}
	if err := markdownCheckFigures(bw, r, figDir); err != nil {
		return err
	}

	if len(r.Controls) > 0 {
		fmt.Fprintf(bw, "\n## Controls\n\nThe judge proves its power (docs/JUDGE.md §Controls):\n\n")
		for _, c := range r.Controls {
			fmt.Fprintf(bw, "- %s\n", mdText(c.Line()))
		}
	}
	if len(r.Detectable) > 0 {
		fmt.Fprintf(bw, "\n## Minimum detectable effects\n\nThe smallest r the sharp bands reject (docs/JUDGE.md §Power):\n\n")
		for _, d := range r.Detectable {
			fmt.Fprintf(bw, "- %s\n", mdText(d.Line()))
		}
	}
	if len(r.Falsify) > 0 {
		fmt.Fprintf(bw, "\n## Falsify\n\nEach claim's regime searched for a counterexample (docs/FALSIFY.md):\n\n")
		for i := range r.Falsify {
			fmt.Fprintf(bw, "- %s\n", mdText(r.Falsify[i].Line()))
		}
	}

	fmt.Fprintf(bw, "\n## Details\n")
	for _, c := range r.Results {
		writeMarkdownClaim(bw, c)
	}

	if len(r.Events) > 0 {
		fmt.Fprintf(bw, "\n## Events\n\n")
		mdRow(bw, "Event", "Step", "Time")
		mdRow(bw, "---", "---:", "---:")
		for _, e := range r.Events {
			step, t := eventStep(e)
			mdRow(bw, mdText(e.Name), step, t)
		}
	}
	return bw.Flush()
}

// writeMarkdownClaim writes one claim's details.
func writeMarkdownClaim(bw *bufio.Writer, c judge.ClaimResult) {
	fmt.Fprintf(bw, "\n### %s %s: %s\n\n", mdText(c.ID), mdText(c.Title), mdText(resultLabel(c)))
	if c.Statement != "" {
		fmt.Fprintf(bw, "%s\n\n", mdText(c.Statement))
	}
	if c.Quantity != "" {
		fmt.Fprintf(bw, "- measured: %s\n", mdText(c.Quantity))
	}
	fmt.Fprintf(bw, "- prediction: %s = %s; holds when measured %s predicted; measured %s\n", mdTeX(c.LaTeX, c.Formula), mdText(prose(c.Predicted)), mdText(string(c.Relation)), mdText(prose(c.Measured)))
	if l := sharpLine(c); l != "" {
		fmt.Fprintf(bw, "- sharp prediction: %s\n", mdText(l))
		if c.Sharp.Band != "" {
			fmt.Fprintf(bw, "- band: %s\n", mdText(c.Sharp.Band))
		}
	}
	if c.Verdict == judge.Fails {
		fmt.Fprintf(bw, "- **fails**: %s\n", mdText(violation(c)))
	}
	if len(c.Engines) > 0 {
		fmt.Fprintf(bw, "- engines: %s\n", mdText(strings.ReplaceAll(engineList(c.Engines), ",", ", ")))
	}
	if c.Detail != "" {
		fmt.Fprintf(bw, "- detail: %s\n", mdText(c.Detail))
	}
	if len(c.Regime) > 0 {
		fmt.Fprintf(bw, "- regime:\n")
		for _, p := range c.Regime {
			mark := "holds"
			if !p.Holds {
				mark = "**fails**"
			}
			line := fmt.Sprintf("  - %s: %s", mark, mdText(evaluated(p)))
			if p.LaTeX != "" {
				line = fmt.Sprintf("  - %s: %s: %s", mark, mdTeX(p.LaTeX, ""), mdText(evaluatedSides(p)))
			}
			if p.Why != "" {
				line += " (" + mdText(p.Why) + ")"
			}
			fmt.Fprintln(bw, line)
		}
	}
}

// markdownCheckFigures links the figures and attention maps of a check
// report that WriteCheckFigures writes into figDir; without a directory it
// says how to get them.
func markdownCheckFigures(w io.Writer, r *judge.Report, figDir string) error {
	files, err := checkFigureFiles(r)
	if err != nil || len(files) == 0 {
		return err
	}
	fmt.Fprintf(w, "\n## Figures\n\n")
	if figDir == "" {
		fmt.Fprintf(w, "Run with `--figures DIR` to write the figures as SVG files and link them here.\n")
		return nil
	}
	for _, f := range files {
		if f.kind == "figure" {
			fmt.Fprintf(w, "![%s](%s)\n\n", mdText(f.title), mdLink(figDir, f.name))
		}
	}
	for _, mc := range mapClusters(r) {
		fmt.Fprintf(w, "**Attention maps, %s** (%s)\n\n", mdText(mc.Caption), mdText(mapsNote(mc)))
		head := []string{"query"}
		for _, s := range mc.Steps {
			head = append(head, fmt.Sprintf("step %d", s))
		}
		mdRow(w, head...)
		mdRow(w, strings.Split(strings.Repeat("---,", len(head)), ",")[:len(head)]...)
		for _, row := range mc.Rows {
			cells := []string{mdText(row.Label)}
			for _, name := range row.Files {
				cells = append(cells, fmt.Sprintf("![%s](%s)", mdText(row.Label), mdLink(figDir, name)))
			}
			mdRow(w, cells...)
		}
		fmt.Fprintln(w)
	}
	return nil
}

// mdLink is the link to a figure file in dir, with the path's separators
// as slashes and the characters that would end the link escaped.
func mdLink(dir, name string) string {
	p := strings.ReplaceAll(filepath.ToSlash(filepath.Join(dir, name)), " ", "%20")
	return strings.NewReplacer("(", "%28", ")", "%29").Replace(p)
}
