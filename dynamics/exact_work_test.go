package dynamics

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"mimverify/theory"
)

// exactWork is the inherent work of one exact step (docs/PERFORMANCE.md,
// "Roofline of the exact step"), with the factorisation the kernel uses,
// e^{zA+B} = e^{zA}·e^{B}: per (masked query, key) pair one add for the
// area sums and one for the B coefficients; per (masked query, key group)
// one exponential and about twelve flops; per masked query one division;
// the e^B table (P² exponentials, about four lane operations per entry:
// maximum, subtraction, transposition, the final product); the state read
// and written once, and the index lists read once. This is the inherent
// minimum: where a row block is split into term chunks (small P), each
// chunk recomputes its block's e^B rows, tch·P² exponentials in all.
type exactWork struct {
	P, Queries, Pairs, Groups int
	Exps, Divisions, LaneOps  int
	Bytes                     int
}

// countExactWork counts the work from the samples' masks and the setting's
// areas, independently of the kernel's index lists.
func countExactWork(s *theory.Setting, samples []theory.Sample) exactWork {
	w := exactWork{P: s.P}
	nA := 0
	for _, c := range s.Clusters {
		nA += c.NumAreas()
	}
	for _, smp := range samples {
		areas := s.Clusters[smp.Cluster].Areas
		nm, nk := 0, 0
		seen := make(map[int]bool)
		for p, m := range smp.Mask {
			switch {
			case m:
				nm++
			default:
				seen[areas[p]] = true
			}
			if !m || s.Keys == theory.KeysAll {
				nk++
			}
		}
		groups := len(seen)
		if s.Keys == theory.KeysAll && nm > 0 {
			groups++ // the masked keys, whose z·A is 0
		}
		if nk == 0 {
			groups = 0 // no keys: ℓ_p = ½ z_a², nothing to evaluate
		}
		w.Queries += nm
		w.Pairs += nm * nk
		w.Groups += nm * groups
		if nk > 0 {
			w.Divisions += nm
		}
		w.Bytes += 4 * (nm + nk)
	}
	w.Exps = w.Groups + s.P*s.P
	w.LaneOps = 2*w.Pairs + 12*w.Groups + 4*s.P*s.P
	w.Bytes += 8 * 3 * (s.P*s.P + s.P*nA) // state read and written, gradient written
	return w
}

// TestExactWork checks the work counts of the step benchmarks' settings
// (n = 256, theory.Samples seed 1) against the kernel's own index lists —
// pairs, (query, key group) evaluations and queries — and logs them; with
// MIMVERIFY_WORK_OUT set it also writes them there as JSON, which
// tools/roofline reads (`make roofline`): the roofline of
// docs/PERFORMANCE.md follows the sample set.
func TestExactWork(t *testing.T) {
	var all []exactWork
	var log strings.Builder
	fmt.Fprintf(&log, "| P | masked queries | pairs | (query, group) | exps | divisions | lane-ops | bytes |\n")
	for _, bc := range benchSettings(t) {
		s := bc.s
		samples := s.Samples(1, 256)
		w := countExactWork(&s, samples)
		o := mustSample(t, &s, samples)
		ws := o.ws
		var q, pairs, groups int
		for _, tm := range ws.terms {
			st := ws.structs[tm.st]
			nq, nk := int(st.q1-st.q0), int(st.k1-st.k0)
			ng := 0
			for j := range ws.nArea[st.k] + 1 {
				if ws.koff[int(st.ko)+j+1] > ws.koff[int(st.ko)+j] {
					ng++
				}
			}
			q += nq
			pairs += nq * nk
			groups += nq * ng
		}
		if q != w.Queries || pairs != w.Pairs || groups != w.Groups {
			t.Errorf("%s: kernel lists give %d queries, %d pairs, %d (query, group); the masks %d, %d, %d",
				bc.name, q, pairs, groups, w.Queries, w.Pairs, w.Groups)
		}
		fmt.Fprintf(&log, "| %d | %d | %d | %d | %d | %d | %d | %d |\n",
			w.P, w.Queries, w.Pairs, w.Groups, w.Exps, w.Divisions, w.LaneOps, w.Bytes)
		all = append(all, w)
	}
	t.Log("inherent work of one exact step, n = 256:\n" + log.String())
	if out := os.Getenv("MIMVERIFY_WORK_OUT"); out != "" {
		b, err := json.MarshalIndent(all, "", "  ")
		if err == nil {
			err = os.WriteFile(out, append(b, '\n'), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
