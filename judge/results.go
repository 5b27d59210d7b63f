package judge

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"
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

// The causes of a refused results file. Each is bad input (exit 2 in every
// command), not a failed run: the file belongs to another sweep, holds
// lines no sweep of its plan writes, is in use by another sweep, or is not
// a file a journal can live in.
var (
	// ErrOtherPlan marks a results file written by another plan or shard.
	ErrOtherPlan = errors.New("results file of another plan")
	// ErrCorruptResults marks a results file with a line no sweep of its
	// plan writes: trailing bytes after a line's JSON value, a point
	// outside the plan or shard, a point recorded twice with different
	// results, a bad header.
	ErrCorruptResults = errors.New("corrupt results file")
	// ErrResultsInUse marks a results file locked by a running sweep.
	ErrResultsInUse = errors.New("results file in use")
	// ErrResultsPath marks a path that is not a regular file (a FIFO, a
	// device, standard output), or a read-only file that is incomplete.
	ErrResultsPath = errors.New("not a results file")
)

// syncEvery bounds the time between two fsyncs of a results file: a crash
// of the machine loses at most the points finished in the last syncEvery
// (a kill of the process loses nothing written: the lines are in the page
// cache). Syncing every line costs a disk flush per point, which dominates
// a sweep of quick points on a network file system.
const syncEvery = time.Second

// resultsLine is every later line: one finished point, keyed by the plan.
type resultsLine struct {
	PlanHash string     `json:"plan_hash"`
	Point    SweepPoint `json:"point"`
}

// resultsFile is an open, locked results file, opened for appending.
type resultsFile struct {
	f        *os.File
	hash     string
	lastSync time.Time
	dirty    bool
}

// CheckResultsPath refuses, before any work, a results path that is not a
// regular file or a new path: a journal must be read back, locked and
// appended, which a FIFO, a device or a terminal cannot be.
func CheckResultsPath(path string) error {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case !info.Mode().IsRegular():
		return fmt.Errorf("%w: %s is a %s, not a regular file: the results journal is read back and appended, give a file path", ErrResultsPath, path, fileKind(info.Mode()))
	}
	return nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// openResults opens or creates the results file of the plan's shard, locks
// it for the whole sweep (flock; a second sweep on it is refused with
// ErrResultsInUse) and returns the points it already holds. A last line cut
// short by a kill is dropped (truncated away) — that point runs again; a
// header of another plan or shard, and any other bad line, is refused. A
// read-only file is read without writing: accepted when it holds every
// point (the sweep is only rendered again), refused otherwise.
func openResults(path string, plan *Plan, shard Shard) (*resultsFile, map[int]SweepPoint, error) {
	if err := CheckResultsPath(path); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		done, err := readOnlyResults(path, plan, shard)
		return nil, done, err
	}
	if err != nil {
		return nil, nil, err
	}
	rf := &resultsFile{f: f, hash: plan.Hash(), lastSync: time.Now()}
	done, err := rf.load(path, plan, shard)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return rf, done, nil
}

// load locks the open file, reads it, drops a torn last line and writes
// the header of a new file.
func (rf *resultsFile) load(path string, plan *Plan, shard Shard) (map[int]SweepPoint, error) {
	if info, err := rf.f.Stat(); err != nil || !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrResultsPath, path)
	}
	if err := lock(rf.f, path); err != nil {
		return nil, err
	}
	hdr, done, good, err := readResults(rf.f, expectPlan(plan, shard))
	if err != nil {
		return nil, fmt.Errorf("results file %s: %w", path, err)
	}
	// Drop a line cut short by a kill (or a header never finished); with
	// O_APPEND the next write goes to the new end.
	if err := rf.f.Truncate(good); err != nil {
		return nil, err
	}
	if hdr == nil {
		n := len(shardIndices(plan, shard))
		hdr = &ResultsHeader{Format: ResultsFormat, PlanHash: rf.hash, Shard: shard.String(), Points: n, Plan: plan}
		if err := rf.writeLine(hdr); err != nil {
			return nil, err
		}
		if err := rf.sync(); err != nil {
			return nil, err
		}
	}
	return done, nil
}

