package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
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
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Hostname   string          `xml:"hostname,attr,omitempty"`
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

// writeJUnit writes the report as JUnit XML: one suite named after the
// setting (so that the suites of two settings merged by a CI dashboard
// stay apart), one case per claim, and an error case when the check
// stopped on an error. A case fails when its claim fails or is required
// and not asserted; it is skipped only when neither asserted nor required.
func writeJUnit(w io.Writer, r *judge.Report) error {
	s := junitSuite{Name: title(r), Time: seconds(r.Run.Seconds)}
	class := "mimverify." + junitName(r)
	s.Properties = junitProperties(r)
	if p := r.Provenance; p != nil {
		s.Hostname = p.Host
		if t, err := time.Parse(time.RFC3339, p.Start); err == nil {
			s.Timestamp = t.UTC().Format("2006-01-02T15:04:05")
		}
	}
	for _, c := range r.Results {
		tc := newJUnitCase(c, class, claimSeconds(r, c))
		s.Cases = append(s.Cases, tc)
	}
	s.Cases = append(s.Cases, controlCases(r, class)...)
	s.Cases = append(s.Cases, falsifyCases(r, class)...)
	s.Tests = len(s.Cases)
	if r.Error != "" {
		s.Tests++
		s.Cases = append(s.Cases, junitCase{Classname: class, Name: "check", Time: seconds(r.Run.Seconds),
			Error: &junitFailure{Message: xmlSafe(oneLine(headline(r))), Type: "error", Text: xmlSafe(r.Error)}})
	}
	for _, tc := range s.Cases {
		switch {
		case tc.Failure != nil:
			s.Failures++
		case tc.Error != nil:
			s.Errors++
		case tc.Skipped != nil:
			s.Skipped++
		}
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

// junitName is the setting's part of the JUnit class name: its name, and
// the setting's hash when it is not the named preset as shipped (two
// edited copies of vit14 must not fold into one class).
func junitName(r *judge.Report) string {
	name := strings.Map(func(c rune) rune {
		if c == ' ' || c == '.' || c == '/' {
			return '_'
		}
		return c
	}, r.Setting.Name)
	if name != "" && r.Source == "preset "+r.Setting.Name {
		return xmlSafe(name)
	}
	h := judge.SettingHash(&r.Setting)
	if len(h) > 8 {
		h = h[:8]
	}
	if name == "" {
		return "setting_" + h
	}
	return xmlSafe(name + "_" + h)
}

// junitProperties are the suite's properties: the outcome, the setting's
// main fields, the run and the provenance.
func junitProperties(r *judge.Report) []junitProperty {
	var ps []junitProperty
	prop := func(name, value string) {
		ps = append(ps, junitProperty{Name: name, Value: xmlSafe(value)})
	}
	prop("status", string(r.Outcome().Status))
	if r.Setting.Name != "" {
		prop("setting", r.Setting.Name)
	}
	if r.Source != "" {
		prop("source", r.Source)
	}
	prop("P", strconv.Itoa(r.Setting.P))
	prop("gamma", prose(r.Setting.Gamma))
	prop("eta", prose(r.Setting.Eta))
	if len(r.Run.Engines) > 0 {
		prop("engines", engineList(r.Run.Engines))
	}
	prop("steps", strconv.Itoa(r.Run.Steps))
	prop("seed", strconv.FormatUint(r.Run.Seed, 10))
	if r.Run.Power > 1 {
		prop("power", strconv.Itoa(r.Run.Power))
	}
	if p := r.Provenance; p != nil {
		prop("version", p.Version)
		prop("revision", p.Revision)
		prop("modified", strconv.FormatBool(p.Modified))
		prop("go", p.GoVersion)
		prop("command", strings.Join(p.Command, " "))
		prop("start", p.Start)
		prop("host", p.Host)
		prop("gomaxprocs", strconv.Itoa(p.GOMAXPROCS))
		prop("setting_hash", p.SettingHash)
	}
	return ps
}

// controlCases are the controls' test cases: a failure for a control whose
// wrong way fails the check (the outcome's judge-power reasons).
func controlCases(r *judge.Report, class string) []junitCase {
	failing := map[string]string{}
	for _, rs := range r.Outcome().Reasons {
		if rs.Kind == judge.ReasonPower {
			failing[rs.Control] = rs.Text
		}
	}
	var cs []junitCase
	for _, c := range r.Controls {
		tc := junitCase{Classname: class, Name: xmlSafe("control: " + c.Name), Time: "0", SystemOut: &junitText{xmlSafe(c.Line())}}
		if why, ok := failing[c.Name]; ok {
			tc.Failure = &junitFailure{Message: xmlSafe(why), Type: "judge-power", Text: xmlSafe(c.Line())}
		}
		cs = append(cs, tc)
	}
	return cs
}

// falsifyCases are check --falsify's test cases, one per claim searched: a
// failure for a counterexample.
func falsifyCases(r *judge.Report, class string) []junitCase {
	var cs []junitCase
	for i := range r.Falsify {
		f := &r.Falsify[i]
		tc := junitCase{Classname: class, Name: xmlSafe("falsify: " + f.Claim), Time: seconds(f.Seconds), SystemOut: &junitText{xmlSafe(f.Line())}}
		if f.Found {
			tc.Failure = &junitFailure{Message: xmlSafe(f.Line()), Type: "counterexample", Text: xmlSafe(f.Line())}
		}
		cs = append(cs, tc)
	}
	return cs
}

// seconds formats a duration for a time attribute.
func seconds(x judge.Float) string {
	if !finite(x) || x < 0 {
		return "0"
	}
	return strconv.FormatFloat(float64(x), 'f', 3, 64)
}

// claimSeconds is a claim's time: the wall time of the runs of the engines
// whose output it read (a run that serves several claims counts in each).
func claimSeconds(r *judge.Report, c judge.ClaimResult) judge.Float {
	var t judge.Float
	for _, id := range c.Engines {
		t += r.Run.EngineSeconds[id]
	}
	return t
}

// newJUnitCase is one claim's test case: a failure for fails, skipped for
// not asserted, an error without a verdict; its system-out says the
// statement, the prediction, the sharp prediction and the regime.
func newJUnitCase(c judge.ClaimResult, class string, secs judge.Float) junitCase {
	name := strings.TrimSpace(oneLine(c.ID + " " + c.Title))
	tc := junitCase{Classname: class, Name: xmlSafe(name), Time: seconds(secs)}
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
		kind := "envelope"
		if judge.MissesBandOnly(&c) {
			kind = "sharp-band"
		}
		tc.Failure = &junitFailure{Message: xmlSafe(violation(c)), Type: kind, Text: xmlSafe(text)}
	case judge.NotAsserted:
		msg := "outside regime: " + oneLine(outsideRegime(c))
		if c.Unmet() {
			// Required: not asserting it is a failure, not a skip.
			tc.Failure = &junitFailure{Message: xmlSafe("required but not asserted: " + msg), Type: "required-not-asserted", Text: xmlSafe(c.Detail)}
			break
		}
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
