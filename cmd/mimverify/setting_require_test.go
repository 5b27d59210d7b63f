package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An exported preset keeps its required claims: check --config g.yaml exits
// as check --preset grid4 does (here 1: at 20 steps C3 and C5 are outside
// their regime and grid4 requires them), and an edited copy is named "from
// preset grid4, modified".
func TestExportedSettingKeepsRequirements(t *testing.T) {
	g := filepath.Join(t.TempDir(), "g.yaml")
	if status, _, errs := runCLI(t, "setting", "--preset", "grid4", "--out", g); status != 0 {
		t.Fatalf("setting: %d %s", status, errs)
	}
	args := []string{"--max-steps", "20", "--samples", "32", "--eval", "32", "--progress", "never", "--controls=false"}
	sp, outP, _ := runCLI(t, append([]string{"check", "--preset", "grid4"}, args...)...)
	sc, outC, _ := runCLI(t, append([]string{"check", "--config", g}, args...)...)
	if sp != 1 || sc != sp || !strings.Contains(outC, "required but not asserted") {
		t.Errorf("--preset grid4 exits %d, --config g.yaml %d:\n%s\n%s", sp, sc, outP, outC)
	}
	if strings.Contains(outC, "modified") {
		t.Errorf("the exported preset, unedited, is called modified:\n%s", outC)
	}
	data, err := os.ReadFile(g)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), "gamma: 0.5", "gamma: 0.4", 1)
	if edited == string(data) {
		t.Fatal("no gamma: 0.5 line to edit in the exported setting")
	}
	if err := os.WriteFile(g, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	_, outE, _ := runCLI(t, append([]string{"check", "--config", g}, args...)...)
	if first := strings.SplitN(outE, "\n", 2)[0]; !strings.Contains(first, "grid4 (from preset grid4, modified)") {
		t.Errorf("an edited grid4 file is titled %q", first)
	}
}
