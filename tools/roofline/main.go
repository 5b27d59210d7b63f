// Command roofline prints the roofline table of the exact step
// (docs/PERFORMANCE.md, "Roofline of the exact step"): for each P, the
// floor of one step on one core and on two — the inherent work counted by
// TestExactWork (MIMVERIFY_WORK_OUT) at the machine peaks the project's own
// kernels reach (BenchmarkPeakExp, BenchmarkPeakRowAdds, BenchmarkPeakTriad)
// — and each measured step (BenchmarkExactStep at -cpu 1 and 2: the median
// time per step and the best single step) as a multiple of its floor.
// `make roofline` runs the benchmarks and this command.
//
// Usage: roofline -work work.json bench.txt...
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	work := flag.String("work", "", "the work counts, JSON (TestExactWork with MIMVERIFY_WORK_OUT)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: roofline -work work.json bench.txt...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(os.Stdout, *work, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "roofline:", err)
		os.Exit(2)
	}
}

// run reads the work counts and the benchmark files and writes the table.
func run(w io.Writer, workFile string, benchFiles []string) error {
	if workFile == "" || len(benchFiles) == 0 {
		return errors.New("need -work and at least one benchmark file")
	}
	b, err := os.ReadFile(workFile)
	if err != nil {
		return err
	}
	var works []Work
	if err := json.Unmarshal(b, &works); err != nil {
		return fmt.Errorf("%s: %w", workFile, err)
	}
	var results []Result
	for _, f := range benchFiles {
		r, err := os.Open(f)
		if err != nil {
			return err
		}
		rs, err := ParseBench(r)
		r.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		results = append(results, rs...)
	}
	rows, peaks, err := Table(works, results)
	if err != nil {
		return err
	}
	return Write(w, rows, peaks)
}
