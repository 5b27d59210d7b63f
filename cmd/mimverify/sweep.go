package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"mimverify/engine"
	"mimverify/internal/report"
	"mimverify/judge"
)

// varyFlag collects repeated --vary FIELD=V1,V2,… flags.
type varyFlag []judge.Axis

func (v *varyFlag) String() string { return "" }

func (v *varyFlag) Set(s string) error {
	field, list, ok := strings.Cut(s, "=")
	if !ok || list == "" {
		return fmt.Errorf("%q: want FIELD=V1,V2,… with FIELD one of %s", s, strings.Join(judge.SweepFields, ", "))
	}
	field = strings.TrimSpace(field)
	for _, a := range *v {
		if a.Field == field {
			return fmt.Errorf("%q: %s is already an axis (give its values in one --vary)", s, field)
		}
	}
	values := strings.Split(list, ",")
	for i := range values {
		values[i] = strings.TrimSpace(values[i])
		if slices.Contains(values[:i], values[i]) {
			return fmt.Errorf("%q: value %s given twice", s, values[i])
		}
	}
	*v = append(*v, judge.Axis{Field: field, Values: values})
	return nil
}

// sweepFlags are the flags of sweep beyond the setting's and the judge's.
type sweepFlags struct {
	vary                 varyFlag
	format, out          string
	seeds, jobs          int
	shard, results, figs string
	sharp                bool
	engine               string
	failOn               string
}

func (f *sweepFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.vary, "vary", "a field and its values, FIELD=V1,V2,…; repeat for a grid (fields: "+strings.Join(judge.SweepFields, ", ")+")")
	fs.StringVar(&f.format, "format", "", strings.Join(report.Formats(true), ", ")+" (default: from the --out extension, else text)")
	fs.StringVar(&f.out, "out", "", "write the sweep to this file (default: standard output)")
	fs.IntVar(&f.seeds, "seeds", 1, "run each grid cell with this many seeds (--seed, --seed+1, …) and report how often each claim holds")
	fs.IntVar(&f.jobs, "jobs", runtime.NumCPU(), "points run at once (the results do not depend on it)")
	fs.StringVar(&f.shard, "shard", "", "run only shard i of n (i/n, 0 ≤ i < n; needs --results); 'mimverify merge' combines the shards")
	fs.StringVar(&f.engine, "engine", "exact", "the main run's engine: exact (GD on the --samples training samples) or orbit (population GD on the symmetry orbits, claims measured on the population law; ~5.5× less CPU on default at the default samples, 382 s against ~2,090 s for 1,000 points (docs/PERFORMANCE.md); C1 and C8 not asserted; docs/SWEEPS.md)")
	fs.BoolVar(&f.sharp, "sharp", false, "also judge each point against the reduced ODE's sharp predictions, as check does (docs/SHARP.md; ≈10× the cost of a point at --samples 16)")
	fs.StringVar(&f.results, "results", "", "stream each finished point to this JSON Lines file (a regular file, locked while the sweep runs); a rerun of the same sweep resumes from it")
	fs.StringVar(&f.figs, "figures", "", "also write the phase diagrams (two axes) or line plots (one axis) as SVG and PNG files into this directory")
	registerFailOn(fs, &f.failOn)
}

// registerFailOn registers sweep's and merge's --fail-on.
func registerFailOn(fs *flag.FlagSet, v *string) {
	fs.StringVar(v, "fail-on", string(judge.FailOnRequired), "when the sweep exits 1: required (an asserted claim fails at any point, a --require'd claim is not asserted at a point, or a point stopped on an error), fails (the same but for unasserted required claims), never (always 0; the reasons are still reported)")
}

// failOnPolicy checks --fail-on.
func failOnPolicy(v string) (judge.FailOn, error) {
	if !slices.Contains(judge.FailOnPolicies, judge.FailOn(v)) {
		return "", badInput("--fail-on = %q: must be one of required, fails, never", v)
	}
	return judge.FailOn(v), nil
}

