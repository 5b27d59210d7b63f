package report

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"strings"

	"mimverify/judge"
)

// FalsifyFormats are the formats a falsify report is written in, by name,
// and the extensions that select them.
var FalsifyFormats = map[string][]string{
	"text":     {".txt"},
	"json":     {".json"},
	"markdown": {".md", ".markdown"},
	"html":     {".html", ".htm"},
}

// WriteFalsify renders a falsify report in the named format; figures are
// the claims' margin plots by claim, as paths relative to the report (nil
// without), which Markdown and HTML show under each claim.
func WriteFalsify(w io.Writer, r *judge.FalsifyReport, format string, figures map[string]string) error {
	switch format {
	case "json":
		return writeJSON(w, r)
	case "text":
		return writeFalsifyLines(w, r, false, nil)
	case "markdown":
		return writeFalsifyLines(w, r, true, figures)
	case "html":
		return writeFalsifyHTML(w, r, figures)
	}
	return fmt.Errorf("falsify format %q: must be one of text, json, markdown, html", format)
}

// falsifyHeadline is the one-line outcome every format leads with.
func falsifyHeadline(r *judge.FalsifyReport) string {
	found := 0
	for _, res := range r.Results {
		if res.Found {
			found++
		}
	}
	if found > 0 {
		return fmt.Sprintf("FAILS: a counterexample inside the regime for %d of %d claims", found, len(r.Results))
	}
	return fmt.Sprintf("HOLDS: no counterexample found for %d claims within %d evaluations each (evidence, not proof)", len(r.Results), r.Budget)
}

// falsifyClaimLines describes one claim's search as lines of text.
func falsifyClaimLines(r *judge.FalsifyReport, res *judge.FalsifyResult) []string {
	lines := []string{fmt.Sprintf("%d candidates on the %s engine (%d inside the regime, %d not judged of which %d too costly to run; %.0f%% of the Latin-hypercube starts inside the regime), %d failing candidates not confirmed on the exact engine, %.1f s",
		res.Evaluations, res.Engine, res.InRegime, res.Errors, res.Costly, 100*float64(res.StartsInRegime), res.Unconfirmed, float64(res.Seconds))}
	if cx := res.Counterexample; cx != nil {
		lines = append(lines,
			"counterexample: "+cx.Described,
			fmt.Sprintf("on the exact engine: measured %s, predicted %s (%s); %s", prose(cx.Result.Measured), prose(cx.Result.Predicted), res.Relation, cx.Result.Detail),
			"as found: "+cx.Found)
		if len(cx.Shrunk) > 0 {
			lines = append(lines, "shrunk: "+strings.Join(cx.Shrunk, "; "))
		}
		lines = append(lines, "reproduce: "+judge.ReproduceCommand(r, res, "counterexample.yaml"))
	} else if t := res.Tightest; t != nil {
		lines = append(lines, fmt.Sprintf("tightest point inside the regime: margin %s (measured %s, predicted %s) at %s",
			prose(t.Margin), prose(t.Measured), prose(t.Predicted), r.Space.Describe(t.Candidate)))
	} else {
		lines = append(lines, "no candidate inside the regime was judged: the claim was not tested (widen the space or the budget)")
	}
	return lines
}

func writeFalsifyLines(w io.Writer, r *judge.FalsifyReport, md bool, figures map[string]string) error {
	// ew keeps the first write error, which Flush returns.
	ew := bufio.NewWriter(w)
	head, item := "%s\n\n", "  %s\n"
	if md {
		head, item = "# Falsify: %s\n\n", "- %s\n"
	}
	fmt.Fprintf(ew, head, falsifyHeadline(r))
	for i := range r.Results {
		res := &r.Results[i]
		verdict := "no counterexample"
		if res.Found {
			verdict = "COUNTEREXAMPLE"
		}
		if md {
			fmt.Fprintf(ew, "## %s: %s\n\n`%s` (measured %s predicted)\n\n", res.Claim, verdict, res.Formula, res.Relation)
		} else {
			fmt.Fprintf(ew, "%s %s: %s  [measured %s predicted]\n", res.Claim, verdict, res.Formula, res.Relation)
		}
		for _, l := range falsifyClaimLines(r, res) {
			if md {
				l = mdText(l)
			}
			fmt.Fprintf(ew, item, l)
		}
		if f, ok := figures[res.Claim]; ok {
			fmt.Fprintf(ew, "\n![%s: verdict margin of every candidate over the two fields that move it most](%s)\n", res.Claim, f)
		}
		fmt.Fprintf(ew, "\n")
	}
	fmt.Fprintf(ew, "search seed %d, budget %d per claim, check: seed %d, %d samples, max steps %d; %.1f s\n",
		r.Seed, r.Budget, r.CheckSeed, r.Samples, r.MaxSteps, float64(r.Seconds))
	return ew.Flush()
}

func writeFalsifyHTML(w io.Writer, r *judge.FalsifyReport, figures map[string]string) error {
	ew := bufio.NewWriter(w)
	status := "holds"
	if r.Status != judge.StatusHolds {
		status = "fails"
	}
	fmt.Fprintf(ew, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mimverify falsify</title>\n<style>body{font-family:sans-serif;max-width:70em;margin:auto} .fails{background:#fdd;padding:.5em} .holds{background:#dfd;padding:.5em} code{background:#eee}</style></head><body>\n")
	fmt.Fprintf(ew, "<h1 id=\"status\" class=\"%s\" data-status=\"%s\">%s</h1>\n", status, r.Status, html.EscapeString(falsifyHeadline(r)))
	for i := range r.Results {
		res := &r.Results[i]
		fmt.Fprintf(ew, "<h2 id=\"%s\" data-found=\"%v\">%s</h2>\n<p><code>%s</code> (measured %s predicted)</p>\n<ul>\n",
			html.EscapeString(res.Claim), res.Found, html.EscapeString(res.Claim), html.EscapeString(res.Formula), html.EscapeString(res.Relation))
		for _, l := range falsifyClaimLines(r, res) {
			fmt.Fprintf(ew, "<li>%s</li>\n", html.EscapeString(l))
		}
		fmt.Fprintf(ew, "</ul>\n")
		if f, ok := figures[res.Claim]; ok {
			fmt.Fprintf(ew, "<p><img src=\"%s\" alt=\"%s: verdict margin of every candidate over the two fields that move it most\"></p>\n", html.EscapeString(f), html.EscapeString(res.Claim))
		}
	}
	fmt.Fprintf(ew, "</body></html>\n")
	return ew.Flush()
}
