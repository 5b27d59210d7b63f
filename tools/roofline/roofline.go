package main

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Work is the inherent work of one exact step at one P (the JSON that
// dynamics' TestExactWork writes): exponentials, lane operations and bytes.
type Work struct {
	P       int
	Exps    int
	LaneOps int
	Bytes   int
}

// A Result is one benchmark line: its name without the "Benchmark" prefix
// and the -GOMAXPROCS suffix, the GOMAXPROCS, and its values by unit.
type Result struct {
	Name   string
	Procs  int
	Values map[string]float64
}

// ParseBench reads the benchmark lines of Go's benchmark format
// ("BenchmarkName-N  iterations  value unit  value unit …";
// golang.org/design/14313-benchmark-format) and ignores every other line.
// (golang.org/x/perf's benchfmt reads the same format, but its module
// would raise this module's golang.org/x/image, which the plots use.)
func ParseBench(r io.Reader) ([]Result, error) {
	var out []Result
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue // not a result line
		}
		res := Result{Name: strings.TrimPrefix(f[0], "Benchmark"), Procs: 1, Values: map[string]float64{}}
		if i := strings.LastIndexByte(res.Name, '-'); i > 0 {
			if n, err := strconv.Atoi(res.Name[i+1:]); err == nil {
				res.Name, res.Procs = res.Name[:i], n
			}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: value %q: %w", line, f[i], err)
			}
			res.Values[f[i+1]] = v
		}
		out = append(out, res)
	}
	return out, sc.Err()
}

// Peaks are the machine peaks on one core: ns per exponential, lane adds
// per ns (G/s) and bytes per ns (GB/s), each the median of its runs.
type Peaks struct {
	NsPerExp, AddsPerNs, BytesPerNs float64
}

// A Row is one P of the table: the floors (ns) and the measured steps (ns;
// 0 when not measured), per core count 1 and 2.
type Row struct {
	P                  int
	Compute, Memory    float64 // one core's floor parts
	Median, Best       [2]float64
	FloorOne, FloorTwo float64
}

// Table computes the rows of the P that have both work counts and at least
// one measured step.
func Table(works []Work, results []Result) ([]Row, Peaks, error) {
	var pk Peaks
	var err error
	if pk.NsPerExp, err = median(results, "PeakExp", 1, "ns/exp"); err != nil {
		return nil, pk, err
	}
	if pk.AddsPerNs, err = median(results, "PeakRowAdds", 1, "Gadd/s"); err != nil {
		return nil, pk, err
	}
	if pk.BytesPerNs, err = median(results, "PeakTriad", 1, "GB/s"); err != nil {
		return nil, pk, err
	}
	var rows []Row
	for _, w := range works {
		r := Row{P: w.P}
		r.Compute = float64(w.Exps)*pk.NsPerExp + float64(w.LaneOps)/pk.AddsPerNs
		r.Memory = float64(w.Bytes) / pk.BytesPerNs
		r.FloorOne = max(r.Compute, r.Memory)
		r.FloorTwo = r.FloorOne / 2
		name := fmt.Sprintf("ExactStep/P%d", w.P)
		for c := range 2 {
			r.Median[c], _ = median(results, name, c+1, "ns/op")
			r.Best[c] = minimum(results, name, c+1, "min-ns/step")
		}
		if r.Median[0] > 0 || r.Median[1] > 0 {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return nil, pk, fmt.Errorf("no ExactStep results for the P of the work counts")
	}
	return rows, pk, nil
}

// values returns the values in unit of the results of name at procs.
func values(results []Result, name string, procs int, unit string) []float64 {
	var xs []float64
	for _, r := range results {
		if v, ok := r.Values[unit]; ok && r.Name == name && r.Procs == procs {
			xs = append(xs, v)
		}
	}
	return xs
}

// median returns the median of values, or an error naming what is missing.
func median(results []Result, name string, procs int, unit string) (float64, error) {
	xs := values(results, name, procs, unit)
	if len(xs) == 0 {
		return 0, fmt.Errorf("no %s results in %s at %d core(s) (run make roofline)", name, unit, procs)
	}
	slices.Sort(xs)
	n := len(xs)
	return (xs[(n-1)/2] + xs[n/2]) / 2, nil // the middle one, or the mean of the middle two
}

// minimum returns the smallest of values, 0 when there is none.
func minimum(results []Result, name string, procs int, unit string) float64 {
	xs := values(results, name, procs, unit)
	if len(xs) == 0 {
		return 0
	}
	return slices.Min(xs)
}

// Write prints the peaks and the table in Markdown.
func Write(w io.Writer, rows []Row, pk Peaks) error {
	fmt.Fprintf(w, "Peaks, one core (medians): %.3f ns/exp, %.2f G lane-adds/s, %.1f GB/s\n\n", pk.NsPerExp, pk.AddsPerNs, pk.BytesPerNs)
	fmt.Fprintln(w, "| P | floor, 1 core (compute; memory) | floor, 2 cores | 1 core: median / best step | ratio | 2 cores: median / best step | ratio |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %d | %s (%s; %s) | %s | %s | %s | %s | %s |\n", r.P,
			ms(r.FloorOne), ms(r.Compute), ms(r.Memory), ms(r.FloorTwo),
			measured(r.Median[0], r.Best[0]), ratio(r.Median[0], r.Best[0], r.FloorOne),
			measured(r.Median[1], r.Best[1]), ratio(r.Median[1], r.Best[1], r.FloorTwo))
	}
	_, err := fmt.Fprintln(w)
	return err
}

func ms(ns float64) string { return fmt.Sprintf("%.3f ms", ns/1e6) }

// measured and ratio print a step's median and best (best 0: not
// reported), or "—" when it was not measured.
func measured(med, best float64) string {
	switch {
	case med == 0:
		return "—"
	case best == 0:
		return ms(med)
	}
	return ms(med) + " / " + ms(best)
}

func ratio(med, best, floor float64) string {
	switch {
	case med == 0:
		return "—"
	case best == 0:
		return fmt.Sprintf("%.2f×", med/floor)
	}
	return fmt.Sprintf("%.2f× / %.2f×", med/floor, best/floor)
}
