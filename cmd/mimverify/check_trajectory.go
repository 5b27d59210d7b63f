package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"codeberg.org/sbinet/npyio/npz"

	"mimverify/judge"
	"mimverify/theory"
)

// check --trajectory FILE --samples-file FILE judges a run that mimverify
// did not produce (docs/FORMATS.md, "Judging an external run").

// externalFlags are check's flags for an external run.
type externalFlags struct {
	trajectory, samples string
}

// loaded is an external run read from its files: a trajectory of (A, B),
// or the full model's Q (full, projected by the judge).
type loaded struct {
	setting theory.Setting
	tr      theory.Trajectory
	full    *judge.FullTrajectory
	samples []theory.Sample
}

// fullRunOutput is the full-model run format (docs/FORMATS.md, "Full-model
// run"): the run output's header, the embedding, and Q per record.
type fullRunOutput struct {
	runHeader
	Embedding struct {
		Positions [][]float64   `json:"positions"`
		Features  [][][]float64 `json:"features"`
	} `json:"embedding"`
	Records []judge.FullRecord `json:"records"`
}

const fullRunFormat = "mimverify.run-full/v1"

func (e *externalFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&e.trajectory, "trajectory", "", "judge this run instead of running one: a run output (JSON or npz, docs/FORMATS.md); needs --samples-file")
	fs.StringVar(&e.samples, "samples-file", "", "with --trajectory: the samples the run was trained on (a run --dump-samples file)")
}

// load returns the setting to judge: without --trajectory the one of
// --preset or --config; with it, the trajectory file's, with the run read
// (nil without), whose own required claims do not apply (C1 and C8 cannot be
// asserted on an external run): only --require's. Every problem is bad
// input.
func (e *externalFlags) load(sf *settingFlags, opt *judge.Options) (theory.Setting, *loaded, error) {
	if e.trajectory == "" {
		if e.samples != "" {
			return theory.Setting{}, nil, badInput("--samples-file: applies to check only with --trajectory FILE")
		}
		// The setting's own required claims (a preset's, a file's
		// require:) apply unless --require names others: judge.Check.
		s, err := sf.load()
		return s, nil, err
	}
	l, err := e.read(sf, opt)
	if err != nil {
		return theory.Setting{}, nil, err
	}
	return l.setting, l, nil
}

// judge runs the check on the setting, or judges the external run.
func (l *loaded) judge(s theory.Setting, opt judge.Options) (*judge.Report, error) {
	switch {
	case l == nil:
		return checkFunc(s, opt)
	case l.full != nil:
		return judge.CheckFullTrajectory(l.setting, l.full, l.samples, opt)
	}
	return judge.CheckTrajectory(l.setting, l.tr, l.samples, opt)
}

// read reads the trajectory (run JSON or npz, or the full-model JSON) and
// the samples, and checks that both are of one setting.
func (e *externalFlags) read(sf *settingFlags, opt *judge.Options) (*loaded, error) {
	switch {
	case e.samples == "":
		return nil, badInput("--trajectory: needs --samples-file FILE, the samples the run was trained on (run --dump-samples writes one)")
	case sf.preset != "" || sf.config != "":
		return nil, badInput("--trajectory: the setting is the trajectory file's; give no --preset or --config")
	}
	for _, id := range opt.Require {
		if id == "C1" || id == "C8" {
			return nil, badInput("--require %s: %s needs mimverify's own engines and is not asserted on an external trajectory", id, id)
		}
	}
	l, err := readTrajectory(e.trajectory)
	if err != nil {
		return nil, badInput("--trajectory %s: %v", e.trajectory, err)
	}
	if err := l.setting.Resolve(); err != nil {
		return nil, badInput("--trajectory %s: setting: %v", e.trajectory, err)
	}
	dump, err := readSampleFile(e.samples, nil) // its samples are checked against the setting by the judge
	if err != nil {
		return nil, err
	}
	a, _ := json.Marshal(l.setting)
	b, _ := json.Marshal(dump.Setting)
	if !bytes.Equal(a, b) {
		return nil, badInput("--samples-file %s: its setting differs from the trajectory's (%s vs %s)", e.samples, dump.Setting.Name, l.setting.Name)
	}
	l.samples = dump.Samples
	return l, nil
}

