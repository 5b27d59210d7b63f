package report

import (
	"encoding/json"
	"fmt"
	"io"

	"mimverify/judge"
)

// The JSON format is the report schema itself (package judge): its numbers
// are judge.Float, which writes NaN and ±Inf as null and reads null back as
// NaN, so encoding/json needs no mirror of the schema.
func init() {
	register(Format{Name: "json", Extensions: []string{".json"}, Check: writeReportJSON, Sweep: writeSweepJSON})
}

// writeReportJSON writes the report with its outcome decided from its
// results (a copy: the caller's report is not changed).
func writeReportJSON(w io.Writer, r *judge.Report) error {
	c := *r
	c.Decide()
	return writeJSON(w, &c)
}

// writeSweepJSON writes the sweep with its outcome and total decided from
// its points under its policy (a copy: the caller's sweep is not changed).
func writeSweepJSON(w io.Writer, sw *judge.Sweep) error {
	c := *sw
	c.Decide()
	return writeJSON(w, &c)
}

// writeJSON writes v as indented JSON.
func writeJSON[T any](w io.Writer, v T) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("report: encoding JSON: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ReadJSON reads a report written in the "json" format: exactly one JSON
// document, whose null numbers come back as NaN (the sign of an infinity is
// not kept).
func ReadJSON(rd io.Reader) (*judge.Report, error) {
	var r judge.Report
	dec := json.NewDecoder(rd)
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("report: decoding JSON: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("report: decoding JSON: unexpected data after the report (offset %d)", dec.InputOffset())
	}
	return &r, nil
}
