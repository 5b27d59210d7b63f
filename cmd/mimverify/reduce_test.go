package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// workedConfig writes the worked case of SPEC §3 (one cluster of 4 areas of
// 4 on a 4×4 grid, z ≡ 1) as a config file.
func workedConfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "worked.yaml")
	cfg := "preset: grid4\nclusters:\n  - {name: blocks2, areas: [0,0,1,1, 0,0,1,1, 2,2,3,3, 2,2,3,3], prob: 1}\nz: {kind: constant, L: 1}\n"
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReduceText(t *testing.T) {
	cfg := workedConfig(t)
	status, out, errOut := runCLI(t, "reduce", "--config", cfg)
	if status != 0 {
		t.Fatalf("status %d: %s", status, errOut)
	}
	for _, want := range []string{"order 7962624", "dimension: 5 reduced, against K·P·N + P² = 320",
		"α      FP   A[0][0][0]                 16", "b_2    PP   B[0][2]                   192",
		"Rank 1", "α + 3·β", "−α + 3·b_1", "α + 12·b_2", "holds along 50 GD steps", "no closed form: the orbit (level 4)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	status, out, errOut = runCLI(t, "reduce", "--config", cfg, "--meanfield")
	if status != 0 {
		t.Fatalf("--meanfield: status %d: %s", status, errOut)
	}
	for _, want := range []string{"mean-field system (level 5)", "T_1 = 3·(1 − γ)·exp(z·α + b_1)", "Z_1 = T_1 + 3·T_2", "dα/dτ = ", "db_0/dτ = 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("--meanfield output lacks %q:\n%s", want, out)
		}
	}
}

func TestReduceJSONAndMarkdown(t *testing.T) {
	cfg := workedConfig(t)
	dir := t.TempDir()
	js, md := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.md")
	for _, out := range []string{js, md} {
		status, stdout, errOut := runCLI(t, "reduce", "--config", cfg, "--meanfield", "--out", out)
		if status != 0 || stdout != "" {
			t.Fatalf("--out %s: status %d, stdout %q, stderr %s", out, status, stdout, errOut)
		}
	}
	data, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	var o reduceOutput
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		t.Fatal(err)
	}
	e := o.Equations
	if o.Format != reduceFormat || o.Level != "meanfield" || len(o.Variables) != 5 || !e.ClosedForm ||
		len(e.RHS) != 5 || len(e.Definitions) != 3 || len(o.Laws.Found) != 4 || o.Symmetry.Order == nil {
		t.Fatalf("unexpected JSON: %s", data)
	}
	for _, r := range e.RHS {
		if r.Text == "" || r.LaTeX == "" {
			t.Errorf("rhs of %s: empty formula", r.Variable)
		}
	}
	mdData, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| $\\alpha{}$ | FP |", "$$\\frac{d\\alpha{}}{d\\tau} = ", "$$T_{1} = 3 \\cdot ", "\\exp\\left("} {
		if !strings.Contains(string(mdData), want) {
			t.Errorf("markdown lacks %q:\n%s", want, mdData)
		}
	}
}

func TestReducePresets(t *testing.T) {
	for _, p := range []string{"default", "grid4", "global-local"} {
		for _, mf := range []bool{false, true} {
			args := []string{"reduce", "--preset", p, "--format", "json"}
			if mf {
				args = append(args, "--meanfield")
			}
			status, out, errOut := runCLI(t, args...)
			var o reduceOutput
			if status != 0 || json.Unmarshal([]byte(out), &o) != nil {
				t.Fatalf("%v: status %d, %s", args, status, errOut)
			}
			// The presets have uniform z: no closed form, and the reason.
			want := "sum over the vectors of unmasked counts"
			if mf {
				want = "Gauss–Legendre quadrature"
			}
			if o.Equations.ClosedForm || !strings.Contains(o.Equations.Reason, want) {
				t.Errorf("%v: closed form %v, reason %q", args, o.Equations.ClosedForm, o.Equations.Reason)
			}
			// The orbit level of default uses CRN: its laws carry the note.
			if crn := o.Mode == "crn"; crn != (o.Laws.Note != "") || (p == "default" && !mf && !crn) {
				t.Errorf("%v: mode %s, note %q", args, o.Mode, o.Laws.Note)
			}
			if o.Symmetry.Dim != len(o.Variables) || len(o.Laws.Known) != 3 {
				t.Errorf("%v: dim %d, %d variables, %d known laws", args, o.Symmetry.Dim, len(o.Variables), len(o.Laws.Known))
			}
		}
	}
}

// TestReduceTwoClusterMarkdown: a two-cluster setting with constant z has
// cluster probabilities as parameters (π_0, π_1), rendered in TeX.
func TestReduceTwoClusterMarkdown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "two.yaml")
	if err := os.WriteFile(path, []byte("preset: grid4\nz: {kind: constant, L: 1.3}\nkeys: all\nmask: fixed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	status, out, errOut := runCLI(t, "reduce", "--config", path, "--meanfield", "--format", "markdown")
	if status != 0 {
		t.Fatalf("status %d: %s", status, errOut)
	}
	for _, want := range []string{"| $\\pi_{0}$ | 0.5 |", "| $m$ | 8 |", "\\pi_{1}", "\\frac{d", "$$Z_{1} = "} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}

func TestReduceBadInput(t *testing.T) {
	dir := t.TempDir()
	cases := [][]string{
		{"--format", "xml"},
		{"--states", "-1"},
		{"--steps", "0"},
		{"--budget", "0"},
		{"--preset", "nope"},
		{"--preset", "grid4", "--config", "x.yaml"},
		{"--config", filepath.Join(dir, "missing.yaml")},
		{"--out", filepath.Join(dir, "no", "such", "dir.txt")},
		{"extra"},
		{"--meanfield=maybe"},
	}
	for _, c := range cases {
		status, out, errOut := runCLI(t, append([]string{"reduce"}, c...)...)
		if status != 2 || out != "" || !strings.Contains(errOut, "mimverify reduce:") {
			t.Errorf("%v: status %d, stdout %q, stderr %q; want 2 with a message", c, status, out, errOut)
		}
	}
	if _, _, errOut := runCLI(t, "reduce", "--format", "xml"); !strings.Contains(errOut, "--format") {
		t.Errorf("the message does not name the flag: %q", errOut)
	}
}
