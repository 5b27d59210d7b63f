package judge

import (
	"math"
	"slices"
	"sync"

	"mimverify/internal/fastexp"
	"mimverify/internal/mutant"
	"mimverify/theory"
)

// The factored measurement of the attention (docs/JUDGE.md, "The factored
// measurement"). A masked query p of cluster k scores an unmasked key q of
// area j as z_j A_{k,p,j} + B_{p,q}, so its softmax weight factors as
//
//	π_{p,q} = e^{z_j A_{k,p,j} − m_A} · e^{B_{p,q} − m_p} / Σ,
//
// with m_p = max_q B_{p,q} over all keys and m_A the largest z_j A_{k,p,j}
// over the areas that have keys: both factors are ≤ 1 and the table
// e^{B − m} is shared by every sample and query of a state. Per query the
// keys then cost one addition each (the area sums T_j = Σ_{q∈j} e^{B_{p,q} − m_p})
// instead of one exponential each. When Σ underflows below tinyNormaliser
// the weights lost to underflow might matter, and the query is measured by
// attend, the direct log-sum-exp, which defines the result.

// tinyNormaliser is the factored softmax normaliser below which a query
// falls back to attend: above it, every weight lost to underflow
// (< 1e-308) is < 1e-58 relative to the sum (the exact kernel's rule,
// dynamics.tinySum).
const tinyNormaliser = 1e-250

// factoredB is the state-wide part of the factored attention: the rows of
// e^{B − m_p}, flat P×P.
type factoredB struct {
	P  int
	eb []float64
}

// ebTables recycles the P×P tables: a check measures hundreds of records,
// and a fresh table each time (512 KB at P = 256) made garbage enough to
// raise the process's peak by a fifth (TestCostEstimatesHold).
var ebTables sync.Pool

func newFactoredB(c theory.Correlations, P int) *factoredB {
	f := &factoredB{P: P}
	if t, ok := ebTables.Get().(*[]float64); ok && cap(*t) >= P*P {
		f.eb = (*t)[:P*P]
	} else {
		f.eb = make([]float64, P*P)
	}
	for p, row := range c.B {
		m := math.Inf(-1)
		for _, b := range row {
			m = max(m, b)
		}
		out := f.eb[p*P : (p+1)*P]
		for q, b := range row {
			out[q] = b - m
		}
		fastexp.NonPos(out)
	}
	return f
}

// release hands the table back for the next state's; f is unusable after.
func (f *factoredB) release() {
	if f != nil {
		t := f.eb
		f.eb = nil
		ebTables.Put(&t)
	}
}

// keyGroups lists one sample's keys grouped by area: the unmasked keys of
// area j are pos[off[j]:off[j+1]] for j < N_k, and with keys "all" the
// masked keys are the last group, pos[off[N_k]:off[N_k+1]] (empty
// otherwise). next is build's scratch.
type keyGroups struct {
	pos, off, next []int
}

// build groups smp's keys into g, reusing g's lists: a check measures every
// image at every record, and the lists were a tenth of the measurement's
// time as fresh allocations.
func (g *keyGroups) build(s *theory.Setting, smp *theory.Sample, areas []int) {
	n := len(smp.Z)
	all := s.Keys == theory.KeysAll
	g.off = slices.Grow(g.off[:0], n+2)[:n+2]
	clear(g.off)
	for q, m := range smp.Mask { // counting sort by group, positions increasing within one
		switch {
		case !m:
			g.off[areas[q]+1]++
		case all:
			g.off[n+1]++
		}
	}
	for j := 1; j <= n+1; j++ {
		g.off[j] += g.off[j-1]
	}
	g.pos = slices.Grow(g.pos[:0], g.off[n+1])[:g.off[n+1]]
	g.next = append(g.next[:0], g.off[:n+1]...)
	for q, m := range smp.Mask {
		j := n
		switch {
		case !m:
			j = areas[q]
		case !all:
			continue
		}
		g.pos[g.next[j]] = q
		g.next[j]++
	}
}

