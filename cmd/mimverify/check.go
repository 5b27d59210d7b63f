package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"mimverify/internal/report"
	"mimverify/judge"
	"mimverify/theory"
)

// errClaimsFailed makes 'mimverify check' exit with status 1.
var errClaimsFailed = errors.New("at least one asserted claim fails")

// checkFunc is the judge; tests replace it to inject a faulty engine.
var checkFunc = judge.Check

func checkCommand(args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	fs := newFlagSet("check", "check [--preset NAME | --config FILE] [--claims C3,C4] [--format "+strings.Join(report.Formats(false), "|")+"] [--out FILE]… [--figures DIR] [--with-full]", stdout)
	var sf settingFlags
	sf.register(fs)
	format := fs.String("format", "", strings.Join(report.Formats(false), ", ")+" (default: from the --out extension, else text; with several --out, each takes its format from its extension)")
	var outs outList
	fs.Var(&outs, "out", "write the report to this file (default: standard output); repeat for several formats from one computation, e.g. --out claims.xml --out report.html --out claims.json")
	figs := fs.String("figures", "", "also write the report's figures and attention maps as SVG files into this directory")
	withFull := fs.Bool("with-full", false, "also run the full d×d model for the whole run and evaluate the claims on it")
	sharp := fs.Bool("sharp", true, "judge C2–C7 against the reduced ODE's sharp predictions too (docs/SHARP.md); --sharp=false judges the envelopes alone")
	controls := fs.Bool("controls", true, "run the judge's controls beside the check (docs/JUDGE.md §Controls): the model on an independent sample set, reported, and at η·(1 ± 0.3), which the sharp bands must reject or the check fails; about three more main runs")
	mde := fs.Bool("mde", false, "also search each claim's minimum detectable effect: η and the data's γ scaled by 1 ± r, r in 0.02…0.5, up to 24 more main runs (docs/JUDGE.md §Power); reported, not gated; needs --controls")
	falsifyBudget := fs.Int("falsify", 0, "also search each selected claim's regime for a counterexample with this many candidates per claim (docs/FALSIFY.md; off at 0); a counterexample fails the check")
	var jf judgeFlags
	jf.register(fs)
	var ext externalFlags
	ext.register(fs)
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	outputs := outs.flags()
	outputs["--figures"] = *figs
	if err := checkOutputs(outputs, &sf, map[string]string{"--trajectory": ext.trajectory, "--samples-file": ext.samples}); err != nil {
		return err
	}
	targets, err := outs.targets(*format)
	if err != nil {
		return err
	}
	opt, err := jf.options()
	if err != nil {
		return err
	}
	s, external, err := ext.load(&sf, &opt)
	if err != nil {
		return err
	}
	opt.WithFull = *withFull
	opt.NoSharp = !*sharp
	opt.NoControls, opt.MDE = !*controls, *mde
	if *mde && !*controls {
		return badInput("--mde with --controls=false: the search runs beside the controls; drop one")
	}
	if err := checkBudgets(&s, &opt, external == nil, *falsifyBudget, &jf.mem); err != nil {
		return err
	}
	prog, err := newProgress(stderr, jf.progress, "mimverify check")
	if err != nil {
		return err
	}
	if prog.on {
		opt.Progress = func(stage string) { prog.stage(stage) }
	}
	rep, err := external.judge(s, opt)
	prog.done()
	if err != nil {
		if errors.Is(err, judge.ErrOptions) || errors.As(err, new(*theory.FieldError)) {
			return usageError{err}
		}
		var nf *theory.NonFiniteError
		if errors.As(err, &nf) {
			err = fmt.Errorf("stopped: %w", err)
		}
		// The check ran and could not finish: every output says so (a CI
		// dashboard must not keep showing the last green report).
		rep = judge.ErrorReport(s, err)
	}
	rep.Provenance = judge.NewProvenance(commandLine, &s, start)
	if werr := writeCheck(stdout, stderr, rep, targets, *figs); werr != nil {
		return errors.Join(err, werr)
	}
	if err != nil {
		return err
	}
	if rep.Failed() {
		return errClaimsFailed
	}
	return nil
}

