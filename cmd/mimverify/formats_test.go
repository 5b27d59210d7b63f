package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// documentedKeys returns the top-level keys of the first JSON example after
// a heading of docs/FORMATS.md.
func documentedKeys(t *testing.T, heading string) []string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "FORMATS.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	i := strings.Index(text, heading)
	if i < 0 {
		t.Fatalf("docs/FORMATS.md has no heading %q", heading)
	}
	block := text[i:]
	block = block[strings.Index(block, "```json")+len("```json"):]
	block = block[:strings.Index(block, "```")]
	var keys []string
	for _, m := range regexp.MustCompile(`(?m)^  "([a-z_]+)":`).FindAllStringSubmatch(block, -1) {
		keys = append(keys, m[1])
	}
	return keys
}

// TestRunOutputMatchesFormatsDoc writes a trajectory and checks that its
// top-level keys are exactly those docs/FORMATS.md documents, in order, and
// that each record is written once.
func TestRunOutputMatchesFormatsDoc(t *testing.T) {
	want := documentedKeys(t, "## Run output")
	path := filepath.Join(t.TempDir(), "t.json")
	if status, _, errs := runCLI(t, "run", "--preset", "grid4", "--engine", "exact", "--steps", "4", "--record-every", "2",
		"--samples", "8", "--out", path, "--progress", "never"); status != 0 {
		t.Fatal(errs)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %v %v", tok, err)
	}
	var got []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("top-level keys %v, docs/FORMATS.md documents %v", got, want)
	}
	if n := strings.Count(string(data), `"step":`); n != 3 {
		t.Errorf("%d records written (\"step\" keys), want 3: steps 0, 2, 4, each once", n)
	}
}
