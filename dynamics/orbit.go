package dynamics

import (
	"errors"
	"fmt"
	"math"
	"runtime"

	"gonum.org/v1/gonum/integrate/quad"

	"mimverify/internal/mutant"
	"mimverify/internal/parallel"
	"mimverify/theory"
)

// This file is level 4 (orbit) and level 5 (mean-field) of SPEC §3: the
// population objective restricted to the subspace fixed by the setting's
// symmetry group, with the expectation over masks taken over the unmasked
// counts of the key cells of each query representative. The derivation is
// docs/ORBIT.md §3–5.

// Orbit modes (OrbitOptions.Mode).
const (
	OrbitAuto      = "auto"
	OrbitEnumerate = "enumerate"
	OrbitCRN       = "crn"
)

// DefaultOrbitMaxTerms is the default enumeration budget: the number of
// (count vector, z node) terms summed per evaluation.
const DefaultOrbitMaxTerms = 1 << 20

// orbitTailEps is the probability mass dropped from each tail of a binomial
// count law in enumeration (docs/ORBIT.md §4): the integrands are bounded,
// so the error is below 2·orbitTailEps times their bound per group.
const orbitTailEps = 1e-20

// OrbitOptions configures NewOrbit. The zero value is: mode auto, the
// default budget, DefaultQuadNodes, DefaultCRNSamples, seed 0, the symmetry
// found by FindSymmetry.
type OrbitOptions struct {
	// MeanField replaces the unmasked counts by their means (level 5).
	MeanField bool
	// Mode is OrbitAuto ("" too), OrbitEnumerate or OrbitCRN.
	Mode string
	// MaxTerms is the enumeration budget (0: DefaultOrbitMaxTerms).
	MaxTerms int
	// CRNSamples is the number of common-random-number samples of the
	// counts and z per query representative (0: DefaultCRNSamples).
	CRNSamples int
	Seed       uint64
	// QuadNodes is the number of Gauss–Legendre nodes for uniform and
	// shared z (0: DefaultQuadNodes).
	QuadNodes int
	// Symmetry, when non-nil, is used instead of FindSymmetry (e.g.
	// TrivialSymmetry, or any verified subgroup).
	Symmetry *Symmetry
}

// Orbit is the population loss on the symmetric subspace, in orbit
// coordinates x: x[o] for o < NumFP is the common value of the FP entries of
// orbit o, x[NumFP + o] that of the PP pairs of PP orbit o. LossGrad returns
// the per-entry gradient ∂L/∂θ_i of any entry i of each orbit (equal across
// the orbit by symmetry), so x ← x − η g is exactly population GD on the
// lifted state. It is not safe for concurrent use.
type Orbit struct {
	s     theory.Setting
	sym   *Symmetry
	mode  string
	mf    bool
	probs []*orbProblem
	// Orbit multiplicities (number of entries of each orbit), and the
	// orbit of each entry of the flat vector (theory.Shape's order), for
	// Project.
	mult    []int
	orbitOf []int32
	// CRN: per-sample total loss, for the standard error.
	nSamples   int
	sampleLoss []float64
	work       float64 // Work(), for choosing to run the problems in parallel
}

// NewOrbit builds the orbit (or, with MeanField, the mean-field) objective of
// the valid setting s. A setting whose expectation has more terms than
// MaxOrbitTerms is refused (ErrTooManyTerms) before they are built.
func NewOrbit(s *theory.Setting, opt OrbitOptions) (*Orbit, error) {
	o, opt, err := newOrbitProblems(s, opt)
	if err != nil {
		return nil, err
	}
	if err := o.buildTerms(opt); err != nil {
		return nil, err
	}
	o.work = o.Work()
	return o, nil
}

// OrbitSize is the size of the expectation NewOrbit would build, known
// before its terms are built: for memory estimates (judge/cost.go).
type OrbitSize struct {
	Mode  string  // OrbitEnumerate, OrbitCRN or "meanfield"
	Terms float64 // what NumTerms will return (an upper bound for fixed masks)
	// Blocks is the number of z vectors held (one per z node of each
	// problem, and one per CRN draw), each of Areas values (the most of a
	// problem's cluster).
	Blocks float64
	Areas  int
	Dim    int
	// Stored is the bytes of the count vectors the enumeration keeps
	// (orbEnum.store: while they fit in its budget, else generated anew).
	Stored float64
	// ClassTerms is Σ terms × area classes over the problems: each CRN
	// draw holds kernel scratch per class of its problem (with z i.i.d.
	// every area is a class of its own).
	ClassTerms float64
}

