package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run --engine full writes a trajectory and its samples; check
// --trajectory judges it from the JSON and from the npz form alike (the
// same numbers, so the same measured values and verdicts), with C1 and C8
// not asserted for want of mimverify's engines.
func TestCheckTrajectoryRoundTrip(t *testing.T) {
	dir := t.TempDir()
	smp := filepath.Join(dir, "samples.json")
	results := map[string][]verdictJSON{}
	measured := map[string]map[string]any{}
	for _, ext := range []string{"json", "npz"} {
		traj := filepath.Join(dir, "t."+ext)
		status, _, errs := runCLI(t, "run", "--preset", "grid4", "--engine", "full", "--steps", "200", "--record-every", "10",
			"--samples", "64", "--out", traj, "--dump-samples", smp, "--progress", "never")
		if status != 0 {
			t.Fatalf("run: %d %s", status, errs)
		}
		out := filepath.Join(dir, ext+".report.json")
		status, _, errs = runCLI(t, "check", "--trajectory", traj, "--samples-file", smp, "--eval", "16", "--sharp=false", "--out", out, "--progress", "never")
		if status != 0 && status != 1 {
			t.Fatalf("check --trajectory %s: %d %s", ext, status, errs)
		}
		var rep struct {
			Results []struct {
				verdictJSON
				Measured any    `json:"measured"`
				Detail   string `json:"detail"`
			} `json:"results"`
		}
		data, _ := os.ReadFile(out)
		if err := json.Unmarshal(data, &rep); err != nil {
			t.Fatal(err)
		}
		measured[ext] = map[string]any{}
		for _, r := range rep.Results {
			results[ext] = append(results[ext], r.verdictJSON)
			measured[ext][r.ID] = r.Measured
			if (r.ID == "C1" || r.ID == "C8") && (r.Verdict != "not asserted" || !strings.Contains(r.Detail, "needs mimverify's engines")) {
				t.Errorf("%s: %s %s (%s)", ext, r.ID, r.Verdict, r.Detail)
			}
		}
	}
	if len(results["json"]) != 8 {
		t.Fatalf("%d results, want C1–C8", len(results["json"]))
	}
	for i, r := range results["json"] {
		if n := results["npz"][i]; n != r || measured["npz"][r.ID] != measured["json"][r.ID] {
			t.Errorf("%s: JSON %v %v, npz %v %v", r.ID, r, measured["json"][r.ID], n, measured["npz"][r.ID])
		}
	}
}

func TestCheckTrajectoryBadInputExitsTwo(t *testing.T) {
	dir := t.TempDir()
	traj, smp := filepath.Join(dir, "t.json"), filepath.Join(dir, "s.json")
	if status, _, errs := runCLI(t, "run", "--preset", "grid4", "--engine", "exact", "--steps", "20", "--record-every", "10",
		"--samples", "8", "--out", traj, "--dump-samples", smp, "--progress", "never"); status != 0 {
		t.Fatal(errs)
	}
	other := filepath.Join(dir, "other.json")
	if status, _, errs := runCLI(t, "run", "--preset", "default", "--engine", "exact", "--steps", "0", "--samples", "4", "--dump-samples", other, "--progress", "never"); status != 0 {
		t.Fatal(errs)
	}
	data, _ := os.ReadFile(traj)
	back := filepath.Join(dir, "back.json")
	os.WriteFile(back, []byte(strings.Replace(string(data), `"step":20`, `"step":5`, 1)), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--trajectory", traj}, "needs --samples-file"},
		{[]string{"--samples-file", smp}, "applies to check only with --trajectory"},
		{[]string{"--trajectory", traj, "--samples-file", other}, "its setting differs from the trajectory's"},
		{[]string{"--trajectory", back, "--samples-file", smp}, "records[2].step = 5: must be greater"},
		{[]string{"--trajectory", traj, "--samples-file", smp, "--preset", "grid4"}, "give no --preset or --config"},
		{[]string{"--trajectory", traj, "--samples-file", smp, "--require", "C1"}, "not asserted on an external trajectory"},
	} {
		status, _, errs := runCLI(t, append([]string{"check", "--progress", "never"}, c.args...)...)
		if status != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: status %d, %q; want 2 and %q", c.args, status, errs, c.want)
		}
	}
}
