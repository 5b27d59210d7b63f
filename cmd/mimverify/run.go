package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"mimverify/dynamics"
	"mimverify/engine"
	"mimverify/internal/atomicfile"
	"mimverify/judge"
	"mimverify/theory"
)

// runOutput is the file written by 'mimverify run --out' (docs/FORMATS.md):
// the small header fields, then the records, each once.
type runOutput struct {
	Format      string          `json:"format"`
	Engine      string          `json:"engine"`
	Expectation string          `json:"expectation,omitempty"`
	Seed        uint64          `json:"seed"`
	Samples     int             `json:"samples"`
	Steps       int             `json:"steps"`
	RecordEvery int             `json:"record_every"`
	Setting     theory.Setting  `json:"setting"`
	Records     []theory.Record `json:"records"`
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
	engine      engine.ID
	spec        judge.EngineSpec
	opts        judge.EngineOptions
	on          string
	steps       int
	recordEvery int
	samples     int
	seed        uint64
	samplesFile string
	out, dump   string
	format      string // of --out: json or npz
	progress    string
	set         map[string]bool // the flags given on the command line
}

// engineFlags are the run flags that configure one engine or another; the
// registry (judge.EngineSpec.Flags) says which apply to which.
var engineFlags = []string{"sgd", "batch", "population", "quad-nodes", "rtol", "on"}

// sampleFlags are the flags about the fixed sample set, which an engine
// under the population expectation does not use.
var sampleFlags = []string{"samples", "samples-file", "dump-samples"}

func engineNames() string {
	names := make([]string, len(judge.Engines))
	for i, e := range judge.Engines {
		names[i] = string(e.ID)
	}
	return strings.Join(names, ", ")
}

func (c *runConfig) register(fs *flag.FlagSet) {
	fs.StringVar((*string)(&c.engine), "engine", "full", "the engine: "+engineNames()+" (SPEC §3 levels 0–3)")
	fs.StringVar(&c.on, "on", "", "flow: the expectation it flows on, samples (the --samples set) or population")
	fs.IntVar(&c.steps, "steps", 200, "number of gradient steps T (flow: integrate to τ = η·T)")
	fs.IntVar(&c.recordEvery, "record-every", 10, "record every K steps (step 0 and the last step are always recorded)")
	fs.IntVar(&c.samples, "samples", 256, "size n of the fixed sample set (SGD: ignored)")
	fs.BoolVar(&c.opts.SGD, "sgd", false, "full engine: SGD with fresh samples each step instead of GD on a fixed set")
	fs.IntVar(&c.opts.Batch, "batch", 64, "full engine, with --sgd: the batch size")
	fs.StringVar(&c.opts.Population.Mode, "population", "auto", "population expectation: auto, enumerate (all masks; small P) or crn (common random numbers)")
	fs.IntVar(&c.opts.Population.QuadNodes, "quad-nodes", 0, "Gauss–Legendre nodes per area for uniform z in the population expectation (0: default)")
	fs.Float64Var(&c.opts.RelTol, "rtol", 1e-8, "flow: relative tolerance of the adaptive integrator")
	fs.StringVar(&c.samplesFile, "samples-file", "", "read the sample set from a --dump-samples file instead of drawing it")
	fs.StringVar(&c.out, "out", "", "write the trajectory to this file (docs/FORMATS.md)")
	fs.StringVar(&c.format, "format", "", "of --out: json or npz (NumPy arrays; default: from the --out extension, else json)")
	fs.StringVar(&c.dump, "dump-samples", "", "write the sample set as JSON to this file (docs/FORMATS.md)")
	fs.StringVar(&c.progress, "progress", "auto", "progress on stderr: auto (when stderr is a terminal), always, never")
}

