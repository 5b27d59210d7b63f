package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	junit "github.com/joshdk/go-junit"
	"golang.org/x/net/html"

	"mimverify/engine"
	"mimverify/judge"
	"mimverify/judge/judgetest"
	"mimverify/theory"
)

// outcomeCase is one of the five outcomes every channel must agree on.
type outcomeCase struct {
	name     string
	results  []judge.ClaimResult
	controls []judge.ControlResult
	falsify  []judge.FalsifyResult // check --falsify's searches
	err      error
	// The expected outcome, as each channel says it.
	status     judge.Status
	exit       int
	failedCase string // the JUnit case that must fail or err ("" when none)
}

func claim(id string, v judge.Verdict, measured float64) judge.ClaimResult {
	return judge.ClaimResult{ID: id, Title: "claim " + id, Provenance: theory.Paper, Verdict: v,
		Measured: judge.Float(measured), Predicted: 1, Relation: "≤", Formula: "bound = 1"}
}

func outcomeCases() []outcomeCase {
	holds, fails, na := claim("C2", judge.Holds, 0.5), claim("C3", judge.Fails, 2), claim("C6", judge.NotAsserted, 0.5)
	na.Detail = "outside the regime; K = 1 is false"
	unmet := na
	unmet.Required = true
	band := claim("C2", judge.Fails, 0.5) // within the envelope (≤ 1), outside the band
	band.Sharp = &judge.SharpResult{Engine: "orbit", Mode: "crn", Predicted: 0.9, Measured: 0.5, Low: 0.8, High: 1.0, Ratio: 0.56, Inside: false, Band: "±4·SE"}
	return []outcomeCase{
		{name: "all hold", results: []judge.ClaimResult{holds, claim("C3", judge.Holds, 0.2), na}, status: judge.StatusHolds, exit: 0},
		{name: "a claim fails", results: []judge.ClaimResult{holds, fails, na}, status: judge.StatusFails, exit: 1, failedCase: "C3"},
		{name: "required not asserted", results: []judge.ClaimResult{holds, unmet}, status: judge.StatusFails, exit: 1, failedCase: "C6"},
		{name: "sharp band missed", results: []judge.ClaimResult{band, na}, status: judge.StatusFails, exit: 1, failedCase: "C2"},
		{name: "engine error", err: errors.New("exact: NaN in A at step 12"), status: judge.StatusError, exit: 1, failedCase: "check"},
		{name: "judge lacks power", results: []judge.ClaimResult{holds, claim("C3", judge.Holds, 0.2)},
			controls: []judge.ControlResult{
				{Kind: judge.NegativeControl, Name: "an independent training set", Judged: []string{"C2", "C3"}, Rejected: []string{}, OK: true},
				{Kind: judge.PositiveControl, Name: "η × 1.3", Judged: []string{"C2", "C3"}, Rejected: []string{}, OK: false}},
			status: judge.StatusFails, exit: 1, failedCase: "control:"},
		{name: "check --falsify finds a counterexample", results: []judge.ClaimResult{holds, claim("C3", judge.Holds, 0.2)},
			falsify: []judge.FalsifyResult{
				{Claim: "C2", Relation: "≤", Found: false, Evaluations: 8, InRegime: 5},
				{Claim: "C3", Relation: "≤", Found: true, Evaluations: 8, InRegime: 5, Counterexample: &judge.Counterexample{
					Described: "layout line 2+2+2, z constant", Result: judge.ClaimResult{ID: "C3", Verdict: judge.Fails, Measured: 3, Predicted: 1}}}},
			status: judge.StatusFails, exit: 1, failedCase: "falsify:"},
	}
}

