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
		t.Fatalf("mimverify check: %v", err)
		return nil
	}
	for _, r := range rep.Results {
		switch r.Verdict {
		case judge.Fails:
			t.Errorf("%s (%s) fails: measured %.4g, predicted %s %.4g (%s). %s", r.ID, r.Title, float64(r.Measured), r.Relation, float64(r.Predicted), r.Formula, r.Detail)
		case judge.NotAsserted:
			t.Logf("%s (%s) not asserted: %s", r.ID, r.Title, strings.TrimSpace(r.Detail))
		}
	}
	return rep
}
