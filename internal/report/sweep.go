package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"mimverify/judge"
)

// sweepRows returns the sweep as a table: one row per point with its axis
// values (and seed, when the plan repeats seeds), its steps and, per claim,
// claimCell's summary of the verdict and the measurement.
func sweepRows(sw *judge.Sweep) (header []string, rows [][]string) {
	ids := sweepClaims(sw)
	header = slices.Clone(sw.Axes)
	seeds := repeated(sw)
	if seeds {
		header = append(header, "seed")
	}
	header = append(append(header, "steps"), ids...)
	for _, p := range sw.Points {
		row := make([]string, 0, len(header))
		for _, ax := range sw.Axes {
			row = append(row, p.Values[ax])
		}
		if seeds {
			row = append(row, strconv.FormatUint(p.Seed, 10))
		}
		if p.Error != "" {
			rows = append(rows, append(row, "error: "+oneLine(p.Error)))
			continue
		}
		row = append(row, strconv.Itoa(p.Steps))
		for _, id := range ids {
			c := "—"
			for _, r := range p.Results {
				if r.ID == id {
					c = claimCell(r)
				}
			}
			row = append(row, c)
		}
		rows = append(rows, row)
	}
	return header, rows
}

// sweepClaims lists the claim ids of a sweep in order of first appearance.
func sweepClaims(sw *judge.Sweep) []string {
	var ids []string
	for _, p := range sw.Points {
		for _, r := range p.Results {
			if !slices.Contains(ids, r.ID) {
				ids = append(ids, r.ID)
			}
		}
	}
	return ids
}

// claimCell is a claim's result in a sweep table: the verdict, measured,
// relation and predicted inside the regime; outside it, "holds empirically"
// or "breaks" with the same numbers and the first failing predicate — a
// measurement is never hidden behind "n/a".
func claimCell(r judge.ClaimResult) string {
	nums := fmt.Sprintf("%s %s %s", cell(r.Measured), r.Relation, cell(r.Predicted))
	switch {
	case r.Verdict == judge.Holds || r.Verdict == judge.Fails:
		return strings.ToUpper(string(r.Verdict)) + " " + nums
	case r.Verdict != judge.NotAsserted:
		return verdictLabel(r.Verdict)
	}
	outside := "n/a"
	if bad := failingPredicates(r); len(bad) > 0 {
		outside = "outside " + truncate(oneLine(bad[0].Formula), 28)
	}
	switch r.Empirical {
	case judge.Holds:
		return "holds empirically " + nums + " (" + outside + ")"
	case judge.Fails:
		return "breaks " + nums + " (" + outside + ")"
	}
	return outside + ", not measured"
}

// cellRows is the per-cell summary over seeds: per claim, how many seeds
// met the prediction, the fraction and its 95 % Wilson interval.
func cellRows(sw *judge.Sweep) (header []string, rows [][]string) {
	ids := sweepClaims(sw)
	header = append(slices.Clone(sw.Axes), ids...)
	for _, c := range sw.Cells {
		row := make([]string, 0, len(header))
		for _, ax := range sw.Axes {
			row = append(row, c.Values[ax])
		}
		for _, id := range ids {
			txt := "—"
			if cc, ok := cellClaim(c, id); ok && cc.Seeds > 0 {
				txt = fmt.Sprintf("%d/%d = %s [%s, %s]", cc.Holds, cc.Seeds, cell(cc.Fraction), cell(cc.Low), cell(cc.High))
				if cc.InRegime < cc.Seeds {
					txt += fmt.Sprintf(" (%d outside regime)", cc.Seeds-cc.InRegime)
				}
			}
			row = append(row, txt)
		}
		rows = append(rows, row)
	}
	return header, rows
}

// repeated reports whether the sweep ran several seeds per cell.
func repeated(sw *judge.Sweep) bool { return sw.Plan != nil && sw.Plan.Seeds > 1 }

// sweepText writes the sweep as aligned text tables.
func sweepText(w io.Writer, sw *judge.Sweep) error {
	if err := sweepTables(w, sw, textTable, "\nper cell over %d seeds: seeds meeting the prediction, fraction [95%% Wilson interval]\n"); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s\n", sw.TotalLine())
	return err
}

// sweepTables writes the sweep's table of points with table and, when it
// ran several seeds per cell, cellNote (formatted with the seed count) and
// the per-cell table.
func sweepTables(w io.Writer, sw *judge.Sweep, table func(io.Writer, []string, [][]string) error, cellNote string) error {
	header, rows := sweepRows(sw)
	if err := table(w, header, rows); err != nil || !repeated(sw) {
		return err
	}
	fmt.Fprintf(w, cellNote, sw.Plan.Seeds)
	header, rows = cellRows(sw)
	return table(w, header, rows)
}

// textTable writes an aligned text table.
func textTable(w io.Writer, header []string, rows [][]string) error {
	width := make([]int, len(header))
	for _, r := range append([][]string{header}, rows...) {
		for i, c := range r {
			if i < len(width) {
				width[i] = max(width[i], utf8.RuneCountInString(c))
			}
		}
	}
	var b strings.Builder
	for _, r := range append([][]string{header}, rows...) {
		for i, c := range r {
			pad := 0
			if i < len(width) {
				pad = width[i] - utf8.RuneCountInString(c)
			}
			b.WriteString(c + strings.Repeat(" ", pad+2))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// sweepMarkdown writes the sweep as Markdown: a title, the plan, the
// figures in figDir (linked) and the tables.
func sweepMarkdown(w io.Writer, sw *judge.Sweep, figDir string) error {
	fmt.Fprintf(w, "# %s\n\n", mdText("mimverify sweep: "+sw.Setting.Name))
	for _, f := range sweepFacts(sw) {
		fmt.Fprintf(w, "- %s\n", mdText(f))
	}
	fmt.Fprintln(w)
	if err := markdownFigures(w, sw, figDir); err != nil {
		return err
	}
	if err := sweepTables(w, sw, mdTable, "\nPer cell over %d seeds: seeds meeting the prediction, fraction [95 %% Wilson interval].\n\n"); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n**%s**\n", mdText(sw.TotalLine()))
	return err
}

// mdTable writes a Markdown table.
func mdTable(w io.Writer, header []string, rows [][]string) error {
	var b strings.Builder
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for range header {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		for i := range r {
			r[i] = mdText(r[i])
		}
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
