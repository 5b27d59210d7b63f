package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bench is a benchmark file with peaks of 0.5 ns/exp, 4 G adds/s and 20 GB/s
// (medians of three and of two runs), and steps at P = 10: one core 30, 10
// and 20 µs (median 20 µs, best 9 µs), two cores 12 and 8 µs (median 10 µs).
const bench = `goos: linux
BenchmarkPeakExp    	     200	      2048 ns/op	         0.5000 ns/exp
BenchmarkPeakExp    	     200	      2048 ns/op	         0.4000 ns/exp
BenchmarkPeakExp    	     200	      2048 ns/op	         0.9000 ns/exp
BenchmarkPeakRowAdds	     200	      1000 ns/op	         3.000 Gadd/s
BenchmarkPeakRowAdds	     200	      1000 ns/op	         5.000 Gadd/s
BenchmarkPeakTriad  	     200	      1000 ns/op	        20.00 GB/s
BenchmarkExactStep/P10         	    1000	     30000 ns/op	     29000 min-ns/step
BenchmarkExactStep/P10         	    1000	     10000 ns/op	      9000 min-ns/step
BenchmarkExactStep/P10         	    1000	     20000 ns/op	     19000 min-ns/step
BenchmarkExactStep/P10-2       	    1000	     12000 ns/op	     11000 min-ns/step
BenchmarkExactStep/P10-2       	    1000	      8000 ns/op	      7000 min-ns/step
PASS
`

// TestTable: at P = 10 with 4 000 exps, 24 000 lane-ops and 100 000 bytes
// the floor is 4000·0.5 + 24000/4 = 8 000 ns (memory 100000/20 = 5 000 ns
// below it), so the one-core median of 20 µs is 2.5× it and the best step of
// 9 µs 1.125×; two cores: 10 µs against 4 000 ns, 2.5×, best 7 µs 1.75×.
func TestTable(t *testing.T) {
	rs, err := ParseBench(strings.NewReader(bench))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 11 {
		t.Fatalf("parsed %d results, want 11", len(rs))
	}
	rows, pk, err := Table([]Work{{P: 10, Exps: 4000, LaneOps: 24000, Bytes: 100000}, {P: 99, Exps: 1}}, rs)
	if err != nil {
		t.Fatal(err)
	}
	if pk != (Peaks{NsPerExp: 0.5, AddsPerNs: 4, BytesPerNs: 20}) {
		t.Errorf("peaks %+v", pk)
	}
	if len(rows) != 1 {
		t.Fatalf("%d rows, want one (P = 99 has no step results)", len(rows))
	}
	r := rows[0]
	want := Row{P: 10, Compute: 8000, Memory: 5000, Median: [2]float64{20000, 10000}, Best: [2]float64{9000, 7000}, FloorOne: 8000, FloorTwo: 4000}
	if r != want {
		t.Errorf("row %+v, want %+v", r, want)
	}
	var out bytes.Buffer
	if err := Write(&out, rows, pk); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"| 10 | 0.008 ms (0.008 ms; 0.005 ms) | 0.004 ms |", "2.50× / 1.12×", "2.50× / 1.75×"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out.String())
		}
	}
}

// TestRunErrors: missing inputs and missing peaks are errors naming what
// is missing, not a table.
func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join(dir, "work.json")
	if err := os.WriteFile(work, []byte(`[{"P": 10, "Exps": 1, "LaneOps": 1, "Bytes": 1}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	noPeaks := filepath.Join(dir, "bench.txt")
	if err := os.WriteFile(noPeaks, []byte("BenchmarkExactStep/P10 1 5 ns/op\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		work  string
		bench []string
		want  string
	}{
		{"", []string{noPeaks}, "need -work"},
		{work, nil, "need -work"},
		{work, []string{filepath.Join(dir, "missing.txt")}, "missing.txt"},
		{work, []string{noPeaks}, "PeakExp"},
	} {
		var out bytes.Buffer
		err := run(&out, c.work, c.bench)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run(%q, %v) = %v, want an error naming %q", c.work, c.bench, err, c.want)
		}
		if out.Len() != 0 {
			t.Errorf("run(%q, %v) wrote %q", c.work, c.bench, out.String())
		}
	}
}
