package report

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The HTML pages as their consumer reads them: loaded in headless Chromium,
// which runs a probe (probeScript) that records console errors, broken
// images, text overflowing its box and figure text drawn smaller than
// minTextPx, and writes its findings into the DOM; --dump-dom hands the
// DOM back. Skipped, with the reason, where Chromium is not installed.
//
// MIMVERIFY_PAGES=DIR also loads every *.html file in DIR (make
// screenshots sets it to the real check and sweep pages it renders).

// minTextPx is the smallest height, in CSS pixels, of a figure's text line
// the page may show: 9 pt tick labels drawn at their natural size are
// 12 px; 8 px is where they stop being readable (issue 22: a two-column
// layout shrank phase-diagram labels to about 5 px).
const minTextPx = 8

// probeScript goes first in <head>: its error listener is registered (in
// the capture phase, where resource errors arrive) before anything loads.
const probeScript = `<script>
(function(){
  var found = [];
  window.addEventListener('error', function(e){
    var t = e.target;
    if (t && t !== window && t.tagName) { found.push('resource failed to load: <' + t.tagName.toLowerCase() + '> ' + (t.src || t.href || '')); }
    else { found.push('script error: ' + e.message); }
  }, true);
  var cerr = console.error;
  console.error = function(){ found.push('console error: ' + Array.prototype.join.call(arguments, ' ')); cerr.apply(console, arguments); };
  window.addEventListener('load', function(){
    var vw = document.documentElement.clientWidth;
    document.querySelectorAll('img').forEach(function(im){
      if (!im.complete || im.naturalWidth === 0) found.push('broken image: ' + (im.getAttribute('src') || '').slice(0, 80));
    });
    document.querySelectorAll('td, th, p, li, h1, h2, h3, figcaption, code').forEach(function(el){
      var cs = getComputedStyle(el);
      if (cs.overflowX !== 'visible' || el.closest('.scroll')) return;
      if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0) {
        found.push('text overflows its box: <' + el.tagName.toLowerCase() + '> "' + el.textContent.trim().slice(0, 60) + '" (' + el.scrollWidth + ' > ' + el.clientWidth + ' px)');
      }
    });
    document.querySelectorAll('figure').forEach(function(f){
      var r = f.getBoundingClientRect();
      if (r.right > vw + 1) found.push('figure wider than the page: ' + Math.round(r.right) + ' > ' + vw + ' px');
    });
    var small = 0, example = '';
    document.querySelectorAll('figure svg text').forEach(function(t){
      if (!t.textContent.trim()) return;
      var h = t.getBoundingClientRect().height;
      if (h > 0 && h < ` + "MINPX" + `) { small++; if (!example) example = '"' + t.textContent.trim().slice(0, 30) + '" ' + h.toFixed(1) + ' px'; }
    });
    if (small) found.push(small + ' figure texts drawn smaller than ` + "MINPX" + ` px, e.g. ' + example);
    var pre = document.createElement('pre');
    pre.id = 'mimverify-probe';
    pre.textContent = JSON.stringify({done: true, findings: found});
    document.body.appendChild(pre);
  });
})();
</script>`

// chromium returns the path of a Chromium binary, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("headless Chromium not found (Debian: apt-get install chromium): the pages are not checked in a browser")
	return ""
}

var probeOut = regexp.MustCompile(`(?s)<pre id="mimverify-probe">(.*?)</pre>`)

// probePage loads page in Chromium, at a 1280 px wide window, with the
// probe, and returns its findings.
func probePage(t *testing.T, bin, page string) []string {
	t.Helper()
	dir := t.TempDir()
	probe := strings.ReplaceAll(probeScript, "MINPX", strconv.Itoa(minTextPx))
	i := strings.Index(page, "<head>")
	if i < 0 {
		t.Fatal("page has no <head>")
	}
	i += len("<head>")
	path := filepath.Join(dir, "page.html")
	if err := os.WriteFile(path, []byte(page[:i]+probe+page[i:]), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--window-size=1280,900",
		"--dump-dom", "file://"+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	m := probeOut.FindSubmatch(out)
	if m == nil {
		t.Fatalf("the probe wrote no findings (the page did not finish loading?); chromium said:\n%s", stderr.String())
	}
	var res struct {
		Done     bool
		Findings []string
	}
	// The DOM dump escapes the JSON's text as HTML.
	js := strings.NewReplacer("&quot;", `"`, "&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(string(m[1]))
	if err := json.Unmarshal([]byte(js), &res); err != nil || !res.Done {
		t.Fatalf("probe output %q: %v", js, err)
	}
	return res.Findings
}

// TestPagesInBrowser loads the check, sweep and falsify pages of the fixtures (and
// those in MIMVERIFY_PAGES) in Chromium and fails on any finding.
func TestPagesInBrowser(t *testing.T) {
	bin := chromium(t)
	pages := map[string]string{
		"check fixture": render(t, sampleReport(t), "html"),
	}
	var sw bytes.Buffer
	if err := WriteSweep(&sw, sampleSweep(t), "html"); err != nil {
		t.Fatal(err)
	}
	pages["sweep fixture"] = sw.String()
	var fz bytes.Buffer
	if err := WriteFalsify(&fz, falsifyFixture(t), "html", nil); err != nil {
		t.Fatal(err)
	}
	pages["falsify fixture"] = fz.String()
	if dir := os.Getenv("MIMVERIFY_PAGES"); dir != "" {
		files, err := filepath.Glob(filepath.Join(dir, "*.html"))
		if err != nil || len(files) == 0 {
			t.Fatalf("MIMVERIFY_PAGES=%s: no *.html files (%v)", dir, err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			pages[f] = string(b)
		}
	}
	for name, page := range pages {
		t.Run(filepath.Base(name), func(t *testing.T) {
			t.Parallel() // Chromium's start-up dominates: a few seconds each
			for _, f := range probePage(t, bin, page) {
				t.Errorf("%s: %s", name, f)
			}
		})
	}
}

// TestProbeCatchesFaults shows the probe can fail: a broken image, a
// console error, a cell whose text cannot wrap and a figure scaled down
// until its text is 4 px high are each reported.
func TestProbeCatchesFaults(t *testing.T) {
	t.Parallel()
	bin := chromium(t)
	page := `<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<img src="missing.png" alt="x">
<script>console.error("boom")</script>
<table style="width:200px;table-layout:fixed"><tr><td style="width:60px">` + strings.Repeat("x", 80) + `</td></tr></table>
<figure style="width:100px"><svg viewBox="0 0 1000 100" width="100"><text x="0" y="50" font-size="40">tiny label</text></svg></figure>
</body></html>`
	got := strings.Join(probePage(t, bin, page), "\n")
	for _, want := range []string{"broken image", "console error: boom", "text overflows its box", "smaller than " + strconv.Itoa(minTextPx) + " px"} {
		if !strings.Contains(got, want) {
			t.Errorf("the probe missed %q; it found:\n%s", want, got)
		}
	}
}
