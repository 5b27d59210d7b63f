package judge

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"

	"mimverify/engine"
	"mimverify/theory"
	"mimverify/theory/expr"
)

// Verdict is the outcome of a claim on a setting.
type Verdict string

// The verdicts. A claim outside its regime is NotAsserted, never Holds.
const (
	Holds       Verdict = "holds"
	Fails       Verdict = "fails"
	NotAsserted Verdict = "not asserted"
)

// Float is a float64 that JSON writes as null when it is NaN or ±Inf (JSON
// has neither) and reads back from null as NaN: every number of the report
// schema is a Float, so non-finite values are handled here, once.
type Float float64

// MarshalJSON implements json.Marshaler.
func (x Float) MarshalJSON() ([]byte, error) {
	f := float64(x)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (x *Float) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		*x = Float(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*x = Float(f)
	return nil
}

// Floats converts a slice for the report.
func Floats(xs []float64) []Float {
	out := make([]Float, len(xs))
	for i, x := range xs {
		out[i] = Float(x)
	}
	return out
}

// PredicateResult is one regime predicate evaluated on a setting.
type PredicateResult struct {
	// Formula is the predicate as printed, e.g. "(1 − γ)·C_min ≥ 4", and
	// LaTeX the same in LaTeX, e.g. "\left(1 - \gamma\right) \cdot C_{\mathrm{min}} \ge 4".
	Formula string `json:"formula"`
	LaTeX   string `json:"latex"`
	// Left and Right are the evaluated sides, compared by Op.
	Left  Float         `json:"left"`
	Op    expr.Relation `json:"op"`
	Right Float         `json:"right"`
	Holds bool          `json:"holds"`
	// Why says what the condition is for.
	Why string `json:"why,omitempty"`
}

// ClaimResult is a claim evaluated on a setting: its regime, what was
// measured, the prediction (formula and value) and the verdict.
type ClaimResult struct {
	ID         string            `json:"id"`
	Title      string            `json:"title"`
	Provenance theory.Provenance `json:"provenance"`
	Statement  string            `json:"statement"`
	// Regime lists the predicates; the claim is asserted only when all hold.
	Regime []PredicateResult `json:"regime"`
	// Quantity says in words what is measured on the trajectory.
	Quantity string `json:"quantity"`
	// Formula is the prediction, e.g. "T*(ε) = c·P/(η·(1 − γ)·C_min·L⁴·ε)".
	Formula string `json:"formula"`
	// LaTeX is Formula in LaTeX (expr.Expr.LaTeX), for the Markdown
	// report's $…$ and for readers that typeset it.
	LaTeX     string `json:"latex"`
	Predicted Float  `json:"predicted"`
	// Relation is how the measured value must compare with the predicted
	// one for the claim to hold.
	Relation expr.Relation `json:"relation"`
	Measured Float         `json:"measured"`
	Verdict  Verdict       `json:"verdict"`
	// Empirical is, for a claim outside its regime (Verdict NotAsserted),
	// how the measured value compares with the prediction all the same:
	// Holds ("holds empirically") or Fails ("breaks"); empty when the claim
	// is inside its regime or cannot be measured.
	Empirical Verdict `json:"empirical,omitempty"`
	// Detail explains the verdict: which predicate fails, or what was seen.
	Detail string `json:"detail,omitempty"`
	// Engines lists the engines whose output the claim used.
	Engines []engine.ID `json:"engines"`
	// Sharp is the claim's sharp prediction with its band, or why it has
	// none (docs/SHARP.md); nil when the claim was not evaluated.
	Sharp *SharpResult `json:"sharp,omitempty"`
	// Required marks a claim the check had to assert (Options.Require, a
	// preset's required claims): not asserted, it fails the report.
	Required bool `json:"required,omitempty"`
}

// Unmet reports whether the claim is required and not asserted: a missing
// result that fails the report as a failing claim does.
func (c *ClaimResult) Unmet() bool { return c.Required && c.Verdict == NotAsserted }

// Series is one curve of a figure: Y against X (X is usually the step).
type Series struct {
	// Figure groups series drawn in one plot; Name is the curve's legend.
	Figure string  `json:"figure"`
	Name   string  `json:"name"`
	X      []Float `json:"x"`
	Y      []Float `json:"y"`
	// LogY and LogX ask for logarithmic axes (the figure's, when any series
	// of it asks).
	LogY bool `json:"log_y,omitempty"`
	LogX bool `json:"log_x,omitempty"`
}

// Event is a phase event on a trajectory, as the report draws it: the first
// recorded step at which something happened, or −1 if it did not happen
// within the run, and its time η·step.
type Event struct {
	Name string `json:"name"`
	Step int    `json:"step"`
	Time Float  `json:"time"`
}

// Report is the outcome of 'mimverify check': the setting, what was run, the
// claims' results, and the curves and events the human-readable formats draw.
type Report struct {
	Format string `json:"format"` // ReportFormat
	// Status and Reasons are the outcome of the whole check (Decide): what
	// the exit status, the headline, the banner and JUnit's failures say.
	Status  Status   `json:"status"`
	Reasons []Reason `json:"reasons"`
	// Error is the error that stopped the check (Status error), empty
	// otherwise; the report then has no results.
	Error string `json:"error,omitempty"`
	// Source says where the setting came from when it is a preset's, e.g.
	// "preset vit14" or "preset vit14, modified" (theory.Origin).
	Source     string         `json:"source,omitempty"`
	Provenance *Provenance    `json:"provenance,omitempty"`
	Setting    theory.Setting `json:"setting"`
	Run        RunInfo        `json:"run"`
	Results    []ClaimResult  `json:"results"`
	// Controls are the runs by which the judge proves its power
	// (controls.go, docs/JUDGE.md §Controls); empty when not run.
	Controls []ControlResult `json:"controls,omitempty"`
	// Detectable are the claims' minimum detectable effects (mde.go,
	// Options.MDE); empty when not searched.
	Detectable []Detectable `json:"detectable,omitempty"`
	// Falsify are the counterexample searches of Options.Falsify, one per
	// claim (without their traces); empty when not run.
	Falsify []FalsifyResult `json:"falsify,omitempty"`
	Series  []Series        `json:"series"`
	Events  []Event         `json:"events"`
	// Maps are attention maps of the main run: per cluster a few queries
	// at a few steps (local and diverse attention made visible).
	Maps    []AttentionMap `json:"maps,omitempty"`
	Summary map[string]int `json:"summary"` // verdict → count
}

// ReportFormat is the format tag of a check report (docs/FORMATS.md).
const ReportFormat = "mimverify.check/v1"

// RunInfo records how the evidence was produced.
type RunInfo struct {
	Engines []engine.ID `json:"engines"`
	Steps   int         `json:"steps"`
	Samples int         `json:"samples"`
	Eval    int         `json:"eval_samples"`
	Seed    uint64      `json:"seed"`
	// Power is Options.Power, the multiple of the sharp bands' evidence.
	Power   int   `json:"power"`
	Epsilon Float `json:"epsilon"`
	Delta   Float `json:"delta"`
	Seconds Float `json:"seconds"`
	// EngineSeconds is the wall time of each engine's runs (the agreement
	// stage's under population and flow both): the time JUnit gives a
	// claim is that of the engines it read.
	EngineSeconds map[engine.ID]Float `json:"engine_seconds,omitempty"`
	// OutOfSpan is, for an external run given as Q (CheckFullTrajectory),
	// Q's component outside the span of SPEC §2.
	OutOfSpan *OutOfSpan `json:"out_of_span,omitempty"`
}
