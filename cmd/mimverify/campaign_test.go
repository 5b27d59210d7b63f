package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"mimverify/engine"
	"mimverify/judge"
	"mimverify/theory"
)

// campaignSettings are the settings of the hostile campaign of issue 24
// on which reduce, the reduced engines and check used to allocate until the
// runtime died with a Go stack trace: one cluster on an 8×8 grid of 2×2
// blocks (16 areas of 4), and singleton areas (P = 16, 16 areas of 1),
// each with the default preset's z law (uniform on [0.5, 1.5], i.i.d. over
// the areas). The z tensor rule of the orbit objective had 4¹⁶ ≈ 4.3e9
// nodes on them, built before any term count was checked.
func campaignSettings(t *testing.T) map[string]string {
	dir := t.TempDir()
	var blocks, single []string
	for p := range 64 {
		r, c := p/8, p%8
		blocks = append(blocks, fmt.Sprint((r/2)*4+c/2))
	}
	for p := range 16 {
		single = append(single, fmt.Sprint(p))
	}
	const law = "z: {kind: uniform, L: 0.5, U: 1.5}\ngamma: 0.5\neta: 1\n"
	out := map[string]string{}
	for name, cfg := range map[string]string{
		"blocks": "P: 64\nside: 8\nclusters: [{areas: [" + strings.Join(blocks, ",") + "]}]\n" + law,
		"single": "P: 16\nside: 4\nclusters: [{areas: [" + strings.Join(single, ",") + "]}]\n" + law,
	} {
		path := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		out[name] = path
	}
	return out
}

// campaignCase is one command of the campaign on one of its settings, and
// what it must do: its exit status and what its output must say.
type campaignCase struct {
	args   []string
	status int
	says   []string
	// atLeastGB, when not 0, is a lower bound on the estimate the refusal
	// names.
	atLeastGB float64
}

// campaignCases are the campaign's commands, each with its outcome: the
// orbit level runs (its CRN mode draws z, where enumeration is over its
// budget), the mean field at the default 4 nodes per area is refused
// before it allocates (4¹⁶ terms: at least 300 bytes each, 1.29e3 GB),
// naming the estimate, --max-memory and the cheaper way, and with 2 nodes
// (2¹⁶ terms) it runs; check runs its reduced ODE in CRN mode.
func campaignCases(out string) []campaignCase {
	refused := []string{"needs about ", "--max-memory allows", "raise --max-memory"}
	return []campaignCase{
		{[]string{"reduce"}, 0, []string{"orbit system (level 4, crn)"}, 0},
		{[]string{"reduce", "--meanfield"}, 2, append(refused, "without --meanfield"), 1.29e3},
		{[]string{"reduce", "--meanfield", "--max-memory", "1e6"}, 2, []string{"too many terms to hold", "fewer quadrature nodes"}, 0},
		{[]string{"run", "--engine", "orbit", "--steps", "5", "--out", out}, 0, []string{"orbit on population/orbit", "written to"}, 0},
		{[]string{"run", "--engine", "meanfield", "--steps", "5", "--out", out}, 2, append(refused, "--quad-nodes"), 1.29e3},
		{[]string{"run", "--engine", "meanfield", "--steps", "5", "--max-memory", "1e6", "--out", out}, 2, []string{"too many terms to hold"}, 0},
		{[]string{"run", "--engine", "meanfield", "--quad-nodes", "2", "--steps", "5", "--out", out}, 0, []string{"written to"}, 0},
		{[]string{"sweep", "--engine", "orbit", "--vary", "gamma=0.3,0.5", "--max-steps", "50", "--out", out}, 0, []string{"sweep of 2 points written to"}, 0},
		{[]string{"check", "--max-steps", "50", "--claims", "C2,C3", "--controls=false"}, 0, []string{"reduced ODE (orbit, crn, 4096 draws"}, 0},
	}
}

