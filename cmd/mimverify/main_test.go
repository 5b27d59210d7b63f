package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mimverify/theory"
)

func runCLI(t *testing.T, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	status = mainWithStatus(args, &o, &e)
	return status, o.String(), e.String()
}

func readRun(t *testing.T, path string) runOutput {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out runOutput
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestHelpOnEveryCommand(t *testing.T) {
	for _, c := range commands {
		status, out, _ := runCLI(t, c.name, "--help")
		if status != 0 || !strings.Contains(out, "Usage: mimverify "+c.name) || strings.Count(out, "Usage:") != 1 {
			t.Errorf("%s --help: status %d, output %q", c.name, status, out)
		}
	}
	if status, out, _ := runCLI(t, "--help"); status != 0 || !strings.Contains(out, "run") {
		t.Errorf("--help: status %d, output %q", status, out)
	}
	if status, _, _ := runCLI(t); status != 2 {
		t.Errorf("no command: status %d, want 2", status)
	}
}

// The full model and the exact (A, B) recursion run from the CLI on the same
// seed train on the same samples and must give the same trajectory. The
// bound: both compute the same float64 sums in different orders and through
// d-dimensional products, so entries agree to a few hundred ulps of their
// scale (relative 1e-10, SPEC §3 level 1).
func TestRunFullEqualsExact(t *testing.T) {
	dir := t.TempDir()
	full, exact, dump := filepath.Join(dir, "full.json"), filepath.Join(dir, "exact.json"), filepath.Join(dir, "s.json")
	common := []string{"--preset", "grid4", "--steps", "30", "--record-every", "10", "--samples", "32", "--seed", "5", "--progress", "never"}
	if status, _, errs := runCLI(t, append([]string{"run", "--engine", "full", "--out", full, "--dump-samples", dump}, common...)...); status != 0 {
		t.Fatalf("full run failed: %s", errs)
	}
	if status, _, errs := runCLI(t, append([]string{"run", "--engine", "exact", "--out", exact}, common...)...); status != 0 {
		t.Fatalf("exact run failed: %s", errs)
	}
	f, e := readRun(t, full), readRun(t, exact)
	if f.Format != runFormat || f.Engine != "full" || e.Engine != "exact" || f.Samples != 32 || f.Seed != 5 {
		t.Fatalf("headers: %+v / %+v", f, e)
	}
	if len(f.Records) != 4 || len(e.Records) != 4 {
		t.Fatalf("%d and %d records, want steps 0, 10, 20, 30", len(f.Records), len(e.Records))
	}
	for i := range f.Records {
		rf, re := f.Records[i], e.Records[i]
		if rf.Step != 10*i || re.Step != 10*i {
			t.Fatalf("record %d at steps %d / %d", i, rf.Step, re.Step)
		}
		scale := math.Max(1, rf.Loss)
		if math.Abs(rf.Loss-re.Loss) > 1e-10*scale {
			t.Errorf("step %d: loss %v (full) vs %v (exact)", rf.Step, rf.Loss, re.Loss)
		}
		if d := rf.MaxAbsDiff(re.Correlations); d > 1e-10 {
			t.Errorf("step %d: correlations differ by %g", rf.Step, d)
		}
	}
	if f.Records[3].Loss >= f.Records[0].Loss {
		t.Errorf("loss did not decrease: %v → %v", f.Records[0].Loss, f.Records[3].Loss)
	}
	// The setting in the output is the resolved preset.
	want, _ := theory.Preset("grid4")
	if err := f.Setting.Validate(); err != nil || f.Setting.P != want.P || len(f.Setting.Clusters) != len(want.Clusters) {
		t.Errorf("output setting %+v, err %v", f.Setting, err)
	}

	// Feeding the dumped samples back reproduces the run bit for bit.
	again := filepath.Join(dir, "again.json")
	if status, _, errs := runCLI(t, "run", "--engine", "full", "--preset", "grid4", "--steps", "30", "--record-every", "10",
		"--seed", "5", "--samples-file", dump, "--out", again, "--progress", "never"); status != 0 {
		t.Fatalf("run with --samples-file failed: %s", errs)
	}
	a := readRun(t, again)
	for i := range a.Records {
		if a.Records[i].Loss != f.Records[i].Loss || a.Records[i].MaxAbsDiff(f.Records[i].Correlations) != 0 {
			t.Fatalf("record %d differs when the samples are read back from the dump", i)
		}
	}
}

func TestSampleDumpFormat(t *testing.T) {
	dir := t.TempDir()
	dump := filepath.Join(dir, "s.json")
	if status, _, errs := runCLI(t, "run", "--preset", "grid4", "--engine", "exact", "--steps", "1", "--samples", "7", "--dump-samples", dump, "--progress", "never"); status != 0 {
		t.Fatal(errs)
	}
	data, _ := os.ReadFile(dump)
	var d struct {
		Format  string `json:"format"`
		Samples []struct {
			Cluster *int      `json:"cluster"`
			Z       []float64 `json:"z"`
			Mask    []bool    `json:"mask"`
		} `json:"samples"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	s, _ := theory.Preset("grid4")
	if d.Format != samplesFormat || len(d.Samples) != 7 {
		t.Fatalf("format %q with %d samples", d.Format, len(d.Samples))
	}
	for i, smp := range d.Samples {
		if smp.Cluster == nil || len(smp.Mask) != s.P || len(smp.Z) != s.Clusters[*smp.Cluster].NumAreas() {
			t.Errorf("sample %d does not follow docs/FORMATS.md: %+v", i, smp)
		}
	}
}

func TestBadInputExitsTwoAndWritesNothing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.json")
	badConfig := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badConfig, []byte("preset: grid4\ngamma: 2\n"), 0o644)
	badSamples := filepath.Join(dir, "bad-samples.json")
	os.WriteFile(badSamples, []byte(`{"format":"mimverify.samples/v1","samples":[{"cluster":9,"z":[1],"mask":[true]}]}`), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--engine", "quantum"}, "--engine"},
		{[]string{"--steps", "-1"}, "--steps"},
		{[]string{"--record-every", "0"}, "--record-every"},
		{[]string{"--samples", "0"}, "--samples"},
		{[]string{"--seed", "-3"}, "--seed"},
		{[]string{"--eta", "-1"}, "eta"},
		{[]string{"--preset", "nope"}, "unknown preset"},
		{[]string{"--preset", "grid4", "--config", badConfig}, "not both"},
		{[]string{"--config", badConfig}, "gamma = 2"},
		{[]string{"--config", filepath.Join(dir, "missing.yaml")}, "--config"},
		{[]string{"--engine", "exact", "--sgd"}, "--sgd"},
		{[]string{"--engine", "full", "--on", "population"}, "--on"},
		{[]string{"--samples-file", badSamples}, "cluster"},
		{[]string{"--progress", "sometimes"}, "--progress"},
		{[]string{"--stepz", "3"}, "stepz"},
		{[]string{"--preset", "vit14", "--engine", "full", "--max-memory", "0.001"}, "--max-memory allows"},
		{[]string{"--preset", "vit14", "--engine", "full", "--steps", "10000000", "--max-hours", "1"}, "--max-hours allows"},
		{[]string{"--max-memory", "-1"}, "max-memory"},
		{[]string{"--engine", "exact", "--quad-nodes", "4"}, "--quad-nodes: does not apply to the exact engine"},
		{[]string{"--engine", "full", "--batch", "8"}, "--batch: applies only with --sgd"},
		{[]string{"--engine", "population", "--dump-samples", "x.json"}, "does not train on a sample set"},
		{[]string{"--engine", "flow", "--on", "population", "--samples", "9"}, "does not train on a sample set"},
		{[]string{"--record-every", "20000000"}, "--record-every"},
		{[]string{"--preset", "vit14", "--engine", "exact", "--steps", "10000000", "--record-every", "1", "--max-hours", "0"}, "GB free"},
		{[]string{"extra"}, "unexpected argument"},
	}
	for _, c := range cases {
		args := append([]string{"run", "--steps", "2", "--out", out}, c.args...)
		status, _, errs := runCLI(t, args...)
		if status != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: status %d, stderr %q; want 2 and a message naming %q", c.args, status, errs, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v: an output file was written despite bad input", c.args)
		}
	}
}

func TestSettingCommandRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vit14.yaml")
	if status, _, errs := runCLI(t, "setting", "--preset", "vit14", "--out", path); status != 0 {
		t.Fatal(errs)
	}
	back, err := theory.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := theory.Preset("vit14")
	if back.P != 196 || len(back.Clusters) != len(want.Clusters) || back.Eta != want.Eta {
		t.Errorf("setting written and read back differs: %+v", back)
	}
	if status, out, _ := runCLI(t, "presets"); status != 0 || !strings.Contains(out, "vit14") || !strings.Contains(out, "default") {
		t.Errorf("presets: %d %q", status, out)
	}
}
