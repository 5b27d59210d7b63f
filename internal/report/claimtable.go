package report

import (
	"fmt"
	"math"

	"mimverify/judge"
)

// The claims table's verdict and sharp cells, shared by the text, Markdown
// and HTML reports: the verdict names the criterion that failed (the
// paper's envelope, the reduced ODE's sharp band, or both), and the sharp
// cell gives the reduced ODE's prediction, band and ratio.

// failedCriteria names what a failing claim failed: "envelope",
// "sharp band" or "envelope and sharp band"; "" when it does not fail or
// neither comparison says why.
func failedCriteria(c judge.ClaimResult) string {
	envelope := false
	if holds, err := c.Relation.Holds(float64(c.Measured), float64(c.Predicted)); err != nil || !holds {
		envelope = finite(c.Measured) && finite(c.Predicted)
	}
	sharp := c.Sharp.Available() && sharpStatus(c) == sharpOutside
	switch {
	case envelope && sharp:
		return "envelope and sharp band"
	case envelope:
		return "envelope"
	case sharp:
		return "sharp band"
	}
	return ""
}

// verdictCell is the verdict as the claims tables print it: resultLabel,
// and for a failing claim the criterion that failed ("FAILS: sharp band").
func verdictCell(c judge.ClaimResult) string {
	l := resultLabel(c)
	if c.Verdict == judge.Fails {
		if why := failedCriteria(c); why != "" {
			l += ": " + why
		}
	}
	return l
}

// sharpState is how a claim's measurement compares with its sharp band.
type sharpState int

const (
	sharpNone        sharpState = iota // no sharp prediction
	sharpInside                        // measured inside the band
	sharpOutside                       // measured outside the band
	sharpUndecided                     // measured, band or ratio not finite: neither
	sharpInformation                   // reported, not asserted
)

// sharpCompared is the value the band is compared with: the sharp
// result's Measured (C4: the held-out share), else the claim's.
func sharpCompared(c judge.ClaimResult) float64 {
	if m := float64(c.Sharp.Measured); !math.IsNaN(m) {
		return m
	}
	return float64(c.Measured)
}

// sharpStatus classifies a claim's sharp comparison. A NaN measurement
// or band is never "inside": the judge's Inside is believed only when the
// compared value is a number within [Low, High] (+Inf is a number here:
// C6's event that never happened lies outside a finite band).
func sharpStatus(c judge.ClaimResult) sharpState {
	sh := c.Sharp
	switch {
	case sh == nil || math.IsNaN(float64(sh.Predicted)):
		return sharpNone
	case !sh.Available():
		return sharpInformation
	}
	m, lo, hi := sharpCompared(c), float64(sh.Low), float64(sh.High)
	if math.IsNaN(m) || math.IsNaN(lo) || math.IsNaN(hi) {
		return sharpUndecided
	}
	if sh.Inside && m >= lo && m <= hi {
		return sharpInside
	}
	if sh.Inside { // the judge says inside, the numbers do not agree
		return sharpUndecided
	}
	return sharpOutside
}

// sharpCell is a claim's sharp prediction in a table cell: "0.0104 in
// [0.0065, 0.0143], ratio 0.98: inside"; "—" when there is none.
func sharpCell(c judge.ClaimResult) string {
	st := sharpStatus(c)
	if st == sharpNone {
		return "—"
	}
	sh := c.Sharp
	band := fmt.Sprintf(" in [%s, %s]", prose(sh.Low), prose(sh.High))
	if !finite(sh.Low) && !finite(sh.High) {
		band = " (no band)" // a reference only, e.g. under departures from the assumptions
	}
	s := fmt.Sprintf("%s%s, ratio %s: %s", prose(sh.Predicted), band, prose(sh.Ratio), sharpStateWord(st))
	if m := sharpCompared(c); st == sharpOutside && m >= float64(sh.Low) && m <= float64(sh.High) {
		// A curve's band is checked at every record; the cell shows the
		// last one's, which the final value may meet.
		s += " at an earlier record"
	}
	return s
}

// sharpStateWord says a sharp state in a word or two.
func sharpStateWord(st sharpState) string {
	switch st {
	case sharpInside:
		return "inside"
	case sharpOutside:
		return "OUTSIDE"
	case sharpInformation:
		return "reported, not asserted"
	case sharpUndecided:
		return "not comparable (not a number)"
	}
	return "none"
}
