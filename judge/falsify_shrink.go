package judge

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"mimverify/engine"
	"mimverify/theory"
)

// shrink simplifies the counterexample as Hypothesis does: it tries
// simpler candidates — a smaller layout, a constant z, equal cluster
// probabilities, round numbers — and keeps each one on which the claim
// still fails inside its regime (on the search's engine, then confirmed on
// the exact engine), pass after pass until none is kept or the shrink
// budget is spent.
func (s *search) shrink() {
	budget := s.opt.ShrinkBudget
	for changed := true; changed && budget > 0; {
		changed = false
		for _, mv := range s.simplifications(s.found.Candidate) {
			if budget <= 0 {
				break
			}
			if s.failed[mv.c.key()] {
				continue
			}
			if s.t.main != engine.Exact {
				budget--
				ev, err := s.eval.evaluateOne(s.t, mv.c)
				if err != nil {
					s.err = err
					return
				}
				if !ev.fails() {
					s.failed[mv.c.key()] = true
					continue
				}
			}
			budget--
			cx, ok := s.confirmed(mv.c)
			if !ok {
				s.failed[mv.c.key()] = true
				continue
			}
			cx.Found, cx.Shrunk = s.found.Found, append(s.found.Shrunk, mv.what)
			s.found, changed = cx, true
			break // the moves of the new candidate are different
		}
	}
}

// move is one simplification: the simpler candidate and what changed.
type move struct {
	c    Candidate
	what string
}

// simplifications lists the simpler neighbours of a candidate, simplest
// change first.
func (s *search) simplifications(c Candidate) []move {
	var out []move
	cur := s.sp.Layouts[c.Layout]
	for i := range s.sp.Layouts {
		if l := s.sp.Layouts[i]; cmpLayout(&l, &cur) < 0 {
			n := c.clone()
			n.Layout = i
			out = append(out, move{n, fmt.Sprintf("layout %s → %s", cur.Name, l.Name)})
		}
	}
	if c.ZKind != theory.ZConstant && slices.Contains(s.sp.ZKinds, theory.ZConstant) {
		n := c.clone()
		n.ZKind = theory.ZConstant
		out = append(out, move{n, "z " + string(c.ZKind) + " → constant"})
	}
	for j, d := range s.sp.Dims {
		v := float64(c.Values[j])
		if (d.Field == "z.spread" && c.ZKind == theory.ZConstant) || (d.Field == "cluster_skew" && cur.K == 1) {
			continue // not read by the candidate's setting
		}
		if d.Field == "cluster_skew" && v != 0 {
			n := c.clone()
			n.Values[j] = 0
			out = append(out, move{n, fmt.Sprintf("%s %.4g → 0 (equal probabilities)", d.Field, v)})
			continue
		}
		for _, r := range roundings(v) {
			n := c.clone()
			n.Values[j] = Float(r)
			out = append(out, move{n, fmt.Sprintf("%s %.4g → %s", d.Field, v, strconv.FormatFloat(r, 'g', -1, 64))})
		}
	}
	return out
}

// roundings returns rounder values near v, roundest first: the nearest of
// 1, 2, 5 × 10^k, then v to one and to two significant digits (those that
// differ from v and from each other).
func roundings(v float64) []float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	a := math.Abs(v)
	e := math.Floor(math.Log10(a))
	best := math.NaN()
	for _, m := range []float64{1, 2, 5, 10} {
		c := m * math.Pow(10, e)
		if math.IsNaN(best) || math.Abs(c-a) < math.Abs(best-a) {
			best = c
		}
	}
	var out []float64
	for _, r := range []float64{best, sigDigits(a, 1), sigDigits(a, 2)} {
		r = math.Copysign(r, v)
		if roundness(r) < roundness(v) && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// roundness ranks how round a number is written: its significant digits,
// less a half for 1, 2 or 5 (so 8 → 10 is no simplification, 8 → 5 and
// 0.37 → 0.4 are).
func roundness(x float64) float64 {
	m, _, _ := strings.Cut(strconv.FormatFloat(math.Abs(x), 'e', -1, 64), "e")
	digits := float64(len(strings.ReplaceAll(m, ".", "")))
	if m == "1" || m == "2" || m == "5" {
		digits -= 0.5
	}
	return digits
}

func sigDigits(a float64, n int) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(a, 'g', n, 64), 64)
	return r
}
