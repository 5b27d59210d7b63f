package report

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mimverify/judge"
	"mimverify/theory"
)

// falsifyFixture is a falsify report with one claim falsified and one not.
func falsifyFixture(t *testing.T) *judge.FalsifyReport {
	t.Helper()
	base, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := judge.DefaultSearchSpace(base)
	if err != nil {
		t.Fatal(err)
	}
	cand := func(g, eta float64) judge.Candidate {
		return judge.Candidate{Layout: 1, ZKind: theory.ZConstant, Values: []judge.Float{judge.Float(g), judge.Float(eta), 0.5, 1, 0.1, 0.1, 0}}
	}
	var trace []judge.Evaluation
	for i := range 12 {
		g, eta := 0.1+0.06*float64(i), math.Pow(10, float64(i%4)-1)
		trace = append(trace, judge.Evaluation{Candidate: cand(g, eta), Inside: i%5 != 0, Margin: judge.Float(0.8 - 2*g),
			Measured: judge.Float(g), Predicted: 0.5, Verdict: judge.Holds})
	}
	found := trace[10]
	cx := &judge.Counterexample{Candidate: found.Candidate, Described: sp.Describe(found.Candidate), Setting: base,
		Epsilon: 0.1, Delta: 0.1, Found: "as found", Shrunk: []string{"gamma 0.7 → 0.7"},
		Result: judge.ClaimResult{ID: "C4", Verdict: judge.Fails, Measured: 0.4, Predicted: 0.5, Detail: "share 0.4"}}
	return &judge.FalsifyReport{Format: judge.FalsifyFormat, Setting: base, Status: judge.StatusFails, Budget: 12, Seed: 1, Space: sp,
		MaxSteps: 5000, Samples: 256, CheckSeed: 1, Results: []judge.FalsifyResult{
			{Claim: "C4", Formula: "FP majority = 0.5", Relation: "≥", Found: true, Counterexample: cx, Tightest: &found,
				Engine: "orbit", Evaluations: 12, InRegime: 9, StartsInRegime: 0.75, Trace: trace},
			{Claim: "C2", Formula: "ℒ*(t) = …", Relation: "≤", Tightest: &trace[1], Engine: "orbit", Evaluations: 12, InRegime: 9, Trace: trace},
		}}
}

// Every format carries the one outcome: the headline of text and Markdown,
// the HTML banner's data-status, the JSON status read as a generic
// document; and the reproducing command names the claim and its ε, δ.
func TestFalsifyReportFormats(t *testing.T) {
	r := falsifyFixture(t)
	out := map[string]string{}
	for name := range FalsifyFormats {
		var buf bytes.Buffer
		if err := WriteFalsify(&buf, r, name, map[string]string{"C4": "falsify-C4.svg"}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = buf.String()
	}
	if !strings.HasPrefix(out["text"], "FAILS: a counterexample inside the regime for 1 of 2 claims") {
		t.Errorf("text headline: %q", strings.SplitN(out["text"], "\n", 2)[0])
	}
	if !strings.HasPrefix(out["markdown"], "# Falsify: FAILS") || !strings.Contains(out["markdown"], "](falsify-C4.svg)") {
		t.Errorf("markdown: headline or figure link missing:\n%s", out["markdown"])
	}
	if err := wellFormed(out["html"], false); err != nil {
		t.Errorf("html not well formed: %v", err)
	}
	if !strings.Contains(out["html"], `data-status="fails"`) || !strings.Contains(out["html"], `data-found="true"`) {
		t.Errorf("html: banner or claim status missing")
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out["json"]), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["status"] != "fails" || doc["format"] != judge.FalsifyFormat {
		t.Errorf("json: status %v format %v", doc["status"], doc["format"])
	}
	want := "mimverify check --config counterexample.yaml --claims C4 --epsilon 0.1 --delta 0.1 --seed 1 --samples 256 --max-steps 5000"
	if !strings.Contains(out["text"], want) {
		t.Errorf("text: reproducing command %q missing", want)
	}
	if err := WriteFalsify(&bytes.Buffer{}, r, "junit", nil); err == nil {
		t.Error("junit: accepted, though falsify has no JUnit writer")
	}
}

// The margin plot is a well-formed SVG drawn over the two fields that move
// the margin (γ drives the fixture's margin: it must be on an axis).
func TestFalsifyFigure(t *testing.T) {
	r := falsifyFixture(t)
	dir := t.TempDir()
	files, err := WriteFalsifyFigures(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, files["C4"]))
	if err != nil {
		t.Fatal(err)
	}
	if err := wellFormed(string(data), true); err != nil {
		t.Fatalf("svg: %v", err)
	}
	if a, b, ok := mostMoving(r.Space, &r.Results[0]); !ok || (r.Space.Dims[a].Field != "gamma" && r.Space.Dims[b].Field != "gamma") {
		t.Errorf("axes %d, %d: γ, which sets the margin, is not on one", a, b)
	}
}
