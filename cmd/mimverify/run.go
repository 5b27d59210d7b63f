package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"mimverify/dynamics"
	"mimverify/empirical"
	"mimverify/internal/atomicfile"
	"mimverify/theory"
)

// runOutput is the file written by 'mimverify run --out' (docs/FORMATS.md).
type runOutput struct {
	Format      string         `json:"format"`
	Engine      string         `json:"engine"`
	Expectation string         `json:"expectation,omitempty"`
	Seed        uint64         `json:"seed"`
	Samples     int            `json:"samples"`
	Steps       int            `json:"steps"`
	RecordEvery int            `json:"record_every"`
	Setting     theory.Setting `json:"setting"`
	Records     []theory.Record
}

// MarshalJSON keeps "records" last, after the small header fields.
func (o runOutput) MarshalJSON() ([]byte, error) {
	type header runOutput
	return json.Marshal(struct {
		header
		Records []theory.Record `json:"records"`
	}{header(o), o.Records})
}

// sampleDump is the file written by 'mimverify run --dump-samples'.
type sampleDump struct {
	Format  string          `json:"format"`
	Seed    uint64          `json:"seed"`
	Setting theory.Setting  `json:"setting"`
	Samples []theory.Sample `json:"samples"`
}

const (
	runFormat     = "mimverify.run/v1"
	samplesFormat = "mimverify.samples/v1"
)

// runConfig is everything 'mimverify run' needs, parsed and checked.
type runConfig struct {
	setting     theory.Setting
	engine      string
	on          string
	steps       int
	recordEvery int
	samples     int
	seed        uint64
	sgd         bool
	batch       int
	popMode     string
	quadNodes   int
	relTol      float64
	samplesFile string
	out, dump   string
	progress    string
}

var engines = []string{"full", "exact", "population", "flow"}

func runCommand(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "run [--preset NAME | --config FILE] [--engine full|exact|population|flow] [--steps T] [--record-every K] [--samples N] [--seed S] [--out FILE] [--dump-samples FILE]", stdout)
	var sf settingFlags
	sf.register(fs)
	var c runConfig
	var eta float64
	fs.StringVar(&c.engine, "engine", "full", "full: GD on the d×d matrix Q; exact: GD on (A, B), same samples; population: GD on (A, B) under the population expectation; flow: the gradient-flow ODE")
	fs.StringVar(&c.on, "on", "", "expectation of the reduced engines: samples (the --samples set) or population; default: population for --engine population, samples otherwise")
	fs.IntVar(&c.steps, "steps", 200, "number of gradient steps T (flow: integrate to τ = η·T)")
	fs.IntVar(&c.recordEvery, "record-every", 10, "record every K steps (step 0 and the last step are always recorded)")
	fs.IntVar(&c.samples, "samples", 256, "size n of the fixed sample set (SGD: ignored)")
	var seed int64
	fs.Int64Var(&seed, "seed", 1, "seed of the samples, the embedding basis and the initialisation (≥ 0)")
	fs.BoolVar(&c.sgd, "sgd", false, "full engine: SGD with fresh samples each step instead of GD on a fixed set")
	fs.IntVar(&c.batch, "batch", 64, "SGD batch size")
	fs.Float64Var(&eta, "eta", 0, "override the setting's step size η (0: keep it)")
	fs.StringVar(&c.popMode, "population", "auto", "population expectation: auto, enumerate (all masks; small P) or crn (common random numbers)")
	fs.IntVar(&c.quadNodes, "quad-nodes", 0, "Gauss–Legendre nodes per area for uniform z in the population expectation (0: default)")
	fs.Float64Var(&c.relTol, "rtol", 1e-8, "flow: relative tolerance of the adaptive integrator")
	fs.StringVar(&c.samplesFile, "samples-file", "", "read the sample set from a --dump-samples file instead of drawing it")
	fs.StringVar(&c.out, "out", "", "write the trajectory as JSON to this file (docs/FORMATS.md)")
	fs.StringVar(&c.dump, "dump-samples", "", "write the sample set as JSON to this file (docs/FORMATS.md)")
	fs.StringVar(&c.progress, "progress", "auto", "progress on stderr: auto (when stderr is a terminal), always, never")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, err := sf.load()
	if err != nil {
		return err
	}
	if eta != 0 {
		s.Eta = eta
		if err := s.Validate(); err != nil {
			return usageError{fmt.Errorf("--eta: %w", err)}
		}
	}
	c.setting = s
	if seed < 0 {
		return badInput("--seed = %d: must be ≥ 0", seed)
	}
	c.seed = uint64(seed)
	if err := c.check(); err != nil {
		return err
	}
	prog, err := newProgress(stderr, c.progress, "mimverify run --engine "+c.engine)
	if err != nil {
		return err
	}

	samples, err := c.sampleSet()
	if err != nil {
		return err
	}
	start := time.Now()
	traj, nSamples, err := c.execute(samples, prog.update)
	prog.done()
	if err != nil {
		var nf *theory.NonFiniteError
		if errors.As(err, &nf) {
			return fmt.Errorf("stopped: %w", err)
		}
		return err
	}
	elapsed := time.Since(start)

	if c.dump != "" {
		dump := sampleDump{Format: samplesFormat, Seed: c.seed, Setting: s, Samples: samples}
		if err := writeJSON(c.dump, dump); err != nil {
			return err
		}
	}
	if c.out != "" {
		out := runOutput{Format: runFormat, Engine: traj.Engine, Expectation: c.on, Seed: c.seed, Samples: nSamples,
			Steps: c.steps, RecordEvery: c.recordEvery, Setting: s, Records: traj.Records}
		if err := writeJSON(c.out, out); err != nil {
			return err
		}
	}
	summarize(stdout, &c, &traj, elapsed)
	return nil
}