func sweepCommand(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sweep", "sweep [--preset NAME | --config FILE] --vary FIELD=V1,V2,… [--vary …] [--seeds N] [--jobs N] [--shard i/n --results FILE] [--claims C3,C7] [--format "+strings.Join(report.Formats(true), "|")+"] [--out FILE] [--figures DIR]", stdout)
	var sf settingFlags
	sf.register(fs)
	var wf sweepFlags
	wf.register(fs)
	var jf judgeFlags
	jf.register(fs)
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	runner, f, err := wf.runner(&sf, &jf)
	if err != nil {
		return err
	}
	prog, err := newProgress(stderr, jf.progress, "mimverify sweep")
	if err != nil {
		return err
	}
	runner.Progress = func(done, total int) { prog.points(done, total) }
	runner.Check = checkFunc
	start := time.Now()
	sw, err := runner.Run()
	prog.done()
	if err != nil {
		return resultsError(err)
	}
	if runner.Resumed > 0 {
		fmt.Fprintf(stderr, "mimverify sweep: resumed %d finished points from %s\n", runner.Resumed, wf.results)
	}
	on, _ := failOnPolicy(wf.failOn) // checked by runner
	sw.FailOn, sw.Provenance = on, judge.NewProvenance(commandLine, &sw.Setting, start)
	return writeSweep(stdout, stderr, sw, f, wf.out, wf.figs)
}

// runner checks the flags, naming the bad one, and builds the plan's
// runner; every point is checked before any runs.
func (wf *sweepFlags) runner(sf *settingFlags, jf *judgeFlags) (*judge.Runner, string, error) {
	// The outputs are checked before anything runs: a mistyped path
	// fails at once, not after hours of points.
	if err := checkResults(wf.results); err != nil {
		return nil, "", err
	}
	if err := checkOutputs(map[string]string{"--out": wf.out, "--results": wf.results, "--figures": wf.figs}, sf, nil); err != nil {
		return nil, "", err
	}
	if len(wf.vary) == 0 {
		return nil, "", badInput("--vary: give at least one FIELD=V1,V2,…")
	}
	if _, err := failOnPolicy(wf.failOn); err != nil {
		return nil, "", err
	}
	if err := checkFigures(wf.figs, len(wf.vary)); err != nil {
		return nil, "", err
	}
	f, err := outputFormat(wf.format, wf.out, true)
	if err != nil {
		return nil, "", err
	}
	switch {
	case wf.seeds < 1 || wf.seeds > 10_000:
		return nil, "", badInput("--seeds = %d: must be in [1, 10000]", wf.seeds)
	case wf.jobs < 1 || wf.jobs > 1024:
		return nil, "", badInput("--jobs = %d: must be in [1, 1024]", wf.jobs)
	}
	r := &judge.Runner{Jobs: wf.jobs, Results: wf.results}
	if wf.shard != "" {
		if r.Shard, err = judge.ParseShard(wf.shard); err != nil {
			return nil, "", badInput("--shard %v", err)
		}
		if wf.results == "" {
			return nil, "", badInput("--shard: needs --results FILE, the file 'mimverify merge' reads")
		}
	}
	base, err := sf.load()
	if err != nil {
		return nil, "", err
	}
	opt, err := jf.options()
	if err != nil {
		return nil, "", err
	}
	opt.NoSharp = !wf.sharp
	switch engine.ID(wf.engine) {
	case engine.Exact, engine.Orbit:
		opt.Main = engine.ID(wf.engine)
	default:
		return nil, "", badInput("--engine = %q: must be exact or orbit", wf.engine)
	}
	if err := refuseAsymmetricStart(opt.Main, &base, "exact"); err != nil {
		return nil, "", err
	}
	if opt.Main == engine.Orbit && wf.sharp {
		return nil, "", badInput("--sharp with --engine orbit: the main run is the reduced ODE itself")
	}
	r.Plan = judge.NewPlan(base, opt, wf.vary, wf.seeds)
	if _, err := r.Plan.Points(); err != nil {
		return nil, "", usageError{fmt.Errorf("--vary: %w", err)}
	}
	cost, err := judge.EstimateSweepCost(r.Plan, wf.jobs)
	if err := jf.mem.check(fmt.Sprintf("the sweep at --jobs %d (its costliest points at once)", wf.jobs), cost, err); err != nil {
		return nil, "", err
	}
	return r, f, nil
}