// readTrajectory reads a run output, as JSON or npz (by the first bytes:
// an npz is a zip archive), or a full-model run (by its format).
func readTrajectory(path string) (*loaded, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(data, []byte("PK")) {
		return readTrajectoryNPZ(path)
	}
	var head struct {
		Format string `json:"format"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	switch head.Format {
	case runFormat:
		var out runOutput
		if err := dec.Decode(&out); err != nil {
			return nil, err
		}
		return &loaded{setting: out.Setting, tr: theory.Trajectory{Engine: out.Engine, Records: out.Records}}, nil
	case fullRunFormat:
		var out fullRunOutput
		if err := dec.Decode(&out); err != nil {
			return nil, err
		}
		full := &judge.FullTrajectory{Engine: out.Engine, Positions: out.Embedding.Positions, Features: out.Embedding.Features, Records: out.Records}
		return &loaded{setting: out.Setting, full: full}, nil
	}
	return nil, fmt.Errorf("format = %q: must be %q or %q", head.Format, runFormat, fullRunFormat)
}

// readTrajectoryNPZ reads the arrays of run --format npz back into
// records, or those of a full-model run (by the format of its meta).
func readTrajectoryNPZ(path string) (*loaded, error) {
	f, err := npz.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var js string
	if err := f.Read("meta.npy", &js); err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	var meta runOutput
	if err := json.Unmarshal([]byte(js), &meta); err != nil || meta.Format != runFormat && meta.Format != fullRunFormat {
		return nil, fmt.Errorf("meta: not a %s or %s header (%v)", runFormat, fullRunFormat, err)
	}
	if err := meta.Setting.Resolve(); err != nil {
		return nil, fmt.Errorf("setting: %w", err)
	}
	if meta.Format == fullRunFormat {
		full, err := readFullNPZ(f, &meta.Setting, meta.Engine)
		return &loaded{setting: meta.Setting, full: full}, err
	}
	tr, err := readRecordsNPZ(f, &meta.Setting)
	return &loaded{setting: meta.Setting, tr: tr}, err
}

// readRecordsNPZ reads the (A, B) arrays of run --format npz.
func readRecordsNPZ(f *npz.Reader, s *theory.Setting) (theory.Trajectory, error) {
	var steps []int64
	var loss, b []float64
	for _, a := range []struct {
		name string
		v    any
	}{{"step", &steps}, {"loss", &loss}, {"B", &b}} {
		if err := f.Read(a.name+".npy", a.v); err != nil {
			return theory.Trajectory{}, fmt.Errorf("%s: %w", a.name, err)
		}
	}
	shape := s.Shape()
	a := make([][]float64, len(shape.Areas))
	for k := range a {
		if err := f.Read(fmt.Sprintf("A%d.npy", k), &a[k]); err != nil {
			return theory.Trajectory{}, fmt.Errorf("A%d: %w", k, err)
		}
	}
	tr, err := npzRecords(shape, steps, loss, a, b)
	for i := range tr.Records {
		tr.Records[i].Time = s.Eta * float64(tr.Records[i].Step)
	}
	return tr, err
}

// readFullNPZ reads the arrays of a full-model run: step (R,), loss (R,),
// Q (R, d, d), positions (P, d) and features0, features1, … (N_k, d).
func readFullNPZ(f *npz.Reader, s *theory.Setting, eng string) (*judge.FullTrajectory, error) {
	var steps []int64
	var loss, q, pos []float64
	for _, a := range []struct {
		name string
		v    any
	}{{"step", &steps}, {"loss", &loss}, {"Q", &q}, {"positions", &pos}} {
		if err := f.Read(a.name+".npy", a.v); err != nil {
			return nil, fmt.Errorf("%s: %w", a.name, err)
		}
	}
	d, R := s.Dim(), len(steps)
	if len(loss) != R || len(q) != R*d*d {
		return nil, fmt.Errorf("loss has %d entries and Q %d, for %d steps (Q must be %d × %d × %d)", len(loss), len(q), R, R, d, d)
	}
	ft := &judge.FullTrajectory{Engine: eng, Positions: rowsOf(pos, d)}
	for k := range s.Clusters {
		var v []float64
		if err := f.Read(fmt.Sprintf("features%d.npy", k), &v); err != nil {
			return nil, fmt.Errorf("features%d: %w", k, err)
		}
		ft.Features = append(ft.Features, rowsOf(v, d))
	}
	for i := range R {
		ft.Records = append(ft.Records, judge.FullRecord{Step: int(steps[i]), Loss: loss[i], Q: rowsOf(q[i*d*d:(i+1)*d*d], d)})
	}
	return ft, nil
}

// rowsOf cuts a flat array into rows of d (a last, shorter row is kept:
// the judge names its length).
func rowsOf(flat []float64, d int) [][]float64 {
	var rows [][]float64
	for len(flat) > 0 {
		n := min(d, len(flat))
		rows, flat = append(rows, flat[:n:n]), flat[n:]
	}
	return rows
}

// npzRecords reassembles the records from the flat arrays; a length that
// does not fit the setting's shape leaves records short, which the
// judge's checks report.
func npzRecords(shape theory.Shape, steps []int64, loss []float64, a [][]float64, b []float64) (theory.Trajectory, error) {
	R := len(steps)
	pp := shape.P * shape.P
	if len(loss) != R || len(b) != R*pp {
		return theory.Trajectory{}, fmt.Errorf("loss has %d entries and B %d, for %d steps (B must be %d × %d × %d)", len(loss), len(b), R, R, shape.P, shape.P)
	}
	tr := theory.Trajectory{Engine: "npz", Records: make([]theory.Record, R)}
	for i := range R {
		c := shape.New()
		for k, n := range shape.Areas {
			if len(a[k]) != R*shape.P*n {
				return theory.Trajectory{}, fmt.Errorf("A%d has %d entries, must be %d × %d × %d", k, len(a[k]), R, shape.P, n)
			}
			for p := range shape.P {
				copy(c.A[k][p], a[k][(i*shape.P+p)*n:])
			}
		}
		for p := range shape.P {
			copy(c.B[p], b[i*pp+p*shape.P:])
		}
		tr.Records[i] = theory.Record{Step: int(steps[i]), Loss: loss[i], Correlations: c}
	}
	return tr, nil
}