// check validates the flag combination, naming the flag and allowed range.
func (c *runConfig) check() error {
	known := false
	for _, e := range engines {
		known = known || e == c.engine
	}
	if !known {
		return badInput("--engine = %q: must be one of full, exact, population, flow", c.engine)
	}
	if c.on == "" {
		c.on = "samples"
		if c.engine == "population" {
			c.on = "population"
		}
	}
	switch {
	case c.on != "samples" && c.on != "population":
		return badInput("--on = %q: must be samples or population", c.on)
	case c.engine == "full" && c.on != "samples":
		return badInput("--on = %q: the full engine trains on samples only", c.on)
	case c.engine == "exact" && c.on != "samples":
		return badInput("--on = %q: the exact engine trains on samples only (use --engine population)", c.on)
	case c.engine == "population" && c.on != "population":
		return badInput("--on = %q: the population engine uses the population expectation (use --engine exact)", c.on)
	case c.steps < 0 || c.steps > 10_000_000:
		return badInput("--steps = %d: must be in [0, 10000000]", c.steps)
	case c.recordEvery < 1:
		return badInput("--record-every = %d: must be ≥ 1", c.recordEvery)
	case c.samples < 1 || c.samples > 1_000_000:
		return badInput("--samples = %d: must be in [1, 1000000]", c.samples)
	case c.sgd && c.engine != "full":
		return badInput("--sgd: only the full engine runs SGD")
	case c.sgd && (c.batch < 1 || c.batch > 1_000_000):
		return badInput("--batch = %d: must be in [1, 1000000]", c.batch)
	case !(c.relTol >= 1e-13 && c.relTol <= 1e-2):
		return badInput("--rtol = %g: must be in [1e-13, 1e-2]", c.relTol)
	}
	if c.steps/c.recordEvery > 100_000 {
		return badInput("--record-every = %d: at most 100000 records (steps/record-every = %d)", c.recordEvery, c.steps/c.recordEvery)
	}
	return nil
}

