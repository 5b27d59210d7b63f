package judge

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"mimverify/theory"
)

// FalsifyFormat identifies the JSON schema of a FalsifyReport.
const FalsifyFormat = "mimverify-falsify/1"

// FalsifyReport is the outcome of Falsify: per claim, a confirmed
// counterexample or the tightest point found, with the search's coverage.
// Its Status is StatusFails when some claim has a confirmed
// counterexample (the statement is false in its regime), StatusHolds
// otherwise: no counterexample within the budget, which is evidence, not
// proof.
type FalsifyReport struct {
	Format  string         `json:"format"`
	Setting theory.Setting `json:"setting"`
	Status  Status         `json:"status"`
	Reasons []string       `json:"reasons,omitempty"`
	Budget  int            `json:"budget"`
	// Shard is the shard of the claims searched ("0/1": all).
	Shard string       `json:"shard"`
	Seed  uint64       `json:"seed"`
	Space *SearchSpace `json:"space"`
	// The check options of the evaluations and confirmations, which a
	// counterexample's reproduction uses.
	MaxSteps  int    `json:"max_steps"`
	Samples   int    `json:"samples"`
	CheckSeed uint64 `json:"check_seed"`
	// ClaimsFile is the user's claims file, when user claims were searched
	// (set by the caller, for the reproducing command).
	ClaimsFile string          `json:"claims_file,omitempty"`
	Results    []FalsifyResult `json:"results"`
	Seconds    Float           `json:"seconds"`
	Provenance *Provenance     `json:"provenance,omitempty"`
}

// decide sets the report's status and reasons from its results.
func (r *FalsifyReport) decide() {
	r.Status, r.Reasons = StatusHolds, nil
	for _, res := range r.Results {
		if res.Found {
			r.Status = StatusFails
			r.Reasons = append(r.Reasons, fmt.Sprintf("%s: counterexample inside its regime (%s): measured %.4g, predicted %.4g",
				res.Claim, res.Counterexample.Described, float64(res.Counterexample.Result.Measured), float64(res.Counterexample.Result.Predicted)))
		}
	}
}

// ReproduceCommand is the check that reproduces a claim's counterexample
// from its setting file (written at path): the claim alone, with the
// search's ε, δ and check options. Its exit status is 1.
func ReproduceCommand(r *FalsifyReport, res *FalsifyResult, path string) string {
	cx := res.Counterexample
	if cx == nil {
		return ""
	}
	claims := res.Claim
	extra := ""
	if r.ClaimsFile != "" && !slices.Contains(theory.ClaimIDs(), res.Claim) {
		// A user claim is judged beside a built-in one: C2 stands in for
		// --claims, which selects built-in claims only.
		claims, extra = "C2", " --claims-file "+shellQuote(r.ClaimsFile)
	}
	return fmt.Sprintf("mimverify check --config %s --claims %s%s --epsilon %s --delta %s --seed %d --samples %d --max-steps %d",
		shellQuote(path), claims, extra, strconv.FormatFloat(float64(cx.Epsilon), 'g', -1, 64),
		strconv.FormatFloat(float64(cx.Delta), 'g', -1, 64), r.CheckSeed, r.Samples, r.MaxSteps)
}

// shellQuote quotes a path for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Line says a claim's search in one sentence, as the check's text,
// Markdown, HTML and JUnit outputs print it.
func (f *FalsifyResult) Line() string {
	if cx := f.Counterexample; f.Found && cx != nil {
		return fmt.Sprintf("%s has a counterexample inside its regime: %s; measured %.4g, predicted %.4g (%s), on the exact engine after %d candidates",
			f.Claim, cx.Described, float64(cx.Result.Measured), float64(cx.Result.Predicted), f.Relation, f.Evaluations)
	}
	if t := f.Tightest; t != nil {
		return fmt.Sprintf("%s: no counterexample in %d candidates (%d inside the regime); tightest margin %.3g, measured %.4g against %.4g",
			f.Claim, f.Evaluations, f.InRegime, float64(t.Margin), float64(t.Measured), float64(t.Predicted))
	}
	return fmt.Sprintf("%s: no candidate of %d inside the regime: not tested", f.Claim, f.Evaluations)
}

// falsify runs Options.Falsify's searches around the checked setting, for
// the selected claims but C8 and the user's claims, and keeps their
// results without the traces.
func (r *run) falsify(rep *Report) error {
	var ids []string
	for _, c := range r.claims {
		if c.ID != "C8" {
			ids = append(ids, c.ID)
		}
	}
	for _, c := range r.opt.UserClaims {
		ids = append(ids, c.ID)
	}
	if len(ids) == 0 {
		return nil
	}
	r.stage("falsify: searching %d claims' regimes, %d candidates each", len(ids), r.opt.Falsify)
	fr, err := Falsify(*r.s, ids, FalsifyOptions{Budget: max(4, r.opt.Falsify),
		Check: Options{Seed: r.opt.Seed, Samples: r.opt.Samples, MaxSteps: min(r.opt.MaxSteps, falsifyMaxSteps), UserClaims: r.opt.UserClaims}})
	if err != nil {
		return fmt.Errorf("falsify: %w", err)
	}
	for _, res := range fr.Results {
		res.Trace = nil
		rep.Falsify = append(rep.Falsify, res)
	}
	return nil
}
