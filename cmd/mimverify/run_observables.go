package main

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"codeberg.org/sbinet/npyio/npz"

	"mimverify/internal/atomicfile"
	"mimverify/judge"
	"mimverify/theory"
)

// 'run --observables FILE' writes the judge's named observables
// (judge.RecordObservables, docs/CLAIMS.md §3) at every record, so that a
// Python user plots them without reimplementing the attention measurement
// (docs/FORMATS.md, "Observables").

const observablesFormat = "mimverify.observables/v1"

// observablesFlags are run's flags for --observables.
type observablesFlags struct {
	path, format   string
	epsilon, delta float64
	// the measured rows, one per record
	steps  []int64
	values [][]float64
	s      *theory.Setting
	on     []theory.Sample
	last   int
}

func (o *observablesFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.path, "observables", "", "also write the judge's observables at every record to this file (docs/CLAIMS.md §3; json, csv or npz by extension or --observables-format)")
	fs.StringVar(&o.format, "observables-format", "", "of --observables: json, csv or npz (default: from the extension, else json)")
	fs.Float64Var(&o.epsilon, "epsilon", 0.1, "with --observables: the ε of own_mass_reached")
	fs.Float64Var(&o.delta, "delta", 0.1, "with --observables: the δ of own_mass_quantile and tv_quantile")
}

// check resolves the format and the ranges before anything runs.
func (o *observablesFlags) check(set map[string]bool) error {
	if o.path == "" {
		for _, f := range []string{"observables-format", "epsilon", "delta"} {
			if set[f] {
				return badInput("--%s: applies only with --observables FILE", f)
			}
		}
		return nil
	}
	if o.format == "" {
		o.format = "json"
		if ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(o.path)), "."); ext == "csv" || ext == "npz" {
			o.format = ext
		}
	}
	switch {
	case o.format != "json" && o.format != "csv" && o.format != "npz":
		return badInput("--observables-format = %q: must be json, csv or npz", o.format)
	case !(o.epsilon > 0 && o.epsilon < 0.5):
		return badInput("--epsilon = %g: must be in (0, 0.5)", o.epsilon)
	case !(o.delta > 0 && o.delta < 1):
		return badInput("--delta = %g: must be in (0, 1)", o.delta)
	}
	return nil
}

// start fixes what the observables are measured on: the run's sample set,
// or, for an engine that trains on none (population, orbit, mean field,
// SGD), n samples drawn from the run's seed. The last step measures the
// pairwise total variation too (tv_quantile).
func (o *observablesFlags) start(c *runConfig, samples []theory.Sample) {
	o.s, o.on, o.last = &c.setting, samples, c.steps
	if samples == nil {
		o.on = c.setting.Samples(c.seed, c.samples)
	}
}

// add measures one record.
func (o *observablesFlags) add(r *theory.Record) error {
	o.steps = append(o.steps, int64(r.Step))
	o.values = append(o.values, judge.MeasureObservables(o.s, r, o.on, o.epsilon, o.delta, r.Step == o.last))
	return nil
}

// write writes the file, atomically.
func (o *observablesFlags) write() error {
	return atomicfile.Write(o.path, func(w io.Writer) error {
		switch o.format {
		case "csv":
			return o.writeCSV(w)
		case "npz":
			return o.writeNPZ(w)
		}
		return o.writeJSON(w)
	})
}

// observablesOutput is the JSON layout: the observables' definitions,
// then one record per recorded step with the values by id (null for NaN
// or ±Inf).
type observablesOutput struct {
	Format      string           `json:"format"`
	Setting     theory.Setting   `json:"setting"`
	Epsilon     float64          `json:"epsilon"`
	Delta       float64          `json:"delta"`
	Samples     int              `json:"samples"`
	Observables []observableInfo `json:"observables"`
	Records     []observableRow  `json:"records"`
}

type observableInfo struct {
	ID          string `json:"id"`
	Unit        string `json:"unit"`
	Definition  string `json:"definition"`
	Counterpart string `json:"reduced_ode_counterpart,omitempty"`
}

type observableRow struct {
	Step   int64                  `json:"step"`
	Values map[string]judge.Float `json:"values"`
}

func (o *observablesFlags) writeJSON(w io.Writer) error {
	out := observablesOutput{Format: observablesFormat, Setting: *o.s, Epsilon: o.epsilon, Delta: o.delta, Samples: len(o.on)}
	obs := judge.RecordObservables()
	for _, ob := range obs {
		out.Observables = append(out.Observables, observableInfo{ob.ID, ob.Unit, ob.Definition, ob.Counterpart})
	}
	for i, step := range o.steps {
		row := observableRow{Step: step, Values: map[string]judge.Float{}}
		for k, ob := range obs {
			row.Values[ob.ID] = judge.Float(o.values[i][k])
		}
		out.Records = append(out.Records, row)
	}
	return json.NewEncoder(w).Encode(out)
}

// writeCSV writes a header "step,<id>,…" and a row per record; NaN and
// ±Inf are written NaN, +Inf, -Inf (which numpy and pandas read).
func (o *observablesFlags) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	header := []string{"step"}
	for _, ob := range judge.RecordObservables() {
		header = append(header, ob.ID)
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for i, step := range o.steps {
		row := []string{strconv.FormatInt(step, 10)}
		for _, v := range o.values[i] {
			row = append(row, strconv.FormatFloat(v, 'g', -1, 64))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeNPZ writes one array per observable (float64, one value per
// record), step (int64) and meta (the JSON header without the records).
func (o *observablesFlags) writeNPZ(w io.Writer) error {
	meta := observablesOutput{Format: observablesFormat, Setting: *o.s, Epsilon: o.epsilon, Delta: o.delta, Samples: len(o.on)}
	js, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	zw := npz.NewWriter(w)
	if err := zw.Write("meta.npy", string(js)); err != nil {
		return err
	}
	if err := zw.Write("step.npy", o.steps); err != nil {
		return err
	}
	for k, ob := range judge.RecordObservables() {
		col := make([]float64, len(o.steps))
		for i := range o.steps {
			col[i] = o.values[i][k]
		}
		if err := zw.Write(ob.ID+".npy", col); err != nil {
			return fmt.Errorf("observables npz: %w", err)
		}
	}
	return zw.Close()
}
