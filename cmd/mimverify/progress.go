package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// progress draws a one-line counter on stderr when stderr is a terminal and
// stays silent otherwise (CI logs, redirections), unless forced by --progress.
type progress struct {
	w     io.Writer
	on    bool
	label string
	start time.Time
	last  time.Time
}

func newProgress(stderr io.Writer, mode, label string) (*progress, error) {
	p := &progress{w: stderr, label: label, start: time.Now()}
	switch mode {
	case "auto", "":
		if f, ok := stderr.(*os.File); ok {
			p.on = term.IsTerminal(int(f.Fd()))
		}
	case "always":
		p.on = true
	case "never":
	default:
		return nil, badInput("--progress = %q: must be auto, always or never", mode)
	}
	return p, nil
}

// update is the engines' Progress callback; it redraws at most ten times a
// second.
func (p *progress) update(step, total int) {
	now, ok := p.due(step, total)
	if !ok {
		return
	}
	elapsed := now.Sub(p.start).Seconds()
	eta := ""
	if step > 0 && step < total {
		eta = fmt.Sprintf(", ~%.0fs left", elapsed*float64(total-step)/float64(step))
	}
	fmt.Fprintf(p.w, "\r%s: step %d/%d (%.1fs%s)\033[K", p.label, step, total, elapsed, eta)
}

// step is the engines' Observer.Step: it shows progress and never stops a run.
func (p *progress) step(step, total int) error {
	p.update(step, total)
	return nil
}

func (p *progress) done() {
	if p.on {
		fmt.Fprintf(p.w, "\r%s: done in %.1fs\033[K\n", p.label, time.Since(p.start).Seconds())
	}
}

// stage shows the name of the stage a multi-stage command is in.
func (p *progress) stage(name string) {
	if p.on {
		fmt.Fprintf(p.w, "\r%s: %s (%.1fs)\033[K", p.label, name, time.Since(p.start).Seconds())
	}
}

// due reports whether a progress line is to be drawn now: on a terminal
// only, at most ten times a second, and always for the last count.
func (p *progress) due(done, total int) (time.Time, bool) {
	if !p.on {
		return time.Time{}, false
	}
	now := time.Now()
	if done < total && now.Sub(p.last) < 100*time.Millisecond {
		return now, false
	}
	p.last = now
	return now, true
}
