package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"mimverify/theory"
)

// Formats lists the format names accepted by Write, in the order the help
// text shows them.
var Formats = []string{"text", "json", "markdown", "html", "junit"}

// Options adjusts the rendering. The zero value is the plain default.
type Options struct {
	// Color asks the text format for ANSI colours (red for failing claims,
	// green for holding ones). Other formats ignore it.
	Color bool
}

// Write renders r to w in the named format (one of Formats) with the default
// options. An unknown format is an error naming the allowed ones.
func Write(w io.Writer, r *theory.Report, format string) error {
	return WriteWith(w, r, format, Options{})
}

// WriteWith is Write with options.
func WriteWith(w io.Writer, r *theory.Report, format string, opt Options) error {
	if r == nil {
		return fmt.Errorf("report: nil report")
	}
	switch format {
	case "text":
		return writeText(w, r, opt)
	case "json":
		return writeJSON(w, r)
	case "markdown":
		return writeMarkdown(w, r)
	case "html":
		return writeHTML(w, r)
	case "junit":
		return writeJUnit(w, r)
	}
	return fmt.Errorf("report format %q: must be one of %s", format, strings.Join(Formats, ", "))
}

// finite reports whether x is neither NaN nor ±Inf.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// cell formats a number for a table: four significant digits, "—" when the
// value is NaN or ±Inf.
func cell(x float64) string {
	if !finite(x) {
		return "—"
	}
	return strconv.FormatFloat(x, 'g', 4, 64)
}

// prose formats a number for a sentence: like cell, but a non-finite value
// is named (NaN, +Inf, −Inf) rather than blanked.
func prose(x float64) string {
	switch {
	case math.IsNaN(x):
		return "NaN"
	case math.IsInf(x, 1):
		return "+Inf"
	case math.IsInf(x, -1):
		return "−Inf"
	}
	return strconv.FormatFloat(x, 'g', 4, 64)
}

// verdictLabel is the verdict as the tables print it.
func verdictLabel(v theory.Verdict) string {
	switch v {
	case theory.Holds:
		return "HOLDS"
	case theory.Fails:
		return "FAILS"
	case theory.NotAsserted:
		return "n/a"
	case "":
		return "?"
	}
	return strings.ToUpper(string(v))
}

// tally counts the claims by verdict; other counts unknown verdicts.
type tally struct{ holds, fails, na, other int }

func count(r *theory.Report) tally {
	var t tally
	for _, c := range r.Results {
		switch c.Verdict {
		case theory.Holds:
			t.holds++
		case theory.Fails:
			t.fails++
		case theory.NotAsserted:
			t.na++
		default:
			t.other++
		}
	}
	return t
}

// summary is the one-line count of verdicts.
func (t tally) summary() string {
	s := fmt.Sprintf("%d holds, %d fails, %d not asserted", t.holds, t.fails, t.na)
	if t.other > 0 {
		s += fmt.Sprintf(", %d without a verdict", t.other)
	}
	return s
}

// overall is the verdict of the whole report: FAILS when any claim fails,
// HOLDS when at least one claim was asserted and all asserted ones hold,
// NOTHING ASSERTED otherwise.
func overall(r *theory.Report) string {
	t := count(r)
	switch {
	case t.fails > 0:
		return "FAILS"
	case t.other > 0:
		return "INCOMPLETE"
	case t.holds > 0:
		return "HOLDS"
	}
	return "NOTHING ASSERTED"
}

