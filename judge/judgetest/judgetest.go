// Package judgetest asserts the paper's claims from a Go test, in the manner
// of net/http/httptest: a small helper over package judge that only tests
// import, so that the mimverify binary never links package testing.
package judgetest

import (
	"strings"
	"testing"

	"mimverify/judge"
	"mimverify/theory"
)

// AssertClaims runs judge.Check on the setting and reports every failing
// claim as a test error, with its measured and predicted values; claims
// outside their regime are logged. It is the Go API for users' own tests:
//
//	func TestMySetting(t *testing.T) {
//		s, _ := theory.Grid(6, theory.Blocks(3), theory.Rows(2))
//		judgetest.AssertClaims(t, s, judge.Options{Claims: []string{"C2", "C3"}})
//	}
func AssertClaims(t testing.TB, s theory.Setting, opt judge.Options) *judge.Report {
	t.Helper()
	rep, err := judge.Check(s, opt)
	if err != nil {
		// The same report the CLI writes for a check an error stopped:
		// its outcome is an error, which AssertReport reports.
		rep = judge.ErrorReport(s, err)
	}
	AssertReport(t, rep)
	return rep
}

// AssertReport reports a check report's outcome (judge.Report.Outcome) as a
// test's result: each reason it fails (an asserted claim that fails, a
// required claim not asserted, a claim without a verdict, an error) is a
// test error; claims outside their regime that were not required are
// logged. It is the same outcome the CLI's exit status, headline and JUnit
// file report.
func AssertReport(t testing.TB, rep *judge.Report) {
	t.Helper()
	o := rep.Outcome()
	for _, rs := range o.Reasons {
		t.Errorf("mimverify check %s: %s", o.Status, rs.Text)
	}
	for _, r := range rep.Results {
		if r.Verdict == judge.NotAsserted && !r.Required {
			t.Logf("%s (%s) not asserted: %s", r.ID, r.Title, strings.TrimSpace(r.Detail))
		}
	}
}