// writeCheck renders the report to each target (standard output when the
// only target has no path), its figures to figs, and, when the report went
// to files, the text table to stdout as well, so that a failure cannot go
// unnoticed in the terminal.
func writeCheck(stdout, stderr io.Writer, rep *judge.Report, targets []outTarget, figs string) error {
	for _, t := range targets {
		var buf bytes.Buffer
		if err := report.WriteLinked(&buf, rep, t.format, figureLink(t.path, figs)); err != nil {
			return err
		}
		if err := emit(stdout, t.path, buf.Bytes()); err != nil {
			return err
		}
	}
	// Notes go where they cannot corrupt a report that a program reads
	// from standard output (--out -): to stderr then.
	notes := stdout
	onStdout := slices.ContainsFunc(targets, func(t outTarget) bool { return toStdout(t.path) })
	if onStdout {
		notes = stderr
	}
	if figs != "" && rep.Error == "" {
		files, err := report.WriteCheckFigures(figs, rep)
		if err != nil {
			return err
		}
		fmt.Fprintf(notes, "%d figure files written to %s\n", len(files), figs)
	}
	if onStdout {
		return nil
	}
	if err := report.Write(stdout, rep, "text"); err != nil {
		return err
	}
	for _, t := range targets {
		fmt.Fprintf(stdout, "report (%s) written to %s\n", t.format, t.path)
	}
	return nil
}

// toStdout reports whether an --out path is standard output.
func toStdout(path string) bool { return path == "" || path == "-" }

// outList collects repeated --out flags.
type outList []string

func (o *outList) String() string { return strings.Join(*o, ",") }

func (o *outList) Set(path string) error {
	if path == "" {
		return errors.New("empty path")
	}
	if slices.Contains(*o, path) {
		return fmt.Errorf("%q given twice", path)
	}
	*o = append(*o, path)
	return nil
}

// flags names the outputs for checkOutputs: --out, or --out[i] when
// repeated.
func (o outList) flags() map[string]string {
	m := map[string]string{}
	for i, p := range o {
		name := "--out"
		if len(o) > 1 {
			name = fmt.Sprintf("--out[%d]", i+1)
		}
		m[name] = p
	}
	return m
}

// outTarget is one output of a check: a path ("" for standard output) and
// its format.
type outTarget struct{ path, format string }

// targets resolves the outputs' formats: --format for a single output (or
// standard output), else each file's extension, which must be known.
func (o outList) targets(format string) ([]outTarget, error) {
	if len(o) <= 1 {
		path := ""
		if len(o) == 1 {
			path = o[0]
		}
		f, err := outputFormat(format, path, false)
		return []outTarget{{path, f}}, err
	}
	if format != "" {
		return nil, badInput("--format = %q with %d --out files: each --out takes its format from its extension", format, len(o))
	}
	var ts []outTarget
	for _, p := range o {
		f, err := outputFormat("", p, false)
		if err != nil {
			return nil, err
		}
		ts = append(ts, outTarget{p, f})
	}
	return ts, nil
}

// judgeFlags are the judge's flags, shared by check and sweep.
type judgeFlags struct {
	claims, require string
	progress        string
	seed            int64
	samples, eval   int
	power           int
	maxSteps        int
	epsilon, delta  float64
	claimsFile      string
	mem             memoryFlag    // --max-memory (memory.go)
	fs              *flag.FlagSet // to tell an explicit --samples 0 from the default
}

func (j *judgeFlags) register(fs *flag.FlagSet) {
	j.fs = fs
	fs.StringVar(&j.claims, "claims", "", "comma-separated claim ids to evaluate (default: all of C1…C8)")
	fs.StringVar(&j.require, "require", "", "comma-separated claim ids that must be asserted: one outside its regime fails the check (default: a preset's required claims, see 'mimverify presets')")
	fs.Int64Var(&j.seed, "seed", 1, "seed of the samples, the basis and the initialisation (≥ 0)")
	fs.IntVar(&j.samples, "samples", 0, "training samples n (the claims are measured on them) (default 256·power)")
	fs.IntVar(&j.power, "power", 1, fmt.Sprintf("multiply the sharp bands' evidence by this factor, 1…%d: 256·power training and held-out samples (unless --samples, --eval), power times the reduced run's CRN draws; the bands narrow about as 1/√power at about power times the cost (docs/JUDGE.md §Power)", judge.MaxPower))
	fs.IntVar(&j.eval, "eval", 0, "held-out samples on which the learnt attention's generalisation is reported (default 256·power)")
	fs.Float64Var(&j.epsilon, "epsilon", 0.1, "ε of the area-wide claim: own-area mass ≥ 1 − ε")
	fs.Float64Var(&j.delta, "delta", 0.1, "δ of the area-wide claim: for a fraction ≥ 1 − δ of queries; in (0, 0.5], as C5 reads the 2δ-quantile")
	fs.IntVar(&j.maxSteps, "max-steps", 20000, "step budget of a run")
	fs.StringVar(&j.progress, "progress", "auto", progressHelp)
	fs.StringVar(&j.claimsFile, "claims-file", "", "also judge the claims of this YAML file beside C1…C8 (docs/CLAIMS.md)")
	j.mem.register(fs)
}