// PredictOrbit returns the size of NewOrbit(s, opt) without building its
// terms (the symmetry and the problems are built: they are small). Its
// error is NewOrbit's, ErrTooManyTerms included.
func PredictOrbit(s *theory.Setting, opt OrbitOptions) (OrbitSize, error) {
	o, opt, err := newOrbitProblems(s, opt)
	if err != nil {
		return OrbitSize{}, err
	}
	o.mode = "meanfield"
	if !o.mf {
		o.mode = o.resolveMode(opt)
	}
	size := OrbitSize{Mode: o.mode, Terms: o.termCount(opt), Dim: o.Dim()}
	budget := float64(orbitEnumStoreBytes)
	for _, pr := range o.probs {
		size.ClassTerms += o.problemTerms(pr, opt) * float64(len(pr.classes))
		if o.mode == OrbitEnumerate {
			cv, G := pr.countVectors(&o.s), float64(len(pr.groups))
			if need := (math.Ceil(cv/orbitChunk)*orbitChunk*G + cv) * 8; need <= budget {
				size.Stored += need
				budget -= need
			}
		}
		n := o.s.Clusters[pr.k].NumAreas()
		nz, draws := orbitZNodes(&o.s, n, opt.QuadNodes), float64(opt.CRNSamples)
		switch {
		case o.mf || o.mode == OrbitEnumerate:
			size.Blocks += nz
		case nz >= 2 && nz <= 4*draws:
			size.Blocks += draws + nz
		default:
			size.Blocks += draws
		}
		size.Areas = max(size.Areas, n)
	}
	return size, o.checkTermCount(opt)
}

// newOrbitProblems checks the options, resolves their defaults, and builds
// the symmetry and the problems of NewOrbit, not their terms.
func newOrbitProblems(s *theory.Setting, opt OrbitOptions) (*Orbit, OrbitOptions, error) {
	if s == nil {
		return nil, opt, errors.New("dynamics: orbit: nil setting")
	}
	if err := s.Validate(); err != nil {
		return nil, opt, fmt.Errorf("dynamics: orbit: invalid setting: %w", err)
	}
	if opt.Mode == "" {
		opt.Mode = OrbitAuto
	}
	switch opt.Mode {
	case OrbitAuto, OrbitEnumerate, OrbitCRN:
	default:
		return nil, opt, fmt.Errorf("dynamics: orbit option Mode = %q: must be one of auto, enumerate, crn", opt.Mode)
	}
	if opt.MaxTerms == 0 {
		opt.MaxTerms = DefaultOrbitMaxTerms
	}
	if opt.QuadNodes == 0 {
		opt.QuadNodes = DefaultQuadNodes
	}
	if opt.QuadNodes < 1 || opt.QuadNodes > MaxQuadNodes {
		return nil, opt, fmt.Errorf("dynamics: orbit option QuadNodes = %d: must be in [1, %d]", opt.QuadNodes, MaxQuadNodes)
	}
	if opt.CRNSamples == 0 {
		opt.CRNSamples = DefaultCRNSamples
	}
	if opt.CRNSamples < MinCRNSamples || opt.CRNSamples > MaxCRNSamples {
		return nil, opt, fmt.Errorf("dynamics: orbit option CRNSamples = %d: must be in [%d, %d]", opt.CRNSamples, MinCRNSamples, MaxCRNSamples)
	}
	o := &Orbit{s: s.Clone(), sym: opt.Symmetry, mf: opt.MeanField}
	if o.sym == nil {
		sy, err := FindSymmetry(&o.s)
		if err != nil {
			return nil, opt, err
		}
		o.sym = sy
	} else if o.sym.P != s.P || len(o.sym.NumAreas) != len(s.Clusters) {
		return nil, opt, errors.New("dynamics: orbit option Symmetry: not of this setting's shape")
	}
	return o, opt, o.buildProblems()
}

