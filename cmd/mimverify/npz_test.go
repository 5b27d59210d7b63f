package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npz"
)

// run --format npz writes the same numbers as the JSON trajectory, bit for
// bit, as arrays of the documented shapes.
func TestRunNPZMatchesJSON(t *testing.T) {
	dir := t.TempDir()
	js, nz := filepath.Join(dir, "t.json"), filepath.Join(dir, "t.npz")
	common := []string{"run", "--preset", "grid4", "--engine", "exact", "--steps", "40", "--record-every", "10", "--samples", "16", "--progress", "never"}
	for _, out := range []string{js, nz} {
		if status, _, errs := runCLI(t, append(common, "--out", out)...); status != 0 {
			t.Fatalf("%s: status %d: %s", out, status, errs)
		}
	}
	want := readRun(t, js)
	if b, err := os.ReadFile(nz); err != nil || !bytes.HasPrefix(b, []byte("PK\x03\x04")) {
		t.Fatalf("%s does not start with the zip magic PK\\x03\\x04: %q… (%v)", nz, b[:min(len(b), 16)], err)
	}
	f, err := npz.Open(nz)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	wantKeys := []string{"A0.npy", "A1.npy", "B.npy", "loss.npy", "loss_stderr.npy", "meta.npy", "step.npy", "time.npy"}
	keys := slices.Sorted(slices.Values(f.Keys()))
	if !slices.Equal(keys, wantKeys) {
		t.Fatalf("entries %v, want %v", keys, wantKeys)
	}
	var loss []float64
	var steps []int64
	if err := f.Read("loss.npy", &loss); err != nil {
		t.Fatal(err)
	}
	if err := f.Read("step.npy", &steps); err != nil {
		t.Fatal(err)
	}
	if len(loss) != len(want.Records) {
		t.Fatalf("%d losses for %d records", len(loss), len(want.Records))
	}
	for i, r := range want.Records {
		if loss[i] != r.Loss || steps[i] != int64(r.Step) {
			t.Errorf("record %d: step %d loss %v, JSON step %d loss %v", i, steps[i], loss[i], r.Step, r.Loss)
		}
	}
	for _, c := range []struct {
		name  string
		shape []int
		flat  func(i int) []float64
	}{
		{"B.npy", []int{len(want.Records), 16, 16}, func(i int) []float64 { return slices.Concat(want.Records[i].B...) }},
		{"A1.npy", []int{len(want.Records), 16, want.Setting.Clusters[1].NumAreas()}, func(i int) []float64 { return slices.Concat(want.Records[i].A[1]...) }},
	} {
		if got := f.Header(c.name).Descr.Shape; !slices.Equal(got, c.shape) {
			t.Errorf("%s: shape %v, want %v", c.name, got, c.shape)
		}
		var flat []float64
		if err := f.Read(c.name, &flat); err != nil {
			t.Fatal(err)
		}
		n := len(flat) / len(want.Records)
		for i := range want.Records {
			if !slices.Equal(flat[i*n:(i+1)*n], c.flat(i)) {
				t.Errorf("%s: record %d differs from the JSON trajectory", c.name, i)
			}
		}
	}
	if status, _, errs := runCLI(t, append(common, "--format", "csv", "--out", filepath.Join(dir, "x"))...); status != 2 {
		t.Errorf("--format csv: status %d (%s), want 2", status, errs)
	}
}

