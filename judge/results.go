package judge

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// ResultsFormat is the format tag of a sweep's results file: JSON Lines, a
// header line then one line per finished point (docs/FORMATS.md).
const ResultsFormat = "mimverify.sweep-results/v1"

// ResultsHeader is the first line of a results file.
type ResultsHeader struct {
	Format   string `json:"format"` // ResultsFormat
	PlanHash string `json:"plan_hash"`
	Shard    string `json:"shard"`
	// Points is the number of points of the shard.
	Points int   `json:"points"`
	Plan   *Plan `json:"plan"`
}

// ErrOtherPlan marks a results file written by another plan or shard: bad
// input, not a failure.
var ErrOtherPlan = errors.New("results file of another plan")

// resultsLine is every later line: one finished point, keyed by the plan.
type resultsLine struct {
	PlanHash string     `json:"plan_hash"`
	Point    SweepPoint `json:"point"`
}

// resultsFile is an open results file, positioned for appending.
type resultsFile struct {
	f    *os.File
	hash string
}

// openResults opens or creates a results file for the plan's shard and
// returns the points it already holds. A last line cut short by a kill is
// dropped (truncated away) — that point runs again; a header of another
// plan or shard is refused, naming both.
func openResults(path string, plan *Plan, shard Shard) (*resultsFile, map[int]SweepPoint, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, err
	}
	rf := &resultsFile{f: f, hash: plan.Hash()}
	hdr, done, good, err := readResults(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("results file %s: %w", path, err)
	}
	if hdr != nil && (hdr.PlanHash != rf.hash || hdr.Shard != shard.String()) {
		f.Close()
		return nil, nil, fmt.Errorf("%w: %s holds plan %s shard %s, not this sweep's plan %s shard %s: give another --results file, or remove it to start over",
			ErrOtherPlan, path, hdr.PlanHash, hdr.Shard, rf.hash, shard)
	}
	// Drop a line cut short by a kill (or a header never finished).
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, nil, err
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, err
	}
	if hdr == nil {
		all, _ := plan.Points()
		n := 0
		for _, p := range all {
			if shard.Has(p.Index) {
				n++
			}
		}
		hdr = &ResultsHeader{Format: ResultsFormat, PlanHash: rf.hash, Shard: shard.String(), Points: n, Plan: plan}
		if err := rf.writeLine(hdr); err != nil {
			f.Close()
			return nil, nil, err
		}
		return rf, done, nil
	}
	return rf, done, nil
}

// ReadResults reads a whole results file: its header and the points it
// holds by index. A last line cut short is ignored.
func ReadResults(path string) (*ResultsHeader, map[int]SweepPoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	hdr, done, _, err := readResults(f)
	if err == nil && hdr == nil {
		err = errors.New("empty: no header line")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("results file %s: %w", path, err)
	}
	return hdr, done, nil
}

// readResults reads the complete lines of r: the header (nil when the file
// is empty), the points, and the length of the complete lines. Only a last
// line without its newline may be malformed — the trace of a kill; any
// other bad line is an error.
func readResults(r io.Reader) (*ResultsHeader, map[int]SweepPoint, int64, error) {
	done := map[int]SweepPoint{}
	br := bufio.NewReaderSize(r, 1<<20)
	var hdr *ResultsHeader
	var good int64
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			return hdr, done, good, nil // an unterminated last line is dropped
		}
		if err != nil {
			return nil, nil, 0, err
		}
		if lineNo == 1 {
			hdr = new(ResultsHeader)
			if err := json.Unmarshal(line, hdr); err != nil || hdr.Format != ResultsFormat {
				return nil, nil, 0, fmt.Errorf("line 1: not a %s header", ResultsFormat)
			}
		} else {
			var l resultsLine
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&l); err != nil {
				return nil, nil, 0, fmt.Errorf("line %d: %v", lineNo, err)
			}
			if l.PlanHash != hdr.PlanHash {
				return nil, nil, 0, fmt.Errorf("line %d: plan %s, the header's is %s", lineNo, l.PlanHash, hdr.PlanHash)
			}
			done[l.Point.Index] = l.Point
		}
		good += int64(len(line))
	}
}

// append writes one finished point and syncs it to disk: a kill after the
// sync loses nothing of it.
func (rf *resultsFile) append(p SweepPoint) error {
	return rf.writeLine(resultsLine{PlanHash: rf.hash, Point: p})
}

// writeLine writes v as one line with one write call, then syncs.
func (rf *resultsFile) writeLine(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := rf.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("results file %s: %w", rf.f.Name(), err)
	}
	if err := rf.f.Sync(); err != nil {
		return fmt.Errorf("results file %s: %w", rf.f.Name(), err)
	}
	return nil
}

func (rf *resultsFile) close() error { return rf.f.Close() }

// Assemble builds a plan's sweep from points read from results files (a
// merge of shards): every point of the plan must be present exactly once,
// or once with identical content.
func Assemble(plan *Plan, parts []map[int]SweepPoint) (*Sweep, error) {
	points, err := plan.Points()
	if err != nil {
		return nil, err
	}
	all := map[int]SweepPoint{}
	for _, part := range parts {
		for i, p := range part {
			if q, ok := all[i]; ok && !samePoint(p, q) {
				return nil, fmt.Errorf("point %d appears twice with different results", i)
			}
			all[i] = p
		}
	}
	sw := plan.newSweep()
	var missing []int
	for _, p := range points {
		sp, ok := all[p.Index]
		if !ok {
			missing = append(missing, p.Index)
			continue
		}
		sw.Points = append(sw.Points, sp)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%d of %d points missing (first: index %d): a shard is incomplete or absent", len(missing), len(points), missing[0])
	}
	sw.Summarize()
	return sw, nil
}

// samePoint compares two results of a point, all but the timing.
func samePoint(a, b SweepPoint) bool {
	a.Seconds, b.Seconds = 0, 0
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}
