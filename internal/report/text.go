package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"mimverify/theory"
)

// titleWidth is the widest claim title the text table prints untruncated.
const titleWidth = 32

const (
	ansiRed   = "\x1b[1;31m"
	ansiGreen = "\x1b[32m"
	ansiDim   = "\x1b[2m"
	ansiBold  = "\x1b[1m"
	ansiReset = "\x1b[0m"
)

// writeText writes the terminal table.
func writeText(w io.Writer, r *theory.Report, opt Options) error {
	bw := bufio.NewWriter(w)
	paint := func(code, s string) string {
		if !opt.Color || code == "" {
			return s
		}
		return code + s + ansiReset
	}

	title := "mimverify check"
	if r.Setting.Name != "" {
		title += " — " + r.Setting.Name
	}
	fmt.Fprintf(bw, "%s: P = %d, %d clusters, γ = %s, η = %s", oneLine(title), r.Setting.P, len(r.Setting.Clusters), prose(r.Setting.Gamma), prose(r.Setting.Eta))
	if len(r.Run.Engines) > 0 {
		fmt.Fprintf(bw, "; engines %s", strings.Join(r.Run.Engines, ", "))
	}
	if r.Run.Steps > 0 {
		fmt.Fprintf(bw, "; %d steps", r.Run.Steps)
	}
	fmt.Fprintln(bw)
	head := headline(r)
	switch overall(r) {
	case "FAILS":
		head = paint(ansiRed, head)
	case "HOLDS":
		head = paint(ansiGreen, head)
	}
	fmt.Fprintf(bw, "%s\n\n", head)

	header := []string{"", "ID", "CLAIM", "SOURCE", "VERDICT", "MEASURED", "REL", "PREDICTED", "FORMULA"}
	rows := [][]string{header}
	codes := [][]string{make([]string, len(header))}
	for i := range header {
		codes[0][i] = ansiBold
	}
	for _, c := range r.Results {
		mark, code := "", ""
		switch c.Verdict {
		case theory.Fails:
			mark, code = ">>", ansiRed
		case theory.Holds:
			code = ansiGreen
		case theory.NotAsserted:
			code = ansiDim
		}
		rows = append(rows, []string{
			mark, oneLine(c.ID), truncate(oneLine(c.Title), titleWidth), oneLine(c.Provenance),
			verdictLabel(c.Verdict), cell(c.Measured), oneLine(c.Relation), cell(c.Predicted), oneLine(c.Formula),
		})
		rc := make([]string, len(header))
		rc[0], rc[4] = code, code
		if c.Verdict == theory.Fails {
			rc[1] = ansiRed
		}
		codes = append(codes, rc)
	}
	widths := make([]int, len(header))
	for _, row := range rows {
		for i, s := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(s))
		}
	}
	for ri, row := range rows {
		var line strings.Builder
		for i, s := range row {
			if i > 0 {
				line.WriteString("  ")
			}
			pad := ""
			if i < len(row)-1 {
				pad = strings.Repeat(" ", widths[i]-utf8.RuneCountInString(s))
			}
			line.WriteString(paint(codes[ri][i], s))
			line.WriteString(pad)
		}
		fmt.Fprintln(bw, strings.TrimRight(line.String(), " "))
	}
	if len(r.Results) == 0 {
		fmt.Fprintln(bw, "   (no claims)")
	}

	var fails, outside, other []theory.ClaimResult
	for _, c := range r.Results {
		switch c.Verdict {
		case theory.Fails:
			fails = append(fails, c)
		case theory.NotAsserted:
			outside = append(outside, c)
		case theory.Holds:
		default:
			other = append(other, c)
		}
	}
	name := func(c theory.ClaimResult) string { return oneLine(c.ID + " " + c.Title) }
	if len(fails) > 0 {
		fmt.Fprintf(bw, "\n%s\n", paint(ansiRed, "Failing claims:"))
		for _, c := range fails {
			fmt.Fprintf(bw, "  %s %s\n", paint(ansiRed, "FAILS"), name(c))
			fmt.Fprintf(bw, "      %s (must be %s %s; %s)\n", violation(c), oneLine(c.Relation), prose(c.Predicted), oneLine(c.Formula))
			if c.Detail != "" {
				fmt.Fprintf(bw, "      %s\n", oneLine(c.Detail))
			}
		}
	}
	if len(outside) > 0 {
		fmt.Fprintf(bw, "\nNot asserted (outside the regime):\n")
		for _, c := range outside {
			fmt.Fprintf(bw, "  %s\n", name(c))
			preds := failingPredicates(c)
			for _, p := range preds {
				fmt.Fprintf(bw, "      %s", oneLine(evaluated(p)))
				if p.Why != "" {
					fmt.Fprintf(bw, " (%s)", oneLine(p.Why))
				}
				fmt.Fprintln(bw)
			}
			if len(preds) == 0 || c.Detail != "" {
				if d := oneLine(c.Detail); d != "" {
					fmt.Fprintf(bw, "      %s\n", d)
				} else {
					fmt.Fprintf(bw, "      (no regime predicate recorded as failing)\n")
				}
			}
		}
	}
	if len(other) > 0 {
		fmt.Fprintf(bw, "\nWithout a verdict:\n")
		for _, c := range other {
			fmt.Fprintf(bw, "  %s: verdict %q. %s\n", name(c), string(c.Verdict), oneLine(c.Detail))
		}
	}
	sum := count(r).summary()
	if overall(r) == "FAILS" {
		sum = paint(ansiRed, sum)
	}
	fmt.Fprintf(bw, "\n%s\n", sum)
	return bw.Flush()
}