// TestOneOutcomeEveryChannel: for each of the five outcomes, one check
// writes every format at once (--out repeated), and each output is read as
// its consumer reads it — the JSON as a generic document, the JUnit file by
// an independent JUnit reader, the HTML by an HTML parser, the Markdown
// and text as lines — together with the exit status and
// judgetest.AssertReport. All must say the same outcome.
func TestOneOutcomeEveryChannel(t *testing.T) {
	s, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	defer func(f func(theory.Setting, judge.Options) (*judge.Report, error)) { checkFunc = f }(checkFunc)
	for _, c := range outcomeCases() {
		t.Run(c.name, func(t *testing.T) {
			checkFunc = func(theory.Setting, judge.Options) (*judge.Report, error) {
				if c.err != nil {
					return nil, c.err
				}
				return &judge.Report{Format: judge.ReportFormat, Setting: s, Source: theory.Source(&s), Results: c.results, Controls: c.controls, Falsify: c.falsify, Summary: map[string]int{}}, nil
			}
			dir := t.TempDir()
			out := func(ext string) string { return filepath.Join(dir, "r"+ext) }
			status, stdout, stderr := runCLI(t, "check", "--preset", "grid4", "--progress", "never",
				"--out", out(".json"), "--out", out(".xml"), "--out", out(".html"), "--out", out(".md"), "--out", out(".txt"))
			if status != c.exit {
				t.Errorf("exit status %d, want %d\n%s%s", status, c.exit, stdout, stderr)
			}
			passed := c.status == judge.StatusHolds
			channels := map[string]string{
				"json":     jsonStatus(t, out(".json")),
				"junit":    junitStatus(t, out(".xml"), c.failedCase),
				"html":     htmlBanner(t, out(".html")),
				"markdown": headlineAfter(t, out(".md"), "# "),
				"text":     headlineAfter(t, out(".txt"), "mimverify check"),
				"stdout":   headlineIn(stdout),
				"assert":   assertStatus(c, s),
			}
			word := map[judge.Status]string{judge.StatusHolds: "HOLDS", judge.StatusFails: "FAILS", judge.StatusError: "ERROR"}[c.status]
			for ch, got := range channels {
				switch ch {
				case "json":
					if got != string(c.status) {
						t.Errorf("%s says %q, want %q", ch, got, c.status)
					}
				case "junit", "assert":
					if (got == "pass") != passed {
						t.Errorf("%s says %q, want passed = %v", ch, got, passed)
					}
				default:
					if !strings.HasPrefix(got, word) {
						t.Errorf("%s headline %q, want it to start with %s", ch, got, word)
					}
				}
			}
		})
	}
}

// jsonStatus reads the report as a program would: a generic JSON document,
// its top-level "status", checked against its "reasons".
func jsonStatus(t *testing.T, path string) string {
	t.Helper()
	var doc map[string]any
	data, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(data, &doc)
	}
	if err != nil {
		t.Fatalf("JSON report: %v", err)
	}
	status, _ := doc["status"].(string)
	reasons, ok := doc["reasons"].([]any)
	if !ok || (status == "holds") != (len(reasons) == 0) {
		t.Errorf("JSON: status %q with reasons %v", status, doc["reasons"])
	}
	if prov, _ := doc["provenance"].(map[string]any); prov == nil || prov["setting_hash"] == "" || prov["command"] == nil {
		t.Errorf("JSON: provenance %v", doc["provenance"])
	}
	return status
}

// junitStatus reads the file with an independent JUnit reader: "pass"
// when no test case failed or erred; the failing case must be the
// expected one.
func junitStatus(t *testing.T, path, wantFailed string) string {
	t.Helper()
	suites, err := junit.IngestFile(path)
	if err != nil || len(suites) != 1 {
		t.Fatalf("JUnit: %d suites, %v", len(suites), err)
	}
	var failed []string
	for _, tc := range suites[0].Tests {
		if tc.Status == junit.StatusFailed || tc.Status == junit.StatusError {
			failed = append(failed, strings.Fields(tc.Name)[0])
		}
	}
	if (wantFailed == "") != (len(failed) == 0) || (wantFailed != "" && (len(failed) != 1 || failed[0] != wantFailed)) {
		t.Errorf("JUnit: failing cases %v, want [%s]", failed, wantFailed)
	}
	if suites[0].Properties["status"] == "" || suites[0].Properties["setting_hash"] == "" {
		t.Errorf("JUnit: properties %v lack the status or the provenance", suites[0].Properties)
	}
	if len(failed) > 0 {
		return "fail"
	}
	return "pass"
}

