package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"mimverify/dynamics"
	"mimverify/engine"
	"mimverify/internal/atomicfile"
	"mimverify/judge"
	"mimverify/theory"
)

// runHeader is the header fields of a run file, shared by the run format
// and the full-model format (docs/FORMATS.md).
type runHeader struct {
	Format      string         `json:"format"`
	Engine      string         `json:"engine"`
	Expectation string         `json:"expectation,omitempty"`
	Seed        uint64         `json:"seed"`
	Samples     int            `json:"samples"`
	Steps       int            `json:"steps"`
	RecordEvery int            `json:"record_every"`
	Setting     theory.Setting `json:"setting"`
}

// runOutput is the file written by 'mimverify run --out' (docs/FORMATS.md):
// the small header fields, then the records, each once.
type runOutput struct {
	runHeader
	Records []theory.Record `json:"records"`
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
	maxMemory   float64 // bytes
	// maxMemoryFrom says where maxMemory comes from, for the refusal.
	maxMemoryFrom string
	// dryRun prints the estimate and stops (--dry-run).
	dryRun   bool
	maxHours float64
	set      map[string]bool // the flags given on the command line
	obs      observablesFlags
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
	fs.StringVar((*string)(&c.engine), "engine", "exact", "the engine: "+engineNames()+" (SPEC §3 levels 0–5; exact is the full model's iteration written on (A, B), to rounding, and far cheaper: --engine full runs the d×d model itself)")
	fs.BoolVar(&c.dryRun, "dry-run", false, "print the run's estimated time, memory and output size, and exit without running")
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
	fs.StringVar(&c.progress, "progress", "auto", progressHelp)
	lim := judge.DefaultMemoryLimit()
	c.maxMemory, c.maxMemoryFrom = lim.Bytes, "the default, "+lim.From
	fs.Func("max-memory", fmt.Sprintf("refuse a run estimated to need more memory than this, in GB (default %.3g: the least of 80%% of this machine's, RLIMIT_AS and the cgroup limit; here %s)", c.maxMemory/1e9, lim.From), func(v string) error {
		gb, err := strconv.ParseFloat(v, 64)
		if err != nil || !(gb > 0 && gb <= 1e6) {
			return fmt.Errorf("must be a number of GB in (0, 1e6]")
		}
		c.maxMemory, c.maxMemoryFrom = gb*1e9, "given"
		return nil
	})
	c.obs.register(fs)
	fs.Float64Var(&c.maxHours, "max-hours", 24, "refuse a run estimated to take longer than this many hours (0: no limit)")
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
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	c.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	if err := checkOutputs(map[string]string{"--out": c.out, "--dump-samples": c.dump, "--observables": c.obs.path}, &sf, map[string]string{"--samples-file": c.samplesFile}); err != nil {
		return err
	}
	s, err := sf.load()
	if err != nil {
		return err
	}
	// --eta 0 is the flag's default made explicit: keep the setting's η,
	// as the help says.
	if c.set["eta"] && eta != 0 {
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
	if err := refuseDeparted(spec.ID, c.setting); err != nil {
		return err
	}
	if err := c.trajectoryFormat(); err != nil {
		return err
	}
	if err := c.obs.check(c.set); err != nil {
		return err
	}
	for _, f := range engineFlags {
		if c.set[f] && !slices.Contains(spec.Flags, f) {
			return badInput("--%s: does not apply to the %s engine (its flags: %s)", f, c.engine, flagList(spec.Flags))
		}
	}
	if err := refuseAsymmetricStart(c.engine, &c.setting, "population"); err != nil {
		return err
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
	case !(c.maxHours >= 0 && c.maxHours <= 1e6):
		return badInput("--max-hours = %g: must be in [0, 1e6]", c.maxHours)
	}
	return nil
}

// checkOutputSize refuses, before the run, a trajectory file larger than
// the free space of the file system it goes to (atomicfile.FreeSpace: the
// standard output's own for --out -, none for a device such as /dev/null or
// a pipe): records are streamed, so memory is not the limit, the disk is. A
// JSON number takes at most 24 bytes, an npz one 8.
func (c *runConfig) checkOutputSize() error {
	if c.out == "" {
		return c.checkDumpSize()
	}
	records, bytes := c.outputBytes()
	if free, where := atomicfile.FreeSpace(c.out); bytes > free {
		return badInput("--out: the trajectory would take about %.3g GB (%.0f records of %d numbers); %s has %.3g GB free: raise --record-every or lower --steps",
			bytes/1e9, records, c.setting.Shape().Len(), where, free/1e9)
	}
	if c.format == "npz" { // its spill files (npz.go) hold the numbers until the end
		tmp := os.TempDir()
		if free, _ := atomicfile.FreeSpace(filepath.Join(tmp, "spill")); bytes > free {
			return badInput("--out: the npz trajectory would take about %.3g GB in %s (its spill files, $TMPDIR) before the archive is written; %s has %.3g GB free: raise --record-every, lower --steps, or point TMPDIR elsewhere",
				bytes/1e9, tmp, tmp, free/1e9)
		}
	}
	return c.checkDumpSize()
}

// outputBytes bounds the trajectory file's size: its records, each of the
// state's numbers at most 24 bytes in JSON, 8 in npz, and 128 of framing.
func (c *runConfig) outputBytes() (records, bytes float64) {
	if c.out == "" {
		return 0, 0
	}
	perNumber := 24.0
	if c.format == "npz" {
		perNumber = 8
	}
	records = float64(c.steps/c.recordEvery + 2)
	return records, records * (perNumber*float64(c.setting.Shape().Len()) + 128)
}

// prepare refuses a run beyond its limits, then says its estimate (a dry
// run stops there: stop), then draws the samples.
func (c *runConfig) prepare(stdout, stderr io.Writer) (samples []theory.Sample, stop bool, err error) {
	if err := c.checkCost(); err != nil {
		return nil, false, err
	}
	if err := c.checkOutputSize(); err != nil {
		return nil, false, err
	}
	if stop, err := c.announce(stdout, stderr); stop || err != nil {
		return nil, stop, err
	}
	samples, err = c.checkedSamples()
	return samples, false, err
}

// announce says what the run will cost before it starts: on stdout for
// --dry-run (which then stops), on stderr when the run is estimated over
// 10 s or its output over 1 GB, so that a long run is never a surprise.
func (c *runConfig) announce(stdout, stderr io.Writer) (stop bool, err error) {
	cost, err := judge.EstimateCost(c.engine, &c.setting, c.opts, c.samples, c.steps)
	if err != nil {
		return false, usageError{err}
	}
	_, out := c.outputBytes()
	line := fmt.Sprintf("estimate for the %s engine, %d steps: about %s, %.3g GB of memory, %.3g GB of output", c.engine, c.steps, durationText(cost.Seconds), cost.Bytes/1e9, out/1e9)
	switch {
	case c.dryRun:
		_, err := fmt.Fprintln(stdout, line)
		return true, err
	case cost.Seconds > 10 || out > 1e9:
		fmt.Fprintf(stderr, "mimverify run: %s\n", line)
	}
	return false, nil
}

// durationText prints an estimated duration in its natural unit.
func durationText(sec float64) string {
	switch {
	case sec < 120:
		return fmt.Sprintf("%.2g s", sec)
	case sec < 7200:
		return fmt.Sprintf("%.2g min", sec/60)
	}
	return fmt.Sprintf("%.3g h", sec/3600)
}

// checkDumpSize refuses a --dump-samples file larger than the free space
// of its file system.
func (c *runConfig) checkDumpSize() error {
	if c.dump == "" {
		return nil
	}
	if free, where := atomicfile.FreeSpace(c.dump); c.dumpBytes() > free {
		return badInput("--dump-samples: the %d samples would take about %.3g GB; %s has %.3g GB free: lower --samples",
			c.samples, c.dumpBytes()/1e9, where, free/1e9)
	}
	return nil
}

// dumpBytes bounds the JSON of the sample dump: per sample a mask of P
// booleans (at most 6 bytes each), at most one z per area (24 bytes), and
// the cluster and punctuation.
func (c *runConfig) dumpBytes() float64 {
	return float64(c.samples) * (6*float64(c.setting.P) + 24*float64(c.setting.NumFeatures()) + 32)
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
	dump, err := readSampleFile(c.samplesFile, s)
	if err != nil {
		return nil, err
	}
	c.samples = len(dump.Samples)
	return dump.Samples, nil
}

// execute runs the engine and writes the outputs. The trajectory is
// streamed: each record is encoded into --out as the engine makes it, and
// only the first and the last are kept (for the summary), so a run with a
// million records holds one in memory.
func (c *runConfig) execute(stdout, stderr io.Writer) error {
	prog, err := newProgress(stderr, c.progress, "mimverify run --engine "+string(c.engine))
	if err != nil {
		return err
	}
	samples, stop, err := c.prepare(stdout, stderr)
	if stop || err != nil {
		return err
	}
	eng, err := c.spec.New(c.opts)
	if err != nil {
		return usageError{err}
	}
	var deadline time.Time
	if c.maxHours > 0 {
		deadline = time.Now().Add(time.Duration(c.maxHours * float64(time.Hour)))
		if f, ok := eng.(*dynamics.Flow); ok {
			f.Deadline = deadline
		}
	}
	expectation, n, err := c.expectation()
	if err != nil {
		return usageError{err}
	}
	if c.dump != "" {
		dump := sampleDump{Format: samplesFormat, Seed: c.seed, Setting: c.setting, Samples: samples}
		if err := writeJSON(c.dump, dump); err != nil {
			return err
		}
	}
	start := time.Now()
	var kept recordKeeper
	keep := c.observing(samples, &kept)
	run := func(w io.Writer) (err error) {
		obs := engine.Observer{Step: func(step, steps int) error {
			if !deadline.IsZero() && time.Now().After(deadline) {
				return fmt.Errorf("stopped at step %d of %d: the time budget of --max-hours %g is spent", step, steps, c.maxHours)
			}
			return prog.step(step, steps)
		}, Discard: true, Record: keep}
		if w != nil {
			header := runOutput{runHeader: runHeader{Format: runFormat, Engine: string(c.engine), Expectation: expectation, Seed: c.seed,
				Samples: n, Steps: c.steps, RecordEvery: c.recordEvery, Setting: c.setting}}
			var enc trajectoryEncoder
			if c.format == "npz" {
				npz := newNPZStream(w, header)
				defer npz.release()
				enc = npz
			} else {
				enc = newRecordStream(w, header)
			}
			obs.Record = func(r *theory.Record) error { keep(r); return enc.add(r) }
			defer func() {
				if err == nil {
					err = enc.close()
				}
			}()
		}
		_, err = eng.Run(engine.NewProblem(&c.setting, samples, c.seed), engine.Every(c.steps, c.recordEvery), obs)
		return err
	}
	if c.out == "" {
		err = run(nil)
	} else {
		err = atomicfile.Write(c.out, run)
	}
	prog.done()
	if err == nil && c.obs.path != "" {
		err = c.obs.write()
	}
	if err != nil {
		return runError(err)
	}
	summarize(stdout, c, &kept, expectation, time.Since(start))
	return nil
}

// runError is the error a run that did not finish exits with: a NaN or
// Inf names where it stopped (exit 1), an objective too large to build is
// bad input (exit 2: refused before its terms were built, whatever
// --max-memory allows).
func runError(err error) error {
	var nf *theory.NonFiniteError
	if errors.As(err, &nf) {
		return fmt.Errorf("stopped: %w", err)
	}
	if errors.Is(err, dynamics.ErrTooManyTerms) {
		return usageError{err}
	}
	return err
}

// trajectoryEncoder streams a run's records: JSON Lines or npz. Only the
// chosen one may touch the output (the JSON stream writes its header at
// once, and an npz after it would not start with the zip magic).
type trajectoryEncoder interface {
	add(*theory.Record) error
	close() error
}

// observing returns the per-record hook: keep the first and last record,
// and with --observables measure it.
func (c *runConfig) observing(samples []theory.Sample, kept *recordKeeper) func(*theory.Record) error {
	if c.obs.path == "" {
		return kept.keep
	}
	c.obs.start(c, samples)
	return func(r *theory.Record) error {
		kept.keep(r)
		return c.obs.add(r)
	}
}

// checkedSamples returns the run's sample set once the run's cost and its
// output's size are within their limits.
// The cost is checked before the samples are drawn (drawing a million of
// P = 4096 would itself exhaust the memory the check guards), and again
// after a --samples-file has said how many there are.
func (c *runConfig) checkedSamples() ([]theory.Sample, error) {
	if err := c.checkCost(); err != nil {
		return nil, err
	}
	if err := c.checkOutputSize(); err != nil {
		return nil, err
	}
	samples, err := c.sampleSet()
	if err != nil || c.samplesFile == "" {
		return samples, err
	}
	return samples, c.checkCost()
}

// checkCost refuses, as bad input, a run whose estimated memory exceeds
// --max-memory or whose estimated time exceeds --max-hours, naming the
// estimate and the fields that set it.
func (c *runConfig) checkCost() error {
	n := c.samples
	cost, err := judge.EstimateCost(c.engine, &c.setting, c.opts, n, c.steps)
	if err != nil {
		return usageError{err}
	}
	if c.dump != "" {
		cost.Bytes += c.dumpBytes() // the dump is encoded whole before it is written
	}
	if cost.Bytes > c.maxMemory {
		return badInput("the %s engine on this setting needs about %.3g GB (P = %d, d = %d%s); --max-memory allows %.3g GB (%s): %s, or raise --max-memory",
			c.engine, cost.Bytes/1e9, c.setting.P, c.setting.Dim(), c.samplesNote(n), c.maxMemory/1e9, c.maxMemoryFrom, cost.Cheaper)
	}
	if hours := cost.Seconds / 3600; c.maxHours > 0 && hours > c.maxHours {
		return badInput("the %s engine would take about %.3g hours for %d steps (P = %d, d = %d%s); --max-hours allows %g: lower --steps, P or --samples, or raise --max-hours",
			c.engine, hours, c.steps, c.setting.P, c.setting.Dim(), c.samplesNote(n), c.maxHours)
	}
	return nil
}

// samplesNote is ", n samples" for an engine that trains on a sample set.
func (c *runConfig) samplesNote(n int) string {
	if !c.usesSamples() {
		return ""
	}
	return fmt.Sprintf(", %d samples", n)
}

// expectation names the expectation operator the run uses and the number
// of samples behind it (0 for an exact enumeration), before it runs.
func (c *runConfig) expectation() (string, int, error) {
	switch {
	case c.engine == engine.Population || c.opts.OnPopulation:
		_, mode, terms, err := c.opts.Population.Resolve(&c.setting)
		if err != nil {
			return "", 0, err
		}
		if mode == dynamics.PopulationEnumerate {
			terms = 0
		}
		return "population/" + mode, terms, nil
	case c.engine == engine.Orbit:
		return "population/orbit", 0, nil
	case c.engine == engine.MeanField:
		return "mean-field", 0, nil
	case c.opts.SGD:
		return "sgd", c.opts.Batch, nil
	}
	return "samples", c.samples, nil
}

func writeJSON(path string, v any) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		return enc.Encode(v)
	})
}

// summarize prints what a person wants to see after a run.
func summarize(w io.Writer, c *runConfig, kept *recordKeeper, expectation string, elapsed time.Duration) {
	first, last := kept.first, kept.last
	a, b := last.MaxAbs()
	s := &c.setting
	fmt.Fprintf(w, "setting %s (P = %d, %s, d = %d), engine %s on %s, %d steps of η = %g in %.2fs\n",
		s.Name, s.P, plural(len(s.Clusters), "cluster"), s.Dim(), c.engine, expectation, c.steps, s.Eta, elapsed.Seconds())
	fmt.Fprintf(w, "loss %.6g → %.6g;  max |A| = %.4g, max |B| = %.4g at step %d\n", first.Loss, last.Loss, a, b, last.Step)
	if c.out != "" {
		fmt.Fprintf(w, "trajectory (%d records) written to %s\n", kept.count, c.out)
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