// queryWork is one query's scratch for the factored attention: per key
// group, the sums of e^{B − m_p} (t) and of B (bsum), and the factors
// e^{z_j A_j − m_A} (ea).
type queryWork struct {
	t, bsum, ea []float64
}

func newQueryWork(groups int) queryWork {
	return queryWork{t: make([]float64, groups), bsum: make([]float64, groups), ea: make([]float64, groups)}
}

// size returns w's lists for groups key groups, allocated once per size
// (every entry is written before it is read: groupSums, attend).
func (w *queryWork) size(groups int) queryWork {
	if len(w.t) != groups {
		*w = newQueryWork(groups)
	}
	return *w
}

// size is the number of keys in group j.
func (g keyGroups) size(j int) int { return g.off[j+1] - g.off[j] }

// groupSums sets w.bsum, and w.t when f is not nil, for query p over the
// sample's key groups.
func groupSums(f *factoredB, c theory.Correlations, g keyGroups, p int, w queryWork) {
	brow := c.B[p]
	if f == nil {
		for j := range w.bsum {
			b := 0.0
			for _, q := range g.pos[g.off[j]:g.off[j+1]] {
				b += brow[q]
			}
			w.bsum[j] = b
		}
		return
	}
	eb := f.eb[p*f.P : (p+1)*f.P]
	for j := range w.t {
		// Two chains per sum (keys at even and odd places): the additions'
		// latency, not the loads, bounds this loop.
		keys := g.pos[g.off[j]:g.off[j+1]]
		var t0, t1, b0, b1 float64
		i := 0
		for ; i+1 < len(keys); i += 2 {
			q0, q1 := keys[i], keys[i+1]
			t0 += eb[q0]
			t1 += eb[q1]
			b0 += brow[q0]
			b1 += brow[q1]
		}
		if i < len(keys) {
			t0 += eb[keys[i]]
			b0 += brow[keys[i]]
		}
		w.t[j], w.bsum[j] = t0+t1, b0+b1
	}
}

// attend is the factored form of attend (measure.go): it writes into S
// (len N_k) the area masses of the masked query p of smp, and fills pi with
// its attention when pi is not nil; ok is false when the factored
// normaliser underflows (the caller then measures the query by attend).
// w.t must hold the query's group sums (groupSums).
func (f *factoredB) attend(c theory.Correlations, smp *theory.Sample, g keyGroups, p int, w queryWork, S, pi []float64) (ok bool) {
	n := len(smp.Z)
	arow := c.A[smp.Cluster][p]
	mA := math.Inf(-1)
	for j := range w.ea {
		v := 0.0 // the masked keys' group carries no A
		if j < n {
			v = smp.Z[j] * arow[j]
		}
		w.ea[j] = v
		if g.off[j+1] > g.off[j] {
			mA = max(mA, v)
		}
	}
	if math.IsInf(mA, -1) {
		return false // no key takes attention: attend's convention
	}
	for j, v := range w.ea {
		w.ea[j] = v - mA
	}
	fastexp.NonPos(w.ea)
	sum := 0.0
	for j := range w.ea {
		if mutant.On(mutant.SoftmaxNoShift) {
			w.ea[j] *= math.Exp(mA) // the shift undone: exp(s) overflows once a score passes ~709
		}
		sum += w.ea[j] * w.t[j]
	}
	if !(sum >= tinyNormaliser) || math.IsInf(sum, 1) {
		return false
	}
	clear(S)
	for j := range S {
		i := j
		if mutant.On(mutant.AreaShift) {
			i = (j + 1) % n
		}
		S[i] += w.ea[j] * w.t[j] / sum
	}
	if pi != nil {
		clear(pi)
		eb := f.eb[p*f.P : (p+1)*f.P]
		for j, e := range w.ea {
			for _, q := range g.pos[g.off[j]:g.off[j+1]] {
				pi[q] = e * eb[q] / sum
			}
		}
	}
	return true
}
