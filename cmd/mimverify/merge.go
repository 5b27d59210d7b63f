package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"mimverify/internal/report"
	"mimverify/judge"
)

// mergeCommand combines the results files of a sweep's shards into the
// sweep one process would have written: same points, same order.
func mergeCommand(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("merge", "merge [--format "+strings.Join(report.Formats(true), "|")+"] [--out FILE] [--figures DIR] RESULTS.jsonl…", stdout)
	format := fs.String("format", "", strings.Join(report.Formats(true), ", ")+" (default: from the --out extension, else text)")
	out := fs.String("out", "", "write the merged sweep to this file (default: standard output)")
	figs := fs.String("figures", "", "also write the phase diagrams or line plots as SVG and PNG files into this directory")
	var failOn string
	registerFailOn(fs, &failOn)
	// The results files are the positional arguments.
	if err := parseFlags(fs, args, true); err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		return badInput("give the results files of the shards (sweep --results FILE --shard i/n)")
	}
	f, err := outputFormat(*format, *out, true)
	if err != nil {
		return err
	}
	on, err := failOnPolicy(failOn)
	if err != nil {
		return err
	}
	inputs := map[string]string{}
	for i, path := range files {
		inputs[fmt.Sprintf("results file %d", i+1)] = path
	}
	if err := checkOutputs(map[string]string{"--out": *out, "--figures": *figs}, &settingFlags{}, inputs); err != nil {
		return err
	}
	start := time.Now()
	sw, err := mergeResults(files)
	if err != nil {
		return err
	}
	if err := checkFigures(*figs, len(sw.Axes)); err != nil {
		return err
	}
	sw.FailOn, sw.Provenance = on, judge.NewProvenance(commandLine, &sw.Setting, start)
	return writeSweep(stdout, stderr, sw, f, *out, *figs)
}

// mergeResults reads the shards' results files, checks that they belong to
// one plan and that no shard is missing or given twice, and assembles the
// sweep.
func mergeResults(files []string) (*judge.Sweep, error) {
	var plan *judge.Plan
	var hash string
	shards := map[string]string{}
	var parts []map[int]judge.SweepPoint
	for _, path := range files {
		hdr, pts, err := judge.ReadResults(path)
		if err != nil {
			return nil, usageError{err}
		}
		if plan == nil {
			plan, hash = hdr.Plan, hdr.PlanHash
		} else if hdr.PlanHash != hash {
			return nil, badInput("%s: plan %s, but %s has plan %s: the files come from different sweeps", path, hdr.PlanHash, files[0], hash)
		}
		if prev, ok := shards[hdr.Shard]; ok {
			return nil, badInput("%s: shard %s is also %s", path, hdr.Shard, prev)
		}
		shards[hdr.Shard] = path
		if len(pts) < hdr.Points {
			return nil, badInput("%s: shard %s holds %d of its %d points: finish it first (rerun its sweep command; it resumes)", path, hdr.Shard, len(pts), hdr.Points)
		}
		parts = append(parts, pts)
	}
	if plan == nil || plan.Hash() != hash {
		return nil, badInput("%s: the plan in the header does not hash to %s: the file was edited or written by another version", files[0], hash)
	}
	sw, err := judge.Assemble(plan, parts)
	if err != nil {
		return nil, usageError{fmt.Errorf("merge: %w", err)}
	}
	return sw, nil
}
