package dynamics

import (
	"fmt"
	"math"
	"slices"

	"mimverify/theory"
)

// orbGroup is a set of key cells of one query: the cells of one PP orbit in
// the m exchangeable areas of a class, S = m·s keys in all (s per area).
type orbGroup struct {
	class int
	pp    int // index of the B variable in x
	S     int
}

// orbClass is a set of m exchangeable areas of the query's cluster (the own
// area always alone): same A variable, same cells, common z.
type orbClass struct {
	fp     int // index of the A variable in x
	area   int // a member area (its z is the class's z)
	m      int
	own    bool
	g0, g1 int // groups[g0:g1]
}

// orbProblem is one query representative p0 in one cluster k: the
// expectation of ℓ_{p0} and of its row gradient over the counts and z.
type orbProblem struct {
	k, p0     int
	ownArea   int
	wLoss     float64 // |orbit(p0)| · π_k · λ · Pr(p0 ∈ M)
	classes   []orbClass
	groups    []orbGroup
	self      int // B[p0][p0] variable for keys "all", else −1
	keysAll   bool
	areaClass []int // class of each area of cluster k

	// Gradient fold (docs/ORBIT.md §3.1): each class's per-area and each
	// group's per-key average enters its variable's per-entry gradient
	// with the share of the orbit's entries it stands for, so the gradient
	// is (1/mult)·∂L/∂x of the very estimate the loss returns.
	foldA    []float64 // per class: wLoss·m/mult[fp]
	foldB    []float64 // per group: wLoss·S/mult[pp]
	foldSelf float64   // keys "all": wLoss/mult[self]

	// Terms: blocks of one z vector each and a list of count vectors, or
	// (c0 < 0) the exact enumeration.
	enum    *orbEnum
	blocks  []orbBlock
	counts  []float64 // count vectors, len(groups) each
	cweight []float64 // probability of each count vector
	exact   bool      // counts exact (second moments within classes apply)
	// The control variate's z rule (CRN): blocks[ctrl0:] are its tensor
	// nodes; ctrl, when non-nil, sums them factored over the areas (§4.1).
	ctrl0 int
	ctrl  *orbControl
	// fast: the sample blocks take evalSamples (orbit_crn_kernel.go).
	fast bool
	ss   orbSampleScratch

	// Scratch.
	w, wm            []float64 // per group: unmasked and masked key weights
	zc, T, gA, accA  []float64 // per class
	accB             []float64 // per group
	accSelf, accLoss float64
	sampLoss         []float64 // CRN: each sample's loss, × wLoss (compute)
	wself            float64
	eB, eA           []float64 // factored weights: per group, per class
	u                []float64 // per group: attention per key, w/Z, of the current term
	eSelf            float64
	es               orbEnumScratch // the enumeration kernel's chunk (evalEnum)
	// Constants of term (setConstants).
	gS, invS, m, hv, V []float64 // per group
	gcls               []int     // class of each group
	invm, own, zc2     []float64 // per class
}

// orbBlock is one z vector with a range of count vectors (all of them for
// enumeration and the mean field, one for a CRN sample).
type orbBlock struct {
	z      []float64
	w      float64
	c0, c1 int
	sample int // CRN sample index, −1 otherwise
}

func (pr *orbProblem) numTerms() int {
	n := 0
	for _, b := range pr.blocks {
		if b.c0 < 0 {
			n += pr.enum.count
			continue
		}
		n += b.c1 - b.c0
	}
	return n
}

// buildProblems chooses the representatives and builds the cells of every
// (query representative, cluster) problem.
func (o *Orbit) buildProblems() error {
	s := &o.s
	P := s.P
	o.setOrbitOf()
	o.mult = make([]int, o.Dim())
	for _, id := range o.orbitOf {
		o.mult[id]++
	}
	rep, size := o.representatives()
	qprob := s.Gamma
	if s.Mask == theory.MaskFixed {
		qprob = float64(s.NumFixedMasked()) / float64(P)
	}
	for po, p0 := range rep {
		for k, cl := range s.Clusters {
			if cl.Prob == 0 {
				continue
			}
			wg := cl.Prob * s.LossScale() * qprob
			pr := o.newProblem(k, p0, float64(size[po])*wg)
			pr.setFold(o.mult)
			o.probs = append(o.probs, pr)
		}
	}
	return o.checkFoldCovers(size)
}

