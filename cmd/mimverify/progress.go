package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// progressHelp is the --progress flag's help, shared by check, run and sweep.
const progressHelp = "progress on stderr: auto (redrawn on a terminal; plain lines when stderr is not a terminal and $CI is set; else none), always (redrawn), plain (one line per stage or per 5 %, with rate and ETA, for CI logs), never"

// progress shows how long work is going on stderr. On a terminal it
// redraws one line; in plain mode (CI logs) it writes one line per stage
// and per 5 % of a count, with the rate and the time left, and no carriage
// returns or escape sequences; otherwise it stays silent.
type progress struct {
	w      io.Writer
	on     bool // anything is shown
	plain  bool // as whole lines
	label  string
	start  time.Time
	last   time.Time
	bucket int // plain: the last 5 % bucket shown
}

func newProgress(stderr io.Writer, mode, label string) (*progress, error) {
	p := &progress{w: stderr, label: label, start: time.Now(), bucket: -1}
	switch mode {
	case "auto", "":
		if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			p.on = true
		} else if os.Getenv("CI") != "" {
			p.on, p.plain = true, true
		}
	case "always":
		p.on = true
	case "plain":
		p.on, p.plain = true, true
	case "never":
	default:
		return nil, badInput("--progress = %q: must be auto, always, plain or never", mode)
	}
	return p, nil
}

// line shows msg: redrawn in place on a terminal, a new line in plain mode.
func (p *progress) line(msg string) {
	if p.plain {
		fmt.Fprintf(p.w, "%s: %s\n", p.label, msg)
		return
	}
	fmt.Fprintf(p.w, "\r%s: %s\033[K", p.label, msg)
}

// count shows done of total things (steps, points) with the rate and, while
// unfinished, the time left.
func (p *progress) count(done, total int, what string) {
	now, ok := p.due(done, total)
	if !ok {
		return
	}
	elapsed := now.Sub(p.start).Seconds()
	msg := fmt.Sprintf("%s %d/%d (%.1fs", what, done, total, elapsed)
	if done > 0 && elapsed > 0 {
		msg += fmt.Sprintf(", %.3g %s/s", float64(done)/elapsed, what)
	}
	if done > 0 && done < total {
		msg += fmt.Sprintf(", ~%.0fs left", elapsed*float64(total-done)/float64(done))
	}
	p.line(msg + ")")
}

// update is the engines' Progress callback.
func (p *progress) update(step, total int) { p.count(step, total, "steps") }

// step is the engines' Observer.Step: it shows progress and never stops a run.
func (p *progress) step(step, total int) error {
	p.update(step, total)
	return nil
}

// points shows how many points of a sweep are done.
func (p *progress) points(done, total int) { p.count(done, total, "points") }

func (p *progress) done() {
	if !p.on {
		return
	}
	p.line(fmt.Sprintf("done in %.1fs", time.Since(p.start).Seconds()))
	if !p.plain {
		fmt.Fprintln(p.w) // leave the redrawn line
	}
}

// stage shows the name of the stage a multi-stage command is in.
func (p *progress) stage(name string) {
	if p.on {
		p.line(fmt.Sprintf("%s (%.1fs)", name, time.Since(p.start).Seconds()))
	}
}

// due reports whether a count is to be shown now: on a terminal at most ten
// times a second, in plain mode once per 5 % of the total; always for the
// last count.
func (p *progress) due(done, total int) (time.Time, bool) {
	if !p.on {
		return time.Time{}, false
	}
	now := time.Now()
	if p.plain {
		b := 20
		if total > 0 {
			b = done * 20 / total
		}
		if b == p.bucket {
			return now, false
		}
		p.bucket = b
		return now, true
	}
	if done < total && now.Sub(p.last) < 100*time.Millisecond {
		return now, false
	}
	p.last = now
	return now, true
}
