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
// values, its steps and, per claim, the verdict with the measured and
// predicted values ("n/a" outside the regime, "—" when not evaluated).
func sweepRows(sw *judge.Sweep) (header []string, rows [][]string) {
	var ids []string
	for _, p := range sw.Points {
		for _, r := range p.Results {
			if !slices.Contains(ids, r.ID) {
				ids = append(ids, r.ID)
			}
		}
	}
	header = append(append(slices.Clone(sw.Axes), "steps"), ids...)
	for _, p := range sw.Points {
		row := make([]string, 0, len(header))
		for _, ax := range sw.Axes {
			row = append(row, p.Values[ax])
		}
		if p.Error != "" {
			rows = append(rows, append(row, "error: "+oneLine(p.Error)))
			continue
		}
		row = append(row, strconv.Itoa(p.Steps))
		for _, id := range ids {
			c := "—"
			for _, r := range p.Results {
				if r.ID != id {
					continue
				}
				if r.Verdict == judge.NotAsserted {
					c = "n/a"
				} else {
					c = fmt.Sprintf("%s %s %s %s", strings.ToUpper(string(r.Verdict)), cell(r.Measured), r.Relation, cell(r.Predicted))
				}
			}
			row = append(row, c)
		}
		rows = append(rows, row)
	}
	return header, rows
}

// sweepText writes the sweep as an aligned text table.
func sweepText(w io.Writer, sw *judge.Sweep) error {
	header, rows := sweepRows(sw)
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

// sweepMarkdown writes the sweep as a Markdown table.
func sweepMarkdown(w io.Writer, sw *judge.Sweep) error {
	header, rows := sweepRows(sw)
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
