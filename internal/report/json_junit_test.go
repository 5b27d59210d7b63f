package report

import (
	"encoding/json"
	"encoding/xml"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"mimverify/judge"
)

func TestJSONRoundTrip(t *testing.T) {
	r := sampleReport(t)
	out := render(t, r, "json")
	if strings.Contains(out, "NaN") || strings.Contains(out, "Inf") {
		t.Errorf("JSON output contains a non-JSON number")
	}
	if !json.Valid([]byte(out)) {
		t.Fatal("output is not valid JSON")
	}
	// A plain decode into judge.Report works.
	var plain judge.Report
	if err := json.Unmarshal([]byte(out), &plain); err != nil {
		t.Fatalf("plain json.Unmarshal into judge.Report: %v", err)
	}
	// ReadJSON gives back the report, non-finite values as NaN.
	back, err := ReadJSON(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	want := sampleReport(t)
	want.Decide() // the JSON carries the outcome decided from the results
	for i, s := range want.Series {
		for k, y := range s.Y {
			if math.IsInf(float64(y), 0) {
				want.Series[i].Y[k] = judge.Float(math.NaN()) // the sign of ±Inf is not kept
			}
		}
	}
	if d := cmp.Diff(want, back, cmp.Comparer(func(a, b judge.Float) bool { return a == b || (math.IsNaN(float64(a)) && math.IsNaN(float64(b))) })); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}

	// Without non-finite values, the plain decode is exact too.
	fin := sampleReport(t)
	for i := range fin.Results {
		for _, x := range []*judge.Float{&fin.Results[i].Measured, &fin.Results[i].Predicted} {
			if !finite(*x) {
				*x = 1
			}
		}
	}
	for i, s := range fin.Series {
		for k, y := range s.Y {
			if !finite(y) {
				fin.Series[i].Y[k] = 0.5
			}
		}
	}
	for i := range fin.Events {
		if !finite(fin.Events[i].Time) {
			fin.Events[i].Time = -1
		}
	}
	var exact judge.Report
	if err := json.Unmarshal([]byte(render(t, fin, "json")), &exact); err != nil {
		t.Fatal(err)
	}
	fin.Decide()
	if d := cmp.Diff(fin, &exact); d != "" {
		t.Errorf("finite round trip (-want +got):\n%s", d)
	}

	if _, err := ReadJSON(strings.NewReader(out + "{}")); err == nil {
		t.Error("ReadJSON accepted trailing data")
	}
}

// TestSchemaNumbersAreFloat walks the report and sweep schemas: every
// number is a judge.Float, so that NaN and ±Inf are written as null by the
// schema itself, whichever field they are in.
func TestSchemaNumbersAreFloat(t *testing.T) {
	float := reflect.TypeFor[judge.Float]()
	seen := map[reflect.Type]bool{}
	var walk func(path string, ty reflect.Type)
	walk = func(path string, ty reflect.Type) {
		if seen[ty] {
			return
		}
		seen[ty] = true
		switch ty.Kind() {
		case reflect.Float32, reflect.Float64:
			if ty != float {
				t.Errorf("%s is a %v, not a judge.Float", path, ty)
			}
		case reflect.Slice, reflect.Array, reflect.Pointer:
			walk(path+"[]", ty.Elem())
		case reflect.Map:
			walk(path+"[key]", ty.Key())
			walk(path+"[value]", ty.Elem())
		case reflect.Struct:
			if ty.PkgPath() == "mimverify/theory" {
				return // the setting: validated finite on input
			}
			for i := 0; i < ty.NumField(); i++ {
				walk(path+"."+ty.Field(i).Name, ty.Field(i).Type)
			}
		}
	}
	walk("Report", reflect.TypeFor[judge.Report]())
	walk("Sweep", reflect.TypeFor[judge.Sweep]())
}

