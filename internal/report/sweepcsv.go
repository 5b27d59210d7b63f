package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"mimverify/judge"
)

// The CSV format of a sweep is long (tidy) data: one row per point × claim,
// so that pandas or R group and pivot it directly. Run times are left out,
// so that two runs of a plan write the same bytes.
func init() {
	register(Format{Name: "csv", Extensions: []string{".csv"}, Sweep: writeSweepCSV})
}

func writeSweepCSV(w io.Writer, sw *judge.Sweep) error {
	cw := csv.NewWriter(w)
	header := []string{"index", "cell", "seed"}
	header = append(header, sw.Axes...)
	header = append(header, "steps", "claim", "verdict", "empirical", "in_regime", "measured", "relation", "predicted", "failing_predicates", "error")
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, p := range sw.Points {
		lead := []string{strconv.Itoa(p.Index), strconv.Itoa(p.Cell), strconv.FormatUint(p.Seed, 10)}
		for _, ax := range sw.Axes {
			lead = append(lead, p.Values[ax])
		}
		lead = append(lead, strconv.Itoa(p.Steps))
		if p.Error != "" {
			row := append(lead, "", "", "", "", "", "", "", "", oneLine(p.Error))
			if err := cw.Write(row); err != nil {
				return err
			}
			continue
		}
		for _, r := range p.Results {
			var bad []string
			for _, pr := range failingPredicates(r) {
				bad = append(bad, oneLine(pr.Formula))
			}
			row := append(append([]string(nil), lead...), r.ID, string(r.Verdict), string(r.Empirical),
				strconv.FormatBool(r.Verdict != judge.NotAsserted), csvFloat(r.Measured), string(r.Relation),
				csvFloat(r.Predicted), strings.Join(bad, "; "), "")
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: writing CSV: %w", err)
	}
	// The closing total, as a comment line (pandas: read_csv(f,
	// comment="#"); Go: csv.Reader.Comment = '#'), without commas so that a
	// reader that does not skip it sees one field.
	_, err := fmt.Fprintf(w, "# %s\n", strings.ReplaceAll(sw.TotalLine(), ",", ";"))
	return err
}

// csvFloat writes a number exactly (shortest round-trip form), and a value
// that is not finite as an empty field, which pandas and R read as missing.
func csvFloat(x judge.Float) string {
	if !finite(x) {
		return ""
	}
	return strconv.FormatFloat(float64(x), 'g', -1, 64)
}
