package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"mimverify/judge"
)

// cliProcess returns the mimverify command as a child process: the test
// binary re-executed as the CLI (TestMain, MIMVERIFY_AS_CLI).
func cliProcess(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "MIMVERIFY_AS_CLI=1"), env...)
	return cmd
}

// normalized reads a sweep written as JSON and returns it re-encoded with
// the run times (the only field that may differ between runs) zeroed.
func normalized(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var sw judge.Sweep
	if err := json.Unmarshal(data, &sw); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for i := range sw.Points {
		sw.Points[i].Seconds = 0
	}
	sw.Provenance = nil // when, where and by which command line: differs between runs
	out, err := json.MarshalIndent(&sw, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameSweep(t *testing.T, what, want, got string) {
	t.Helper()
	a, b := normalized(t, want), normalized(t, got)
	if !bytes.Equal(a, b) {
		al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
		for i := range min(len(al), len(bl)) {
			if al[i] != bl[i] {
				t.Fatalf("%s: differs from the reference at line %d:\nwant %s\ngot  %s", what, i+1, al[i], bl[i])
			}
		}
		t.Fatalf("%s: %d lines, reference %d", what, len(bl), len(al))
	}
}

func countLines(path string) int {
	data, _ := os.ReadFile(path)
	return bytes.Count(data, []byte("\n"))
}

// A sweep killed with SIGKILL mid-way and rerun with the same plan resumes
// from its results file and ends with exactly the sweep of an
// uninterrupted run — which also ran with another --jobs and GOMAXPROCS.
func TestSweepResumeAfterKill(t *testing.T) {
	dir := t.TempDir()
	plan := []string{"sweep", "--preset", "grid4", "--vary", "gamma=0.3,0.4,0.5,0.6", "--vary", "z.kind=constant,uniform",
		"--claims", "C2,C3,C5", "--samples", "256", "--eval", "16", "--progress", "never"}
	ref, res, results := filepath.Join(dir, "ref.json"), filepath.Join(dir, "res.json"), filepath.Join(dir, "r.jsonl")
	if status, _, errs := runCLI(t, append(plan, "--jobs", "1", "--out", ref)...); status != 0 {
		t.Fatalf("reference sweep: status %d: %s", status, errs)
	}

	cmd := cliProcess(t, []string{"GOMAXPROCS=1"}, append(plan, "--jobs", "2", "--results", results, "--out", res)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for countLines(results) < 3 { // the header and two points
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no point finished within a minute")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	kept := countLines(results) - 1
	t.Logf("killed with %d of 8 points in the results file", kept)
	if kept >= 8 {
		t.Fatalf("the sweep finished all 8 points before the kill: nothing was left to resume")
	}
	if _, err := os.Stat(res); err == nil {
		t.Fatalf("the killed sweep left its output %s", res)
	}

	status, _, errs := runCLI(t, append(plan, "--jobs", "2", "--results", results, "--out", res)...)
	if status != 0 {
		t.Fatalf("resumed sweep: status %d: %s", status, errs)
	}
	if want := fmt.Sprintf("resumed %d finished points", kept); !strings.Contains(errs, want) {
		t.Errorf("resumed sweep's stderr %q lacks %q", errs, want)
	}
	if n := countLines(results); n != 9 {
		t.Errorf("results file has %d lines after the resume, want the header and 8 points", n)
	}
	sameSweep(t, "killed and resumed sweep (jobs 2, GOMAXPROCS 1 then default)", ref, res)

	// A different plan refuses the file rather than mixing results.
	other := append(append([]string{}, plan...), "--seed", "2", "--results", results)
	if status, _, errs := runCLI(t, other...); status != 2 || !strings.Contains(errs, "--results") {
		t.Errorf("another plan on the same results file: status %d (%s), want 2 naming --results", status, errs)
	}
}

// Shards run as separate processes and merged give the sweep of one run.
func TestShardsMergeToOneRun(t *testing.T) {
	dir := t.TempDir()
	plan := []string{"sweep", "--preset", "grid4", "--vary", "gamma=0.3,0.5,0.8", "--vary", "keys=unmasked,all",
		"--claims", "C2,C3", "--seeds", "2", "--samples", "16", "--eval", "16", "--max-steps", "300", "--progress", "never"}
	ref := filepath.Join(dir, "ref.json")
	if status, _, errs := runCLI(t, append(plan, "--out", ref)...); status != 0 {
		t.Fatalf("single sweep: status %d: %s", status, errs)
	}
	var files []string
	for i := range 3 {
		f := filepath.Join(dir, fmt.Sprintf("shard%d.jsonl", i))
		files = append(files, f)
		out, err := cliProcess(t, nil, append(plan, "--shard", fmt.Sprintf("%d/3", i), "--results", f, "--format", "csv")...).CombinedOutput()
		if err != nil {
			t.Fatalf("shard %d/3: %v: %s", i, err, out)
		}
	}
	merged := filepath.Join(dir, "merged.json")
	status, _, errs := runCLI(t, append([]string{"merge", "--out", merged}, files...)...)
	if status != 0 {
		t.Fatalf("merge: status %d: %s", status, errs)
	}
	sameSweep(t, "merged shards", ref, merged)

	// A missing shard, a shard given twice, or no file: bad input.
	for _, args := range [][]string{files[:2], {files[0], files[0], files[1], files[2]}, {}} {
		if status, _, errs := runCLI(t, append([]string{"merge", "--format", "json"}, args...)...); status != 2 {
			t.Errorf("merge %v: status %d (%s), want 2", args, status, errs)
		}
	}
}

// Outside a claim's regime the sweep still reports the measurement, as
// "holds empirically" or "breaks" with the failing predicate; and with
// seeds, each cell's claims get a fraction and a Wilson interval.
func TestSweepMeasuresOutsideRegimeAndSeeds(t *testing.T) {
	dir := t.TempDir()
	csvPath, jsonPath := filepath.Join(dir, "s.csv"), filepath.Join(dir, "s.json")
	args := []string{"sweep", "--preset", "grid4", "--vary", "gamma=0.5,0.95", "--claims", "C2,C3", "--seeds", "3",
		"--samples", "16", "--eval", "16", "--max-steps", "300", "--progress", "never"}
	if status, _, errs := runCLI(t, append(args, "--out", csvPath)...); status != 0 {
		t.Fatalf("status %d: %s", status, errs)
	}
	if status, _, errs := runCLI(t, append(args, "--out", jsonPath)...); status != 0 {
		t.Fatalf("status %d: %s", status, errs)
	}
	data, _ := os.ReadFile(jsonPath)
	var sw judge.Sweep
	if err := json.Unmarshal(data, &sw); err != nil {
		t.Fatal(err)
	}
	if len(sw.Points) != 6 || len(sw.Cells) != 2 {
		t.Fatalf("%d points in %d cells, want 6 in 2", len(sw.Points), len(sw.Cells))
	}
	outside := 0
	for _, p := range sw.Points {
		for _, r := range p.Results {
			if p.Values["gamma"] != "0.95" {
				continue
			}
			// γ = 0.95 is outside every rate regime of grid4 (n_min ≥ 1
			// fails): not asserted, yet measured against the prediction.
			if r.Verdict != judge.NotAsserted {
				t.Errorf("γ = 0.95, %s: verdict %q, want not asserted", r.ID, r.Verdict)
			}
			if r.WasMeasured() {
				outside++
			}
		}
	}
	if outside == 0 {
		t.Error("no claim was measured outside its regime at γ = 0.95")
	}
	csv, _ := os.ReadFile(csvPath)
	if rows := strings.Count(string(csv), "\n"); rows != 1+6*2+1 {
		t.Errorf("CSV has %d lines, want a header, 12 rows (6 points × 2 claims) and the total", rows)
	}
	if !strings.Contains(string(csv), "not asserted,holds,false,") && !strings.Contains(string(csv), "not asserted,fails,false,") {
		t.Errorf("CSV lacks a measured out-of-regime row:\n%s", csv)
	}
	for _, c := range sw.Cells {
		for _, cc := range c.Claims {
			lo, hi := judge.Wilson(cc.Holds, cc.Seeds)
			if cc.Seeds != 3 && cc.InRegime == 3 || float64(cc.Low) != lo || float64(cc.High) != hi {
				t.Errorf("cell %v %s: %d/%d, interval [%v, %v]", c.Values, cc.ID, cc.Holds, cc.Seeds, cc.Low, cc.High)
			}
		}
	}
	for _, bad := range [][]string{{"--seeds", "0"}, {"--jobs", "0"}, {"--shard", "3/3", "--results", "x"}, {"--shard", "0/2"}, {"--figures", "d", "--vary", "keys=all", "--vary", "loss=sum"},
		{"--engine", "full"}, {"--sharp", "--engine", "orbit"}} {
		full := append([]string{"sweep", "--preset", "grid4", "--vary", "gamma=0.5"}, bad...)
		if status, _, errs := runCLI(t, full...); status != 2 || !strings.Contains(errs, bad[0]) {
			t.Errorf("sweep %v: status %d (%s), want 2 naming %s", bad, status, errs, bad[0])
		}
	}
}

// A sweep on the orbit engine measures the claims on the population law:
// each point names the orbit engine and asserts C2 and C3 on grid4.
func TestSweepOnTheOrbitEngine(t *testing.T) {
	out := filepath.Join(t.TempDir(), "s.json")
	args := []string{"sweep", "--preset", "grid4", "--vary", "gamma=0.4,0.5", "--claims", "C2,C3", "--engine", "orbit",
		"--progress", "never", "--out", out}
	if status, _, errs := runCLI(t, args...); status != 0 {
		t.Fatalf("status %d: %s", status, errs)
	}
	data, _ := os.ReadFile(out)
	var sw judge.Sweep
	if err := json.Unmarshal(data, &sw); err != nil {
		t.Fatal(err)
	}
	if len(sw.Points) != 2 || sw.Plan.Engine != "orbit" {
		t.Fatalf("%d points, plan engine %q; want 2 on orbit", len(sw.Points), sw.Plan.Engine)
	}
	for _, p := range sw.Points {
		for _, r := range p.Results {
			if r.Verdict != judge.Holds {
				t.Errorf("γ = %s, %s: %s (%s)", p.Values["gamma"], r.ID, r.Verdict, r.Detail)
			}
		}
	}
}

// A Markdown sweep written with --figures links the figure files by a path
// relative to the Markdown file, each link to a file that exists.
func TestSweepMarkdownLinksFigures(t *testing.T) {
	dir := t.TempDir()
	out, figs := filepath.Join(dir, "report", "s.md"), filepath.Join(dir, "figs")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"sweep", "--preset", "grid4", "--vary", "gamma=0.4,0.5", "--claims", "C2", "--engine", "orbit",
		"--progress", "never", "--format", "markdown", "--out", out, "--figures", figs}
	if status, _, errs := runCLI(t, args...); status != 0 {
		t.Fatalf("status %d: %s", status, errs)
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	links := regexp.MustCompile(`!\[[^\]]*\]\(([^)]+)\)`).FindAllStringSubmatch(string(md), -1)
	if len(links) != 1 || links[0][1] != "../figs/line-C2.svg" {
		t.Fatalf("links %q, want the one line plot at ../figs/line-C2.svg:\n%s", links, md)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(out), links[0][1])); err != nil {
		t.Errorf("the linked figure: %v", err)
	}
}
