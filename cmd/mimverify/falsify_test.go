package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// plantedClaims are statement faults planted on purpose, each true on the
// presets and false somewhere in its regime (testdata/falsify/planted.yaml).
const plantedClaims = "testdata/falsify/planted.yaml"

// falsifyJSON is the part of a falsify report the tests read, decoded as a
// generic document (not with the writer's types).
type falsifyJSON struct {
	Status  string `json:"status"`
	Results []struct {
		Claim          string         `json:"claim"`
		Found          bool           `json:"found"`
		Evaluations    int            `json:"evaluations"`
		InRegime       int            `json:"in_regime"`
		Tightest       map[string]any `json:"tightest"`
		Counterexample map[string]any `json:"counterexample"`
	} `json:"results"`
}

func runFalsify(t *testing.T, args ...string) (int, falsifyJSON, string) {
	t.Helper()
	dir := t.TempDir()
	report := filepath.Join(dir, "report.json")
	var stdout, stderr bytes.Buffer
	code := mainWithStatus(append([]string{"falsify", "--out", report, "--progress", "never"}, args...), &stdout, &stderr)
	var rep falsifyJSON
	if data, err := os.ReadFile(report); err == nil {
		if err := json.Unmarshal(data, &rep); err != nil {
			t.Fatalf("report: %v", err)
		}
	}
	return code, rep, stderr.String()
}

// Each statement fault planted by the test — true on the five presets
// (docs/FALSIFY.md §6), false in its regime — is found within a budget of
// 300, confirmed, shrunk, and the setting file written reproduces the
// failure with check: its header's command exits 1 with the claim failing.
// The search skips candidates above 1e7 term-steps (about a second each),
// to keep the test quick; the faults lie in the cheap part of the space.
func TestFalsifyFindsPlantedFaults(t *testing.T) {
	for _, id := range []string{"FP_wide", "T_eps", "L_rate"} {
		t.Run(id, func(t *testing.T) {
			cx := filepath.Join(t.TempDir(), "cx.yaml")
			code, rep, stderr := runFalsify(t, "--claims-file", plantedClaims, "--claims", id, "--budget", "300", "--max-work", "1e7", "--out", cx)
			if code != 1 || rep.Status != "fails" || len(rep.Results) != 1 || !rep.Results[0].Found {
				t.Fatalf("exit %d, status %q, results %+v; stderr %s", code, rep.Status, rep.Results, stderr)
			}
			if n := rep.Results[0].Evaluations; n > 300 {
				t.Errorf("%d evaluations: over the budget", n)
			}
			if shrunk, _ := rep.Results[0].Counterexample["shrunk"].([]any); len(shrunk) == 0 {
				t.Errorf("the counterexample was not shrunk: %v", rep.Results[0].Counterexample["found"])
			}
			reproduce(t, cx, id)
		})
	}
}

// reproduce runs the command a counterexample file's header gives and
// asserts that the claim fails in its JSON report.
func reproduce(t *testing.T, cx, id string) {
	t.Helper()
	data, err := os.ReadFile(cx)
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, line := range strings.Split(string(data), "\n") {
		if cmd, ok := strings.CutPrefix(line, "#   mimverify "); ok {
			args = strings.Fields(cmd)
		}
	}
	if len(args) == 0 {
		t.Fatalf("%s: no reproducing command in the header:\n%s", cx, data)
	}
	out := filepath.Join(t.TempDir(), "check.json")
	var stdout, stderr bytes.Buffer
	code := mainWithStatus(append(args, "--out", out, "--progress", "never"), &stdout, &stderr)
	if code != 1 {
		t.Fatalf("%v: exit %d, want 1; stderr %s", args, code, stderr.String())
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Results []struct{ ID, Verdict string }
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.ID == id {
			if r.Verdict != "fails" {
				t.Fatalf("%s reproduced as %q, want fails", id, r.Verdict)
			}
			return
		}
	}
	t.Fatalf("%s not in the reproducing check's results", id)
}

// The negative control: a claim that is true everywhere (a loss is never
// negative) yields no counterexample, exit 0, and a tightest point with a
// positive margin — the search does not invent failures.
func TestFalsifyTrueClaimHolds(t *testing.T) {
	file := trueClaims(t)
	code, rep, stderr := runFalsify(t, "--claims-file", file, "--claims", "nonneg", "--budget", "8", "--preset", "global-local")
	if code != 0 || rep.Status != "holds" || len(rep.Results) != 1 || rep.Results[0].Found {
		t.Fatalf("exit %d, status %q, results %+v; stderr %s", code, rep.Status, rep.Results, stderr)
	}
	r := rep.Results[0]
	if r.InRegime == 0 || r.Tightest == nil {
		t.Fatalf("no candidate inside the regime was judged: %+v", r)
	}
	if m, ok := r.Tightest["margin"].(float64); !ok || !(m >= 0) {
		t.Errorf("tightest margin %v: a true claim cannot fail", r.Tightest["margin"])
	}
}

func TestFalsifyBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"--budget", "2"},
		{"--claims", "C9"},
		{"--shrink-budget", "-3"},
		{"--out", "x.pdf"},
		{"--search-seed", "0"},
	} {
		var stdout, stderr bytes.Buffer
		if code := mainWithStatus(append([]string{"falsify"}, args...), &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), strings.TrimPrefix(args[0], "-")) && !strings.Contains(stderr.String(), args[1]) {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming the flag or value", args, code, stderr.String())
		}
	}
}

// trueClaims writes a claims file whose claim holds everywhere.
func trueClaims(t *testing.T) string {
	file := filepath.Join(t.TempDir(), "true.yaml")
	if err := os.WriteFile(file, []byte(`claims:
- id: nonneg
  statement: the reconstructable loss is never negative
  observable: reconstructable_loss
  predicted: "0"
  relation: ">="
`), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// A search rerun on its results file replays it: the same candidates and
// verdicts, nothing appended; a results file of another search (another
// --seed for the checks) is refused as bad input.
func TestFalsifyResumesFromResults(t *testing.T) {
	file, results := trueClaims(t), filepath.Join(t.TempDir(), "r.jsonl")
	args := []string{"--claims-file", file, "--claims", "nonneg", "--budget", "6", "--preset", "global-local", "--results", results}
	code1, rep1, stderr := runFalsify(t, args...)
	if code1 != 0 {
		t.Fatalf("first run: exit %d; %s", code1, stderr)
	}
	before, err := os.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(before), "\n"); lines != 1+rep1.Results[0].Evaluations {
		t.Fatalf("results file has %d lines, want a header and %d evaluations", lines, rep1.Results[0].Evaluations)
	}
	code2, rep2, stderr := runFalsify(t, args...)
	after, _ := os.ReadFile(results)
	if code2 != 0 || string(after) != string(before) {
		t.Fatalf("rerun: exit %d, results file changed (%d → %d bytes); %s", code2, len(before), len(after), stderr)
	}
	a, b := rep1.Results[0], rep2.Results[0]
	if a.Evaluations != b.Evaluations || a.InRegime != b.InRegime || a.Tightest["margin"] != b.Tightest["margin"] {
		t.Fatalf("rerun differs: %+v vs %+v", a, b)
	}
	var stdout, errOut bytes.Buffer
	if code := mainWithStatus(append([]string{"falsify", "--seed", "2", "--progress", "never"}, args...), &stdout, &errOut); code != 2 || !strings.Contains(errOut.String(), "another search") {
		t.Fatalf("another search's results file: exit %d, stderr %q", code, errOut.String())
	}
}

// The planted faults are true on the presets — which is why a check on
// the presets cannot catch them and a search must (vit14 too, measured in
// docs/FALSIFY.md §6; left out here for time).
func TestPlantedFaultsHoldOnPresets(t *testing.T) {
	for _, preset := range []string{"default", "grid4", "global-local", "random-regions"} {
		out := filepath.Join(t.TempDir(), "r.json")
		var stdout, stderr bytes.Buffer
		code := mainWithStatus([]string{"check", "--preset", preset, "--claims", "C2", "--claims-file", plantedClaims,
			"--sharp=false", "--controls=false", "--progress", "never", "--out", out}, &stdout, &stderr)
		raw, err := os.ReadFile(out)
		if err != nil {
			t.Fatalf("%s: exit %d: %v; %s", preset, code, err, stderr.String())
		}
		var rep struct {
			Results []struct{ ID, Verdict string }
		}
		if err := json.Unmarshal(raw, &rep); err != nil {
			t.Fatal(err)
		}
		seen := 0
		for _, r := range rep.Results {
			if r.ID == "T_eps" || r.ID == "L_rate" || r.ID == "FP_wide" {
				seen++
				if r.Verdict != "holds" {
					t.Errorf("%s: planted %s is %q, want holds", preset, r.ID, r.Verdict)
				}
			}
		}
		if seen != 3 || code != 0 {
			t.Errorf("%s: exit %d, %d planted claims judged", preset, code, seen)
		}
	}
}

// Two shards of a search, each with its own results file, concatenated,
// resume the whole search: the unsharded rerun appends nothing and finds
// what each shard found.
func TestFalsifyShardsConcatenate(t *testing.T) {
	file := filepath.Join(t.TempDir(), "two.yaml")
	if err := os.WriteFile(file, []byte(`claims:
- {id: nonneg, statement: never negative, observable: reconstructable_loss, predicted: "0", relation: ">="}
- {id: below1, statement: the own-area deficit is at most 1, observable: own_mass_deficit, predicted: "1", relation: "<="}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	base := []string{"--claims-file", file, "--claims", "nonneg,below1", "--budget", "6", "--preset", "global-local", "--max-work", "1e7"}
	var parts []byte
	for i := range 2 {
		res := filepath.Join(dir, fmt.Sprintf("s%d.jsonl", i))
		code, rep, stderr := runFalsify(t, append(base, "--shard", fmt.Sprintf("%d/2", i), "--results", res)...)
		if code != 0 || len(rep.Results) != 1 {
			t.Fatalf("shard %d: exit %d, %d results; %s", i, code, len(rep.Results), stderr)
		}
		data, _ := os.ReadFile(res)
		parts = append(parts, data...)
	}
	all := filepath.Join(dir, "all.jsonl")
	if err := os.WriteFile(all, parts, 0o644); err != nil {
		t.Fatal(err)
	}
	code, rep, stderr := runFalsify(t, append(base, "--results", all)...)
	after, _ := os.ReadFile(all)
	if code != 0 || len(rep.Results) != 2 || len(after) != len(parts) {
		t.Fatalf("merged rerun: exit %d, %d results, results file %d → %d bytes; %s", code, len(rep.Results), len(parts), len(after), stderr)
	}
}

// A search space file narrows the search (here to one layout and one z
// law, where the planted FP_wide fault lies); a file with an unknown key, a
// z law or a layout that does not exist is bad input naming it.
func TestFalsifySpaceFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "space.yaml")
	os.WriteFile(good, []byte("layouts: [line 2+2+2]\nz_kinds: [constant]\ndims:\n- {field: z.L, lo: 0.2, hi: 2, log: true}\n- {field: gamma, lo: 0.1, hi: 0.9}\n"), 0o644)
	code, rep, stderr := runFalsify(t, "--claims-file", plantedClaims, "--claims", "FP_wide", "--budget", "40", "--space", good)
	if code != 1 || len(rep.Results) != 1 || !rep.Results[0].Found {
		t.Fatalf("exit %d, results %+v; %s", code, rep.Results, stderr)
	}
	for name, content := range map[string]string{
		"fild":     "dims:\n- {fild: gamma, lo: 0.1, hi: 0.9}\n",
		"gaussian": "z_kinds: [gaussian]\n",
		"grid9":    "layouts: [grid9]\n",
		"gama":     "dims:\n- {field: gama, lo: 0.1, hi: 0.9}\n",
	} {
		bad := filepath.Join(dir, name+".yaml")
		os.WriteFile(bad, []byte(content), 0o644)
		var stdout, errOut bytes.Buffer
		if code := mainWithStatus([]string{"falsify", "--space", bad, "--progress", "never"}, &stdout, &errOut); code != 2 || !strings.Contains(errOut.String(), name) {
			t.Errorf("%s: exit %d, stderr %q; want 2 naming it", name, code, errOut.String())
		}
	}
}

// The search does not depend on --jobs: the claims searched side by side
// share evaluations, yet each asks for the same candidates in the same
// order, so the reports agree candidate for candidate.
func TestFalsifyIndependentOfJobs(t *testing.T) {
	args := []string{"--claims", "C2,C4,C7", "--budget", "12", "--preset", "global-local", "--max-work", "1e7", "--shrink-budget", "4"}
	traces := map[string]string{}
	for _, jobs := range []string{"1", "3"} {
		dir := t.TempDir()
		out := filepath.Join(dir, "r.json")
		var stdout, stderr bytes.Buffer
		if code := mainWithStatus(append([]string{"falsify", "--jobs", jobs, "--progress", "never", "--out", out}, args...), &stdout, &stderr); code > 1 {
			t.Fatalf("--jobs %s: exit %d: %s", jobs, code, stderr.String())
		}
		raw, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var rep struct {
			Results []struct {
				Claim string
				Found bool
				Trace []map[string]any
			}
		}
		if err := json.Unmarshal(raw, &rep); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, r := range rep.Results {
			fmt.Fprintf(&b, "%s %v:", r.Claim, r.Found)
			for _, ev := range r.Trace {
				delete(ev, "seconds")
				js, _ := json.Marshal(ev)
				b.Write(js)
			}
		}
		traces[jobs] = b.String()
	}
	if traces["1"] != traces["3"] {
		t.Fatalf("the search differs between --jobs 1 and --jobs 3")
	}
}
