package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"mimverify/internal/report"
	"mimverify/judge"
	"mimverify/theory"
)

// errClaimsFailed makes 'mimverify check' exit with status 1.
var errClaimsFailed = errors.New("at least one asserted claim fails")

// checkFunc is the judge; tests replace it to inject a faulty engine.
var checkFunc = judge.Check

func checkCommand(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", "check [--preset NAME | --config FILE] [--claims C3,C4] [--format "+strings.Join(report.Formats(false), "|")+"] [--out FILE] [--figures DIR] [--with-full]", stdout)
	var sf settingFlags
	sf.register(fs)
	format := fs.String("format", "", strings.Join(report.Formats(false), ", ")+" (default: from the --out extension, else text)")
	out := fs.String("out", "", "write the report to this file (default: standard output)")
	figs := fs.String("figures", "", "also write the report's figures and attention maps as SVG files into this directory")
	withFull := fs.Bool("with-full", false, "also run the full d×d model for the whole run and evaluate the claims on it")
	sharp := fs.Bool("sharp", true, "judge C2–C7 against the reduced ODE's sharp predictions too (docs/SHARP.md); --sharp=false judges the envelopes alone")
	var jf judgeFlags
	jf.register(fs)
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	if err := checkOutputs(map[string]string{"--out": *out}, &sf, nil); err != nil {
		return err
	}
	s, err := sf.load()
	if err != nil {
		return err
	}
	f, err := outputFormat(*format, *out, false)
	if err != nil {
		return err
	}
	opt, err := jf.options()
	if err != nil {
		return err
	}
	if opt.Require == nil {
		opt.Require = presetRequires(&sf, opt.Claims)
	}
	opt.WithFull = *withFull
	opt.NoSharp = !*sharp
	prog, err := newProgress(stderr, jf.progress, "mimverify check")
	if err != nil {
		return err
	}
	if prog.on {
		opt.Progress = func(stage string) { prog.stage(stage) }
	}
	rep, err := checkFunc(s, opt)
	prog.done()
	if err != nil {
		var nf *theory.NonFiniteError
		if errors.As(err, &nf) {
			return fmt.Errorf("stopped: %w", err)
		}
		if errors.Is(err, judge.ErrOptions) || errors.As(err, new(*theory.FieldError)) {
			return usageError{err}
		}
		return err
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, rep, f); err != nil {
		return err
	}
	if err := emit(stdout, *out, buf.Bytes()); err != nil {
		return err
	}
	if *figs != "" {
		files, err := report.WriteCheckFigures(*figs, rep)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d figure files written to %s\n", len(files), *figs)
	}
	if *out != "" {
		// The file is for a program or a browser; the terminal still gets
		// the verdict table, so that a failure cannot go unnoticed.
		if err := report.Write(stdout, rep, "text"); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "report (%s) written to %s\n", f, *out)
	}
	if rep.Failed() {
		return errClaimsFailed
	}
	return nil
}

// judgeFlags are the judge's flags, shared by check and sweep.
type judgeFlags struct {
	claims, require string
	progress        string
	seed            int64
	samples, eval   int
	maxSteps        int
	epsilon, delta  float64
}

func (j *judgeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&j.claims, "claims", "", "comma-separated claim ids to evaluate (default: all of C1…C8)")
	fs.StringVar(&j.require, "require", "", "comma-separated claim ids that must be asserted: one outside its regime fails the check (default: a preset's required claims, see 'mimverify presets')")
	fs.Int64Var(&j.seed, "seed", 1, "seed of the samples, the basis and the initialisation (≥ 0)")
	fs.IntVar(&j.samples, "samples", 256, "training samples n (the claims are measured on them)")
	fs.IntVar(&j.eval, "eval", 256, "held-out samples on which the learnt attention's generalisation is reported")
	fs.Float64Var(&j.epsilon, "epsilon", 0.1, "ε of the area-wide claim: own-area mass ≥ 1 − ε")
	fs.Float64Var(&j.delta, "delta", 0.1, "δ of the area-wide claim: for a fraction ≥ 1 − δ of queries; in (0, 0.5], as C5 reads the 2δ-quantile")
	fs.IntVar(&j.maxSteps, "max-steps", 20000, "step budget of a run")
	fs.StringVar(&j.progress, "progress", "auto", "progress on stderr: auto (when stderr is a terminal), always, never")
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
	case j.samples < 1 || j.eval < 1 || j.maxSteps < 1:
		return judge.Options{}, badInput("--samples = %d, --eval = %d, --max-steps = %d: each must be ≥ 1", j.samples, j.eval, j.maxSteps)
	}
	opt := judge.Options{Epsilon: j.epsilon, Delta: j.delta, Samples: j.samples, Eval: j.eval,
		Seed: uint64(j.seed), MaxSteps: j.maxSteps}
	opt.Claims = claimList(j.claims)
	opt.Require = claimList(j.require)
	return opt, nil
}

// outputFormat resolves check's, sweep's and merge's --format: the named
// one, else the one --out's extension selects, else text; sweep asks for a
// format that writes sweeps.
func outputFormat(format, out string, sweep bool) (string, error) {
	return formatFor(format, out, "text", report.ByExtension, report.Formats(sweep)...)
}

// formatFor resolves a --format flag: format when given, else the one the
// --out file's extension selects (byExt), else def; it must be one of
// allowed.
func formatFor(format, out, def string, byExt func(path string) (string, bool), allowed ...string) (string, error) {
	if format == "" {
		format = def
		if f, ok := byExt(out); ok {
			format = f
		}
	}
	if !slices.Contains(allowed, format) {
		return "", badInput("--format = %q: must be one of %s", format, strings.Join(allowed, ", "))
	}
	return format, nil
}

// extensions is the byExt of formatFor for a table from lower-case file
// extensions to formats.
func extensions(table map[string]string) func(path string) (string, bool) {
	return func(path string) (string, bool) {
		f, ok := table[strings.ToLower(filepath.Ext(path))]
		return f, ok
	}
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

// presetRequires returns the claims a preset must assert, among the
// selected ones: the default of --require when the setting is a preset.
func presetRequires(sf *settingFlags, selected []string) []string {
	if sf.config != "" {
		return nil
	}
	name := sf.preset
	if name == "" {
		name = "default"
	}
	_, requires := theory.PresetInfo(name)
	if len(selected) > 0 {
		requires = slices.DeleteFunc(requires, func(id string) bool { return !slices.Contains(selected, id) })
	}
	return requires
}