// readOnlyResults reads a results file that cannot be written: its points
// when it holds every point of the shard (nothing is left to write, the
// sweep is only rendered), else an error naming the file.
func readOnlyResults(path string, plan *Plan, shard Shard) (map[int]SweepPoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	_, done, _, err := readResults(f, expectPlan(plan, shard))
	if err != nil {
		return nil, fmt.Errorf("results file %s: %w", path, err)
	}
	if n := len(shardIndices(plan, shard)); len(done) < n {
		return nil, fmt.Errorf("%w: %s is read-only and holds %d of the shard's %d points: make it writable to finish the sweep", ErrResultsPath, path, len(done), n)
	}
	return done, nil
}

// lock takes the sweep's exclusive advisory lock on f, without waiting.
func lock(f *os.File, path string) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		who := "another process"
		if pid := lockHolder(f); pid > 0 {
			who = fmt.Sprintf("process %d", pid)
		}
		return fmt.Errorf("%w: %s is in use by %s (another sweep writing it): wait for it to finish, or give another --results file", ErrResultsInUse, path, who)
	}
	if err != nil {
		return fmt.Errorf("results file %s: lock: %w", path, err)
	}
	return nil
}

// ReadResults reads a whole results file: its header and the points it
// holds by index. A last line cut short is ignored; any other bad line, or
// a point outside the header's plan and shard, is an error wrapping
// ErrCorruptResults.
func ReadResults(path string) (*ResultsHeader, map[int]SweepPoint, error) {
	if err := CheckResultsPath(path); err != nil {
		return nil, nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	hdr, done, _, err := readResults(f, ownPlan)
	if err == nil && hdr == nil {
		err = fmt.Errorf("%w: empty, no header line", ErrCorruptResults)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("results file %s: %w", path, err)
	}
	return hdr, done, nil
}

// A headerCheck accepts a results file's header and returns the indices
// its points may have.
type headerCheck func(hdr *ResultsHeader) (map[int]bool, error)

// expectPlan accepts the header of the plan's shard only.
func expectPlan(plan *Plan, shard Shard) headerCheck {
	return func(hdr *ResultsHeader) (map[int]bool, error) {
		if hash := plan.Hash(); hdr.PlanHash != hash || hdr.Shard != shard.String() {
			return nil, fmt.Errorf("%w: it holds plan %s shard %s, not this sweep's plan %s shard %s: give another --results file, or remove it to start over",
				ErrOtherPlan, hdr.PlanHash, hdr.Shard, hash, shard)
		}
		return shardIndices(plan, shard), nil
	}
}

// ownPlan accepts a header whose plan and shard are readable; its points
// must be the shard's of the header's plan.
func ownPlan(hdr *ResultsHeader) (map[int]bool, error) {
	shard, err := ParseShard(hdr.Shard)
	if err != nil || hdr.Plan == nil {
		return nil, fmt.Errorf("%w: line 1: the header's plan or shard is unreadable", ErrCorruptResults)
	}
	if _, err := hdr.Plan.Points(); err != nil {
		return nil, fmt.Errorf("%w: line 1: the header's plan is invalid: %v", ErrCorruptResults, err)
	}
	return shardIndices(hdr.Plan, shard), nil
}

// shardIndices returns the indices of the plan's points in the shard (none
// when the plan has no valid points).
func shardIndices(plan *Plan, shard Shard) map[int]bool {
	all, _ := plan.Points()
	in := map[int]bool{}
	for _, p := range all {
		if shard.Has(p.Index) {
			in[p.Index] = true
		}
	}
	return in
}

// readResults reads the complete lines of r: the header (nil when the file
// is empty), the points, and the length of the complete lines. Only a last
// line without its newline may be malformed — the trace of a kill; any
// other bad line is an error naming it: a header that check refuses, bytes
// after a line's JSON value, a point whose index is not among those check
// allows, a point given twice with different results (twice with the same
// results is kept once).
func readResults(r io.ReadSeeker, check headerCheck) (*ResultsHeader, map[int]SweepPoint, int64, error) {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, nil, 0, err
	}
	done := map[int]SweepPoint{}
	lineOf := map[int]int{}
	br := bufio.NewReaderSize(r, 1<<20)
	var hdr *ResultsHeader
	var allowed map[int]bool
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
			if hdr, allowed, err = readHeader(line, check); err != nil {
				return nil, nil, 0, err
			}
		} else {
			p, err := readPoint(line, hdr.PlanHash)
			if err == nil {
				err = admit(done, lineOf, allowed, p, lineNo)
			}
			if err != nil {
				return nil, nil, 0, fmt.Errorf("%w: line %d: %v", ErrCorruptResults, lineNo, err)
			}
		}
		good += int64(len(line))
	}
}