// options checks the flags, naming the bad one, and builds the judge's
// options. The ranges are checked here because the judge reads 0 as "the
// default".
func (j *judgeFlags) options() (judge.Options, error) {
	switch {
	case j.seed < 0:
		return judge.Options{}, badInput("--seed = %d: must be ≥ 0", j.seed)
	case !(j.epsilon > 0 && j.epsilon < 0.5):
		return judge.Options{}, badInput("--epsilon = %g: must be in (0, 0.5)", j.epsilon)
	case !judge.ValidDelta(j.delta):
		return judge.Options{}, badInput("--delta = %g: must be in %s", j.delta, judge.DeltaRange)
	case j.samples < 0 || j.samples == 0 && j.set("samples") || j.eval < 0 || j.eval == 0 && j.set("eval") || j.maxSteps < 1:
		return judge.Options{}, badInput("--samples = %d, --eval = %d, --max-steps = %d: each must be ≥ 1", j.samples, j.eval, j.maxSteps)
	case j.power < 1 || j.power > judge.MaxPower:
		return judge.Options{}, badInput("--power = %d: must be in [1, %d]", j.power, judge.MaxPower)
	}
	samples, eval := j.samples, j.eval
	if samples == 0 {
		samples = judge.DefaultImages(j.power)
	}
	if eval == 0 {
		eval = judge.DefaultImages(j.power)
	}
	opt := judge.Options{Epsilon: j.epsilon, Delta: j.delta, Samples: samples, Eval: eval,
		Seed: uint64(j.seed), MaxSteps: j.maxSteps, Power: j.power}
	opt.Claims = claimList(j.claims)
	opt.Require = claimList(j.require)
	if j.claimsFile != "" {
		specs, err := judge.ReadClaimsFile(j.claimsFile)
		if err != nil {
			return judge.Options{}, usageError{err}
		}
		opt.UserClaims = specs
	}
	return opt, nil
}

// set reports whether the flag name was given on the command line.
func (j *judgeFlags) set(name string) bool {
	found := false
	j.fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// outputFormat resolves check's, sweep's and merge's --format: the named
// one, else the one --out's extension selects, else text; sweep asks for a
// format that writes sweeps.
func outputFormat(format, out string, sweep bool) (string, error) {
	return formatFor(format, out, "text", report.ExtensionTable(sweep), report.Formats(sweep)...)
}

// formatFor resolves a --format flag: format when given, else the one the
// --out file's extension selects in table (lower-case extension → format),
// else def when the file has no extension; it must be one of allowed. An
// extension the table does not know is an error naming the known ones: a
// file named report.pdf must not silently receive text.
func formatFor(format, out, def string, table map[string]string, allowed ...string) (string, error) {
	if format == "" {
		ext := strings.ToLower(filepath.Ext(out))
		f, ok := table[ext]
		switch {
		case ok:
			format = f
		case ext == "" || out == "-":
			format = def
		default:
			known := slices.Sorted(maps.Keys(table))
			return "", badInput("--out %q: the extension %s selects no format (known: %s); give --format %s, or one of those extensions",
				out, filepath.Ext(out), strings.Join(known, ", "), strings.Join(allowed, "|"))
		}
	}
	if !slices.Contains(allowed, format) {
		return "", badInput("--format = %q: must be one of %s", format, strings.Join(allowed, ", "))
	}
	return format, nil
}

// claimList splits a comma-separated list of claim ids.
func claimList(s string) []string {
	var ids []string
	for _, id := range strings.Split(s, ",") {
		if id = strings.ToUpper(strings.TrimSpace(id)); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// checkBudgets checks --falsify and sets it, and refuses, before anything
// runs, a check whose estimated memory is above --max-memory (a check of
// an external run runs no engine).
func checkBudgets(s *theory.Setting, opt *judge.Options, engines bool, falsify int, mem *memoryFlag) error {
	if falsify != 0 && (falsify < 4 || falsify > 100_000) {
		return badInput("--falsify = %d: must be 0 (off) or in [4, 100000]", falsify)
	}
	opt.Falsify = falsify
	if !engines {
		return nil
	}
	cost, err := judge.EstimateCheckCost(s, *opt)
	return mem.check(fmt.Sprintf("check on this setting (P = %d, %d samples)", s.P, opt.Samples), cost, err)
}