// Each command of the campaign on each of its settings ends as
// campaignCases says, in a child process whose address space is limited
// to 3 GB (ulimit -v): a command that allocates without bound dies there in
// seconds with a Go stack trace, which fails the test, instead of taking
// the machine. No output shows "goroutine " or "panic", and no temporary
// file is left.
func TestCampaignSettingsNoStackTrace(t *testing.T) {
	if testing.Short() {
		t.Skip("eighteen commands in child processes")
	}
	dir := t.TempDir()
	for name, cfg := range campaignSettings(t) {
		out := filepath.Join(dir, name+".json")
		for _, c := range campaignCases(out) {
			os.Remove(out)
			args := append(append(slices.Clone(c.args), "--config", cfg), progressFlag(c.args[0])...)
			status, text := limitedCLI(t, 3_000_000, args...)
			bad := status != c.status || strings.Contains(text, "goroutine ") || strings.Contains(text, "panic")
			for _, w := range c.says {
				bad = bad || !strings.Contains(text, w)
			}
			if m := regexp.MustCompile(`needs about ([0-9.e+]+) GB`).FindStringSubmatch(text); c.atLeastGB > 0 {
				gb := 0.0
				if m != nil {
					gb, _ = strconv.ParseFloat(m[1], 64)
				}
				bad = bad || !(gb >= c.atLeastGB)
			}
			if bad {
				t.Errorf("%s %v: status %d, output %.600q; want %d saying %q", name, c.args, status, text, c.status, c.says)
			}
			if _, err := os.Stat(out); (err == nil) != (c.status == 0 && slices.Contains(c.args, out)) {
				t.Errorf("%s %v: status %d, and --out exists: %v", name, c.args, status, err == nil)
			}
		}
	}
	if left := leftovers(t, dir); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// progressFlag is --progress never for the commands that have it.
func progressFlag(cmd string) []string {
	if cmd == "reduce" {
		return nil
	}
	return []string{"--progress", "never"}
}

// limitedCLI runs the CLI in a child process under ulimit -v kb and
// returns its exit status and combined output.
func limitedCLI(t *testing.T, kb int, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command("sh", append([]string{"-c", fmt.Sprintf(`ulimit -v %d && exec "$0" "$@"`, kb), os.Args[0]}, args...)...)
	cmd.Env = append(os.Environ(), "MIMVERIFY_AS_CLI=1")
	b, err := cmd.CombinedOutput()
	if err != nil && cmd.ProcessState == nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), string(b)
}

// Under a lowered RLIMIT_AS (ulimit -v, set in the child's shell before
// mimverify starts) the default --max-memory is the address space the
// limit leaves, not 80 % of the machine's memory: a run estimated at about
// 0.69 GB is refused before it allocates, with exit 2, the estimate, and
// RLIMIT_AS named — not started and killed with a Go trace.
func TestDefaultMaxMemoryHonoursRlimitAS(t *testing.T) {
	grid := gridSetting(t, 32, 8) // P = 1024
	args := []string{"run", "--config", grid, "--engine", "exact", "--samples", "4096", "--steps", "1", "--progress", "never"}
	// 1.5 GB of address space: the runtime reserves about 1.2 GB of it at
	// start, so a 0.69 GB run does not fit.
	cmd := exec.Command("sh", append([]string{"-c", `ulimit -v 1500000 && exec "$0" "$@"`, os.Args[0]}, args...)...)
	cmd.Env = append(os.Environ(), "MIMVERIFY_AS_CLI=1")
	out, _ := cmd.CombinedOutput()
	text := string(out)
	s, err := theory.LoadConfig(grid)
	if err != nil {
		t.Fatal(err)
	}
	cost, err := judge.EstimateCost(engine.Exact, &s, judge.EngineOptions{}, 4096, 1)
	if err != nil || !(cost.Bytes > 0.5e9 && cost.Bytes < 1e9) {
		t.Fatalf("the estimate %.3g GB (%v) is not the ~0.69 GB this test is about", cost.Bytes/1e9, err)
	}
	estimate := fmt.Sprintf("needs about %.3g GB", cost.Bytes/1e9)
	if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(text, estimate) || !strings.Contains(text, "RLIMIT_AS") {
		t.Errorf("under ulimit -v 1500000: status %d, output %.400q; want 2 naming the estimate and RLIMIT_AS", cmd.ProcessState.ExitCode(), text)
	}
	if strings.Contains(text, "goroutine ") {
		t.Error("a Go stack trace")
	}
}

