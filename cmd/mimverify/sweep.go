package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"mimverify/internal/report"
	"mimverify/judge"
	"mimverify/theory"
)

// varyFlag collects repeated --vary FIELD=V1,V2,… flags.
type varyFlag []axis

type axis struct {
	field  string
	values []string
}

func (v *varyFlag) String() string { return "" }

func (v *varyFlag) Set(s string) error {
	field, list, ok := strings.Cut(s, "=")
	if !ok || list == "" {
		return fmt.Errorf("%q: want FIELD=V1,V2,… with FIELD one of %s", s, strings.Join(sweepFields, ", "))
	}
	field = strings.TrimSpace(field)
	for _, a := range *v {
		if a.field == field {
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
	*v = append(*v, axis{field: field, values: values})
	return nil
}

var sweepFields = []string{"gamma", "eta", "z.kind", "z.L", "z.U", "keys", "loss", "mask", "extra_dim", "epsilon", "delta", "samples", "seed"}

// apply sets one field of the setting or of the judge's options. Numbers
// must parse whole (integers for integer fields); the judge's options are
// checked here because the judge reads 0 as "the default", which a value
// the user wrote must never silently become. The setting's fields are
// checked by Setting.Validate once every axis is applied.
func apply(s *theory.Setting, opt *judge.Options, field, value string) error {
	bad := func(allowed string) error { return fmt.Errorf("--vary %s=%s: must be %s", field, value, allowed) }
	num := func(dst *float64) error {
		x, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return bad("a number")
		}
		*dst = x
		return nil
	}
	integer := func(lo, hi int) (int, error) {
		x, err := strconv.Atoi(value)
		if err != nil || x < lo || x > hi {
			return 0, bad(fmt.Sprintf("an integer in [%d, %d]", lo, hi))
		}
		return x, nil
	}
	var err error
	switch field {
	case "gamma":
		return num(&s.Gamma)
	case "eta":
		return num(&s.Eta)
	case "z.L":
		return num(&s.Z.L)
	case "z.U":
		return num(&s.Z.U)
	case "z.kind":
		s.Z.Kind = theory.ZKind(value)
	case "keys":
		s.Keys = theory.KeyMode(value)
	case "loss":
		s.Loss = theory.LossNorm(value)
	case "mask":
		s.Mask = theory.MaskScheme(value)
	case "extra_dim":
		s.ExtraDim, err = integer(0, 4096)
	case "epsilon":
		if err = num(&opt.Epsilon); err == nil && !(opt.Epsilon > 0 && opt.Epsilon < 0.5) {
			err = bad("in (0, 0.5)")
		}
	case "delta":
		if err = num(&opt.Delta); err == nil && !(opt.Delta > 0 && opt.Delta < 1) {
			err = bad("in (0, 1)")
		}
	case "samples":
		opt.Samples, err = integer(1, 1<<20)
	case "seed":
		var x int
		x, err = integer(0, math.MaxInt)
		opt.Seed = uint64(x)
	default:
		return fmt.Errorf("--vary %s: unknown field; the fields are %s", field, strings.Join(sweepFields, ", "))
	}
	return err
}

func sweepCommand(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sweep", "sweep [--preset NAME | --config FILE] --vary FIELD=V1,V2,… [--vary …] [--claims C3,C7] [--format "+strings.Join(report.Formats(true), "|")+"] [--out FILE]", stdout)
	var sf settingFlags
	sf.register(fs)
	var vary varyFlag
	fs.Var(&vary, "vary", "a field and its values, FIELD=V1,V2,…; repeat for a grid (fields: "+strings.Join(sweepFields, ", ")+")")
	format := fs.String("format", "", strings.Join(report.Formats(true), ", ")+" (default: from the --out extension, else text)")
	out := fs.String("out", "", "write the table to this file (default: standard output)")
	var jf judgeFlags
	jf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkOutputs(map[string]string{"--out": *out}, &sf, nil); err != nil {
		return err
	}
	if len(vary) == 0 {
		return badInput("--vary: give at least one FIELD=V1,V2,…")
	}
	f, err := outputFormat(*format, *out, true)
	if err != nil {
		return err
	}
	base, err := sf.load()
	if err != nil {
		return err
	}
	baseOpt, err := jf.options()
	if err != nil {
		return err
	}
	// Every point is checked before any is run: bad input fails fast.
	var points []map[string]string
	var grid func(i int, cur map[string]string)
	grid = func(i int, cur map[string]string) {
		if i == len(vary) {
			c := map[string]string{}
			for k, v := range cur {
				c[k] = v
			}
			points = append(points, c)
			return
		}
		for _, v := range vary[i].values {
			cur[vary[i].field] = strings.TrimSpace(v)
			grid(i+1, cur)
		}
	}
	grid(0, map[string]string{})
	if len(points) > 1000 {
		return badInput("--vary: %d points; at most 1000", len(points))
	}
	type job struct {
		s   theory.Setting
		opt judge.Options
	}
	jobs := make([]job, len(points))
	for i, pt := range points {
		s, opt := base.Clone(), baseOpt
		for _, ax := range vary {
			if err := apply(&s, &opt, ax.field, pt[ax.field]); err != nil {
				return usageError{err}
			}
		}
		if s.Z.Kind == theory.ZConstant {
			s.Z.U = s.Z.L // a constant law is z = L, whatever order the axes came in
		}
		if err := s.Validate(); err != nil {
			return usageError{fmt.Errorf("point %s: %w", label(vary, pt), err)}
		}
		jobs[i] = job{s, opt}
	}
	prog, err := newProgress(stderr, jf.progress, "mimverify sweep")
	if err != nil {
		return err
	}
	sw := &judge.Sweep{Format: judge.SweepFormat, Setting: base, Points: make([]judge.SweepPoint, len(points))}
	for _, ax := range vary {
		sw.Axes = append(sw.Axes, ax.field)
	}
	for i, j := range jobs {
		prog.update(i, len(jobs))
		pt := &sw.Points[i]
		pt.Values = points[i]
		rep, err := checkFunc(j.s, j.opt)
		if err != nil {
			pt.Error = err.Error()
			continue
		}
		pt.Results, pt.Steps, pt.Seconds = rep.Results, rep.Run.Steps, rep.Run.Seconds
	}
	prog.update(len(jobs), len(jobs))
	prog.done()
	var buf bytes.Buffer
	if err := report.WriteSweep(&buf, sw, f); err != nil {
		return err
	}
	if err := emit(stdout, *out, buf.Bytes()); err != nil || *out == "" {
		return err
	}
	fmt.Fprintf(stdout, "sweep of %d points written to %s\n", len(points), *out)
	return nil
}

func label(vary varyFlag, pt map[string]string) string {
	parts := make([]string, len(vary))
	for i, ax := range vary {
		parts[i] = ax.field + "=" + pt[ax.field]
	}
	return strings.Join(parts, " ")
}
