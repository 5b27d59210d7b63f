package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"mimverify/proptest"
	"mimverify/theory"
)

// varyFlag collects repeated --vary FIELD=V1,V2,… flags.
type varyFlag []axis

type axis struct {
	field  string
	values []string
}

func (v *varyFlag) String() string { return "" }

func (v *varyFlag) Set(s string) error {
	field, list, ok := strings.Cut(s, "=")
	if !ok || list == "" {
		return fmt.Errorf("%q: want FIELD=V1,V2,… with FIELD one of %s", s, strings.Join(sweepFields, ", "))
	}
	*v = append(*v, axis{field: strings.TrimSpace(field), values: strings.Split(list, ",")})
	return nil
}

var sweepFields = []string{"gamma", "eta", "z.kind", "z.L", "z.U", "keys", "loss", "mask", "extra_dim", "epsilon", "delta", "samples", "seed"}

// sweepPoint is one setting of a sweep and its claims' results.
type sweepPoint struct {
	Values  map[string]string    `json:"values"`
	Steps   int                  `json:"steps"`
	Seconds float64              `json:"seconds"`
	Results []theory.ClaimResult `json:"results"`
	Error   string               `json:"error,omitempty"`
}

// apply sets one field of the setting or of the judge's options.
func apply(s *theory.Setting, opt *proptest.CheckOptions, field, value string) error {
	num := func() (float64, error) {
		x, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return 0, fmt.Errorf("--vary %s=%s: not a number", field, value)
		}
		return x, nil
	}
	var err error
	var x float64
	switch field {
	case "gamma":
		s.Gamma, err = num()
	case "eta":
		s.Eta, err = num()
	case "z.L":
		s.Z.L, err = num()
	case "z.U":
		s.Z.U, err = num()
	case "z.kind":
		s.Z.Kind = theory.ZKind(value)
	case "keys":
		s.Keys = theory.KeyMode(value)
	case "loss":
		s.Loss = theory.LossNorm(value)
	case "mask":
		s.Mask = theory.MaskScheme(value)
	case "extra_dim":
		x, err = num()
		s.ExtraDim = int(x)
	case "epsilon":
		opt.Epsilon, err = num()
	case "delta":
		opt.Delta, err = num()
	case "samples":
		x, err = num()
		opt.Samples = int(x)
	case "seed":
		x, err = num()
		opt.Seed = uint64(x)
	default:
		return fmt.Errorf("--vary %s: unknown field; the fields are %s", field, strings.Join(sweepFields, ", "))
	}
	return err
}

func sweepCommand(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sweep", "sweep [--preset NAME | --config FILE] --vary FIELD=V1,V2,… [--vary …] [--claims C3,C7] [--format text|markdown|json] [--out FILE]", stdout)
	var sf settingFlags
	sf.register(fs)
	var vary varyFlag
	fs.Var(&vary, "vary", "a field and its values, FIELD=V1,V2,…; repeat for a grid (fields: "+strings.Join(sweepFields, ", ")+")")
	format := fs.String("format", "text", "text, markdown or json")
	out := fs.String("out", "", "write the table to this file (default: standard output)")
	var jf judgeFlags
	jf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(vary) == 0 {
		return badInput("--vary: give at least one FIELD=V1,V2,…")
	}
	if *format != "text" && *format != "markdown" && *format != "json" {
		return badInput("--format = %q: must be text, markdown or json", *format)
	}
	base, err := sf.load()
	if err != nil {
		return err
	}
	baseOpt, err := jf.options()
	if err != nil {
		return err
	}
	// Every point is checked before any is run: bad input fails fast.
	var points []map[string]string
	var grid func(i int, cur map[string]string)
	grid = func(i int, cur map[string]string) {
		if i == len(vary) {
			c := map[string]string{}
			for k, v := range cur {
				c[k] = v
			}
			points = append(points, c)
			return
		}
		for _, v := range vary[i].values {
			cur[vary[i].field] = strings.TrimSpace(v)
			grid(i+1, cur)
		}
	}
	grid(0, map[string]string{})
	if len(points) > 1000 {
		return badInput("--vary: %d points; at most 1000", len(points))
	}
	type job struct {
		s   theory.Setting
		opt proptest.CheckOptions
	}
	jobs := make([]job, len(points))
	for i, pt := range points {
		s, opt := base.Clone(), baseOpt
		for _, ax := range vary {
			if err := apply(&s, &opt, ax.field, pt[ax.field]); err != nil {
				return usageError{err}
			}
		}
		if s.Z.Kind == theory.ZConstant {
			s.Z.U = s.Z.L // a constant law is z = L, whatever order the axes came in
		}
		if err := s.Validate(); err != nil {
			return usageError{fmt.Errorf("point %s: %w", label(vary, pt), err)}
		}
		jobs[i] = job{s, opt}
	}
	prog, err := newProgress(stderr, jf.progress, "mimverify sweep")
	if err != nil {
		return err
	}
	results := make([]sweepPoint, len(points))
	for i, j := range jobs {
		prog.update(i, len(jobs))
		results[i].Values = points[i]
		rep, err := checkFunc(j.s, j.opt)
		if err != nil {
			results[i].Error = err.Error()
			continue
		}
		results[i].Results, results[i].Steps, results[i].Seconds = rep.Results, rep.Run.Steps, rep.Run.Seconds
	}
	prog.update(len(jobs), len(jobs))
	prog.done()

	var text string
	switch *format {
	case "json":
		data, err := json.MarshalIndent(struct {
			Format  string           `json:"format"`
			Setting theory.Setting   `json:"setting"`
			Points  []sweepJSONPoint `json:"points"`
		}{"mimverify.sweep/v1", base, toJSON(results)}, "", "  ")
		if err != nil {
			return err
		}
		text = string(data) + "\n"
	default:
		text = sweepTable(vary, results, *format == "markdown")
	}
	if err := emit(stdout, *out, []byte(text)); err != nil || *out == "" {
		return err
	}
	fmt.Fprintf(stdout, "sweep of %d points written to %s\n", len(points), *out)
	return nil
}

