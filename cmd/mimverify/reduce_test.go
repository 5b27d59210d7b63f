package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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
		len(e.RHS) != 5 || len(o.Laws.Found) != 4 || o.Symmetry.Order == nil {
		t.Fatalf("unexpected JSON: %s", data)
	}
	// The definitions are those of docs/REDUCE.md §4's worked case: the
	// attention masses on the own area and on each (merged) off area, and
	// the softmax normaliser, of its one query orbit and one cluster.
	var names []string
	for _, d := range e.Definitions {
		names = append(names, d.Name)
	}
	if want := workedDefinitions(t); !slices.Equal(names, want) {
		t.Errorf("definitions %v, want those of docs/REDUCE.md's worked case %v", names, want)
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
	families := orbitLawFamilies(t)
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
			if o.Symmetry.Dim != len(o.Variables) {
				t.Errorf("%v: dim %d, %d variables", args, o.Symmetry.Dim, len(o.Variables))
			}
			// The known laws are the families of docs/ORBIT.md §6, with its
			// predictions for z ~ uniform: (1) Σ_q B[p][q] always, and it
			// holds under CRN sampling too — the CRN gradient is that of a
			// fixed function, invariant draw by draw (docs/REDUCE.md §2); (2) needs
			// z common to the areas of an image and (3) a constant z, so
			// neither is predicted nor holds.
			if len(o.Laws.Known) != families {
				t.Fatalf("%v: %d known laws, docs/ORBIT.md §6 lists %d", args, len(o.Laws.Known), families)
			}
			for i, l := range o.Laws.Known {
				predicted, holds := i == 0, i == 0
				if l.Predicted != predicted || l.Holds != holds {
					t.Errorf("%v: known law %d (%s): predicted %v, holds %v (residual %.3g); want %v, %v",
						args, i+1, l.Name, l.Predicted, l.Holds, l.Residual, predicted, holds)
				}
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

// readDoc returns docs/name, or ends the test.
func readDoc(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// docSection returns the text of the section of doc whose heading starts
// with heading, up to the next heading of its level.
func docSection(t *testing.T, doc, heading string) string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, "\n"+heading)
	if !ok {
		t.Fatalf("no section %q", heading)
	}
	level := heading[:strings.Index(heading, " ")+1]
	if i := strings.Index(rest, "\n"+level); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// orbitLawFamilies counts the conservation-law families docs/ORBIT.md §6
// lists (its numbered items).
func orbitLawFamilies(t *testing.T) int {
	n := len(regexp.MustCompile(`(?m)^\d+\. `).FindAllString(docSection(t, readDoc(t, "ORBIT.md"), "## 6. Conservation laws"), -1))
	if n == 0 {
		t.Fatal("docs/ORBIT.md §6 lists no conservation law")
	}
	return n
}

// workedDefinitions returns the names of the definitions (T_j, Z_j) in the
// worked case's output that docs/REDUCE.md §4 shows.
func workedDefinitions(t *testing.T) []string {
	sec := docSection(t, readDoc(t, "REDUCE.md"), "## 4. ")
	_, worked, ok := strings.Cut(sec, "**Worked case**")
	if !ok {
		t.Fatal("docs/REDUCE.md §4 has no worked case")
	}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^([TZ]_\d+) = `).FindAllStringSubmatch(worked, -1) {
		names = append(names, m[1])
	}
	if len(names) == 0 {
		t.Fatal("docs/REDUCE.md §4's worked case shows no definition")
	}
	return names
}