// Dim returns the number of orbit variables, NumFP + NumPP.
func (o *Orbit) Dim() int { return o.sym.NumFP + o.sym.NumPP }

// Symmetry returns the symmetry group in use.
func (o *Orbit) Symmetry() *Symmetry { return o.sym }

// Mode returns the resolved mode: OrbitEnumerate, OrbitCRN, or "meanfield".
func (o *Orbit) Mode() string { return o.mode }

// NumTerms returns the number of (count vector, z node) terms per evaluation.
func (o *Orbit) NumTerms() int {
	n := 0
	for _, pr := range o.probs {
		n += pr.numTerms()
	}
	return n
}

// Multiplicity returns the number of entries of each orbit (len Dim()).
func (o *Orbit) Multiplicity() []int { return o.mult }

// Lift writes the symmetric state of orbit values x into c (the setting's
// shape).
func (o *Orbit) Lift(x []float64, c theory.Correlations) {
	sy := o.sym
	for k := range c.A {
		for p, row := range c.A[k] {
			for j := range row {
				row[j] = x[sy.FPOrbit[k][p][j]]
			}
		}
	}
	P := sy.P
	for p, row := range c.B {
		for q := range row {
			row[q] = x[sy.NumFP+int(sy.PPOrbit[p*P+q])]
		}
	}
}

// Project writes into x the orbit averages of c: the orthogonal projection
// onto the symmetric subspace, in orbit coordinates (Lift ∘ Project is the
// identity on symmetric states).
func (o *Orbit) Project(c theory.Correlations, x []float64) {
	clear(x)
	// Row by row in the flat vector's order (theory.Shape), the orbit of
	// each entry from orbitOf: c may be views without a flat vector.
	i := 0
	for k := range c.A {
		for _, row := range c.A[k] {
			for _, v := range row {
				x[o.orbitOf[i]] += v
				i++
			}
		}
	}
	for _, row := range c.B {
		for _, v := range row {
			x[o.orbitOf[i]] += v
			i++
		}
	}
	for i := range x {
		x[i] /= float64(o.mult[i])
	}
}

// setOrbitOf tabulates the orbit of every entry of the flat vector.
func (o *Orbit) setOrbitOf() {
	sy := o.sym
	o.orbitOf = make([]int32, 0, o.s.Shape().Len())
	for k := range sy.FPOrbit {
		for _, row := range sy.FPOrbit[k] {
			for _, id := range row {
				o.orbitOf = append(o.orbitOf, int32(id))
			}
		}
	}
	for _, id := range sy.PPOrbit {
		o.orbitOf = append(o.orbitOf, int32(sy.NumFP)+int32(id))
	}
}

// LossGrad returns the population loss at the lifted state of x and writes
// into g (len Dim()) the per-entry gradient of each orbit. stderr is 0 for
// enumeration and the mean field, and the CRN standard error otherwise.
func (o *Orbit) LossGrad(x, g []float64) (loss, stderr float64) {
	if len(x) != o.Dim() || (g != nil && len(g) != o.Dim()) {
		panic(fmt.Sprintf("dynamics: orbit: state of length %d (gradient %d), must be Dim() = %d", len(x), len(g), o.Dim()))
	}
	if g != nil {
		clear(g)
	}
	clear(o.sampleLoss)
	o.computeAll(x, g != nil)
	for _, pr := range o.probs {
		loss += pr.fold(g, o.sampleLoss)
	}
	return loss, o.stderr(loss)
}

// orbitParallelWork is the Work() above which LossGrad evaluates its
// problems on several goroutines (below it, ≈ 0.1 ms at ≈ 8 ns a pair,
// the start-up of a goroutine per core is not repaid).
const orbitParallelWork = 1.2e4

// computeAll runs every problem's compute at x, on up to GOMAXPROCS
// goroutines taking problems in any order: each writes only its own
// state, and LossGrad folds them in problem order, so the result is
// bit-identical at any GOMAXPROCS (TestOrbitParallelBits).
func (o *Orbit) computeAll(x []float64, grad bool) {
	workers := runtime.GOMAXPROCS(0)
	if o.work < orbitParallelWork {
		workers = 1
	}
	parallel.For(len(o.probs), workers, func(_, i int) { o.probs[i].compute(x, grad) })
}