// readHeader reads and checks the first line.
func readHeader(line []byte, check headerCheck) (*ResultsHeader, map[int]bool, error) {
	hdr := new(ResultsHeader)
	if err := decodeLine(line, hdr, false); err != nil || hdr.Format != ResultsFormat {
		return nil, nil, fmt.Errorf("%w: line 1: not a %s header", ErrCorruptResults, ResultsFormat)
	}
	allowed, err := check(hdr)
	return hdr, allowed, err
}

// readPoint reads a point line of the plan hash.
func readPoint(line []byte, hash string) (SweepPoint, error) {
	var l resultsLine
	if err := decodeLine(line, &l, true); err != nil {
		return SweepPoint{}, err
	}
	if l.PlanHash != hash {
		return SweepPoint{}, fmt.Errorf("plan %s, the header's is %s", l.PlanHash, hash)
	}
	return l.Point, nil
}

// admit adds the point of line lineNo to done: its index must be allowed,
// and a second line of it must hold the same results.
func admit(done map[int]SweepPoint, lineOf map[int]int, allowed map[int]bool, p SweepPoint, lineNo int) error {
	if !allowed[p.Index] {
		return fmt.Errorf("point index %d is not a point of the plan's shard", p.Index)
	}
	if q, ok := done[p.Index]; ok {
		if !samePoint(p, q) {
			return fmt.Errorf("point %d recorded again with different results (first at line %d)", p.Index, lineOf[p.Index])
		}
		return nil
	}
	done[p.Index], lineOf[p.Index] = p, lineNo
	return nil
}

// decodeLine decodes one line's JSON value into v and refuses anything but
// white space after it: a line is exactly one value (two sweeps writing
// one file without the lock leave a line with another's tail).
func decodeLine(line []byte, v any, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return err
	}
	rest := bytes.TrimSpace(line[dec.InputOffset():])
	if len(rest) > 0 {
		shown := rest
		if len(shown) > 20 {
			shown = append(shown[:17:17], "..."...)
		}
		return fmt.Errorf("%d bytes after the line's JSON value (%q): a line holds one value", len(rest), shown)
	}
	return nil
}

// lockHolder returns the process holding a flock on f, read from
// /proc/locks (Linux), or 0 when it cannot be told.
func lockHolder(f *os.File) int {
	info, err := f.Stat()
	if err != nil {
		return 0
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0
	}
	data, err := os.ReadFile("/proc/locks")
	if err != nil {
		return 0
	}
	// Lines read "1: FLOCK  ADVISORY  WRITE 1234 08:01:56789 0 EOF", the
	// device as major:minor in hex.
	major := (st.Dev>>8)&0xfff | (st.Dev>>32)&^0xfff
	minor := st.Dev&0xff | (st.Dev>>12)&^0xff
	want := fmt.Sprintf("%02x:%02x:%d", major, minor, st.Ino)
	for _, line := range bytes.Split(data, []byte("\n")) {
		fields := bytes.Fields(line)
		if len(fields) >= 6 && string(fields[1]) == "FLOCK" && string(fields[5]) == want {
			var pid int
			if _, err := fmt.Sscan(string(fields[4]), &pid); err == nil {
				return pid
			}
		}
	}
	return 0
}

// append writes one finished point as one line.
func (rf *resultsFile) append(p SweepPoint) error {
	return rf.writeLine(resultsLine{PlanHash: rf.hash, Point: p})
}

// writeLine writes v as one whole line with one write call (O_APPEND puts
// it at the end), and syncs when the last sync is syncEvery old.
func (rf *resultsFile) writeLine(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := rf.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("results file %s: %w", rf.f.Name(), err)
	}
	rf.dirty = true
	if time.Since(rf.lastSync) >= syncEvery {
		return rf.sync()
	}
	return nil
}

func (rf *resultsFile) sync() error {
	if !rf.dirty {
		return nil
	}
	if err := rf.f.Sync(); err != nil {
		return fmt.Errorf("results file %s: %w", rf.f.Name(), err)
	}
	rf.dirty, rf.lastSync = false, time.Now()
	return nil
}

// close syncs what is not yet synced and closes the file, which releases
// the lock.
func (rf *resultsFile) close() error {
	if rf.f == nil {
		return nil
	}
	err := rf.sync()
	if cerr := rf.f.Close(); err == nil {
		err = cerr
	}
	rf.f = nil
	return err
}

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
				return nil, fmt.Errorf("%w: point %d appears twice with different results", ErrCorruptResults, i)
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
