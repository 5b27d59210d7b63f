package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"mimverify/engine"
	"mimverify/judge"
	"mimverify/theory"
)

// Format is an output format: its name (--format), the file extensions that
// select it (--out), and its writers of a check report and of a sweep (nil
// when the format has none). Each format registers itself from the init of
// the file that writes it; a format whose check and sweep writers are in
// separate files (html) registers once from each, and Formats and lookup
// take the entry with the writer asked for.
type Format struct {
	Name       string
	Extensions []string
	Check      func(w io.Writer, r *judge.Report) error
	Sweep      func(w io.Writer, s *judge.Sweep) error
}

// formats is the registry, in registration order (file name order).
var formats []Format

func register(f Format) { formats = append(formats, f) }

// Formats returns the names of the formats that write check reports (sweep:
// those that write sweeps), in the order the help text shows them.
func Formats(sweep bool) []string {
	var names []string
	for _, f := range formats {
		if (sweep && f.Sweep != nil) || (!sweep && f.Check != nil) {
			names = append(names, f.Name)
		}
	}
	return names
}

// ExtensionTable maps each lower-case file extension to the format it
// selects, among the formats that write check reports (sweep: sweeps).
func ExtensionTable(sweep bool) map[string]string {
	t := map[string]string{}
	for _, f := range formats {
		if (sweep && f.Sweep != nil) || (!sweep && f.Check != nil) {
			for _, ext := range f.Extensions {
				t[ext] = f.Name
			}
		}
	}
	return t
}

func lookup(name string, sweep bool) (Format, error) {
	for _, f := range formats {
		if f.Name == name && ((sweep && f.Sweep != nil) || (!sweep && f.Check != nil)) {
			return f, nil
		}
	}
	what := "report"
	if sweep {
		what = "sweep"
	}
	return Format{}, fmt.Errorf("%s format %q: must be one of %s", what, name, strings.Join(Formats(sweep), ", "))
}

// Write renders a check report in the named format.
func Write(w io.Writer, r *judge.Report, format string) error {
	if r == nil {
		return fmt.Errorf("report: nil report")
	}
	f, err := lookup(format, false)
	if err != nil {
		return err
	}
	return f.Check(w, r)
}

// WriteSweep renders a sweep in the named format.
func WriteSweep(w io.Writer, s *judge.Sweep, format string) error {
	if s == nil {
		return fmt.Errorf("report: nil sweep")
	}
	f, err := lookup(format, true)
	if err != nil {
		return err
	}
	return f.Sweep(w, s)
}

// finite reports whether x is neither NaN nor ±Inf.
func finite[F ~float64](x F) bool { return theory.Finite(float64(x)) }

// cell formats a number for a table: four significant digits, "—" when the
// value is NaN or ±Inf.
func cell[F ~float64](x F) string {
	if !finite(x) {
		return "—"
	}
	return strconv.FormatFloat(float64(x), 'g', 4, 64)
}

// prose formats a number for a sentence: like cell, but a non-finite value
// is named (NaN, +Inf, −Inf) rather than blanked.
func prose[F ~float64](x F) string {
	switch {
	case math.IsNaN(float64(x)):
		return "NaN"
	case math.IsInf(float64(x), 1):
		return "+Inf"
	case math.IsInf(float64(x), -1):
		return "−Inf"
	}
	return strconv.FormatFloat(float64(x), 'g', 4, 64)
}

// verdictLabel is the verdict as the tables print it.
func verdictLabel(v judge.Verdict) string {
	switch v {
	case judge.Holds:
		return "HOLDS"
	case judge.Fails:
		return "FAILS"
	case judge.NotAsserted:
		return "n/a"
	case "":
		return "?"
	}
	return strings.ToUpper(string(v))
}