// setFold sets the problem's gradient fold coefficients (foldA, foldB,
// foldSelf) from the orbit multiplicities.
func (pr *orbProblem) setFold(mult []int) {
	pr.foldA = make([]float64, len(pr.classes))
	for c, cl := range pr.classes {
		pr.foldA[c] = pr.wLoss * float64(cl.m) / float64(mult[cl.fp])
	}
	pr.foldB = make([]float64, len(pr.groups))
	for g, gr := range pr.groups {
		pr.foldB[g] = pr.wLoss * float64(gr.S) / float64(mult[gr.pp])
	}
	if pr.keysAll {
		pr.foldSelf = pr.wLoss / float64(mult[pr.self])
	}
}

// checkFoldCovers verifies that the problems stand for every entry of
// every orbit exactly once: per FP orbit, Σ |orbit(p0)|·m over the classes
// of that variable is its multiplicity; per PP orbit the same over the
// groups (and query diagonals) of each cluster with π > 0. Otherwise the
// fold would weight some entries twice or not at all (a bug).
func (o *Orbit) checkFoldCovers(size []int) error {
	s, sy := &o.s, o.sym
	fp := make([]int, sy.NumFP)
	pp := make([][]int, len(s.Clusters))
	for _, pr := range o.probs {
		if pp[pr.k] == nil {
			pp[pr.k] = make([]int, o.Dim()-sy.NumFP)
		}
		n := size[sy.PosOrbit[pr.p0]]
		for _, cl := range pr.classes {
			fp[cl.fp] += n * cl.m
		}
		for _, gr := range pr.groups {
			pp[pr.k][gr.pp-sy.NumFP] += n * gr.S
		}
		// The query's own pair B[p0][p0] is a variable whether or not it is
		// a key; it has a gradient only for keys "all".
		pp[pr.k][sy.PPOrbit[pr.p0*sy.P+pr.p0]] += n
	}
	for k, c := range s.Clusters {
		if c.Prob == 0 { // not in the loss: its A variables have no entries to cover
			for _, row := range sy.FPOrbit[k] {
				for _, id := range row {
					fp[id] = o.mult[id]
				}
			}
		}
	}
	for id, n := range fp {
		if n != o.mult[id] {
			return fmt.Errorf("dynamics: orbit: FP orbit %d: the problems cover %d entries of %d (a bug)", id, n, o.mult[id])
		}
	}
	for k, c := range pp {
		for id, n := range c {
			if n != o.mult[sy.NumFP+id] {
				return fmt.Errorf("dynamics: orbit: PP orbit %d in cluster %d: the problems cover %d entries of %d (a bug)", id, k, n, o.mult[sy.NumFP+id])
			}
		}
	}
	return nil
}

// representatives returns the smallest position of each position orbit
// and the orbit sizes. Every FP and PP orbit has an entry in some
// representative row (docs/ORBIT.md §3); checkFoldCovers verifies it.
func (o *Orbit) representatives() (rep, size []int) {
	sy := o.sym
	rep, size = make([]int, sy.NumPos), make([]int, sy.NumPos)
	for p := sy.P - 1; p >= 0; p-- {
		rep[sy.PosOrbit[p]] = p
		size[sy.PosOrbit[p]]++
	}
	return rep, size
}

