package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"mimverify/internal/atomicfile"
	"mimverify/internal/report"
	"mimverify/proptest"
	"mimverify/theory"
)

// errClaimsFailed makes 'mimverify check' exit with status 1.
var errClaimsFailed = errors.New("at least one asserted claim fails")

// checkFunc is the judge; tests replace it to inject a faulty engine.
var checkFunc = proptest.Check

var formatByExt = map[string]string{".json": "json", ".md": "markdown", ".html": "html", ".htm": "html", ".xml": "junit", ".txt": "text"}

func checkCommand(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", "check [--preset NAME | --config FILE] [--claims C3,C4] [--format text|json|markdown|html|junit] [--out FILE] [--with-full]", stdout)
	var sf settingFlags
	sf.register(fs)
	claims := fs.String("claims", "", "comma-separated claim ids to evaluate (default: all of C1…C8)")
	format := fs.String("format", "", "text, json, markdown, html or junit (default: from the --out extension, else text)")
	out := fs.String("out", "", "write the report to this file (default: standard output)")
	withFull := fs.Bool("with-full", false, "also run the full d×d model for the whole run and evaluate the claims on it")
	var seed int64
	fs.Int64Var(&seed, "seed", 1, "seed of the samples, the basis and the initialisation (≥ 0)")
	samples := fs.Int("samples", 256, "training samples n")
	eval := fs.Int("eval", 256, "held-out samples on which attention is measured")
	eps := fs.Float64("epsilon", 0.1, "ε of the area-wide claim: own-area mass ≥ 1 − ε")
	delta := fs.Float64("delta", 0.1, "δ of the area-wide claim: for a fraction ≥ 1 − δ of queries")
	maxSteps := fs.Int("max-steps", 20000, "step budget of the main run")
	progress := fs.String("progress", "auto", "progress on stderr: auto (when stderr is a terminal), always, never")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, err := sf.load()
	if err != nil {
		return err
	}
	f := *format
	if f == "" {
		f = "text"
		if g, ok := formatByExt[strings.ToLower(filepath.Ext(*out))]; ok {
			f = g
		}
	}
	switch f {
	case "text", "json", "markdown", "html", "junit":
	default:
		return badInput("--format = %q: must be one of text, json, markdown, html, junit", f)
	}
	if seed < 0 {
		return badInput("--seed = %d: must be ≥ 0", seed)
	}
	// Checked here because the judge reads 0 as "the default".
	if !(*eps > 0 && *eps < 0.5) {
		return badInput("--epsilon = %g: must be in (0, 0.5)", *eps)
	}
	if !(*delta > 0 && *delta < 1) {
		return badInput("--delta = %g: must be in (0, 1)", *delta)
	}
	if *samples < 1 || *eval < 1 || *maxSteps < 1 {
		return badInput("--samples = %d, --eval = %d, --max-steps = %d: each must be ≥ 1", *samples, *eval, *maxSteps)
	}
	opt := proptest.CheckOptions{Epsilon: *eps, Delta: *delta, Samples: *samples, Eval: *eval, Seed: uint64(seed),
		MaxSteps: *maxSteps, WithFull: *withFull}
	if *claims != "" {
		for _, id := range strings.Split(*claims, ",") {
			opt.Claims = append(opt.Claims, strings.ToUpper(strings.TrimSpace(id)))
		}
	}
	prog, err := newProgress(stderr, *progress, "mimverify check")
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
		if strings.Contains(err.Error(), ": must be") {
			return usageError{err}
		}
		return err
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, rep, f); err != nil {
		return err
	}
	if *out == "" {
		if _, err := stdout.Write(buf.Bytes()); err != nil {
			return err
		}
	} else {
		if err := atomicfile.Write(*out, func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err }); err != nil {
			return err
		}
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
