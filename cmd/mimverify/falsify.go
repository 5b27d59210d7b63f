package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mimverify/internal/report"
	"mimverify/judge"
	"mimverify/theory"
)

// falsifyFlags are falsify's flags beyond the setting's.
type falsifyFlags struct {
	claims, claimsFile     string
	budget, shrink, jobs   int
	searchSeed, seed       int64
	samples, maxSteps      int
	maxWork                float64
	format, figs, progress string
	results, shard         string
	space                  string
	outs                   outList
}

func (f *falsifyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.claims, "claims", "", "comma-separated claims to falsify, built-in (C1…C8) or from --claims-file (default: C1…C7 and every claim of the file)")
	fs.StringVar(&f.claimsFile, "claims-file", "", "a claims file (docs/CLAIMS.md) whose claims may be falsified too")
	fs.IntVar(&f.budget, "budget", 200, "candidate evaluations per claim, in [4, 100000]")
	fs.IntVar(&f.shrink, "shrink-budget", 40, "evaluations spent simplifying a counterexample, in [0, 10000]")
	fs.IntVar(&f.jobs, "jobs", 2, "evaluations of the common starts, and claims' searches, run at once (the result does not depend on it)")
	fs.Int64Var(&f.searchSeed, "search-seed", 1, "seed of the search's starts and choices (≥ 1)")
	fs.Int64Var(&f.seed, "seed", 1, "seed of the samples, the basis and the initialisation of every check (≥ 0)")
	fs.IntVar(&f.samples, "samples", 256, "training samples n of the exact engine's confirming checks")
	fs.IntVar(&f.maxSteps, "max-steps", 5000, "step budget of every run: the claims' regimes include it where they need one (C3's T*(ε) ≤ step budget)")
	fs.StringVar(&f.format, "format", "", "text, json, markdown, html (default: from the --out extension, else text)")
	fs.Var(&f.outs, "out", "write the report to this file (.txt, .json, .md, .html), or, with .yaml or .yml, the counterexample as a setting file that 'mimverify check --config' reproduces (one file per claim with one: NAME-C4.yaml when several); repeatable")
	fs.StringVar(&f.figs, "figures", "", "also write each claim's margin plot (SVG) into this directory")
	fs.StringVar(&f.progress, "progress", "auto", progressHelp)
	fs.Float64Var(&f.maxWork, "max-work", 1e8, "skip (and count) a candidate whose orbit-engine work, terms × steps, is above this (about 1e-7 s each); ≤ 0: no bound")
	fs.StringVar(&f.space, "space", "", "a search space file (YAML: dims with field, lo, hi, log; z_kinds; layouts by name) replacing the default's parts it gives (docs/FALSIFY.md §1)")
	fs.StringVar(&f.results, "results", "", "append every evaluation to this JSON Lines file (a regular file, locked while the search runs); a rerun of the same search replays it and resumes")
	fs.StringVar(&f.shard, "shard", "", "search only shard i of n of the claims (i/n, 0 ≤ i < n; needs --results); the shards' results files, concatenated, resume the whole search")
}

// options checks the flags, naming the bad one, and builds the search's
// options.
func (f *falsifyFlags) options() (judge.FalsifyOptions, error) {
	switch {
	case f.budget < 4 || f.budget > 100_000:
		return judge.FalsifyOptions{}, badInput("--budget = %d: must be in [4, 100000]", f.budget)
	case f.shrink < 0 || f.shrink > 10_000:
		return judge.FalsifyOptions{}, badInput("--shrink-budget = %d: must be in [0, 10000]", f.shrink)
	case f.jobs < 1 || f.jobs > 256:
		return judge.FalsifyOptions{}, badInput("--jobs = %d: must be in [1, 256]", f.jobs)
	case f.searchSeed < 1 || f.seed < 0:
		return judge.FalsifyOptions{}, badInput("--search-seed = %d, --seed = %d: must be ≥ 1 and ≥ 0", f.searchSeed, f.seed)
	case f.samples < 1 || f.samples > 1<<20 || f.maxSteps < 1 || f.maxSteps > 10_000_000:
		return judge.FalsifyOptions{}, badInput("--samples = %d, --max-steps = %d: must be in [1, %d] and [1, 10000000]", f.samples, f.maxSteps, 1<<20)
	}
	opt := judge.FalsifyOptions{Budget: f.budget, ShrinkBudget: f.shrink, Jobs: f.jobs, Seed: uint64(f.searchSeed),
		Check: judge.Options{Seed: uint64(f.seed), Samples: f.samples, MaxSteps: f.maxSteps}, Results: f.results, MaxWork: f.maxWork}
	if f.maxWork <= 0 || math.IsNaN(f.maxWork) {
		opt.MaxWork = -1 // judge: zero is the default
	}
	if f.shard != "" {
		sh, err := judge.ParseShard(f.shard)
		if err != nil {
			return opt, badInput("--shard %w", err)
		}
		if f.results == "" {
			return opt, badInput("--shard %s: needs --results, the file the shards are resumed from", f.shard)
		}
		opt.Shard = sh
	}
	if f.shrink == 0 {
		opt.ShrinkBudget = -1 // judge: zero is the default
	}
	if f.claimsFile != "" {
		specs, err := judge.ReadClaimsFile(f.claimsFile)
		if err != nil {
			return opt, usageError{err}
		}
		opt.Check.UserClaims = specs
	}
	return opt, nil
}

// falsifyTarget is one --out: a report in a format, or the counterexamples
// as setting files.
type falsifyTarget struct {
	path, format string
	setting      bool
}