// sampleSet draws the fixed sample set, or reads it from --samples-file.
func (c *runConfig) sampleSet() ([]theory.Sample, error) {
	s := &c.setting
	if c.samplesFile == "" {
		return theory.Samples(s, c.seed, c.samples), nil
	}
	data, err := os.ReadFile(c.samplesFile)
	if err != nil {
		return nil, usageError{fmt.Errorf("--samples-file: %w", err)}
	}
	var dump sampleDump
	if err := json.Unmarshal(data, &dump); err != nil {
		return nil, badInput("--samples-file %s: %v", c.samplesFile, err)
	}
	if dump.Format != samplesFormat {
		return nil, badInput("--samples-file %s: format = %q: must be %q", c.samplesFile, dump.Format, samplesFormat)
	}
	if len(dump.Samples) == 0 {
		return nil, badInput("--samples-file %s: samples: must hold at least one sample", c.samplesFile)
	}
	for i, smp := range dump.Samples {
		if err := s.CheckSample(smp); err != nil {
			return nil, badInput("--samples-file %s: samples[%d].%v", c.samplesFile, i, err)
		}
	}
	c.samples = len(dump.Samples)
	return dump.Samples, nil
}

// execute runs the chosen engine. It returns the trajectory and the number of
// samples behind its expectation (0 for an exact enumeration).
func (c *runConfig) execute(samples []theory.Sample, progress func(step, steps int)) (theory.Trajectory, int, error) {
	s := &c.setting
	if c.engine == "full" {
		traj, err := empirical.Train(s, empirical.Options{Steps: c.steps, RecordEvery: c.recordEvery, Seed: c.seed,
			Samples: samples, SGD: c.sgd, Batch: c.batch, Progress: progress})
		n := c.samples
		if c.sgd {
			n = c.batch
		}
		return traj, n, err
	}
	var obj dynamics.Objective
	var err error
	n := c.samples
	if c.on == "samples" {
		obj, err = dynamics.NewSampleObjective(s, samples)
	} else {
		var pop *dynamics.PopulationObjective
		var o dynamics.Objective
		o, err = dynamics.NewPopulationObjective(s, dynamics.PopulationOptions{Mode: c.popMode, QuadNodes: c.quadNodes, Seed: c.seed})
		if err != nil {
			return theory.Trajectory{}, 0, usageError{fmt.Errorf("--population: %w", err)}
		}
		obj, pop = o, o.(*dynamics.PopulationObjective)
		c.on = "population/" + pop.Mode()
		n = 0
		if pop.Mode() == "crn" {
			n = pop.NumTerms()
		}
	}
	if err != nil {
		return theory.Trajectory{}, 0, err
	}
	init := theory.InitialCorrelations(s, c.seed)
	if c.engine == "flow" {
		traj, err := dynamics.Flow(s, obj, dynamics.FlowOptions{Steps: c.steps, RecordEvery: c.recordEvery, Init: init,
			RelTol: c.relTol, Progress: progress})
		return traj, n, err
	}
	traj, err := dynamics.Descend(s, obj, dynamics.DescendOptions{Steps: c.steps, RecordEvery: c.recordEvery, Init: init,
		Engine: c.engine, Progress: progress})
	return traj, n, err
}

func writeJSON(path string, v any) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		return enc.Encode(v)
	})
}

// summarize prints what a person wants to see after a run.
func summarize(w io.Writer, c *runConfig, traj *theory.Trajectory, elapsed time.Duration) {
	first, last := traj.Records[0], traj.Final()
	a, b := last.MaxAbs()
	fmt.Fprintf(w, "setting %s (P = %d, %d clusters, d = %d), engine %s on %s, %d steps of η = %g in %.2fs\n",
		c.setting.Name, c.setting.P, len(c.setting.Clusters), c.setting.Dim(), traj.Engine, c.on, c.steps, c.setting.Eta, elapsed.Seconds())
	fmt.Fprintf(w, "loss %.6g → %.6g;  max |A| = %.4g, max |B| = %.4g at step %d\n", first.Loss, last.Loss, a, b, last.Step)
	if c.out != "" {
		fmt.Fprintf(w, "trajectory (%d records) written to %s\n", len(traj.Records), c.out)
	}
	if c.dump != "" {
		fmt.Fprintf(w, "samples written to %s\n", c.dump)
	}
}
