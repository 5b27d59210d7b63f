package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mimverify/dynamics"
	"mimverify/engine"
	"mimverify/judge"
	"mimverify/theory"
)

// Fast options: grid4 with small sample sets.
var quick = []string{"--preset", "grid4", "--samples", "64", "--eval", "64", "--progress", "never"}

func TestCheckWritesEveryFormat(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ file, check string }{
		{"r.xml", "junit"}, {"r.json", "json"}, {"r.html", "html"}, {"r.md", "markdown"}, {"r.txt", "text"},
	} {
		path := filepath.Join(dir, c.file)
		status, out, errs := runCLI(t, append([]string{"check", "--claims", "C2,C3", "--out", path}, quick...)...)
		if status != 0 {
			t.Fatalf("%s: status %d: %s%s", c.file, status, out, errs)
		}
		if !strings.Contains(out, "C3") || !strings.Contains(out, "written to "+path) {
			t.Errorf("%s: stdout lacks the verdict table or the file note: %q", c.file, out)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		switch c.check {
		case "junit":
			var suite struct {
				Tests int `xml:"tests,attr"`
				Cases []struct {
					Name string `xml:"name,attr"`
				} `xml:"testcase"`
			}
			err := xml.Unmarshal(data, &suite)
			claims := 0
			for _, c := range suite.Cases {
				if !strings.HasPrefix(c.Name, "control: ") {
					claims++
				}
			}
			if err != nil || suite.Tests != len(suite.Cases) || claims != 2 {
				t.Errorf("junit: %v, %d tests, %d cases of which %d claims; want one per claim (2) and one per control", err, suite.Tests, len(suite.Cases), claims)
			}
		case "json":
			var r judge.Report
			if err := json.Unmarshal(data, &r); err != nil || len(r.Results) != 2 || r.Results[0].ID != "C2" {
				t.Errorf("json: %v, results %+v", err, r.Results)
			}
		case "html":
			if !strings.Contains(string(data), "<svg") || !strings.Contains(string(data), "C3") {
				t.Error("html: no figure or no claim")
			}
		case "markdown":
			if !strings.Contains(string(data), "| C3") {
				t.Error("markdown: no C3 row")
			}
		}
	}
}

func TestCheckBadInputExitsTwo(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.json")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "pdf"}, "--format"},
		{[]string{"--claims", "C9"}, "C9"},
		{[]string{"--epsilon", "0.7"}, "epsilon"},
		{[]string{"--delta", "0"}, "delta"},
		{[]string{"--max-steps", "0"}, "--max-steps"},
		{[]string{"--preset", "nope"}, "unknown preset"},
		{[]string{"--mde", "--controls=false"}, "--mde with --controls=false"},
		{[]string{"--power", "0"}, "--power = 0: must be in [1, 64]"},
		{[]string{"--power", "65"}, "--power = 65: must be in [1, 64]"},
		{[]string{"--samples", "0"}, "--samples = 0"},
		{[]string{"--eval", "0"}, "--eval = 0"},
	} {
		status, _, errs := runCLI(t, append(append([]string{"check", "--out", out}, quick...), c.args...)...)
		if status != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: status %d, stderr %q; want 2 naming %q", c.args, status, errs, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v: a report was written despite bad input", c.args)
		}
	}
}

// flipped is an objective with a sign error in its FP gradient: the CLI
// must exit 1 and name the failing claims.
type flipped struct{ dynamics.Objective }

// flippedExact is the exact engine on the flipped objective.
type flippedExact struct{}

func (flippedExact) ID() engine.ID { return engine.Exact }

func (flippedExact) Run(p engine.Problem, sch engine.Schedule, obs engine.Observer) (theory.Trajectory, error) {
	o, err := dynamics.NewSampleObjective(p.Setting, p.Samples)
	if err != nil {
		return theory.Trajectory{}, err
	}
	return dynamics.Descent{Name: engine.Exact, Objective: flipped{o}}.Run(p, sch, obs)
}

func (f flipped) LossGrad(c, g theory.Correlations) (float64, float64) {
	l, se := f.Objective.LossGrad(c, g)
	for _, ak := range g.A {
		for _, row := range ak {
			for j := range row {
				row[j] = -row[j]
			}
		}
	}
	return l, se
}

func TestCheckExitsOneWhenAClaimFails(t *testing.T) {
	defer func(f func(theory.Setting, judge.Options) (*judge.Report, error)) { checkFunc = f }(checkFunc)
	checkFunc = func(s theory.Setting, opt judge.Options) (*judge.Report, error) {
		opt.Engines = map[engine.ID]engine.Engine{engine.Exact: flippedExact{}}
		return judge.Check(s, opt)
	}
	status, out, _ := runCLI(t, append([]string{"check", "--claims", "C1,C3"}, quick...)...)
	if status != 1 || !strings.Contains(out, "FAILS") {
		t.Fatalf("status %d, output %q; want 1 and FAILS", status, out)
	}
}