func (o *Orbit) stderr(float64) float64 {
	n := float64(o.nSamples)
	if o.mode != OrbitCRN || n < 2 {
		return 0
	}
	// The mean of the per-sample totals (the loss minus the control
	// variate's exact part, §4).
	mean := 0.0
	for _, l := range o.sampleLoss {
		mean += l / n
	}
	ss := 0.0
	for _, l := range o.sampleLoss {
		d := l - mean
		ss += d * d
	}
	return math.Sqrt(ss / (n - 1) / n)
}

// Objective returns the orbit objective as an Objective on full (A, B): it
// evaluates at the projection of c onto the symmetric subspace and writes the
// lifted per-entry gradient, so on symmetric states it is the population
// objective (the Descent and Flow engines run on it unchanged).
func (o *Orbit) Objective() Objective { return orbitObjective{o} }

type orbitObjective struct{ o *Orbit }

func (a orbitObjective) LossGrad(c, grad theory.Correlations) (loss, stderr float64) {
	x := make([]float64, a.o.Dim())
	g := make([]float64, a.o.Dim())
	a.o.Project(c, x)
	loss, stderr = a.o.LossGrad(x, g)
	a.o.Lift(g, grad)
	return loss, stderr
}

// zNodeTable returns the z nodes of a cluster with n areas (one z per area)
// and their weights, as the population objective does (docs/DYNAMICS.md §7).
func zNodeTable(s *theory.Setting, n, quadNodes int) (zs [][]float64, ws []float64) {
	x, w := zNodes1(s, quadNodes)
	if s.Z.Kind == theory.ZShared || len(x) == 1 {
		for i := range x {
			z := make([]float64, n)
			for j := range z {
				z[j] = x[i]
			}
			zs, ws = append(zs, z), append(ws, w[i])
		}
		return zs, ws
	}
	idx := make([]int, n)
	for {
		z := make([]float64, n)
		wt := 1.0
		for j, i := range idx {
			z[j], wt = x[i], wt*w[i]
		}
		zs, ws = append(zs, z), append(ws, wt)
		j := 0
		for ; j < n; j++ {
			if idx[j]++; idx[j] < len(x) {
				break
			}
			idx[j] = 0
		}
		if j == n {
			return zs, ws
		}
	}
}

// zNodes1 returns one area's z nodes and weights (summing to 1).
func zNodes1(s *theory.Setting, quadNodes int) (x, w []float64) {
	L, U := s.Z.L, s.Z.U
	switch {
	case constantZ(s):
		return []float64{L}, []float64{1}
	case s.Z.Kind == theory.ZTwoPoint:
		if mutant.On(mutant.OrbitZSpread) {
			return []float64{halfSpread(s, L), halfSpread(s, U)}, []float64{0.5, 0.5}
		}
		return []float64{L, U}, []float64{0.5, 0.5}
	}
	x, w = make([]float64, quadNodes), make([]float64, quadNodes)
	quad.Legendre{}.FixedLocations(x, w, L, U)
	for i := range w {
		w[i] /= U - L
		if mutant.On(mutant.OrbitZSpread) {
			x[i] = halfSpread(s, x[i])
		}
	}
	return x, w
}

// halfSpread is the OrbitZSpread mutant's z: μ + ½(z − μ), μ = (L + U)/2.
func halfSpread(s *theory.Setting, z float64) float64 {
	mu := (s.Z.L + s.Z.U) / 2
	return mu + (z-mu)/2
}

// commonZ reports whether every area of an image has the same z (constant,
// shared, or a degenerate interval), so that exchangeable areas may be
// lumped (docs/ORBIT.md §4).
func commonZ(s *theory.Setting) bool {
	return constantZ(s) || s.Z.Kind == theory.ZShared
}

// constantZ reports whether z is one constant, for every image and area:
// the constant law or a degenerate interval (U = L). Validate forces U = L
// for the constant law; the kind is tested too for a setting not validated.
func constantZ(s *theory.Setting) bool {
	return s.Z.Kind == theory.ZConstant || s.Z.U == s.Z.L
}