// resultLabel is a claim's verdict as the check reports print it: the
// verdict, and for a claim outside its regime what its measurement says all
// the same — "n/a, holds empirically" or "n/a, breaks".
func resultLabel(c judge.ClaimResult) string {
	if c.Verdict == judge.NotAsserted {
		switch c.Empirical {
		case judge.Holds:
			return "n/a, holds empirically"
		case judge.Fails:
			return "n/a, breaks"
		}
	}
	return verdictLabel(c.Verdict)
}

// tally counts the claims by verdict; other counts unknown verdicts.
type tally struct{ holds, fails, na, other int }

func count(r *judge.Report) tally {
	var t tally
	for _, c := range r.Results {
		switch c.Verdict {
		case judge.Holds:
			t.holds++
		case judge.Fails:
			t.fails++
		case judge.NotAsserted:
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

// overall is the outcome of the whole report (judge.Report.Outcome) as the
// headlines and the HTML banner print it: ERROR when the check stopped on
// an error, FAILS when it fails, NOTHING ASSERTED when it holds with no
// claim asserted, HOLDS otherwise.
func overall(r *judge.Report) string {
	o := r.Outcome()
	switch {
	case o.Status == judge.StatusError:
		return "ERROR"
	case o.Status != judge.StatusHolds:
		return "FAILS"
	case o.Asserted == 0:
		return "NOTHING ASSERTED"
	}
	return "HOLDS"
}

// reasonIDs lists the claims of the outcome's reasons of one kind.
func reasonIDs(o judge.Outcome, kind judge.ReasonKind) []string {
	var ids []string
	for _, rs := range o.Reasons {
		if rs.Kind == kind {
			ids = append(ids, rs.Claim)
		}
	}
	return ids
}

// headline says the outcome in a sentence.
func headline(r *judge.Report) string {
	o := r.Outcome()
	switch overall(r) {
	case "ERROR":
		return "ERROR: the check could not be completed: " + oneLine(r.Error)
	case "FAILS":
		var parts []string
		if ids := reasonIDs(o, judge.ReasonFails); len(ids) > 0 {
			verb := "fails"
			if len(ids) > 1 {
				verb = "fail"
			}
			parts = append(parts, fmt.Sprintf("%d of %d asserted claims %s (%s)", o.Fails, o.Asserted, verb, strings.Join(ids, ", ")))
		}
		if ids := reasonIDs(o, judge.ReasonUnmet); len(ids) > 0 {
			parts = append(parts, fmt.Sprintf("required but not asserted: %s", strings.Join(ids, ", ")))
		}
		if ids := reasonIDs(o, judge.ReasonNoVerdict); len(ids) > 0 {
			parts = append(parts, fmt.Sprintf("without a verdict: %s", strings.Join(ids, ", ")))
		}
		for _, rs := range o.Reasons {
			if rs.Kind == judge.ReasonPower {
				parts = append(parts, rs.Text)
			}
		}
		return "FAILS: " + strings.Join(parts, "; ")
	case "HOLDS":
		return fmt.Sprintf("HOLDS: all %d asserted claims hold (%d not asserted)", o.Asserted, o.NotAsserted)
	}
	if r.Setting.Departs() {
		return fmt.Sprintf("NOTHING ASSERTED: the setting departs from the paper's assumptions (docs/ASSUMPTIONS.md); %d claims measured on the full model", len(r.Results))
	}
	return fmt.Sprintf("NOTHING ASSERTED: all %d claims are outside their regime", len(r.Results))
}

// title names the report: the command, the setting as the file or preset
// names it, and where it came from when that is a preset ("from preset
// vit14, modified").
func title(r *judge.Report) string {
	t := "mimverify check"
	if r.Setting.Name != "" {
		t += " — " + r.Setting.Name
	}
	if r.Source != "" && r.Source != "preset "+r.Setting.Name {
		t += " (from " + r.Source + ")"
	}
	return oneLine(t)
}

// provenanceLines says what produced a report or a sweep, one fact a line.
func provenanceLines(p *judge.Provenance) []string {
	if p == nil {
		return nil
	}
	rev := p.Revision
	if rev == "" {
		rev = "not recorded"
	} else if p.Modified {
		rev += " (modified work tree)"
	}
	return []string{
		fmt.Sprintf("tool: %s %s, revision %s, %s", p.Tool, p.Version, rev, p.GoVersion),
		"command: " + strings.Join(p.Command, " "),
		fmt.Sprintf("started %s on %s, GOMAXPROCS %d", p.Start, p.Host, p.GOMAXPROCS),
		"setting hash: " + p.SettingHash,
	}
}

// failingPredicates returns the regime predicates that do not hold.
func failingPredicates(c judge.ClaimResult) []judge.PredicateResult {
	var out []judge.PredicateResult
	for _, p := range c.Regime {
		if !p.Holds {
			out = append(out, p)
		}
	}
	return out
}

// evaluated writes a predicate with its evaluated sides, e.g.
// "(1 − γ)·C_min ≥ 4: 2 ≥ 4 is false".
func evaluated(p judge.PredicateResult) string { return p.Formula + ": " + evaluatedSides(p) }

// evaluatedSides says what a predicate's sides evaluated to, e.g.
// "0.5 ≤ 0.9 is true".
func evaluatedSides(p judge.PredicateResult) string {
	truth := "false"
	if p.Holds {
		truth = "true"
	}
	if p.Op != "" {
		return fmt.Sprintf("%s %s %s is %s", prose(p.Left), p.Op, prose(p.Right), truth)
	}
	return fmt.Sprintf("left %s, right %s: %s", prose(p.Left), prose(p.Right), truth)
}

// violation is the criterion a failing claim failed, with its numbers
// (judge.Criterion: the envelope, or the sharp band).
func violation(c judge.ClaimResult) string { return judge.Criterion(&c) }

// prediction says what the claim predicts and what was measured, e.g.
// "predicted 0.2 (T*(ε) = …), must hold: measured ≤ predicted; measured 0.31".
func prediction(c judge.ClaimResult) string {
	pred := "predicted " + prose(c.Predicted)
	if f := oneLine(c.Formula); f != "" {
		pred += " (" + f + ")"
	}
	if c.Relation != "" {
		pred += "; holds when measured " + string(c.Relation) + " predicted"
	}
	return pred + "; measured " + prose(c.Measured)
}

// outsideRegime says why a claim is not asserted: its failing predicates
// with their evaluated sides, or its Detail when no predicate fails.
func outsideRegime(c judge.ClaimResult) string {
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

// engineList joins engine ids with commas.
func engineList(ids []engine.ID) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = string(id)
	}
	return strings.Join(parts, ",")
}

// sharpLine says a claim's sharp prediction in one line (docs/SHARP.md):
// the reduced ODE's value, the band, measured/predicted and whether the
// measured value is inside; or why there is none. Empty when the claim was
// not evaluated.
func sharpLine(c judge.ClaimResult) string {
	sh := c.Sharp
	switch {
	case sh == nil:
		return ""
	case !sh.Available() && math.IsNaN(float64(sh.Predicted)):
		return "no sharp prediction: " + oneLine(sh.Note)
	}
	var status string
	switch st := sharpStatus(c); st {
	case sharpInformation:
		why, _, _ := strings.Cut(sh.Note, ";")
		status = "reported, not asserted (" + strings.TrimPrefix(oneLine(why), "reported, not asserted: ") + ")"
	case sharpInside:
		status = "inside the band"
	case sharpOutside:
		status = "OUTSIDE the band"
	default:
		status = sharpStateWord(st)
	}
	compared := ""
	if m := float64(sh.Measured); !math.IsNaN(m) && m != float64(c.Measured) {
		compared = fmt.Sprintf(" compared with %s (see the band),", prose(sh.Measured)) // C4: the held-out share
	}
	return fmt.Sprintf("reduced ODE (%s, %s) predicts %s, band [%s, %s],%s measured/predicted %s: %s", sh.Engine, sh.Mode, prose(sh.Predicted), prose(sh.Low), prose(sh.High), compared, prose(sh.Ratio), status)
}