func TestSweep(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sweep.json")
	status, _, errs := runCLI(t, "sweep", "--preset", "grid4", "--vary", "gamma=0.5,0.95", "--vary", "keys=unmasked,all",
		"--claims", "C3,C6", "--samples", "32", "--eval", "32", "--max-steps", "400", "--format", "json", "--out", path, "--progress", "never")
	if status != 0 {
		t.Fatalf("sweep: status %d: %s", status, errs)
	}
	data, _ := os.ReadFile(path)
	var out struct {
		Format string `json:"format"`
		Points []struct {
			Values  map[string]string `json:"values"`
			Results []struct {
				ID      string `json:"id"`
				Verdict string `json:"verdict"`
			} `json:"results"`
		} `json:"points"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if out.Format != judge.SweepFormat || len(out.Points) != 4 {
		t.Fatalf("format %q with %d points, want 4 (2 × 2)", out.Format, len(out.Points))
	}
	for _, p := range out.Points {
		if len(p.Results) != 2 {
			t.Fatalf("point %v has %d results, want C3 and C6", p.Values, len(p.Results))
		}
		// γ = 0.95 leaves the smallest areas (4 cells) 0.2 unmasked patches
		// on average: outside the rate regime, so C3 is not asserted.
		if p.Values["gamma"] == "0.95" && p.Results[0].Verdict != "not asserted" {
			t.Errorf("γ = 0.95: C3 is %q, want not asserted", p.Results[0].Verdict)
		}
		if p.Results[1].Verdict != "not asserted" {
			t.Errorf("C6 on grid4 (two clusters) is %q, want not asserted", p.Results[1].Verdict)
		}
	}
	for _, bad := range [][]string{{"--vary", "colour=red"}, {"--vary", "gamma"}, {"--vary", "gamma=1.5"}, {},
		// Values the judge would read as "the default", fractions of integers,
		// an axis given twice, a value given twice: refused, never run.
		{"--vary", "samples=0"}, {"--vary", "samples=1.5"}, {"--vary", "epsilon=0"}, {"--vary", "delta=0"},
		{"--vary", "gamma=0.3,0.4", "--vary", "gamma=0.6"}, {"--vary", "gamma=0.3,0.3"}, {"--vary", "seed=-1"}} {
		status, _, errs := runCLI(t, append([]string{"sweep", "--preset", "grid4"}, bad...)...)
		if status != 2 {
			t.Errorf("sweep %v: status %d (%s), want 2", bad, status, errs)
		}
	}
}

// "Not asserted" is a result, not a pass: a required claim outside its
// regime fails the check (exit 1), whether required by --require or by the
// preset; a claim the preset does not require may stay not asserted.
func TestRequiredClaimNotAssertedFails(t *testing.T) {
	cases := []struct {
		args   []string
		status int
		want   string
	}{
		{[]string{"--claims", "C3,C6", "--require", "C6"}, 1, "required but not asserted: C6"},
		{[]string{"--claims", "C3,C6", "--controls=false"}, 0, "HOLDS"},                       // grid4 does not require C6 (no global area)
		{[]string{"--claims", "C3,C6"}, 1, "the judge lacks power"},                           // C3's band alone cannot tell η from 1.3·η at n = 64
		{[]string{"--claims", "C3", "--max-steps", "50"}, 1, "required but not asserted: C3"}, // T* beyond the budget
		{[]string{"--claims", "C3", "--require", "C5"}, 2, "must be among the selected claims"},
		{[]string{"--require", "C9"}, 2, "C9"},
	}
	for _, c := range cases {
		status, out, errs := runCLI(t, append(append([]string{"check"}, c.args...), quick...)...)
		if status != c.status || !strings.Contains(out+errs, c.want) {
			t.Errorf("%v: status %d, output %q %q; want %d and %q", c.args, status, out, errs, c.status, c.want)
		}
	}
}

// check --sharp=false judges the envelopes alone and says so per claim;
// the default makes the sharp predictions.
func TestCheckSharpFlag(t *testing.T) {
	status, out, errs := runCLI(t, "check", "--preset", "global-local", "--claims", "C2", "--sharp=false", "--progress", "never")
	if status != 0 || !strings.Contains(out, "not computed (check --sharp=false") {
		t.Errorf("--sharp=false: status %d, output:\n%s%s", status, out, errs)
	}
	status, out, errs = runCLI(t, "check", "--preset", "global-local", "--claims", "C2", "--progress", "never")
	if status != 0 || !strings.Contains(out, "reduced ODE (orbit, enumerate) predicts") {
		t.Errorf("default: status %d, output:\n%s%s", status, out, errs)
	}
}

// TestCheckPower: --power K without --samples (--eval) trains on (holds
// out) 256·K images — C1 alone on the first 256 — says
// so in every channel that reports the run (text header, JSON, JUnit
// property), and gives the reduced run K times the default CRN draws;
// --samples still wins.
func TestCheckPower(t *testing.T) {
	dir := t.TempDir()
	js, xm := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.xml")
	base := []string{"check", "--preset", "default", "--claims", "C1,C2", "--controls=false", "--max-steps", "40", "--progress", "never"}
	status, out, errs := runCLI(t, append(base, "--power", "2", "--out", js, "--out", xm)...)
	if status != 0 {
		t.Fatalf("status %d: %s%s", status, out, errs)
	}
	if !strings.Contains(out, "; power 2 (512 samples)") {
		t.Errorf("the text header does not give the power:\n%s", out)
	}
	var r judge.Report
	data, err := os.ReadFile(js)
	if err == nil {
		err = json.Unmarshal(data, &r)
	}
	if err != nil || r.Run.Power != 2 || r.Run.Samples != 512 || r.Run.Eval != 512 {
		t.Errorf("json: %v, power %d, samples %d, held-out %d; want 2, 512 and 512", err, r.Run.Power, r.Run.Samples, r.Run.Eval)
	}
	if sh := r.Results[1].Sharp; sh == nil || !strings.Contains(sh.Mode, fmt.Sprintf("%d draws", 2*dynamics.DefaultCRNSamples)) {
		t.Errorf("the reduced run's mode %+v; want CRN at twice the default draws", sh)
	}
	// C1, an identity with no band, stays on the first 256 images.
	if c1 := r.Results[0]; c1.ID != "C1" || !strings.Contains(c1.Detail, "on the first 256 training images") {
		t.Errorf("C1 at power 2: %s %q; want it on the first 256 images", c1.ID, c1.Detail)
	}
	xmlData, _ := os.ReadFile(xm)
	if !strings.Contains(string(xmlData), `<property name="power" value="2">`) {
		t.Errorf("junit lacks the power property:\n%s", xmlData)
	}
	status, out, errs = runCLI(t, append(base, "--power", "2", "--samples", "64", "--format", "json")...)
	if err := json.Unmarshal([]byte(out), &r); status != 0 || err != nil || r.Run.Samples != 64 || r.Run.Power != 2 {
		t.Errorf("--samples 64 --power 2: status %d, %v, samples %d power %d; want 64 and 2 %s", status, err, r.Run.Samples, r.Run.Power, errs)
	}
}

// TestFormatFor: --format wins; else the --out extension (any case) picks
// from the command's table; else the default; and a format outside the
// command's list is bad input whichever way it was chosen.
func TestFormatFor(t *testing.T) {
	reduceExt := map[string]string{".md": "markdown", ".markdown": "markdown", ".json": "json", ".txt": "text"}
	for _, c := range []struct {
		format, out, want string
		sweep             bool
	}{
		{"", "", "text", false},
		{"", "r.HTML", "html", false},
		{"json", "r.html", "json", false},
		{"", "r.csv", "", false}, // csv writes sweeps only
		{"", "s.csv", "csv", true},
		{"", "s.html", "html", true},
		{"", "r.pdf", "", false}, // unknown extension
		{"", "t.csv.tmp", "", true},
		{"junit", "", "", true},
	} {
		got, err := outputFormat(c.format, c.out, c.sweep)
		if got != c.want || (err != nil) != (c.want == "") {
			t.Errorf("outputFormat(%q, %q, sweep %v) = %q, %v; want %q", c.format, c.out, c.sweep, got, err, c.want)
		}
	}
	for _, c := range []struct{ format, out, want string }{
		{"", "r.Markdown", "markdown"}, {"", "r.JSON", "json"}, {"", "r.txt", "text"}, {"", "", "text"},
		{"text", "r.md", "text"}, {"xml", "", ""},
		{"", "r.pdf", ""},         // an unknown extension is an error, not text
		{"json", "r.pdf", "json"}, // unless --format says what to write
		{"", "report", "text"},    // no extension: the default
	} {
		got, err := formatFor(c.format, c.out, "text", reduceExt, "text", "markdown", "json")
		if got != c.want || (err != nil) != (c.want == "") {
			t.Errorf("formatFor(%q, %q) = %q, %v; want %q", c.format, c.out, got, err, c.want)
		}
	}
}
