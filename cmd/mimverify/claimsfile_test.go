package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// threeClaims: a true conjecture (the own-area deficit decays: its fitted
// exponent is negative; docs/THEORY.md §3 predicts −½), a false one (it
// decays faster than t⁻²) and one outside its regime (γ ≥ 0.9 on γ = 0.5).
const threeClaims = `claims:
- id: T1
  statement: the own-area deficit decays
  observable: slope(own_mass_deficit)
  relation: "<"
  predicted: "0"
- id: F1
  statement: the own-area deficit decays faster than t^-2
  observable: slope(own_mass_deficit)
  relation: "<="
  predicted: "-2"
- id: X1
  statement: asserted only at heavy masking
  observable: own_mass_mean
  relation: ">="
  predicted: "1 - gamma"
  regime: ["gamma >= 0.9"]
`

func writeClaims(t *testing.T, text string) string {
	path := filepath.Join(t.TempDir(), "claims.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type verdictJSON struct {
	ID        string `json:"id"`
	Verdict   string `json:"verdict"`
	Empirical string `json:"empirical"`
}

func wantVerdicts(t *testing.T, where string, results []verdictJSON) {
	t.Helper()
	want := map[string]string{"T1": "holds", "F1": "fails", "X1": "not asserted"}
	got := map[string]string{}
	for _, r := range results {
		got[r.ID] = r.Verdict
	}
	for id, v := range want {
		if got[id] != v {
			t.Errorf("%s: %s is %q, want %q (all: %v)", where, id, got[id], v, got)
		}
	}
}

func TestCheckClaimsFile(t *testing.T) {
	claims := writeClaims(t, threeClaims)
	dir := t.TempDir()
	jsonOut, junitOut := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.xml")
	args := append([]string{"check", "--claims", "C3", "--claims-file", claims}, quick...)
	status, _, errs := runCLI(t, append(args, "--out", jsonOut)...)
	if status != 1 {
		t.Fatalf("status %d (%s), want 1: F1 fails", status, errs)
	}
	var rep struct {
		Results []verdictJSON `json:"results"`
	}
	data, _ := os.ReadFile(jsonOut)
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	wantVerdicts(t, "check JSON", rep.Results)
	if status, _, errs := runCLI(t, append(args, "--out", junitOut)...); status != 1 {
		t.Fatalf("junit: status %d (%s)", status, errs)
	}
	// JUnit as a CI reads it: a testcase per claim, F1 with a failure.
	var suites struct {
		Cases []struct {
			Name    string    `xml:"name,attr"`
			Failure *struct{} `xml:"failure"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	}
	data, _ = os.ReadFile(junitOut)
	if err := xml.Unmarshal(data, &suites); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, c := range suites.Cases {
		switch {
		case strings.HasPrefix(c.Name, "T1"):
			seen++
			if c.Failure != nil || c.Skipped != nil {
				t.Errorf("JUnit %s: failed or skipped, want passed", c.Name)
			}
		case strings.HasPrefix(c.Name, "F1"):
			seen++
			if c.Failure == nil {
				t.Errorf("JUnit %s: no failure", c.Name)
			}
		case strings.HasPrefix(c.Name, "X1"):
			seen++
			if c.Failure != nil {
				t.Errorf("JUnit %s: a failure, want not asserted", c.Name)
			}
		}
	}
	if seen != 3 {
		t.Errorf("JUnit has %d of the 3 user claims:\n%s", seen, data)
	}
}

func TestSweepClaimsFile(t *testing.T) {
	claims := writeClaims(t, threeClaims)
	path := filepath.Join(t.TempDir(), "sweep.json")
	status, _, errs := runCLI(t, "sweep", "--preset", "grid4", "--vary", "gamma=0.5", "--claims", "C3", "--claims-file", claims,
		"--samples", "32", "--eval", "16", "--max-steps", "400", "--format", "json", "--out", path, "--progress", "never")
	if status != 0 && status != 1 {
		t.Fatalf("sweep: status %d: %s", status, errs)
	}
	var out struct {
		Points []struct {
			Results []verdictJSON `json:"results"`
		} `json:"points"`
	}
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &out); err != nil || len(out.Points) != 1 {
		t.Fatalf("%v: %d points", err, len(out.Points))
	}
	wantVerdicts(t, "sweep", out.Points[0].Results)
}

// A bad claims file is bad input: exit 2 with the line and the name.
func TestClaimsFileBadInputExitsTwo(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"claims:\n- id: R1\n  statement: s\n  observable: own_mass\n  relation: \"<=\"\n  predicted: \"1\"\n", "line 4"},
		{"claims:\n- id: R1\n  statement: s\n  observable: loss\n  relation: \"<=\"\n  predicted: \"2*foo\"\n", "unknown symbol foo"},
	} {
		status, _, errs := runCLI(t, "check", "--preset", "grid4", "--claims-file", writeClaims(t, c.text))
		if status != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("status %d, stderr %q; want 2 and %q", status, errs, c.want)
		}
	}
}
