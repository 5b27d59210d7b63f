package judge

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"

	"mimverify/engine"
	"mimverify/theory"
)

// FalsifyResultsFormat is the format tag of a falsify results file: JSON
// Lines, a header then one line per evaluated candidate (docs/FALSIFY.md §4).
const FalsifyResultsFormat = "mimverify.falsify-results/v1"

// falsifyHeader is a falsify results file's header line. Search is the hash
// of what an evaluation depends on — the layouts' settings, the search
// space, the check options and the user claims — and not the budget, the
// search seed or the claims searched: a rerun with a larger budget, or the
// shards of one search, share their evaluations.
type falsifyHeader struct {
	Format string `json:"format"`
	Search string `json:"search_hash"`
}

// falsifyLine is one evaluated candidate of one claim on one engine.
type falsifyLine struct {
	Search     string     `json:"search_hash"`
	Claim      string     `json:"claim"`
	Engine     engine.ID  `json:"engine"`
	Key        string     `json:"key"`
	Evaluation Evaluation `json:"evaluation"`
}

// journalKey identifies an evaluation in a results file.
type journalKey struct {
	claim  string
	engine engine.ID
	key    string
}

// falsifyJournal is an open, locked falsify results file and what it holds.
type falsifyJournal struct {
	rf   *resultsFile
	done map[journalKey]Evaluation
}

// searchHash is the hash a results file is keyed by.
func searchHash(opt *FalsifyOptions) string {
	var layouts []theory.Setting
	for _, l := range opt.Space.Layouts {
		layouts = append(layouts, l.setting)
	}
	var user []string
	for i := range opt.Check.UserClaims {
		user = append(user, claimDigest(&opt.Check.UserClaims[i]))
	}
	return jsonHash(struct {
		Format                  string
		Layouts                 []theory.Setting
		Space                   *SearchSpace
		Seed                    uint64
		Samples, Eval, MaxSteps int
		User                    []string
	}{FalsifyResultsFormat, layouts, opt.Space, opt.Check.Seed, opt.Check.Samples, opt.Check.Eval, opt.Check.MaxSteps, user})
}

// openFalsifyJournal opens or creates a falsify results file, locks it for
// the search, and reads the evaluations it holds. Several headers of the
// same search are accepted (results files of shards concatenated); a header
// of another search is refused (ErrOtherPlan), as is any bad line but a
// last one cut short by a kill, which is dropped.
func openFalsifyJournal(path, hash string) (*falsifyJournal, error) {
	if err := CheckResultsPath(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		return nil, fmt.Errorf("%w: %s is read-only: a falsify results file is written as the search goes", ErrResultsPath, path)
	}
	if err != nil {
		return nil, err
	}
	j := &falsifyJournal{rf: &resultsFile{f: f, hash: hash, lastSync: time.Now()}, done: map[journalKey]Evaluation{}}
	if err := j.load(path); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

func (j *falsifyJournal) load(path string) error {
	f := j.rf.f
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file", ErrResultsPath, path)
	}
	if err := lock(f, path); err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	rd := bufio.NewReader(f)
	var good int64
	headers := 0
	for lineNo := 1; ; lineNo++ {
		line, err := rd.ReadBytes('\n')
		if err == io.EOF {
			break // a last line without its newline was cut short: dropped
		}
		if err != nil {
			return err
		}
		if err := j.admit(line, lineNo, &headers); err != nil {
			return fmt.Errorf("results file %s: line %d: %w", path, lineNo, err)
		}
		good += int64(len(line))
	}
	if err := f.Truncate(good); err != nil {
		return err
	}
	if headers == 0 {
		if err := j.rf.writeLine(falsifyHeader{Format: FalsifyResultsFormat, Search: j.rf.hash}); err != nil {
			return err
		}
		return j.rf.sync()
	}
	return nil
}

// admit reads one whole line: a header of this search, or an evaluation.
func (j *falsifyJournal) admit(line []byte, lineNo int, headers *int) error {
	var hdr falsifyHeader
	if decodeLine(line, &hdr, true) == nil && hdr.Format != "" {
		if hdr.Format != FalsifyResultsFormat || hdr.Search != j.rf.hash {
			return fmt.Errorf("%w: written by another search (format %q, hash %.12s…; this search %.12s…): give another --results file", ErrOtherPlan, hdr.Format, hdr.Search, j.rf.hash)
		}
		*headers++
		return nil
	}
	if *headers == 0 {
		return fmt.Errorf("%w: the first line is not a falsify results header", ErrCorruptResults)
	}
	var l falsifyLine
	if err := decodeLine(line, &l, true); err != nil || l.Search != j.rf.hash || l.Key == "" {
		return fmt.Errorf("%w: not an evaluation of this search (%v)", ErrCorruptResults, err)
	}
	j.done[journalKey{l.Claim, l.Engine, l.Key}] = l.Evaluation
	return nil
}

// append records one evaluation.
func (j *falsifyJournal) append(claim string, ev Evaluation) error {
	k := journalKey{claim, ev.Engine, ev.Candidate.key()}
	j.done[k] = ev
	return j.rf.writeLine(falsifyLine{Search: j.rf.hash, Claim: claim, Engine: ev.Engine, Key: k.key, Evaluation: ev})
}

func (j *falsifyJournal) close() error {
	if j == nil {
		return nil
	}
	return j.rf.close()
}
