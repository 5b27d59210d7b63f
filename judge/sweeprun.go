package judge

import (
	"runtime"
	"slices"
	"sync"
	"time"

	"mimverify/theory"
)

// Runner runs a plan, or one shard of it, on Jobs workers, streaming each
// finished point to a results file (Results) from which a rerun resumes.
type Runner struct {
	Plan  *Plan
	Shard Shard
	// Jobs is the number of points run at once (default: the number of
	// cores). Each point is an independent, seeded Check whose numbers do
	// not depend on the number of threads, so the results do not depend
	// on Jobs either.
	Jobs int
	// Results is the JSON Lines results file ("" keeps results in memory):
	// a regular file (or a new path), locked (flock) for the whole run,
	// created with a header naming the plan, appended one whole line per
	// finished point (O_APPEND, fsync'd at most syncEvery apart), and read
	// back by a rerun, which skips the points it holds (docs/FORMATS.md).
	Results string
	// Check is the judge (nil: Check); tests replace it.
	Check func(theory.Setting, Options) (*Report, error)
	// Progress, when not nil, is told how many of the shard's points are
	// done, from one goroutine at a time.
	Progress func(done, total int)
	// Resumed is set by Run to the number of points read back from Results.
	Resumed int
}

// Run runs the points of the shard that Results does not already hold and
// returns the shard's sweep in plan order. An error is bad input (an
// invalid point, a results file of another plan) or an I/O failure; a
// point whose run fails is recorded with its Error and does not stop the
// others.
func (r *Runner) Run() (*Sweep, error) {
	points, err := r.Plan.Points()
	if err != nil {
		return nil, err
	}
	points = slices.DeleteFunc(points, func(p Point) bool { return !r.Shard.Has(p.Index) })
	done := map[int]SweepPoint{}
	var out *resultsFile
	if r.Results != "" {
		// out is nil for a complete read-only file: nothing to write.
		out, done, err = openResults(r.Results, r.Plan, r.Shard)
		if err != nil {
			return nil, err
		}
		if out != nil {
			defer out.close()
		}
	}
	r.Resumed = len(done)
	var todo []Point
	for _, p := range points {
		if _, ok := done[p.Index]; !ok {
			todo = append(todo, p)
		}
	}
	if err := r.runAll(todo, len(points), done, out); err != nil {
		return nil, err
	}
	if out != nil {
		// The last lines are synced, and the lock released, before the
		// sweep is reported done.
		if err := out.close(); err != nil {
			return nil, err
		}
	}
	sw := r.Plan.newSweep()
	if r.Shard.N > 1 {
		sw.Shard = r.Shard.String()
	}
	for _, p := range points {
		sw.Points = append(sw.Points, done[p.Index])
	}
	sw.Summarize()
	return sw, nil
}

// runAll runs todo on the workers, adding each result to done and to the
// results file as it finishes.
func (r *Runner) runAll(todo []Point, total int, done map[int]SweepPoint, out *resultsFile) error {
	jobs := r.Jobs
	if jobs < 1 {
		jobs = runtime.NumCPU()
	}
	check := r.Check
	if check == nil {
		check = Check
	}
	queue := make(chan Point)
	finished := make(chan SweepPoint)
	stop := make(chan struct{}) // closed when the results file fails: no new point starts
	var wg sync.WaitGroup
	for range min(jobs, max(len(todo), 1)) {
		wg.Go(func() {
			for p := range queue {
				finished <- r.runPoint(check, p)
			}
		})
	}
	go func() {
	feed:
		for _, p := range todo {
			select {
			case queue <- p:
			case <-stop:
				break feed
			}
		}
		close(queue)
		wg.Wait()
		close(finished)
	}()
	// One goroutine writes, so lines never interleave; the order of the
	// lines is the order of completion, and readers key them by Index.
	var werr error
	n := len(done)
	if r.Progress != nil {
		r.Progress(n, total)
	}
	for sp := range finished {
		done[sp.Index] = sp
		n++
		if out != nil && werr == nil {
			if werr = out.append(sp); werr != nil {
				close(stop)
			}
		}
		if r.Progress != nil {
			r.Progress(n, total)
		}
	}
	return werr
}

func (r *Runner) runPoint(check func(theory.Setting, Options) (*Report, error), p Point) SweepPoint {
	start := time.Now()
	sp := SweepPoint{Index: p.Index, Cell: p.Cell, Seed: p.Options.Seed, Values: r.Plan.ValueMap(p.Values)}
	rep, err := check(p.Setting, p.Options)
	if err != nil {
		sp.Error = err.Error()
	} else {
		sp.Results, sp.Steps = rep.Results, rep.Run.Steps
	}
	sp.Seconds = Float(time.Since(start).Seconds())
	return sp
}
