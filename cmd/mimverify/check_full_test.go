package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npz"
	"gonum.org/v1/gonum/mat"

	"mimverify/empirical"
	"mimverify/judge"
	"mimverify/theory"
)

// writeFullRun writes the (A, B) run file in as the full-model format, Q =
// Σ A e_p v_{k,j}ᵀ + Σ B e_p e_qᵀ in the seeded random basis of seed, plus
// out·(1 + grow·t) outside the span (out in basis coordinates).
func writeFullRun(t *testing.T, in, path string, seed uint64, out *mat.Dense, grow float64) {
	t.Helper()
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	var run runOutput
	if err := json.Unmarshal(data, &run); err != nil {
		t.Fatal(err)
	}
	s := run.Setting
	emb := empirical.NewEmbedding(&s, seed)
	full := fullRunOutput{runHeader: runHeader{Format: fullRunFormat, Engine: "test", Seed: run.Seed, Samples: run.Samples, Steps: run.Steps,
		RecordEvery: run.RecordEvery, Setting: s}}
	for p := range s.P {
		full.Embedding.Positions = append(full.Embedding.Positions, emb.Vector(p))
	}
	for k, c := range s.Clusters {
		var vs [][]float64
		for j := range c.NumAreas() {
			vs = append(vs, emb.Vector(emb.FeatureIndex(k, j)))
		}
		full.Embedding.Features = append(full.Embedding.Features, vs)
	}
	for _, r := range run.Records {
		var rest mat.Dense
		rest.Scale(1+grow*float64(r.Step), out)
		q := emb.Compose(r.Correlations, &rest)
		rows := make([][]float64, emb.D)
		for i := range rows {
			rows[i] = mat.Row(nil, i, q)
		}
		full.Records = append(full.Records, judge.FullRecord{Step: r.Step, Time: r.Time, Loss: r.Loss, Q: rows})
	}
	data, err = json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

type fullReport struct {
	Run struct {
		OutOfSpan *struct {
			Initial float64 `json:"initial"`
			Drift   float64 `json:"drift"`
			Bound64 float64 `json:"bound_float64"`
			Warning string  `json:"warning"`
		} `json:"out_of_span"`
	} `json:"run"`
	Results []struct {
		verdictJSON
		Measured *float64 `json:"measured"`
		Detail   string   `json:"detail"`
	} `json:"results"`
}

func checkReport(t *testing.T, out string, args ...string) fullReport {
	t.Helper()
	status, _, errs := runCLI(t, append([]string{"check", "--eval", "16", "--controls=false", "--progress", "never", "--out", out}, args...)...)
	if status != 0 && status != 1 {
		t.Fatalf("check %v: %d %s", args, status, errs)
	}
	var rep fullReport
	data, _ := os.ReadFile(out)
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestCheckFullTrajectoryRoundTrip: run --engine full's trajectory written
// as the full model's Q (in another random orthonormal basis, with a
// constant component outside the span, as a Gaussian start leaves) and read
// back by check --trajectory gives the verdicts of the (A, B) file and its
// measured values within 1e-9 relative (the projection's rounding is
// ~d·2⁻⁵² ≈ 1e-14 relative: judge/external_full_test.go); the report gives
// the out-of-span norm, its drift within float64 rounding and no warning.
// The same run with an out-of-span part that grows is warned about in the
// report and in the claims' details; the Markdown report says it too.
func TestCheckFullTrajectoryRoundTrip(t *testing.T) {
	dir := t.TempDir()
	smp, traj := filepath.Join(dir, "samples.json"), filepath.Join(dir, "t.json")
	if status, _, errs := runCLI(t, "run", "--preset", "grid4", "--engine", "full", "--steps", "200", "--record-every", "10",
		"--samples", "64", "--out", traj, "--dump-samples", smp, "--progress", "never"); status != 0 {
		t.Fatalf("run: %s", errs)
	}
	want := checkReport(t, filepath.Join(dir, "ab.json"), "--trajectory", traj, "--samples-file", smp)
	s, _ := theory.Preset("grid4")
	d := s.Dim()
	out := mat.NewDense(d, d, nil)
	rng := theory.NewRand(9, theory.StreamBasis)
	for i := range d {
		for j := range d {
			out.Set(i, j, 0.05*rng.NormFloat64())
		}
	}
	md := filepath.Join(dir, "q.md")
	for _, grow := range []float64{0, 0.05} {
		full := filepath.Join(dir, "full.json")
		writeFullRun(t, traj, full, 11, out, grow)
		args := []string{"--trajectory", full, "--samples-file", smp}
		if grow > 0 { // the warning and the values; the sharp verdicts were compared at grow 0
			args = append(args, "--sharp=false", "--out", md)
		}
		got := checkReport(t, filepath.Join(dir, "q.json"), args...)
		o := got.Run.OutOfSpan
		if o == nil || o.Initial <= 0 {
			t.Fatalf("grow %g: out_of_span %+v", grow, o)
		}
		if warned := o.Warning != ""; warned != (grow > 0) || grow == 0 && o.Drift > o.Bound64 {
			t.Errorf("grow %g: drift %g (float64 bound %g), warning %q", grow, o.Drift, o.Bound64, o.Warning)
		}
		if len(got.Results) != len(want.Results) {
			t.Fatalf("%d results, the (A, B) file's %d", len(got.Results), len(want.Results))
		}
		for i, w := range want.Results {
			g := got.Results[i]
			same := g.Measured == nil && w.Measured == nil ||
				g.Measured != nil && w.Measured != nil && math.Abs(*g.Measured-*w.Measured) <= 1e-9*math.Abs(*w.Measured)
			if grow == 0 && g.verdictJSON != w.verdictJSON || !same {
				t.Errorf("grow %g, %s: %v %v; from (A, B) %v %v", grow, w.ID, g.verdictJSON, g.Measured, w.verdictJSON, w.Measured)
			}
			if warned := strings.Contains(g.Detail, "warning: Q's component outside"); grow > 0 && g.Measured != nil && !warned {
				t.Errorf("grow %g, %s: no warning in the detail %q", grow, g.ID, g.Detail)
			}
		}
	}
	if data, _ := os.ReadFile(md); !strings.Contains(string(data), "Q's out-of-span norm:") || !strings.Contains(string(data), "warning: Q's component outside") {
		t.Errorf("Markdown report lacks the out-of-span line or its warning")
	}
}

// A full-model file whose embedding is not orthonormal is exit 2, naming
// the vectors.
func TestCheckFullTrajectoryBadEmbeddingExitsTwo(t *testing.T) {
	dir := t.TempDir()
	smp, traj, full := filepath.Join(dir, "s.json"), filepath.Join(dir, "t.json"), filepath.Join(dir, "f.json")
	if status, _, errs := runCLI(t, "run", "--preset", "grid4", "--engine", "exact", "--steps", "20", "--record-every", "10",
		"--samples", "8", "--out", traj, "--dump-samples", smp, "--progress", "never"); status != 0 {
		t.Fatal(errs)
	}
	s, _ := theory.Preset("grid4")
	writeFullRun(t, traj, full, 3, mat.NewDense(s.Dim(), s.Dim(), nil), 0)
	var f map[string]any
	data, _ := os.ReadFile(full)
	json.Unmarshal(data, &f)
	emb := f["embedding"].(map[string]any)
	pos := emb["positions"].([]any)
	pos[1] = pos[0]
	data, _ = json.Marshal(f)
	os.WriteFile(full, data, 0o644)
	status, _, errs := runCLI(t, "check", "--trajectory", full, "--samples-file", smp, "--progress", "never")
	if status != 2 || !strings.Contains(errs, "positions[0] · positions[1] = 1") {
		t.Errorf("status %d, %q; want 2 naming positions[0] · positions[1]", status, errs)
	}
}

// fullToNPZ writes a full-model JSON run as the npz form: meta, step, loss,
// Q, positions and features0, features1, … as flat arrays (the reader
// takes them by length; numpy's shaped arrays read the same, as the
// measurement in docs/FORMATS.md did with train.py's).
func fullToNPZ(t *testing.T, in, path string) {
	t.Helper()
	data, _ := os.ReadFile(in)
	var run fullRunOutput
	if err := json.Unmarshal(data, &run); err != nil {
		t.Fatal(err)
	}
	meta, _ := json.Marshal(runOutput{runHeader: runHeader{Format: fullRunFormat, Engine: run.Engine, Seed: run.Seed, Samples: run.Samples,
		Steps: run.Steps, RecordEvery: run.RecordEvery, Setting: run.Setting}})
	var steps []int64
	var loss, q, pos []float64
	for _, r := range run.Records {
		steps, loss = append(steps, int64(r.Step)), append(loss, r.Loss)
		for _, row := range r.Q {
			q = append(q, row...)
		}
	}
	for _, v := range run.Embedding.Positions {
		pos = append(pos, v...)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := npz.NewWriter(f)
	arrays := []struct {
		name string
		v    any
	}{{"meta", string(meta)}, {"step", steps}, {"loss", loss}, {"Q", q}, {"positions", pos}}
	for k, vs := range run.Embedding.Features {
		var flat []float64
		for _, v := range vs {
			flat = append(flat, v...)
		}
		arrays = append(arrays, struct {
			name string
			v    any
		}{fmt.Sprintf("features%d", k), flat})
	}
	for _, a := range arrays {
		if err := zw.Write(a.name+".npy", a.v); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// The full-model run as npz arrays is read as its JSON form is: the same
// verdicts and measured values, bit for bit (the same numbers).
func TestCheckFullTrajectoryNPZ(t *testing.T) {
	dir := t.TempDir()
	smp, traj, full, arr := filepath.Join(dir, "s.json"), filepath.Join(dir, "t.json"), filepath.Join(dir, "f.json"), filepath.Join(dir, "f.npz")
	if status, _, errs := runCLI(t, "run", "--preset", "grid4", "--engine", "exact", "--steps", "100", "--record-every", "10",
		"--samples", "16", "--out", traj, "--dump-samples", smp, "--progress", "never"); status != 0 {
		t.Fatal(errs)
	}
	s, _ := theory.Preset("grid4")
	writeFullRun(t, traj, full, 3, mat.NewDense(s.Dim(), s.Dim(), nil), 0)
	fullToNPZ(t, full, arr)
	a := checkReport(t, filepath.Join(dir, "a.json"), "--trajectory", full, "--samples-file", smp, "--sharp=false")
	b := checkReport(t, filepath.Join(dir, "b.json"), "--trajectory", arr, "--samples-file", smp, "--sharp=false")
	if len(a.Results) != 8 || len(b.Results) != len(a.Results) || b.Run.OutOfSpan == nil || *b.Run.OutOfSpan != *a.Run.OutOfSpan {
		t.Fatalf("JSON %d results, npz %d; out of span %+v, %+v", len(a.Results), len(b.Results), a.Run.OutOfSpan, b.Run.OutOfSpan)
	}
	for i, r := range a.Results {
		g := b.Results[i]
		if g.verdictJSON != r.verdictJSON || (g.Measured == nil) != (r.Measured == nil) || g.Measured != nil && *g.Measured != *r.Measured {
			t.Errorf("%s: npz %v %v, JSON %v %v", r.ID, g.verdictJSON, g.Measured, r.verdictJSON, r.Measured)
		}
	}
}
