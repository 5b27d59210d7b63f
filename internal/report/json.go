package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"

	"mimverify/theory"
)

// The JSON format writes a theory.Report with encoding/json. JSON has no
// NaN or ±Inf, on which encoding/json fails, so the report goes through
// mirror types whose numbers write a non-finite value as null. The mirror
// types keep the field names and tags of package theory (a test checks
// that they do); a plain json.Unmarshal into theory.Report reads the output,
// leaving 0 where null was, and ReadJSON reads null back as NaN.

// number is a float64 written as null when not finite and read back as NaN
// from null.
type number float64

// MarshalJSON implements json.Marshaler.
func (x number) MarshalJSON() ([]byte, error) {
	f := float64(x)
	if !finite(f) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

// UnmarshalJSON implements json.Unmarshaler.
func (x *number) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		*x = number(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*x = number(f)
	return nil
}

type jsonPredicate struct {
	Formula string `json:"formula"`
	Left    number `json:"left"`
	Right   number `json:"right"`
	Holds   bool   `json:"holds"`
	Why     string `json:"why,omitempty"`
}

type jsonClaim struct {
	ID         string          `json:"id"`
	Title      string          `json:"title"`
	Provenance string          `json:"provenance"`
	Statement  string          `json:"statement"`
	Regime     []jsonPredicate `json:"regime"`
	Quantity   string          `json:"quantity"`
	Formula    string          `json:"formula"`
	Predicted  number          `json:"predicted"`
	Relation   string          `json:"relation"`
	Measured   number          `json:"measured"`
	Verdict    theory.Verdict  `json:"verdict"`
	Detail     string          `json:"detail,omitempty"`
	Engines    []string        `json:"engines"`
}

type jsonSeries struct {
	Figure string   `json:"figure"`
	Name   string   `json:"name"`
	X      []number `json:"x"`
	Y      []number `json:"y"`
	LogY   bool     `json:"log_y,omitempty"`
	LogX   bool     `json:"log_x,omitempty"`
}

type jsonEvent struct {
	Name string `json:"name"`
	Step int    `json:"step"`
	Time number `json:"time"`
}

type jsonRun struct {
	Engines  []string `json:"engines"`
	Steps    int      `json:"steps"`
	Samples  int      `json:"samples"`
	Eval     int      `json:"eval_samples"`
	Seed     uint64   `json:"seed"`
	Epsilon  number   `json:"epsilon"`
	Delta    number   `json:"delta"`
	Seconds  number   `json:"seconds"`
	Versions string   `json:"version,omitempty"`
}

type jsonReport struct {
	Format  string         `json:"format"`
	Setting theory.Setting `json:"setting"`
	Run     jsonRun        `json:"run"`
	Results []jsonClaim    `json:"results"`
	Series  []jsonSeries   `json:"series"`
	Events  []jsonEvent    `json:"events"`
	Summary map[string]int `json:"summary"`
}

// numbers converts a slice, keeping nil as nil.
func numbers(xs []float64) []number {
	if xs == nil {
		return nil
	}
	out := make([]number, len(xs))
	for i, x := range xs {
		out[i] = number(x)
	}
	return out
}

func floats(xs []number) []float64 {
	if xs == nil {
		return nil
	}
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

func toJSON(r *theory.Report) jsonReport {
	j := jsonReport{
		Format:  r.Format,
		Setting: r.Setting,
		Run: jsonRun{
			Engines: r.Run.Engines, Steps: r.Run.Steps, Samples: r.Run.Samples, Eval: r.Run.Eval,
			Seed: r.Run.Seed, Epsilon: number(r.Run.Epsilon), Delta: number(r.Run.Delta),
			Seconds: number(r.Run.Seconds), Versions: r.Run.Versions,
		},
		Summary: r.Summary,
	}
	if r.Results != nil {
		j.Results = make([]jsonClaim, len(r.Results))
	}
	for i, c := range r.Results {
		jc := jsonClaim{
			ID: c.ID, Title: c.Title, Provenance: c.Provenance, Statement: c.Statement,
			Quantity: c.Quantity, Formula: c.Formula, Predicted: number(c.Predicted),
			Relation: c.Relation, Measured: number(c.Measured), Verdict: c.Verdict,
			Detail: c.Detail, Engines: c.Engines,
		}
		if c.Regime != nil {
			jc.Regime = make([]jsonPredicate, len(c.Regime))
		}
		for k, p := range c.Regime {
			jc.Regime[k] = jsonPredicate{Formula: p.Formula, Left: number(p.Left), Right: number(p.Right), Holds: p.Holds, Why: p.Why}
		}
		j.Results[i] = jc
	}
	if r.Series != nil {
		j.Series = make([]jsonSeries, len(r.Series))
	}
	for i, s := range r.Series {
		j.Series[i] = jsonSeries{Figure: s.Figure, Name: s.Name, X: numbers(s.X), Y: numbers(s.Y), LogY: s.LogY, LogX: s.LogX}
	}
	if r.Events != nil {
		j.Events = make([]jsonEvent, len(r.Events))
	}
	for i, e := range r.Events {
		j.Events[i] = jsonEvent{Name: e.Name, Step: e.Step, Time: number(e.Time)}
	}
	return j
}

func fromJSON(j *jsonReport) *theory.Report {
	r := &theory.Report{
		Format:  j.Format,
		Setting: j.Setting,
		Run: theory.RunInfo{
			Engines: j.Run.Engines, Steps: j.Run.Steps, Samples: j.Run.Samples, Eval: j.Run.Eval,
			Seed: j.Run.Seed, Epsilon: float64(j.Run.Epsilon), Delta: float64(j.Run.Delta),
			Seconds: float64(j.Run.Seconds), Versions: j.Run.Versions,
		},
		Summary: j.Summary,
	}
	if j.Results != nil {
		r.Results = make([]theory.ClaimResult, len(j.Results))
	}
	for i, c := range j.Results {
		rc := theory.ClaimResult{
			ID: c.ID, Title: c.Title, Provenance: c.Provenance, Statement: c.Statement,
			Quantity: c.Quantity, Formula: c.Formula, Predicted: float64(c.Predicted),
			Relation: c.Relation, Measured: float64(c.Measured), Verdict: c.Verdict,
			Detail: c.Detail, Engines: c.Engines,
		}
		if c.Regime != nil {
			rc.Regime = make([]theory.PredicateResult, len(c.Regime))
		}
		for k, p := range c.Regime {
			rc.Regime[k] = theory.PredicateResult{Formula: p.Formula, Left: float64(p.Left), Right: float64(p.Right), Holds: p.Holds, Why: p.Why}
		}
		r.Results[i] = rc
	}
	if j.Series != nil {
		r.Series = make([]theory.Series, len(j.Series))
	}
	for i, s := range j.Series {
		r.Series[i] = theory.Series{Figure: s.Figure, Name: s.Name, X: floats(s.X), Y: floats(s.Y), LogY: s.LogY, LogX: s.LogX}
	}
	if j.Events != nil {
		r.Events = make([]theory.Event, len(j.Events))
	}
	for i, e := range j.Events {
		r.Events[i] = theory.Event{Name: e.Name, Step: e.Step, Time: float64(e.Time)}
	}
	return r
}

// writeJSON writes the report as indented JSON.
func writeJSON(w io.Writer, r *theory.Report) error {
	b, err := json.MarshalIndent(toJSON(r), "", "  ")
	if err != nil {
		return fmt.Errorf("report: encoding JSON: %w", err)
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// ReadJSON reads a report written in the "json" format. Unlike a plain
// json.Unmarshal into theory.Report, it reads the null written for a NaN or
// ±Inf number back as NaN (the sign of an infinity is not kept).
func ReadJSON(rd io.Reader) (*theory.Report, error) {
	var j jsonReport
	dec := json.NewDecoder(rd)
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("report: decoding JSON: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("report: decoding JSON: unexpected data after the report (offset %s)", strconv.FormatInt(dec.InputOffset(), 10))
	}
	return fromJSON(&j), nil
}