// newProblem builds the cells, classes and groups of query p0 in cluster k.
func (o *Orbit) newProblem(k, p0 int, wLoss float64) *orbProblem {
	s, sy := &o.s, o.sym
	P := s.P
	cl := s.Clusters[k]
	n := cl.NumAreas()
	pr := &orbProblem{k: k, p0: p0, ownArea: cl.Areas[p0], wLoss: wLoss, self: -1, keysAll: s.Keys == theory.KeysAll}
	if pr.keysAll {
		pr.self = sy.NumFP + int(sy.PPOrbit[p0*P+p0])
	}
	// Cells per area: PP variable → number of keys q ≠ p0.
	cells := make([]map[int]int, n)
	for j := range cells {
		cells[j] = map[int]int{}
	}
	for q := range P {
		if q != p0 {
			cells[cl.Areas[q]][sy.NumFP+int(sy.PPOrbit[p0*P+q])]++
		}
	}
	type cell struct{ pp, s int }
	sig := make([][]cell, n)
	for j := range cells {
		for pp, c := range cells[j] {
			sig[j] = append(sig[j], cell{pp, c})
		}
		slices.SortFunc(sig[j], func(a, b cell) int { return a.pp - b.pp })
	}
	// Classes: the own area alone; others lumped by (A variable, cells) when
	// z is common to all areas.
	done := make([]bool, n)
	pr.areaClass = make([]int, n)
	lump := commonZ(s)
	for _, j := range append([]int{pr.ownArea}, areasExcept(n, pr.ownArea)...) {
		if done[j] {
			continue
		}
		c := orbClass{fp: sy.FPOrbit[k][p0][j], area: j, m: 1, own: j == pr.ownArea}
		done[j] = true
		pr.areaClass[j] = len(pr.classes)
		if lump && !c.own {
			for j2 := j + 1; j2 < n; j2++ {
				if !done[j2] && j2 != pr.ownArea && sy.FPOrbit[k][p0][j2] == c.fp && slices.Equal(sig[j], sig[j2]) {
					done[j2] = true
					pr.areaClass[j2] = len(pr.classes)
					c.m++
				}
			}
		}
		c.g0 = len(pr.groups)
		for _, ce := range sig[j] {
			pr.groups = append(pr.groups, orbGroup{class: len(pr.classes), pp: ce.pp, S: c.m * ce.s})
		}
		c.g1 = len(pr.groups)
		pr.classes = append(pr.classes, c)
	}
	nc, ng := len(pr.classes), len(pr.groups)
	pr.w, pr.wm, pr.accB = make([]float64, ng), make([]float64, ng), make([]float64, ng)
	pr.zc, pr.T, pr.gA, pr.accA = make([]float64, nc), make([]float64, nc), make([]float64, nc), make([]float64, nc)
	pr.eB, pr.eA, pr.u = make([]float64, ng), make([]float64, nc), make([]float64, ng)
	return pr
}

func areasExcept(n, a int) []int {
	out := make([]int, 0, n)
	for j := range n {
		if j != a {
			out = append(out, j)
		}
	}
	return out
}

// binomPMF returns the Binomial(n, p) probabilities, computed by the ratio
// recurrence from the mode and normalised (relative error ≈ |k − mode| ulp).
func binomPMF(n int, p float64) []float64 {
	t := make([]float64, n+1)
	mode := min(n, max(0, int(math.Floor(float64(n+1)*p))))
	t[mode] = 1
	r := p / (1 - p)
	for k := mode + 1; k <= n; k++ {
		t[k] = t[k-1] * float64(n-k+1) / float64(k) * r
	}
	for k := mode - 1; k >= 0; k-- {
		t[k] = t[k+1] * float64(k+1) / float64(n-k) / r
	}
	sum := 0.0
	for _, v := range t {
		sum += v
	}
	for k := range t {
		t[k] /= sum
	}
	return t
}

// trimTails returns the smallest index range [lo, hi] of pmf leaving at
// most eps of probability outside on each side.
func trimTails(pmf []float64, eps float64) (lo, hi int) {
	hi = len(pmf) - 1
	for m := 0.0; lo < hi && m+pmf[lo] <= eps; lo++ {
		m += pmf[lo]
	}
	for m := 0.0; hi > lo && m+pmf[hi] <= eps; hi-- {
		m += pmf[hi]
	}
	return lo, hi
}

// logChoose returns ln C(n, k): exact binomials below 60, log-gamma above.
func logChoose(n, k int) float64 {
	if n <= 60 {
		return math.Log(binom(n, k))
	}
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}
