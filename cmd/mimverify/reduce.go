package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"mimverify/dynamics"
	"mimverify/judge"
)

// reduceFormat is the format tag of 'mimverify reduce --format json'
// (docs/FORMATS.md).
const reduceFormat = "mimverify.reduce/v1"

// reduceOutput is the JSON form of the reduced system.
type reduceOutput struct {
	Format    string           `json:"format"`
	Setting   string           `json:"setting"`
	Level     string           `json:"level"`
	Mode      string           `json:"mode"`
	Symmetry  reduceSymmetry   `json:"symmetry"`
	Variables []reduceVariable `json:"variables"`
	Laws      reduceLaws       `json:"laws"`
	Relations reduceRelations  `json:"relations"`
	Equations reduceEquations  `json:"equations"`
}

type reduceSymmetry struct {
	Order          *string `json:"order"` // decimal; null when the search hit its budget
	Complete       bool    `json:"complete"`
	Generators     int     `json:"generators"`
	Atoms          int     `json:"atoms"`
	PositionOrbits int     `json:"position_orbits"`
	FPOrbits       int     `json:"fp_orbits"`
	PPOrbits       int     `json:"pp_orbits"`
	Dim            int     `json:"dim"`
	FullDim        int     `json:"full_dim"`
	// Start says why the setting's start is off the symmetric subspace
	// (dynamics.AsymmetricStart; omitted when it is on it).
	Start string `json:"start,omitempty"`
}

type reduceVariable struct {
	Name         string `json:"name"`
	Kind         string `json:"kind"`
	Rep          []int  `json:"rep"`
	Multiplicity int    `json:"multiplicity"`
	Meaning      string `json:"meaning"`
}

type reduceLaw struct {
	Text         string    `json:"text"`
	Coefficients []float64 `json:"coefficients"`
	Residual     float64   `json:"residual"`
}

type reduceKnownLaw struct {
	Name      string  `json:"name"`
	Predicted bool    `json:"predicted"`
	Why       string  `json:"why"`
	Holds     bool    `json:"holds"`
	Residual  float64 `json:"residual"`
	Instances int     `json:"instances"`
}

type reduceLaws struct {
	States        int              `json:"states"`
	RankTolerance float64          `json:"rank_tolerance"`
	Rank          int              `json:"rank"`
	Singular      []float64        `json:"singular_values"`
	SmallestKept  float64          `json:"smallest_kept"`
	LargestNull   float64          `json:"largest_null"`
	Found         []reduceLaw      `json:"found"`
	Known         []reduceKnownLaw `json:"known"`
	Skipped       string           `json:"skipped,omitempty"`
	Note          string           `json:"note,omitempty"`
	CRNRelErr     float64          `json:"crn_relative_error,omitempty"`
}

type reduceRelations struct {
	Applies   bool    `json:"applies"`
	Why       string  `json:"why,omitempty"`
	Predicted bool    `json:"predicted"`
	Steps     int     `json:"steps"`
	Eta       float64 `json:"eta"`
	Residual  float64 `json:"residual"`
	Tolerance float64 `json:"tolerance"`
	Holds     bool    `json:"holds"`
}

type reduceFormula struct {
	Text  string `json:"text"`
	LaTeX string `json:"latex"`
}

type reduceParam struct {
	Name    string  `json:"name"`
	Value   float64 `json:"value"`
	Meaning string  `json:"meaning"`
}

type reduceQuery struct {
	Rep       int `json:"rep"`
	OrbitSize int `json:"orbit_size"`
	reduceFormula
}

type reduceRHS struct {
	Variable string `json:"variable"`
	Query    int    `json:"query"`
	Divisor  int    `json:"divisor"`
	reduceFormula
}

type reduceDefinition struct {
	Name    string `json:"name"`
	Meaning string `json:"meaning"`
	reduceFormula
}

type reduceEquations struct {
	ClosedForm bool          `json:"closed_form"`
	Reason     string        `json:"reason,omitempty"`
	Parameters []reduceParam `json:"parameters,omitempty"`
	// Definitions are evaluated in order, after the parameters and the
	// variables, before the queries' losses, the loss and the rhs.
	Definitions []reduceDefinition `json:"definitions,omitempty"`
	Queries     []reduceQuery      `json:"queries,omitempty"`
	Loss        reduceFormula      `json:"loss"`
	RHS         []reduceRHS        `json:"rhs,omitempty"`
}

