package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"mimverify/judge"
)

// The JUnit XML schema as Jenkins and GitLab read it: a testsuite with
// counts, one testcase per claim, a failure or skipped child when the claim
// fails or is not asserted.

type junitSuite struct {
	XMLName    xml.Name        `xml:"testsuite"`
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Error     *junitFailure `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

type junitText struct {
	Text string `xml:",cdata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// xmlSafe drops the characters XML 1.0 cannot carry (control characters
// other than tab, newline and carriage return, invalid UTF-8); encoding/xml
// would otherwise replace them silently or, for a few, write a document
// parsers reject.
func xmlSafe(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return !xmlChar(r) }) && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || !xmlChar(r) {
			b.WriteRune('\uFFFD')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func xmlChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

func init() {
	register(Format{Name: "junit", Extensions: []string{".xml"}, Check: writeJUnit})
}

// writeJUnit writes the report as JUnit XML.
func writeJUnit(w io.Writer, r *judge.Report) error {
	secs := "0"
	if finite(r.Run.Seconds) && r.Run.Seconds > 0 {
		secs = strconv.FormatFloat(float64(r.Run.Seconds), 'f', 3, 64)
	}
	s := junitSuite{Name: "mimverify", Time: secs, Tests: len(r.Results)}
	prop := func(name, value string) {
		s.Properties = append(s.Properties, junitProperty{Name: name, Value: xmlSafe(value)})
	}
	if r.Setting.Name != "" {
		prop("setting", r.Setting.Name)
	}
	prop("P", strconv.Itoa(r.Setting.P))
	prop("gamma", prose(r.Setting.Gamma))
	prop("eta", prose(r.Setting.Eta))
	if len(r.Run.Engines) > 0 {
		prop("engines", engineList(r.Run.Engines))
	}
	prop("steps", strconv.Itoa(r.Run.Steps))
	prop("seed", strconv.FormatUint(r.Run.Seed, 10))
	for _, c := range r.Results {
		tc := newJUnitCase(c)
		switch {
		case tc.Failure != nil:
			s.Failures++
		case tc.Skipped != nil:
			s.Skipped++
		case tc.Error != nil:
			s.Errors++
		}
		s.Cases = append(s.Cases, tc)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("report: encoding JUnit XML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// newJUnitCase is one claim's test case: a failure for fails, skipped for
// not asserted, an error without a verdict; its system-out says the
// statement, the prediction, the sharp prediction and the regime.
func newJUnitCase(c judge.ClaimResult) junitCase {
	name := strings.TrimSpace(oneLine(c.ID + " " + c.Title))
	tc := junitCase{Classname: "mimverify.claims", Name: xmlSafe(name), Time: "0"}
	var out strings.Builder
	if c.Statement != "" {
		fmt.Fprintf(&out, "%s\n", oneLine(c.Statement))
	}
	fmt.Fprintf(&out, "verdict: %s\nprovenance: %s\n", c.Verdict, c.Provenance)
	if c.Quantity != "" {
		fmt.Fprintf(&out, "quantity: %s\n", oneLine(c.Quantity))
	}
	fmt.Fprintf(&out, "prediction: %s\n", prediction(c))
	if l := sharpLine(c); l != "" {
		fmt.Fprintf(&out, "sharp: %s\n", l)
	}
	for _, p := range c.Regime {
		fmt.Fprintf(&out, "regime: %s\n", evaluated(p))
	}
	if len(c.Engines) > 0 {
		fmt.Fprintf(&out, "engines: %s\n", strings.ReplaceAll(engineList(c.Engines), ",", ", "))
	}
	switch c.Verdict {
	case judge.Holds:
	case judge.Fails:
		text := fmt.Sprintf("%s (must be %s %s; %s)", violation(c), c.Relation, prose(c.Predicted), c.Formula)
		if c.Detail != "" {
			text += "\n" + c.Detail
		}
		tc.Failure = &junitFailure{Message: xmlSafe(violation(c)), Type: "prediction", Text: xmlSafe(text)}
	case judge.NotAsserted:
		msg := "outside regime: " + oneLine(outsideRegime(c))
		if c.Empirical != "" {
			// Measured all the same: say what the measurement shows.
			msg = strings.TrimPrefix(resultLabel(c), "n/a, ") + " " + msg
		}
		tc.Skipped = &junitSkipped{Message: xmlSafe(msg)}
	default:
		tc.Error = &junitFailure{Message: xmlSafe(fmt.Sprintf("no verdict (%q)", string(c.Verdict))), Text: xmlSafe(c.Detail)}
	}
	tc.SystemOut = &junitText{xmlSafe(out.String())}
	return tc
}