// parseHTMLFile parses an HTML file with golang.org/x/net/html, as a
// browser's parser reads it (not with the writer's types).
func parseHTMLFile(t *testing.T, path string) *html.Node {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := html.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// htmlBanner parses the page and returns the text of the banner's verdict
// (header.banner p.verdict), as a reader sees it first.
func htmlBanner(t *testing.T, path string) string {
	t.Helper()
	doc := parseHTMLFile(t, path)
	var find func(n *html.Node, inBanner bool) string
	find = func(n *html.Node, inBanner bool) string {
		if n.Type == html.ElementNode {
			cls := attr(n, "class")
			inBanner = inBanner || (n.Data == "header" && strings.Contains(cls, "banner"))
			if inBanner && n.Data == "p" && cls == "verdict" && n.FirstChild != nil {
				return n.FirstChild.Data
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if s := find(c, inBanner); s != "" {
				return s
			}
		}
		return ""
	}
	return find(doc, false)
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// headlineAfter returns the first non-empty line after the title line
// (the line starting with title), stripped of Markdown emphasis.
func headlineAfter(t *testing.T, path, title string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	seen := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case !seen:
			seen = strings.HasPrefix(line, title)
		case line != "":
			return strings.TrimLeft(line, "*")
		}
	}
	return ""
}

// headlineIn returns the headline the terminal got (the text report's second line).
func headlineIn(stdout string) string {
	lines := strings.Split(stdout, "\n")
	if len(lines) < 2 {
		return ""
	}
	return lines[1]
}

// assertStatus runs judgetest.AssertReport on a recording testing.TB, on
// the report AssertClaims builds: the results, or for an error the error
// report.
func assertStatus(c outcomeCase, s theory.Setting) string {
	rec := &recordingTB{}
	rep := &judge.Report{Results: c.results, Controls: c.controls, Falsify: c.falsify}
	if c.err != nil {
		rep = judge.ErrorReport(s, c.err)
	}
	judgetest.AssertReport(rec, rep)
	if rec.errors > 0 {
		return "fail"
	}
	return "pass"
}

// recordingTB counts a test's errors instead of failing the test.
type recordingTB struct {
	testing.TB
	errors int
}

func (r *recordingTB) Helper()                       {}
func (r *recordingTB) Errorf(string, ...any)         { r.errors++ }
func (r *recordingTB) Fatalf(string, ...any)         { r.errors++ }
func (r *recordingTB) Logf(format string, a ...any)  {}
func (r *recordingTB) Log(a ...any)                  {}
func (r *recordingTB) Error(a ...any)                { r.errors++ }
func (r *recordingTB) Fatal(a ...any)                { r.errors++ }
func (r *recordingTB) Skipf(format string, a ...any) {}

// TestSweepOutcome: a one-point sweep whose point has each of the five
// outcomes, under each --fail-on policy: the exit status, the JSON's
// status and the text and CSV total lines agree.
func TestSweepOutcome(t *testing.T) {
	s, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	defer func(f func(theory.Setting, judge.Options) (*judge.Report, error)) { checkFunc = f }(checkFunc)
	for _, c := range outcomeCases() {
		checkFunc = func(theory.Setting, judge.Options) (*judge.Report, error) {
			if c.err != nil {
				return nil, c.err
			}
			return &judge.Report{Format: judge.ReportFormat, Setting: s, Results: c.results, Summary: map[string]int{}}, nil
		}
		if c.controls != nil || c.falsify != nil {
			continue // sweeps run no controls and no falsify searches
		}
		unmetOnly := c.name == "required not asserted"
		for _, on := range judge.FailOnPolicies {
			want := c.exit
			if on == judge.FailOnNever || (on == judge.FailOnFails && unmetOnly) {
				want = 0
			}
			dir := t.TempDir()
			base := []string{"sweep", "--preset", "grid4", "--vary", "gamma=0.5", "--progress", "never", "--fail-on", string(on)}
			status, _, stderr := runCLI(t, append(base, "--out", filepath.Join(dir, "s.json"))...)
			if status != want {
				t.Errorf("%s, --fail-on %s: exit %d, want %d\n%s", c.name, on, status, want, stderr)
			}
			var doc struct {
				Status string
				Total  struct{ Points, Errors, Failing int }
			}
			data, _ := os.ReadFile(filepath.Join(dir, "s.json"))
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			if (doc.Status == "holds") != (want == 0) || doc.Total.Points != 1 || (doc.Total.Failing == 1) != (c.exit == 1) {
				t.Errorf("%s, --fail-on %s: JSON status %q, total %+v, exit %d", c.name, on, doc.Status, doc.Total, want)
			}
			_, text, _ := runCLI(t, base...)
			word := map[bool]string{true: "HOLDS (--fail-on", false: "FAILS (--fail-on"}[want == 0]
			if !strings.Contains(text, "total: 1 points") || !strings.Contains(text, word) {
				t.Errorf("%s, --fail-on %s: the text's total line lacks %q:\n%s", c.name, on, word, text)
			}
		}
	}
}

// A real failing check — the exact engine with its own-area FP gradient
// flipped, so C1 and the trajectory claims fail — written in every format
// at once: the exit status, the JSON's status, the JUnit file read by an
// independent reader, the HTML banner and the text headline all say it
// fails, and JUnit fails the very claims the JSON lists as failing.
func TestRealFailingCheckEveryChannel(t *testing.T) {
	defer func(f func(theory.Setting, judge.Options) (*judge.Report, error)) { checkFunc = f }(checkFunc)
	checkFunc = func(s theory.Setting, opt judge.Options) (*judge.Report, error) {
		opt.Engines = map[engine.ID]engine.Engine{engine.Exact: flippedExact{}}
		return judge.Check(s, opt)
	}
	dir := t.TempDir()
	out := func(ext string) string { return filepath.Join(dir, "r"+ext) }
	status, stdout, stderr := runCLI(t, append([]string{"check", "--claims", "C1,C3",
		"--out", out(".json"), "--out", out(".xml"), "--out", out(".html"), "--out", out(".txt")}, quick...)...)
	if status != 1 {
		t.Fatalf("exit status %d, want 1\n%s%s", status, stdout, stderr)
	}
	if got := jsonStatus(t, out(".json")); got != string(judge.StatusFails) {
		t.Errorf("JSON status %q", got)
	}
	var doc struct{ Reasons []judge.Reason }
	data, _ := os.ReadFile(out(".json"))
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var failing []string
	for _, r := range doc.Reasons {
		if r.Kind == judge.ReasonFails {
			failing = append(failing, r.Claim)
		}
	}
	suites, err := junit.IngestFile(out(".xml"))
	if err != nil || len(suites) != 1 {
		t.Fatalf("JUnit: %v", err)
	}
	var failed []string
	for _, tc := range suites[0].Tests {
		if tc.Status == junit.StatusFailed || tc.Status == junit.StatusError {
			failed = append(failed, strings.Fields(tc.Name)[0])
		}
	}
	if len(failing) == 0 || strings.Join(failed, ",") != strings.Join(failing, ",") {
		t.Errorf("JUnit fails %v, the JSON's reasons name %v", failed, failing)
	}
	for ch, got := range map[string]string{"html": htmlBanner(t, out(".html")), "text": headlineAfter(t, out(".txt"), "mimverify check"), "stdout": headlineIn(stdout)} {
		if !strings.HasPrefix(got, "FAILS") {
			t.Errorf("%s headline %q", ch, got)
		}
	}
}

// With --out - the report is standard output's only content: a program
// reading it gets one JSON document, the notes go to stderr.
func TestReportOnStdoutIsOnlyTheReport(t *testing.T) {
	for _, args := range [][]string{
		append([]string{"check", "--claims", "C2", "--format", "json", "--out", "-"}, quick...),
		{"sweep", "--preset", "grid4", "--vary", "gamma=0.5", "--claims", "C2", "--samples", "16", "--eval", "16", "--format", "json", "--out", "-", "--progress", "never"},
	} {
		// A process of its own: --out - is the process's standard output.
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), "MIMVERIFY_AS_CLI=1")
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		err := cmd.Run()
		status, stdout, stderr := cmd.ProcessState.ExitCode(), so.String(), se.String()
		if err != nil && status < 0 {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(stdout), &doc); status != 0 || err != nil || doc["status"] != "holds" {
			t.Errorf("%s --out -: status %d, stdout is not one JSON report (%v):\n%s\nstderr: %s", args[0], status, err, stdout, stderr)
		}
	}
}