// numpy.load, the consumer the format is for, reads run --format npz: the
// keys, dtypes and shapes of docs/FORMATS.md, meta as the JSON header, and
// the losses of the JSON trajectory bit for bit (printed with repr, which
// round-trips a float64). Skipped, saying why, where python3 has no numpy
// (Debian: apt-get install python3-numpy).
func TestRunNPZLoadsInNumPy(t *testing.T) {
	py := pythonWithNumPy(t)
	dir := t.TempDir()
	js, nz := filepath.Join(dir, "t.json"), filepath.Join(dir, "t.npz")
	common := []string{"run", "--preset", "grid4", "--engine", "exact", "--steps", "40", "--record-every", "10", "--samples", "16", "--progress", "never"}
	for _, out := range []string{js, nz} {
		if status, _, errs := runCLI(t, append(common, "--out", out)...); status != 0 {
			t.Fatalf("%s: status %d: %s", out, status, errs)
		}
	}
	script := `import sys, json, numpy as np
f = np.load(sys.argv[1])
meta = json.loads(str(f["meta"]))
print(json.dumps({"keys": sorted(f.files), "format": meta["format"], "P": meta["setting"]["P"],
  "dtypes": {k: str(f[k].dtype) for k in f.files if k != "meta"},
  "shapes": {k: list(f[k].shape) for k in f.files},
  "loss": [repr(float(x)) for x in f["loss"]], "step": [int(x) for x in f["step"]],
  "b_last": repr(float(f["B"][-1][3][5]))}))`
	out, err := exec.Command(py, "-c", script, nz).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy.load: %v\n%s", err, out)
	}
	var got struct {
		Keys   []string
		Format string
		P      int
		Dtypes map[string]string
		Shapes map[string][]int
		Loss   []string
		Step   []int
		BLast  string `json:"b_last"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := readRun(t, js)
	R := len(want.Records)
	if !slices.Equal(got.Keys, []string{"A0", "A1", "B", "loss", "loss_stderr", "meta", "step", "time"}) || got.Format != runFormat || got.P != 16 {
		t.Errorf("keys %v, format %q, P %d", got.Keys, got.Format, got.P)
	}
	for k, shape := range map[string][]int{"B": {R, 16, 16}, "A1": {R, 16, want.Setting.Clusters[1].NumAreas()}, "loss": {R}, "meta": {}} {
		if !slices.Equal(got.Shapes[k], shape) {
			t.Errorf("%s: shape %v, want %v", k, got.Shapes[k], shape)
		}
	}
	if got.Dtypes["step"] != "int64" || got.Dtypes["B"] != "float64" {
		t.Errorf("dtypes %v", got.Dtypes)
	}
	if len(got.Loss) != R {
		t.Fatalf("%d losses for %d records", len(got.Loss), R)
	}
	for i, r := range want.Records {
		if l, err := strconv.ParseFloat(got.Loss[i], 64); err != nil || math.Float64bits(l) != math.Float64bits(r.Loss) || got.Step[i] != r.Step {
			t.Errorf("record %d: numpy step %d loss %s, JSON step %d loss %v", i, got.Step[i], got.Loss[i], r.Step, r.Loss)
		}
	}
	if b, _ := strconv.ParseFloat(got.BLast, 64); b != want.Records[R-1].B[3][5] {
		t.Errorf("B[-1][3][5]: numpy %s, JSON %v", got.BLast, want.Records[R-1].B[3][5])
	}
}

// pythonWithNumPy returns a python3 that imports numpy: the one on PATH,
// else Debian's /usr/bin/python3 (where python3-numpy installs); it skips
// the test, saying why, when there is none.
func pythonWithNumPy(t *testing.T) string {
	var why []string
	for _, name := range []string{"python3", "/usr/bin/python3"} {
		py, err := exec.LookPath(name)
		if err != nil {
			why = append(why, name+": not found")
			continue
		}
		out, err := exec.Command(py, "-c", "import numpy").CombinedOutput()
		if err == nil {
			return py
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		why = append(why, py+": "+lines[len(lines)-1])
	}
	t.Skipf("no python3 with numpy (%s): cannot check the npz with numpy.load", strings.Join(why, "; "))
	return ""
}

// The npz is streamed: the peak memory of a run of 2001 records of the
// default preset (6 272 numbers each: 100 MB if the records were kept, as
// they were) is within 30 MB of a run of 101.
func TestRunNPZMemoryFlatInRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("two runs of 100 and 2000 steps")
	}
	dir := t.TempDir()
	peak := func(steps string) int64 {
		status, out, rss := cli(t, "run", "--preset", "default", "--engine", "exact", "--samples", "4", "--steps", steps,
			"--record-every", "1", "--out", filepath.Join(dir, "t.npz"), "--progress", "never")
		if status != 0 {
			t.Fatalf("status %d: %s", status, out)
		}
		return rss
	}
	small, large := peak("100"), peak("2000")
	t.Logf("peak RSS: %.1f MB at 101 records, %.1f MB at 2001", float64(small)/1e6, float64(large)/1e6)
	if large > small+30e6 {
		t.Errorf("peak RSS grows with the records: %.1f MB at 101, %.1f MB at 2001", float64(small)/1e6, float64(large)/1e6)
	}
}
