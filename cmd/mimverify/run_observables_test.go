package main

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"codeberg.org/sbinet/npyio/npz"
)

// run --observables writes the same numbers in JSON, CSV and npz, read as
// their consumers read them (a generic JSON decoder, encoding/csv with
// strconv, npyio's npz reader): the loss column is the trajectory's loss
// bit for bit, own_mass_deficit is 1 − own_mass_mean, and tv_quantile is
// measured at the last record only.
func TestRunObservables(t *testing.T) {
	dir := t.TempDir()
	traj := filepath.Join(dir, "t.json")
	common := []string{"run", "--preset", "grid4", "--engine", "exact", "--steps", "60", "--record-every", "20", "--samples", "16", "--progress", "never"}
	cols := map[string]map[string][]float64{}
	for _, ext := range []string{"json", "csv", "npz"} {
		path := filepath.Join(dir, "o."+ext)
		args := append(slices.Clone(common), "--observables", path)
		if ext == "json" {
			args = append(args, "--out", traj)
		}
		if status, _, errs := runCLI(t, args...); status != 0 {
			t.Fatalf("%s: status %d: %s", ext, status, errs)
		}
		cols[ext] = readObservables(t, path, ext)
	}
	want := readRun(t, traj)
	for ext, c := range cols {
		if len(c["step"]) != len(want.Records) {
			t.Fatalf("%s: %d rows for %d records", ext, len(c["step"]), len(want.Records))
		}
		for i, r := range want.Records {
			if c["step"][i] != float64(r.Step) || c["loss"][i] != r.Loss {
				t.Errorf("%s row %d: step %v loss %v, trajectory %d %v", ext, i, c["step"][i], c["loss"][i], r.Step, r.Loss)
			}
			if c["own_mass_deficit"][i] != 1-c["own_mass_mean"][i] {
				t.Errorf("%s row %d: deficit %v, mean %v", ext, i, c["own_mass_deficit"][i], c["own_mass_mean"][i])
			}
			last := i == len(want.Records)-1
			if tv := c["tv_quantile"][i]; math.IsNaN(tv) == last || (last && !(tv > 0 && tv <= 1)) {
				t.Errorf("%s row %d: tv_quantile %v", ext, i, tv)
			}
		}
		for id, v := range c {
			if other := cols["json"][id]; !slices.EqualFunc(v, other, func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }) {
				t.Errorf("%s: %s = %v, JSON %v", ext, id, v, other)
			}
		}
	}
	if status, _, _ := runCLI(t, append(common, "--observables", filepath.Join(dir, "x.txt"), "--observables-format", "xml")...); status != 2 {
		t.Errorf("--observables-format xml: status %d, want 2", status)
	}
}

// readObservables returns the columns of an observables file by id.
func readObservables(t *testing.T, path, ext string) map[string][]float64 {
	t.Helper()
	cols := map[string][]float64{}
	switch ext {
	case "json":
		var out struct {
			Records []struct {
				Step   float64             `json:"step"`
				Values map[string]*float64 `json:"values"`
			} `json:"records"`
		}
		data, _ := os.ReadFile(path)
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Records {
			cols["step"] = append(cols["step"], r.Step)
			for id, v := range r.Values {
				x := math.NaN() // null: NaN or ±Inf
				if v != nil {
					x = *v
				}
				cols[id] = append(cols[id], x)
			}
		}
	case "csv":
		f, _ := os.Open(path)
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows[1:] {
			for k, cell := range row {
				x, err := strconv.ParseFloat(cell, 64)
				if err != nil {
					t.Fatal(err)
				}
				cols[rows[0][k]] = append(cols[rows[0][k]], x)
			}
		}
	case "npz":
		f, err := npz.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var steps []int64
		if err := f.Read("step.npy", &steps); err != nil {
			t.Fatal(err)
		}
		for _, s := range steps {
			cols["step"] = append(cols["step"], float64(s))
		}
		for _, k := range f.Keys() {
			if k == "step.npy" || k == "meta.npy" {
				continue
			}
			var v []float64
			if err := f.Read(k, &v); err != nil {
				t.Fatal(err)
			}
			cols[k[:len(k)-4]] = v
		}
	}
	return cols
}