// junitDoc is the part of the JUnit schema the CI systems read.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuite"`
	Name     string   `xml:"name,attr"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Time     float64  `xml:"time,attr"`
	Cases    []struct {
		Classname string  `xml:"classname,attr"`
		Name      string  `xml:"name,attr"`
		Time      float64 `xml:"time,attr"`
		Failure   *struct {
			Message string `xml:"message,attr"`
			Text    string `xml:",chardata"`
		} `xml:"failure"`
		Skipped *struct {
			Message string `xml:"message,attr"`
		} `xml:"skipped"`
	} `xml:"testcase"`
}

func parseJUnit(t *testing.T, out string) junitDoc {
	t.Helper()
	var doc junitDoc
	dec := xml.NewDecoder(strings.NewReader(out))
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("JUnit output does not parse: %v\n%s", err, out)
	}
	return doc
}

func TestJUnit(t *testing.T) {
	r := sampleReport(t)
	out := render(t, r, "junit")
	if !strings.HasPrefix(out, "<?xml") {
		t.Error("no XML declaration")
	}
	doc := parseJUnit(t, out)
	if !strings.Contains(doc.Name, "grid4") || doc.Tests != 4 || doc.Failures != 1 || doc.Skipped != 1 || doc.Errors != 0 {
		t.Errorf("suite %q: tests %d failures %d skipped %d errors %d, want a name with grid4, 4 1 1 0",
			doc.Name, doc.Tests, doc.Failures, doc.Skipped, doc.Errors)
	}
	if doc.Time != 12.5 {
		t.Errorf("time = %g, want 12.5", doc.Time)
	}
	if len(doc.Cases) != len(r.Results) {
		t.Fatalf("%d test cases, want %d", len(doc.Cases), len(r.Results))
	}
	for i, c := range doc.Cases {
		claim := r.Results[i]
		if !strings.HasPrefix(c.Classname, "mimverify.grid4") {
			t.Errorf("case %d classname %q", i, c.Classname)
		}
		if c.Name != claim.ID+" "+claim.Title {
			t.Errorf("case %d name %q, want %q", i, c.Name, claim.ID+" "+claim.Title)
		}
		if (c.Failure != nil) != (claim.Verdict == judge.Fails) {
			t.Errorf("%s: failure element present = %v, verdict %s", claim.ID, c.Failure != nil, claim.Verdict)
		}
		if (c.Skipped != nil) != (claim.Verdict == judge.NotAsserted) {
			t.Errorf("%s: skipped element present = %v, verdict %s", claim.ID, c.Skipped != nil, claim.Verdict)
		}
	}
	if f := doc.Cases[1].Failure; f == nil || f.Message != "envelope: measured 0.31 > predicted 0.2" || !strings.Contains(f.Text, "stalls at 0.31") {
		t.Errorf("failure of C3 = %+v", f)
	}
	if s := doc.Cases[2].Skipped; s == nil || s.Message != "outside regime: (1 − γ)·C_min ≥ 4: 2 ≥ 4 is false" {
		t.Errorf("skipped of C5 = %+v", s)
	}
	if doc.Cases[3].Name != "C7 <script>alert(1)</script> & agreement" {
		t.Errorf("escaped name did not survive: %q", doc.Cases[3].Name)
	}
}

// TestJUnitHostileText puts characters XML cannot carry, and a CDATA end,
// into the free text.
func TestJUnitHostileText(t *testing.T) {
	r := sampleReport(t)
	r.Results[1].Detail = "bad \x00\x01\x1b bytes \xff and ]]> end"
	r.Results[1].Title = "quote \" and ' and \x07"
	doc := parseJUnit(t, render(t, r, "junit"))
	if f := doc.Cases[1].Failure; f == nil || !strings.Contains(f.Text, "]]> end") {
		t.Errorf("failure text = %+v", f)
	}
	if !strings.HasPrefix(doc.Cases[1].Name, `C3 quote " and '`) {
		t.Errorf("name = %q", doc.Cases[1].Name)
	}
}
