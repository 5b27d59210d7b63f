package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// TestReportsPrintFormulasAsLaTeX: a claim's prediction and its regime
// predicates are written as LaTeX in JSON (latex fields), as $…$ in the
// Markdown report (table and details) and as the LaTeX source in the HTML
// report's code.tex elements, each read as its consumer reads it. The
// expected LaTeX is the claims file's formula written by hand in TeX.
func TestReportsPrintFormulasAsLaTeX(t *testing.T) {
	const (
		wantFormula   = `\text{prediction} = 1 - \gamma`
		wantPredicate = `\gamma \ge 0.9`
	)
	claims := writeClaims(t, threeClaims)
	dir := t.TempDir()
	js, md, page := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.md"), filepath.Join(dir, "r.html")
	args := append([]string{"check", "--claims", "C3", "--claims-file", claims, "--sharp=false", "--controls=false",
		"--out", js, "--out", md, "--out", page}, quick...)
	if status, _, errs := runCLI(t, args...); status != 1 {
		t.Fatalf("status %d (%s), want 1: F1 fails", status, errs)
	}

	var rep struct {
		Results []struct {
			ID     string `json:"id"`
			LaTeX  string `json:"latex"`
			Regime []struct {
				LaTeX string `json:"latex"`
			} `json:"regime"`
		} `json:"results"`
	}
	data, _ := os.ReadFile(js)
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rep.Results {
		if r.LaTeX == "" {
			t.Errorf("JSON: %s has no latex", r.ID)
		}
		if r.ID == "X1" {
			found = true
			if r.LaTeX != wantFormula || len(r.Regime) != 1 || r.Regime[0].LaTeX != wantPredicate {
				t.Errorf("JSON X1: latex %q, regime %+v; want %q and %q", r.LaTeX, r.Regime, wantFormula, wantPredicate)
			}
		}
	}
	if !found {
		t.Fatal("JSON: no X1")
	}

	data, _ = os.ReadFile(md)
	text := string(data)
	row := ""
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "| X1 |") {
			row = l
		}
	}
	if cells := strings.Split(row, " | "); len(cells) < 5 || cells[4] != "$"+wantFormula+"$" {
		t.Errorf("Markdown X1 row %q: formula cell is not $%s$", row, wantFormula)
	}
	if !strings.Contains(text, "$"+wantPredicate+"$: 0.5 ≥ 0.9 is false") {
		t.Errorf("Markdown: X1's regime is not written $%s$ with its evaluated sides", wantPredicate)
	}

	doc := parseHTMLFile(t, page)
	var tex []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "code" && attr(n, "class") == "tex" && n.FirstChild != nil {
			tex = append(tex, n.FirstChild.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	joined := strings.Join(tex, "\n")
	if !strings.Contains(joined, wantFormula) || !strings.Contains(joined, wantPredicate) {
		t.Errorf("HTML code.tex elements %q lack %q or %q", tex, wantFormula, wantPredicate)
	}
}