func runCommand(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "run [--preset NAME | --config FILE] [--engine "+strings.ReplaceAll(engineNames(), ", ", "|")+"] [--steps T] [--record-every K] [--samples N] [--seed S] [--out FILE] [--dump-samples FILE]", stdout)
	var sf settingFlags
	sf.register(fs)
	var c runConfig
	c.register(fs)
	var eta float64
	fs.Float64Var(&eta, "eta", 0, "override the setting's step size η (0: keep it)")
	var seed int64
	fs.Int64Var(&seed, "seed", 1, "seed of the samples, the embedding basis and the initialisation (≥ 0)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	s, err := sf.load()
	if err != nil {
		return err
	}
	if c.set["eta"] {
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
	return c.execute(stdout, stderr)
}

// check validates the flag combination, naming the flag and allowed range.
func (c *runConfig) check() error {
	spec, ok := judge.EngineByID(c.engine)
	if !ok {
		return badInput("--engine = %q: must be one of %s", c.engine, engineNames())
	}
	c.spec = spec
	if err := c.trajectoryFormat(); err != nil {
		return err
	}
	for _, f := range engineFlags {
		if c.set[f] && !slices.Contains(spec.Flags, f) {
			return badInput("--%s: does not apply to the %s engine (its flags: %s)", f, c.engine, flagList(spec.Flags))
		}
	}
	if c.set["batch"] && !c.opts.SGD {
		return badInput("--batch: applies only with --sgd")
	}
	switch c.on {
	case "", "samples":
	case "population":
		c.opts.OnPopulation = true
	default:
		return badInput("--on = %q: must be samples or population", c.on)
	}
	if !c.usesSamples() {
		for _, f := range sampleFlags {
			if c.set[f] {
				return badInput("--%s: the %s engine does not train on a sample set", f, c.describe())
			}
		}
	}
	switch {
	case c.steps < 0 || c.steps > 10_000_000:
		return badInput("--steps = %d: must be in [0, 10000000]", c.steps)
	case c.recordEvery < 1 || c.recordEvery > 10_000_000:
		return badInput("--record-every = %d: must be in [1, 10000000]", c.recordEvery)
	case c.samples < 1 || c.samples > 1_000_000:
		return badInput("--samples = %d: must be in [1, 1000000]", c.samples)
	case c.opts.SGD && (c.opts.Batch < 1 || c.opts.Batch > 1_000_000):
		return badInput("--batch = %d: must be in [1, 1000000]", c.opts.Batch)
	case !(c.opts.RelTol >= 1e-13 && c.opts.RelTol <= 1e-2):
		return badInput("--rtol = %g: must be in [1e-13, 1e-2]", c.opts.RelTol)
	}
	if c.steps/c.recordEvery > 100_000 {
		return badInput("--record-every = %d: at most 100000 records (steps/record-every = %d)", c.recordEvery, c.steps/c.recordEvery)
	}
	return nil
}

// usesSamples reports whether the chosen engine trains on the fixed sample
// set (with --sgd the full engine draws its own).
func (c *runConfig) usesSamples() bool {
	return c.spec.OnSamples && !c.opts.OnPopulation
}

// describe names the engine and its expectation, e.g. "flow on population".
func (c *runConfig) describe() string {
	if c.engine == engine.Flow && c.opts.OnPopulation {
		return "flow (on population)"
	}
	return string(c.engine)
}

func flagList(names []string) string {
	if len(names) == 0 {
		return "none beyond the common ones"
	}
	return "--" + strings.Join(names, ", --")
}

// sampleSet draws the fixed sample set, or reads it from --samples-file.
func (c *runConfig) sampleSet() ([]theory.Sample, error) {
	s := &c.setting
	if !c.usesSamples() || c.opts.SGD {
		return nil, nil
	}
	if c.samplesFile == "" {
		return s.Samples(c.seed, c.samples), nil
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

// execute runs the engine and writes the outputs.
func (c *runConfig) execute(stdout, stderr io.Writer) error {
	prog, err := newProgress(stderr, c.progress, "mimverify run --engine "+string(c.engine))
	if err != nil {
		return err
	}
	samples, err := c.sampleSet()
	if err != nil {
		return err
	}
	eng, err := c.spec.New(c.opts)
	if err != nil {
		return usageError{err}
	}
	start := time.Now()
	p := engine.NewProblem(&c.setting, samples, c.seed)
	traj, err := eng.Run(p, engine.Every(c.steps, c.recordEvery), engine.Observer{Step: prog.step})
	prog.done()
	if err != nil {
		var nf *theory.NonFiniteError
		if errors.As(err, &nf) {
			return fmt.Errorf("stopped: %w", err)
		}
		if strings.Contains(err.Error(), "must be") {
			return usageError{err}
		}
		return err
	}
	elapsed := time.Since(start)
	expectation, n := c.expectation(eng)
	if c.dump != "" {
		dump := sampleDump{Format: samplesFormat, Seed: c.seed, Setting: c.setting, Samples: samples}
		if err := writeJSON(c.dump, dump); err != nil {
			return err
		}
	}
	if c.out != "" {
		out := runOutput{Format: runFormat, Engine: traj.Engine, Expectation: expectation, Seed: c.seed, Samples: n,
			Steps: c.steps, RecordEvery: c.recordEvery, Setting: c.setting, Records: traj.Records}
		write := writeJSON
		if c.format == "npz" {
			write = func(path string, v any) error { return writeNPZ(path, v.(runOutput)) }
		}
		if err := write(c.out, out); err != nil {
			return err
		}
	}
	summarize(stdout, c, &traj, expectation, elapsed)
	return nil
}

// expectation names the expectation operator the run used and the number
// of samples behind it (0 for an exact enumeration).
func (c *runConfig) expectation(eng engine.Engine) (string, int) {
	var used *dynamics.PopulationObjective
	switch e := eng.(type) {
	case *dynamics.Population:
		used = e.Used
	case *dynamics.Flow:
		used = e.Used
	}
	switch {
	case used != nil:
		n := 0
		if used.Mode() == dynamics.PopulationCRN {
			n = used.NumTerms()
		}
		return "population/" + used.Mode(), n
	case c.opts.SGD:
		return "sgd", c.opts.Batch
	}
	return "samples", c.samples
}

func writeJSON(path string, v any) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		return enc.Encode(v)
	})
}

// summarize prints what a person wants to see after a run.
func summarize(w io.Writer, c *runConfig, traj *theory.Trajectory, expectation string, elapsed time.Duration) {
	first, last := traj.Records[0], traj.Final()
	a, b := last.MaxAbs()
	s := &c.setting
	fmt.Fprintf(w, "setting %s (P = %d, %s, d = %d), engine %s on %s, %d steps of η = %g in %.2fs\n",
		s.Name, s.P, plural(len(s.Clusters), "cluster"), s.Dim(), traj.Engine, expectation, c.steps, s.Eta, elapsed.Seconds())
	fmt.Fprintf(w, "loss %.6g → %.6g;  max |A| = %.4g, max |B| = %.4g at step %d\n", first.Loss, last.Loss, a, b, last.Step)
	if c.out != "" {
		fmt.Fprintf(w, "trajectory (%d records) written to %s\n", len(traj.Records), c.out)
	}
	if c.dump != "" {
		fmt.Fprintf(w, "samples written to %s\n", c.dump)
	}
}

// plural writes "1 cluster", "3 clusters".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
