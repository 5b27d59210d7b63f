package theory

// Verdict is the outcome of a claim on a setting.
type Verdict string

// The verdicts. A claim outside its regime is NotAsserted, never Holds.
const (
	Holds       Verdict = "holds"
	Fails       Verdict = "fails"
	NotAsserted Verdict = "not asserted"
)

// PredicateResult is one regime predicate evaluated on a setting.
type PredicateResult struct {
	// Formula is the predicate as printed, e.g. "(1 − γ)·C_min ≥ 4".
	Formula string `json:"formula"`
	// Left and Right are the evaluated sides.
	Left  float64 `json:"left"`
	Right float64 `json:"right"`
	Holds bool    `json:"holds"`
	// Why says what the condition is for.
	Why string `json:"why,omitempty"`
}

// ClaimResult is a claim evaluated on a setting: its regime, what was
// measured, the prediction (formula and value) and the verdict.
type ClaimResult struct {
	ID         string `json:"id"`
	Title      string `json:"title"`
	Provenance string `json:"provenance"` // "paper" or "derived"
	Statement  string `json:"statement"`
	// Regime lists the predicates; the claim is asserted only when all hold.
	Regime []PredicateResult `json:"regime"`
	// Quantity says in words what is measured on the trajectory.
	Quantity string `json:"quantity"`
	// Formula is the prediction, e.g. "T*(ε) = c·P/(η·(1 − γ)·C_min·L⁴·ε)".
	Formula   string  `json:"formula"`
	Predicted float64 `json:"predicted"`
	// Relation is how the measured value must compare with the predicted
	// one for the claim to hold: "≤" or "≥".
	Relation string  `json:"relation"`
	Measured float64 `json:"measured"`
	Verdict  Verdict `json:"verdict"`
	// Detail explains the verdict: which predicate fails, or what was seen.
	Detail string `json:"detail,omitempty"`
	// Engines lists the engines whose output the claim used.
	Engines []string `json:"engines"`
}

// Series is one curve of a figure: Y against X (X is usually the step).
type Series struct {
	// Figure groups series drawn in one plot; Name is the curve's legend.
	Figure string    `json:"figure"`
	Name   string    `json:"name"`
	X      []float64 `json:"x"`
	Y      []float64 `json:"y"`
	// LogY and LogX ask for logarithmic axes (the figure's, when any series
	// of it asks).
	LogY bool `json:"log_y,omitempty"`
	LogX bool `json:"log_x,omitempty"`
}

// Event is a phase event on a trajectory (C6): the first recorded step at
// which something happened, or -1 if it did not happen within the run.
type Event struct {
	Name string  `json:"name"`
	Step int     `json:"step"`
	Time float64 `json:"time"`
}

// Report is the outcome of 'mimverify check': the setting, what was run, the
// claims' results, and the curves and events the human-readable formats draw.
type Report struct {
	Format  string         `json:"format"` // "mimverify.check/v1"
	Setting Setting        `json:"setting"`
	Run     RunInfo        `json:"run"`
	Results []ClaimResult  `json:"results"`
	Series  []Series       `json:"series"`
	Events  []Event        `json:"events"`
	Summary map[string]int `json:"summary"` // verdict → count
}

// RunInfo records how the evidence was produced.
type RunInfo struct {
	Engines  []string `json:"engines"`
	Steps    int      `json:"steps"`
	Samples  int      `json:"samples"`
	Eval     int      `json:"eval_samples"`
	Seed     uint64   `json:"seed"`
	Epsilon  float64  `json:"epsilon"`
	Delta    float64  `json:"delta"`
	Seconds  float64  `json:"seconds"`
	Versions string   `json:"version,omitempty"`
}

// Failed reports whether any asserted claim failed.
func (r *Report) Failed() bool {
	for _, c := range r.Results {
		if c.Verdict == Fails {
			return true
		}
	}
	return false
}