// The cost is checked before the samples are drawn: 'run --samples 1000000'
// on P = 4096 with --max-memory 1 is refused (exit 2, naming --max-memory)
// with the process's peak memory that of an idle one, where drawing the
// samples first died of out-of-memory (a million masks and z of 4096).
func TestSamplesDrawnAfterTheCostCheck(t *testing.T) {
	labels := make([]string, 4096)
	for p := range labels {
		labels[p] = fmt.Sprint(p / 64)
	}
	cfg := filepath.Join(t.TempDir(), "p4096.yaml")
	if err := os.WriteFile(cfg, []byte("P: 4096\nclusters: [{areas: ["+strings.Join(labels, ",")+"]}]\nz: {kind: constant, L: 1}\ngamma: 0.5\neta: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	status, out, peak := cli(t, "run", "--config", cfg, "--engine", "exact", "--samples", "1000000", "--max-memory", "1", "--progress", "never")
	if status != 2 || !strings.Contains(out, "--max-memory allows 1 GB") {
		t.Errorf("status %d, output %.300q; want 2 naming --max-memory", status, out)
	}
	// An idle process with the setting loaded: about 15 MB (TestCostEstimatesHold).
	if peak > 100e6 {
		t.Errorf("peak memory %.0f MB before the refusal: the samples were drawn first", float64(peak)/1e6)
	}
}

// The reduced engines run on the symmetric subspace: from a Gaussian start
// run --engine orbit/meanfield and sweep --engine orbit refuse at once with
// exit 2 and the same reason (sweep ran every point and exited 1), without
// creating the results file; reduce, which describes the dynamics and runs
// none from the setting's start, accepts the setting and says the same
// reason beside the reduced system, in its JSON as a program reads it.
func TestReducedEnginesRefuseGaussianStart(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gauss.yaml")
	if err := os.WriteFile(cfg, []byte("preset: grid4\ninit: {kind: gaussian, sigma: 0.1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	results := filepath.Join(dir, "results.jsonl")
	for _, args := range [][]string{
		{"run", "--engine", "orbit", "--steps", "5"},
		{"run", "--engine", "meanfield", "--steps", "5"},
		{"sweep", "--engine", "orbit", "--vary", "gamma=0.3,0.5", "--claims", "C2", "--max-steps", "50", "--results", results},
	} {
		status, _, errs := runCLI(t, append(args, "--config", cfg, "--progress", "never")...)
		if status != 2 || !strings.Contains(errs, "init.kind = gaussian") || !strings.Contains(errs, "symmetric subspace") || !strings.Contains(errs, "init.kind = zero") {
			t.Errorf("%v: status %d, stderr %q; want 2 naming init.kind and the symmetric subspace", args, status, errs)
		}
	}
	if _, err := os.Stat(results); err == nil {
		t.Error("the refused sweep created its results file")
	}
	status, out, errs := runCLI(t, "reduce", "--config", cfg, "--format", "json", "--budget", "2")
	var red struct {
		Symmetry struct{ Start string } `json:"symmetry"`
	}
	if err := json.Unmarshal([]byte(out), &red); status != 0 || err != nil {
		t.Fatalf("reduce: status %d, %v, %s", status, err, errs)
	}
	if !strings.Contains(red.Symmetry.Start, "init.kind = gaussian") || !strings.Contains(red.Symmetry.Start, "refuse") {
		t.Errorf("reduce's symmetry.start = %q; want the reason and that run and sweep refuse", red.Symmetry.Start)
	}
	if status, out, _ := runCLI(t, "reduce", "--preset", "grid4", "--format", "json", "--budget", "2"); status != 0 || strings.Contains(out, `"start"`) {
		t.Errorf("reduce --preset grid4 (Q(0) = 0): status %d, a start note: %v", status, strings.Contains(out, `"start"`))
	}
}
