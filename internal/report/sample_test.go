package report

import (
	"os"
	"testing"
)

// TestWriteSample writes the sample report's HTML to the file named by
// $REPORT_SAMPLE, for looking at it in a browser.
func TestWriteSample(t *testing.T) {
	path := os.Getenv("REPORT_SAMPLE")
	if path == "" {
		t.Skip("set REPORT_SAMPLE=/tmp/report-sample.html to write the sample page")
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Write(f, sampleReport(t), "html"); err != nil {
		t.Fatal(err)
	}
}
