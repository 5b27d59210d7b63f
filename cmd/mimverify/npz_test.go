package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
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
	// np.load takes a file for an npz archive only when it starts with the
	// zip magic (a zip reader alone also finds an archive after a prefix).
	if head, _ := os.ReadFile(nz); !bytes.HasPrefix(head, []byte("PK\x03\x04")) {
		t.Fatalf("%s starts with %q, not the zip magic PK\\x03\\x04 np.load looks for", nz, head[:min(len(head), 8)])
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