// failedIDs lists the IDs of the failing claims.
func failedIDs(r *theory.Report) []string {
	var ids []string
	for _, c := range r.Results {
		if c.Verdict == theory.Fails {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// headline says the overall verdict in a sentence.
func headline(r *theory.Report) string {
	t := count(r)
	asserted := t.holds + t.fails
	switch overall(r) {
	case "FAILS":
		ids := failedIDs(r)
		verb := "fails"
		if len(ids) > 1 {
			verb = "fail"
		}
		return fmt.Sprintf("FAILS: %d of %d asserted claims %s (%s)", t.fails, asserted, verb, strings.Join(ids, ", "))
	case "HOLDS":
		return fmt.Sprintf("HOLDS: all %d asserted claims hold (%d not asserted)", asserted, t.na)
	case "INCOMPLETE":
		return fmt.Sprintf("INCOMPLETE: %d claims without a verdict", t.other)
	}
	return fmt.Sprintf("NOTHING ASSERTED: all %d claims are outside their regime", len(r.Results))
}

// failingPredicates returns the regime predicates that do not hold.
func failingPredicates(c theory.ClaimResult) []theory.PredicateResult {
	var out []theory.PredicateResult
	for _, p := range c.Regime {
		if !p.Holds {
			out = append(out, p)
		}
	}
	return out
}

// operators are the comparison signs a predicate formula may use, longest
// first so that "<=" is found before "<".
var operators = []string{"≥", "≤", ">=", "<=", "≠", "!=", "==", ">", "<", "="}

// predicateOp finds the comparison of a predicate formula (its last
// occurrence of a known sign), or "" if there is none.
func predicateOp(formula string) string {
	best, at := "", -1
	for _, op := range operators {
		if i := strings.LastIndex(formula, op); i > at {
			best, at = op, i
		}
	}
	return best
}

// evaluated writes a predicate with its evaluated sides, e.g.
// "(1 − γ)·C_min ≥ 4: 2 ≥ 4 is false".
func evaluated(p theory.PredicateResult) string {
	truth := "false"
	if p.Holds {
		truth = "true"
	}
	if op := predicateOp(p.Formula); op != "" {
		return fmt.Sprintf("%s: %s %s %s is %s", p.Formula, prose(p.Left), op, prose(p.Right), truth)
	}
	return fmt.Sprintf("%s: left %s, right %s: %s", p.Formula, prose(p.Left), prose(p.Right), truth)
}

// violation is the comparison a failing claim shows, e.g.
// "measured 0.3 > predicted 0.2". The sign is the true order of the two
// values, whatever the relation; "vs" when either is not finite.
func violation(c theory.ClaimResult) string {
	op := "vs"
	if finite(c.Measured) && finite(c.Predicted) {
		switch {
		case c.Measured > c.Predicted:
			op = ">"
		case c.Measured < c.Predicted:
			op = "<"
		default:
			op = "="
		}
	}
	return fmt.Sprintf("measured %s %s predicted %s", prose(c.Measured), op, prose(c.Predicted))
}

// prediction says what the claim predicts and what was measured, e.g.
// "predicted 0.2 (T*(ε) = …), must hold: measured ≤ predicted; measured 0.31".
func prediction(c theory.ClaimResult) string {
	pred := "predicted " + prose(c.Predicted)
	if f := oneLine(c.Formula); f != "" {
		pred += " (" + f + ")"
	}
	if c.Relation != "" {
		pred += "; holds when measured " + c.Relation + " predicted"
	}
	return pred + "; measured " + prose(c.Measured)
}

// outsideRegime says why a claim is not asserted: its failing predicates
// with their evaluated sides, or its Detail when no predicate fails.
func outsideRegime(c theory.ClaimResult) string {
	var parts []string
	for _, p := range failingPredicates(c) {
		parts = append(parts, evaluated(p))
	}
	if len(parts) == 0 {
		if c.Detail != "" {
			return c.Detail
		}
		return "no regime predicate recorded as failing"
	}
	return strings.Join(parts, "; ")
}

// truncate cuts s to at most n characters, ending with "…" when cut.
func truncate(s string, n int) string {
	rs := []rune(s)
	if len(rs) <= n {
		return s
	}
	if n < 1 {
		return ""
	}
	return strings.TrimRight(string(rs[:n-1]), " ") + "…"
}

// oneLine folds newlines and tabs to spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