func (f *falsifyFlags) targets() ([]falsifyTarget, error) {
	outs := f.outs
	if len(outs) == 0 {
		outs = outList{""}
	}
	var ts []falsifyTarget
	for _, p := range outs {
		ext := strings.ToLower(filepath.Ext(p))
		if ext == ".yaml" || ext == ".yml" {
			ts = append(ts, falsifyTarget{path: p, setting: true})
			continue
		}
		table := map[string]string{}
		for name, exts := range report.FalsifyFormats {
			for _, e := range exts {
				table[e] = name
			}
		}
		format, err := formatFor(f.format, p, "text", table, "text", "json", "markdown", "html")
		if err != nil {
			return nil, err
		}
		ts = append(ts, falsifyTarget{path: p, format: format})
	}
	return ts, nil
}

func falsifyCommand(args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	fs := newFlagSet("falsify", "falsify [--preset NAME | --config FILE] [--claims C2,C4] [--claims-file FILE] [--budget 200] [--out report.json|.md|.html|.txt]… [--out counterexample.yaml] [--figures DIR]", stdout)
	var sf settingFlags
	sf.register(fs)
	var ff falsifyFlags
	ff.register(fs)
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	if err := checkResults(ff.results); err != nil {
		return err
	}
	outputs := ff.outs.flags()
	outputs["--figures"] = ff.figs
	outputs["--results"] = ff.results
	if err := checkOutputs(outputs, &sf, map[string]string{"--claims-file": ff.claimsFile, "--space": ff.space}); err != nil {
		return err
	}
	targets, err := ff.targets()
	if err != nil {
		return err
	}
	opt, err := ff.options()
	if err != nil {
		return err
	}
	s, err := sf.load()
	if err != nil {
		return err
	}
	if ff.space != "" {
		data, err := os.ReadFile(ff.space)
		if err != nil {
			return usageError{fmt.Errorf("--space: %w", err)}
		}
		if opt.Space, err = judge.ParseSearchSpace(data, s); err != nil {
			return usageError{fmt.Errorf("--space %s: %w", ff.space, err)}
		}
	}
	prog, err := newProgress(stderr, ff.progress, "mimverify falsify")
	if err != nil {
		return err
	}
	if prog.on {
		opt.Progress = func(claim string, done, budget int) { prog.count(done, budget, claim+" candidates") }
	}
	rep, err := judge.Falsify(s, claimList(ff.claims), opt)
	prog.done()
	if err != nil {
		if errors.Is(err, judge.ErrOptions) || errors.As(err, new(*theory.FieldError)) {
			return usageError{err}
		}
		return resultsError(err)
	}
	rep.ClaimsFile = ff.claimsFile
	rep.Provenance = judge.NewProvenance(commandLine, &s, start)
	if err := writeFalsify(stdout, stderr, rep, targets, ff.figs); err != nil {
		return err
	}
	if rep.Status != judge.StatusHolds {
		return errClaimsFailed
	}
	return nil
}

// writeFalsify writes the figures, the reports and the counterexamples'
// setting files.
func writeFalsify(stdout, stderr io.Writer, rep *judge.FalsifyReport, targets []falsifyTarget, figs string) error {
	figure := map[string]string{} // claim → figure file
	if figs != "" {
		files, err := report.WriteFalsifyFigures(figs, rep)
		if err != nil {
			return err
		}
		figure = files
	}
	notes := stdout
	for _, t := range targets {
		if toStdout(t.path) && !t.setting {
			notes = stderr
		}
	}
	for _, t := range targets {
		if t.setting {
			if err := writeCounterexamples(notes, rep, t.path); err != nil {
				return err
			}
			continue
		}
		var buf bytes.Buffer
		links := map[string]string{}
		for claim, f := range figure {
			links[claim] = figureLink(t.path, filepath.Join(figs, f))
		}
		if err := report.WriteFalsify(&buf, rep, t.format, links); err != nil {
			return err
		}
		if err := emit(stdout, t.path, buf.Bytes()); err != nil {
			return err
		}
		if !toStdout(t.path) {
			fmt.Fprintf(notes, "falsify report (%s) written to %s\n", t.format, t.path)
		}
	}
	return nil
}

// writeCounterexamples writes each claim's counterexample as a setting file
// whose header says how to reproduce it: to path when one claim has one,
// else to path's name with the claim's id (NAME-C4.yaml). With none,
// nothing is written (a stale file from an earlier search is left alone,
// and the note says so).
func writeCounterexamples(notes io.Writer, rep *judge.FalsifyReport, path string) error {
	var found []*judge.FalsifyResult
	for i := range rep.Results {
		if rep.Results[i].Found {
			found = append(found, &rep.Results[i])
		}
	}
	if len(found) == 0 {
		fmt.Fprintf(notes, "no counterexample: %s not written\n", path)
		return nil
	}
	for _, res := range found {
		p := path
		if len(found) > 1 {
			ext := filepath.Ext(path)
			p = strings.TrimSuffix(path, ext) + "-" + res.Claim + ext
		}
		data, err := theory.MarshalConfig(res.Counterexample.Setting, true)
		if err != nil {
			return err
		}
		header := fmt.Sprintf("# A counterexample to %s (%s) inside its regime, found by mimverify falsify.\n# %s\n# Reproduce (exit status 1):\n#   %s\n",
			res.Claim, res.Formula, res.Counterexample.Described, judge.ReproduceCommand(rep, res, p))
		if err := emit(nil, p, append([]byte(header), data...)); err != nil {
			return err
		}
		fmt.Fprintf(notes, "counterexample to %s written to %s\n", res.Claim, p)
	}
	return nil
}