// checkResults refuses a --results path that cannot hold a journal: "-"
// (standard output) and anything but a regular file or a new path.
func checkResults(path string) error {
	if path == "-" {
		return badInput("--results -: the results journal is read back, locked and appended, so it must be a file, not standard output (use --out - for the sweep)")
	}
	if path == "" {
		return nil
	}
	if err := judge.CheckResultsPath(path); err != nil {
		return usageError{fmt.Errorf("--results: %w", err)}
	}
	return nil
}

// resultsError gives the refusals of a results file — of another plan,
// corrupt, in use, not a regular file — exit status 2 with --results
// named, in sweep as in merge; any other error is a failure.
func resultsError(err error) error {
	for _, cause := range []error{judge.ErrOtherPlan, judge.ErrCorruptResults, judge.ErrResultsInUse, judge.ErrResultsPath} {
		if errors.Is(err, cause) {
			return usageError{fmt.Errorf("--results: %w", err)}
		}
	}
	return err
}

// checkFigures refuses --figures for a sweep of more than two axes, in
// sweep and merge alike (bad input, exit 2).
func checkFigures(figs string, axes int) error {
	if figs != "" && axes > 2 {
		return badInput("--figures: the figures draw one or two axes, the sweep has %d (use the tables, or fix an axis)", axes)
	}
	return nil
}

// writeSweep decides the sweep's outcome, renders the sweep to stdout or
// --out and its figures to --figures, and says the outcome: the total line
// on stdout when the sweep went to a file, the reasons on stderr, and
// errClaimsFailed (exit 1) when the policy fails the sweep.
func writeSweep(stdout, stderr io.Writer, sw *judge.Sweep, format, out, figs string) error {
	o, _ := sw.Decide()
	notes := stdout // not into a sweep that a program reads from stdout
	if toStdout(out) {
		notes = stderr
	}
	if figs != "" {
		files, err := report.WriteSweepFigures(figs, sw)
		if err != nil {
			return err
		}
		fmt.Fprintf(notes, "%d figure files written to %s\n", len(files), figs)
	}
	var buf bytes.Buffer
	if err := report.WriteSweepLinked(&buf, sw, format, figureLink(out, figs)); err != nil {
		return err
	}
	if err := emit(stdout, out, buf.Bytes()); err != nil {
		return err
	}
	if !toStdout(out) {
		fmt.Fprintf(stdout, "sweep of %d points written to %s\n%s\n", len(sw.Points), out, sw.TotalLine())
	}
	const shown = 10
	for i, rs := range o.Reasons {
		if i == shown {
			fmt.Fprintf(stderr, "mimverify sweep: … and %d more (see the report's reasons)\n", len(o.Reasons)-shown)
			break
		}
		fmt.Fprintf(stderr, "mimverify sweep: %s\n", rs.Text)
	}
	if !o.Passed() {
		return errClaimsFailed
	}
	return nil
}

// figureLink is the figure directory figs as a Markdown report written to
// out links it: relative to out's directory when both are known, as given
// otherwise ("" when there are no figures).
func figureLink(out, figs string) string {
	if out == "" || figs == "" {
		return figs
	}
	od, err1 := filepath.Abs(filepath.Dir(out))
	fd, err2 := filepath.Abs(figs)
	if err1 != nil || err2 != nil {
		return figs
	}
	if rel, err := filepath.Rel(od, fd); err == nil {
		return rel
	}
	return fd
}
