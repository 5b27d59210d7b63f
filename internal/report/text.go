package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"mimverify/judge"
)

// titleWidth is the widest claim title the text table prints untruncated.
const titleWidth = 32

func init() {
	register(Format{Name: "text", Extensions: []string{".txt"}, Check: writeText, Sweep: sweepText})
}

// writeText writes the terminal table.
func writeText(w io.Writer, r *judge.Report) error {
	// bw keeps the first write error, which Flush returns: the helpers
	// need not check each write.
	bw := bufio.NewWriter(w)
	writeTextHeader(bw, r)
	writeTextTable(bw, r.Results)
	writeTextSharp(bw, r.Results)
	if len(r.Controls) > 0 {
		fmt.Fprintf(bw, "\nControls (the judge proves its power: docs/JUDGE.md §Controls):\n")
		for _, c := range r.Controls {
			fmt.Fprintf(bw, "  %s\n", c.Line())
		}
	}
	if len(r.Detectable) > 0 {
		fmt.Fprintf(bw, "\nMinimum detectable effects (the smallest r the sharp bands reject; docs/JUDGE.md §Power):\n")
		for _, d := range r.Detectable {
			fmt.Fprintf(bw, "  %s\n", d.Line())
		}
	}
	if len(r.Falsify) > 0 {
		fmt.Fprintf(bw, "\nFalsify (each claim's regime searched for a counterexample: docs/FALSIFY.md):\n")
		for i := range r.Falsify {
			fmt.Fprintf(bw, "  %s\n", r.Falsify[i].Line())
		}
	}

	var fails, outside, other []judge.ClaimResult
	for _, c := range r.Results {
		switch c.Verdict {
		case judge.Fails:
			fails = append(fails, c)
		case judge.NotAsserted:
			outside = append(outside, c)
		case judge.Holds:
		default:
			other = append(other, c)
		}
	}
	writeTextFailing(bw, fails)
	writeTextNotAsserted(bw, outside)
	if len(other) > 0 {
		fmt.Fprintf(bw, "\nWithout a verdict:\n")
		for _, c := range other {
			fmt.Fprintf(bw, "  %s: verdict %q. %s\n", claimName(c), string(c.Verdict), oneLine(c.Detail))
		}
	}
	fmt.Fprintf(bw, "\n%s\n", count(r).summary())
	return bw.Flush()
}

// writeTextHeader writes the line naming the setting and the run, and the
// headline.
func writeTextHeader(bw *bufio.Writer, r *judge.Report) {
	fmt.Fprintf(bw, "%s: P = %d, %s, γ = %s, η = %s", title(r), r.Setting.P, plural(len(r.Setting.Clusters), "cluster"), prose(r.Setting.Gamma), prose(r.Setting.Eta))
	if len(r.Run.Engines) > 0 {
		fmt.Fprintf(bw, "; engines %s", strings.ReplaceAll(engineList(r.Run.Engines), ",", ", "))
	}
	if r.Run.Steps > 0 {
		fmt.Fprintf(bw, "; %d steps", r.Run.Steps)
	}
	if r.Run.Power > 1 {
		fmt.Fprintf(bw, "; power %d (%d samples)", r.Run.Power, r.Run.Samples)
	}
	fmt.Fprintln(bw)
	for _, l := range outOfSpanLines(r.Run.OutOfSpan) {
		fmt.Fprintf(bw, "%s\n", l)
	}
	fmt.Fprintf(bw, "%s\n\n", headline(r))
}