func reduceCommand(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("reduce", "reduce [--preset NAME | --config FILE] [--meanfield] [--format text|markdown|json] [--out FILE]", stdout)
	var sf settingFlags
	sf.register(fs)
	mf := fs.Bool("meanfield", false, "reduce the mean-field system (level 5) instead of the orbit system (level 4)")
	format := fs.String("format", "", "text, markdown or json (default: from the --out extension, .md or .json, else text)")
	out := fs.String("out", "", "file to write (default: standard output)")
	states := fs.Int("states", 0, "random symmetric states for the conservation-law search (0: dimension + 8)")
	steps := fs.Int("steps", 50, "GD steps from Q(0) = 0 along which SPEC §3's relations are checked")
	budget := fs.Float64("budget", 20, "seconds of gradient evaluations allowed for the law search and the relation check")
	seed := fs.Uint64("seed", 0, "seed of the random states (and of CRN samples)")
	var mem memoryFlag
	mem.register(fs)
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	f, err := formatFor(*format, *out, "text", map[string]string{".txt": "text", ".md": "markdown", ".markdown": "markdown", ".json": "json"}, "text", "markdown", "json")
	if err != nil {
		return err
	}
	switch {
	case *states < 0 || *states > 100000:
		return badInput("--states = %d: must be in [0, 100000]", *states)
	case *steps < 1 || *steps > 1000000:
		return badInput("--steps = %d: must be in [1, 1000000]", *steps)
	case !(*budget > 0 && *budget <= 86400):
		return badInput("--budget = %g: must be a number of seconds in (0, 86400]", *budget)
	}
	if err := checkOutputs(map[string]string{"--out": *out}, &sf, nil); err != nil {
		return err
	}
	s, err := sf.load()
	if err != nil {
		return err
	}
	// An estimate that cannot be made (the symmetry search failed) leaves
	// Reduce to say why.
	if cost, err := judge.EstimateReduceCost(&s, *mf, *states); err == nil {
		if err := mem.check(fmt.Sprintf("reduce on this setting (P = %d)", s.P), cost, nil); err != nil {
			return err
		}
	}
	r, err := dynamics.Reduce(&s, dynamics.ReduceOptions{MeanField: *mf, States: *states, Steps: *steps,
		Budget: time.Duration(*budget * float64(time.Second)), Seed: *seed})
	if errors.Is(err, dynamics.ErrTooManyTerms) {
		return usageError{err} // over any memory: refused before it is built
	}
	if err != nil {
		return err
	}
	o := newReduceOutput(r)
	if why := dynamics.AsymmetricStart(&s); why != "" {
		o.Symmetry.Start = why + ": the reduced system describes the runs from symmetric starts (Q(0) = 0), not this setting's; run and sweep refuse --engine orbit and meanfield on it"
	}
	var data []byte
	switch f {
	case "json":
		if data, err = json.MarshalIndent(o, "", "  "); err != nil {
			return err
		}
		data = append(data, '\n')
	case "markdown":
		data = []byte(renderReduceMarkdown(o))
	default:
		data = []byte(renderReduceText(o))
	}
	return emit(stdout, *out, data)
}

// newReduceOutput converts the reduced system to its output form.
func newReduceOutput(r *dynamics.Reduced) reduceOutput {
	o := reduceOutput{Format: reduceFormat, Setting: r.Setting, Level: r.Level, Mode: r.Mode,
		Symmetry: reduceSymmetry{Complete: r.Complete, Generators: r.Generators, Atoms: r.Atoms,
			PositionOrbits: r.PosOrbits, FPOrbits: r.FPOrbits, PPOrbits: r.PPOrbits, Dim: r.Dim, FullDim: r.FullDim}}
	if r.Order != nil {
		s := r.Order.String()
		o.Symmetry.Order = &s
	}
	names := make([]string, len(r.Variables))
	for i, v := range r.Variables {
		names[i] = v.Name
		o.Variables = append(o.Variables, reduceVariable{v.Name, v.Kind, v.Rep, v.Mult, v.Meaning})
	}
	l := r.Laws
	o.Laws = reduceLaws{States: l.States, RankTolerance: l.Tolerance, Rank: l.Rank, Singular: l.Singular,
		SmallestKept: l.SmallestKept, LargestNull: l.LargestNull, Skipped: l.Skipped, Note: l.Note, CRNRelErr: l.CRNRelErr, Found: []reduceLaw{}}
	for _, f := range l.Found {
		o.Laws.Found = append(o.Laws.Found, reduceLaw{f.Text, f.Coef, f.Residual})
	}
	for _, k := range l.Known {
		o.Laws.Known = append(o.Laws.Known, reduceKnownLaw{k.Name, k.Predicted, k.Why, k.Holds, k.Residual, k.Instances})
	}
	rel := r.Relations
	o.Relations = reduceRelations{rel.Applies, rel.Why, rel.Predicted, rel.Steps, rel.Eta, rel.Residual, dynamics.RelationTol, rel.Holds}
	o.Equations = reduceEquations{ClosedForm: r.System != nil, Reason: r.NoClosedForm}
	if m := r.System; m != nil {
		for _, p := range m.ParamOrder {
			o.Equations.Parameters = append(o.Equations.Parameters, reduceParam{p, m.Params[p], m.ParamDoc[p]})
		}
		for _, d := range m.Defs {
			o.Equations.Definitions = append(o.Equations.Definitions, reduceDefinition{d.Name, d.Meaning, reduceFormula{d.Expr.String(), d.Expr.LaTeX()}})
		}
		for i, q := range m.Queries {
			o.Equations.Queries = append(o.Equations.Queries, reduceQuery{m.QueryRep[i], m.OrbitSize[i], reduceFormula{q.String(), q.LaTeX()}})
		}
		o.Equations.Loss = reduceFormula{m.Loss.String(), m.Loss.LaTeX()}
		for i, e := range m.RHS {
			o.Equations.RHS = append(o.Equations.RHS, reduceRHS{names[i], m.Row[i], m.Divisor[i], reduceFormula{e.String(), e.LaTeX()}})
		}
	}
	return o
}