func label(vary varyFlag, pt map[string]string) string {
	parts := make([]string, len(vary))
	for i, ax := range vary {
		parts[i] = ax.field + "=" + pt[ax.field]
	}
	return strings.Join(parts, " ")
}

// sweepResult is one claim's outcome at one point, in the JSON output;
// a non-finite number (JSON has none) is null.
type sweepResult struct {
	ID        string   `json:"id"`
	Verdict   string   `json:"verdict"`
	Measured  *float64 `json:"measured"`
	Relation  string   `json:"relation"`
	Predicted *float64 `json:"predicted"`
	Detail    string   `json:"detail,omitempty"`
}

type sweepJSONPoint struct {
	Values  map[string]string `json:"values"`
	Steps   int               `json:"steps"`
	Seconds float64           `json:"seconds"`
	Results []sweepResult     `json:"results"`
	Error   string            `json:"error,omitempty"`
}

func finiteOrNil(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

func toJSON(ps []sweepPoint) []sweepJSONPoint {
	out := make([]sweepJSONPoint, len(ps))
	for i, p := range ps {
		out[i] = sweepJSONPoint{Values: p.Values, Steps: p.Steps, Seconds: p.Seconds, Error: p.Error}
		for _, r := range p.Results {
			out[i].Results = append(out[i].Results, sweepResult{ID: r.ID, Verdict: string(r.Verdict),
				Measured: finiteOrNil(r.Measured), Relation: r.Relation, Predicted: finiteOrNil(r.Predicted), Detail: r.Detail})
		}
	}
	return out
}

// sweepTable prints one row per point and, per claim, the verdict with the
// measured and predicted values.
func sweepTable(vary varyFlag, ps []sweepPoint, markdown bool) string {
	var ids []string
	for _, p := range ps {
		for _, r := range p.Results {
			if !slices.Contains(ids, r.ID) {
				ids = append(ids, r.ID)
			}
		}
	}
	header := []string{}
	for _, ax := range vary {
		header = append(header, ax.field)
	}
	header = append(header, "steps")
	header = append(header, ids...)
	var rows [][]string
	for _, p := range ps {
		row := []string{}
		for _, ax := range vary {
			row = append(row, p.Values[ax.field])
		}
		if p.Error != "" {
			row = append(row, "error: "+p.Error)
			rows = append(rows, row)
			continue
		}
		row = append(row, strconv.Itoa(p.Steps))
		for _, id := range ids {
			cell := "—"
			for _, r := range p.Results {
				if r.ID != id {
					continue
				}
				switch r.Verdict {
				case theory.NotAsserted:
					cell = "n/a"
				default:
					cell = fmt.Sprintf("%s %s %s %s", strings.ToUpper(string(r.Verdict)), num(r.Measured), r.Relation, num(r.Predicted))
				}
			}
			row = append(row, cell)
		}
		rows = append(rows, row)
	}
	var b strings.Builder
	if markdown {
		b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
		for range header {
			b.WriteString("---|")
		}
		b.WriteString("\n")
		for _, r := range rows {
			b.WriteString("| " + strings.Join(r, " | ") + " |\n")
		}
		return b.String()
	}
	width := make([]int, len(header))
	for i, h := range header {
		width[i] = len([]rune(h))
	}
	for _, r := range rows {
		for i, c := range r {
			if i < len(width) {
				width[i] = max(width[i], len([]rune(c)))
			}
		}
	}
	line := func(cells []string) {
		for i, c := range cells {
			pad := 0
			if i < len(width) {
				pad = width[i] - len([]rune(c))
			}
			b.WriteString(c + strings.Repeat(" ", pad+2))
		}
		b.WriteString("\n")
	}
	line(header)
	for _, r := range rows {
		line(r)
	}
	return b.String()
}

func num(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "—"
	}
	return strconv.FormatFloat(x, 'g', 4, 64)
}