// writeTextTable writes one row per claim, in aligned columns, failing
// claims marked ">>" in the margin.
func writeTextTable(bw *bufio.Writer, results []judge.ClaimResult) {
	header := []string{"", "ID", "CLAIM", "SOURCE", "VERDICT", "MEASURED", "REL", "PREDICTED", "SHARP (PREDICTION, BAND, RATIO)", "FORMULA"}
	rows := [][]string{header}
	for _, c := range results {
		mark := ""
		if c.Verdict == judge.Fails {
			mark = ">>"
		}
		rows = append(rows, []string{
			mark, oneLine(c.ID), truncate(oneLine(c.Title), titleWidth), oneLine(string(c.Provenance)),
			verdictCell(c), cell(c.Measured), oneLine(string(c.Relation)), cell(c.Predicted), sharpCell(c), oneLine(c.Formula),
		})
	}
	widths := make([]int, len(header))
	for _, row := range rows {
		for i, s := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(s))
		}
	}
	for _, row := range rows {
		var line strings.Builder
		for i, s := range row {
			if i > 0 {
				line.WriteString("  ")
			}
			pad := ""
			if i < len(row)-1 { // no trailing padding after the last column
				pad = strings.Repeat(" ", widths[i]-utf8.RuneCountInString(s))
			}
			line.WriteString(s)
			line.WriteString(pad)
		}
		fmt.Fprintln(bw, strings.TrimRight(line.String(), " "))
	}
	if len(results) == 0 {
		fmt.Fprintln(bw, "   (no claims)")
	}
}

// writeTextSharp lists the sharp predictions beside the envelopes.
func writeTextSharp(bw *bufio.Writer, results []judge.ClaimResult) {
	var lines []string
	for _, c := range results {
		if l := sharpLine(c); l != "" {
			lines = append(lines, fmt.Sprintf("  %-3s %s", oneLine(c.ID), l))
		}
	}
	if len(lines) > 0 {
		fmt.Fprintf(bw, "\nSharp predictions (the reduced ODE on the same setting and schedule, docs/SHARP.md):\n%s\n", strings.Join(lines, "\n"))
	}
}

// claimName is a claim's ID and title, on one line.
func claimName(c judge.ClaimResult) string { return oneLine(c.ID + " " + c.Title) }

// writeTextFailing details the failing claims: by how much the measurement
// misses the prediction, and the judge's detail.
func writeTextFailing(bw *bufio.Writer, fails []judge.ClaimResult) {
	if len(fails) == 0 {
		return
	}
	fmt.Fprintf(bw, "\nFailing claims:\n")
	for _, c := range fails {
		fmt.Fprintf(bw, "  FAILS %s\n", claimName(c))
		fmt.Fprintf(bw, "      %s (must be %s %s; %s)\n", violation(c), c.Relation, prose(c.Predicted), oneLine(c.Formula))
		if c.Detail != "" {
			fmt.Fprintf(bw, "      %s\n", oneLine(c.Detail))
		}
	}
}

// writeTextNotAsserted details the claims outside their regime: the regime
// predicates that fail, evaluated, and the judge's detail, if any.
func writeTextNotAsserted(bw *bufio.Writer, outside []judge.ClaimResult) {
	if len(outside) == 0 {
		return
	}
	fmt.Fprintf(bw, "\nNot asserted (outside the regime):\n")
	for _, c := range outside {
		if c.Unmet() {
			fmt.Fprintf(bw, "  %s — REQUIRED: not asserting it fails the check\n", claimName(c))
		} else {
			fmt.Fprintf(bw, "  %s\n", claimName(c))
		}
		if c.Empirical != "" {
			fmt.Fprintf(bw, "      measured all the same: %s, %s\n", strings.TrimPrefix(resultLabel(c), "n/a, "), violation(c))
		}
		preds := failingPredicates(c)
		for _, p := range preds {
			fmt.Fprintf(bw, "      %s", oneLine(evaluated(p)))
			if p.Why != "" {
				fmt.Fprintf(bw, " (%s)", oneLine(p.Why))
			}
			fmt.Fprintln(bw)
		}
		// Say something even when no predicate is recorded as failing, so
		// that the verdict is never left unexplained.
		if len(preds) == 0 || c.Detail != "" {
			if d := oneLine(c.Detail); d != "" {
				fmt.Fprintf(bw, "      %s\n", d)
			} else {
				fmt.Fprintf(bw, "      (no regime predicate recorded as failing)\n")
			}
		}
	}
}

// plural writes "1 cluster", "3 clusters".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
