package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	junit "github.com/joshdk/go-junit"
	yaml "go.yaml.in/yaml/v3"
)

// readmeCICommands returns the commands of the README's "In CI" section:
// the lines of its first sh block.
func readmeCICommands(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## In CI\n")
	m := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(section)
	if !ok || m == nil {
		t.Fatal("README has no \"## In CI\" section with an sh block")
	}
	return strings.Split(strings.TrimSpace(m[1]), "\n")
}

// TestCIRecipes: the GitHub Actions workflow and the GitLab job under
// deploy/ci parse as YAML, run exactly the README's CI commands in order,
// and publish as JUnit the file the check writes; and the README's check
// command, run here, writes the three reports it names, the JUnit one
// readable by an independent JUnit reader.
func TestCIRecipes(t *testing.T) {
	want := readmeCICommands(t)
	var gh struct {
		Jobs map[string]struct {
			Steps []struct {
				Run  string
				Uses string
				With map[string]string
			}
		}
	}
	var gl map[string]struct {
		Script    []string
		Artifacts struct {
			Paths   []string
			Reports struct{ JUnit string }
		}
	}
	for path, v := range map[string]any{"../../deploy/ci/github-actions.yml": &gh, "../../deploy/ci/gitlab-ci.yml": &gl} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(data, v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	var ghRuns []string
	junitPath := ""
	for _, job := range gh.Jobs {
		for _, st := range job.Steps {
			if st.Run != "" {
				ghRuns = append(ghRuns, strings.Split(strings.TrimSpace(st.Run), "\n")...)
			}
			if strings.Contains(st.Uses, "junit") {
				junitPath = st.With["report_paths"]
			}
		}
	}
	if !slices.Equal(ghRuns, want) {
		t.Errorf("GitHub Actions runs %q, the README says %q", ghRuns, want)
	}
	job, ok := gl["mimverify"]
	if !ok || !slices.Equal(job.Script, want) {
		t.Errorf("GitLab job script %q, the README says %q", job.Script, want)
	}
	check := strings.Fields(want[len(want)-1])
	if check[0] != "./mimverify" || check[1] != "check" {
		t.Fatalf("the README's last CI command is not a check: %q", want[len(want)-1])
	}
	outs := map[string]bool{}
	for i, a := range check {
		if a == "--out" && i+1 < len(check) {
			outs[check[i+1]] = true
		}
	}
	if !outs[junitPath] || !outs[job.Artifacts.Reports.JUnit] || !strings.HasSuffix(junitPath, ".xml") {
		t.Errorf("JUnit published from %q (GitHub) and %q (GitLab), written to %v", junitPath, job.Artifacts.Reports.JUnit, outs)
	}

	// Run the README's check command as it is, in a fresh directory.
	dir := t.TempDir()
	args := slices.Clone(check[1:])
	for i, a := range args {
		if outs[a] {
			args[i] = filepath.Join(dir, a)
		}
	}
	status, stdout, stderr := runCLI(t, args...)
	if status != 0 {
		t.Fatalf("the README's CI check: exit %d\n%s%s", status, stdout, stderr)
	}
	for name := range outs {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("the check did not write %s: %v", name, err)
		}
	}
	suites, err := junit.IngestFile(filepath.Join(dir, junitPath))
	if err != nil || len(suites) != 1 || suites[0].Totals.Failed != 0 || suites[0].Totals.Error != 0 {
		t.Fatalf("JUnit from the README's check: %v, %d suites", err, len(suites))
	}
	claims := 0
	for _, tc := range suites[0].Tests {
		if !strings.HasPrefix(tc.Name, "control: ") {
			claims++
		}
	}
	if claims != 8 {
		t.Errorf("JUnit from the README's check: %d claim cases, want 8 (C1…C8)", claims)
	}
}
