package dynamics

import (
	"errors"
	"fmt"
	"math"
	"runtime"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/integrate/quad"

	"mimverify/internal/parallel"
	"mimverify/theory"
)

// Population modes (PopulationOptions.Mode).
const (
	// PopulationAuto enumerates when the setting is within the enumeration
	// limits (see CanEnumerate) and uses common random numbers otherwise.
	PopulationAuto = "auto"
	// PopulationEnumerate sums over every mask and z quadrature node with its
	// probability weight; an error beyond the limits.
	PopulationEnumerate = "enumerate"
	// PopulationCRN averages over a fixed set of samples drawn once from
	// theory.StreamCRN and reused at every evaluation.
	PopulationCRN = "crn"
)

// Enumeration limits and option defaults of the population objective.
//
// Enumeration sums over every (cluster, mask, z node) term: for each cluster
// k with π_k > 0, (number of masks) × (number of z nodes), where the masks
// are the 2^P − 1 non-empty subsets (bernoulli; the empty mask has no query
// and contributes 0) or the C(P, round(γP)) subsets of the fixed size, and
// the z nodes are 1 (constant), 2^{N_k} (two-point), QuadNodes^{N_k}
// (uniform, tensor Gauss–Legendre) or QuadNodes (shared). Enumeration is
// possible when P ≤ MaxEnumerateP and the total number of terms is at most
// MaxEnumerateTerms (about 0.1–0.3 s per evaluation at P = 16 on two cores,
// and ~100 bytes of index lists per term, plus at most 16·⌈P/4⌉ bytes of
// per-key lists on the AVX-512 path, exact_kernel_keysums.go).
const (
	MaxEnumerateP     = 16
	MaxEnumerateTerms = 1 << 18

	DefaultQuadNodes  = 4
	MaxQuadNodes      = 32
	DefaultCRNSamples = 4096
	MinCRNSamples     = 2
	MaxCRNSamples     = 1 << 20
)

// PopulationOptions configures NewPopulationObjective. The zero value is
// the defaults: mode auto, DefaultQuadNodes nodes, DefaultCRNSamples
// samples, seed 0.
type PopulationOptions struct {
	// Mode is PopulationAuto ("auto", also ""), PopulationEnumerate
	// ("enumerate") or PopulationCRN ("crn").
	Mode string
	// QuadNodes is the number of Gauss–Legendre nodes per area for the
	// uniform and shared z laws, in [1, MaxQuadNodes]; 0 means
	// DefaultQuadNodes. The quadrature error decreases geometrically with
	// it (docs/DYNAMICS.md §7).
	QuadNodes int
	// CRNSamples is the size of the common-random-number sample set, in
	// [MinCRNSamples, MaxCRNSamples]; 0 means DefaultCRNSamples.
	CRNSamples int
	// Seed seeds theory.StreamCRN for the common random numbers.
	Seed uint64
}

// PopulationObjective is the population loss E_{k, z, M}[s.LossScale() ·
// Σ_{p∈M} ℓ_p] as a function of (A, B): level 2 of SPEC §3. It is a
// weighted term set evaluated by the same kernel as SampleObjective: the
// exact enumeration of masks and z nodes, or a fixed common-random-number
// sample set. NewPopulationObjective returns it as an Objective; type-assert
// to *PopulationObjective for Mode, NumTerms and GradStdErr. It is not safe
// for concurrent use.
type PopulationObjective struct {
	ws        *weightedSet
	s         theory.Setting
	mode      string
	quadNodes int
}

// CountTerms returns the number of enumeration terms of s with the given
// number of quadrature nodes per area (as a float64, since it can overflow
// an int), and whether enumeration is within the limits: P ≤ MaxEnumerateP
// and terms ≤ MaxEnumerateTerms.
func CountTerms(s *theory.Setting, quadNodes int) (terms float64, ok bool) {
	var masks float64
	if s.Mask == theory.MaskFixed {
		masks = binom(s.P, s.NumFixedMasked())
	} else {
		masks = math.Exp2(float64(s.P)) - 1
	}
	for _, c := range s.Clusters {
		if c.Prob == 0 {
			continue
		}
		terms += masks * zNodeCount(s, c.NumAreas(), quadNodes)
	}
	return terms, s.P <= MaxEnumerateP && terms <= MaxEnumerateTerms
}

// zNodeCount is the number of z nodes of one cluster with n areas.
func zNodeCount(s *theory.Setting, n, quadNodes int) float64 {
	degenerate := s.Z.U == s.Z.L
	switch s.Z.Kind {
	case theory.ZTwoPoint:
		return math.Exp2(float64(n))
	case theory.ZUniform:
		if degenerate {
			return 1
		}
		return math.Pow(float64(quadNodes), float64(n))
	case theory.ZShared:
		if degenerate {
			return 1
		}
		return float64(quadNodes)
	}
	return 1
}

func binom(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return math.Round(r)
}

// NewPopulationObjective returns the population objective of the valid
// setting s. Bad options give an error naming the option and its allowed
// range, as does Mode "enumerate" beyond the enumeration limits.
func NewPopulationObjective(s *theory.Setting, opt PopulationOptions) (*PopulationObjective, error) {
	if s == nil {
		return nil, errors.New("dynamics: population objective: nil setting")
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("dynamics: population objective: invalid setting: %w", err)
	}
	opt, mode, _, err := opt.Resolve(s)
	if err != nil {
		return nil, err
	}
	o := &PopulationObjective{s: s.Clone(), mode: mode, quadNodes: opt.QuadNodes}
	o.ws = newWeightedSet(&o.s)
	if mode == PopulationEnumerate {
		o.enumerate()
	} else {
		sp := o.s.NewSampler(theory.NewRand(opt.Seed, theory.StreamCRN))
		w := 1 / float64(opt.CRNSamples)
		for range opt.CRNSamples {
			smp := sp.Draw()
			st := o.ws.addStructure(&o.s, smp.Cluster, smp.Mask)
			o.ws.terms = append(o.ws.terms, term{st: st, z0: o.ws.addZ(smp.Z), w: w})
		}
	}
	o.ws.finish()
	return o, nil
}

// Resolve fills the defaults of the options and decides the mode that
// NewPopulationObjective will use on s, with its number of weighted terms
// (enumeration terms, or CRN samples), before any is built: the CLI names
// the expectation of a run before the run starts. Bad options give an
// error naming the option and its allowed range.
func (opt PopulationOptions) Resolve(s *theory.Setting) (resolved PopulationOptions, mode string, terms int, err error) {
	if opt.Mode == "" {
		opt.Mode = PopulationAuto
	}
	switch opt.Mode {
	case PopulationAuto, PopulationEnumerate, PopulationCRN:
	default:
		return opt, "", 0, fmt.Errorf("dynamics: population option Mode = %q: must be one of auto, enumerate, crn", opt.Mode)
	}
	if opt.QuadNodes == 0 {
		opt.QuadNodes = DefaultQuadNodes
	}
	if opt.QuadNodes < 1 || opt.QuadNodes > MaxQuadNodes {
		return opt, "", 0, fmt.Errorf("dynamics: population option QuadNodes = %d: must be an integer in [1, %d] (0 for the default %d)", opt.QuadNodes, MaxQuadNodes, DefaultQuadNodes)
	}
	if opt.CRNSamples == 0 {
		opt.CRNSamples = DefaultCRNSamples
	}
	if opt.CRNSamples < MinCRNSamples || opt.CRNSamples > MaxCRNSamples {
		return opt, "", 0, fmt.Errorf("dynamics: population option CRNSamples = %d: must be an integer in [%d, %d] (0 for the default %d)", opt.CRNSamples, MinCRNSamples, MaxCRNSamples, DefaultCRNSamples)
	}
	n, ok := CountTerms(s, opt.QuadNodes)
	mode = opt.Mode
	if mode == PopulationAuto {
		mode = PopulationCRN
		if ok {
			mode = PopulationEnumerate
		}
	}
	if mode == PopulationEnumerate && !ok {
		return opt, "", 0, fmt.Errorf("dynamics: population option Mode = \"enumerate\": setting %q needs P = %d ≤ %d and %.4g enumeration terms ≤ %d (masks × z nodes; lower QuadNodes or use mode crn)",
			s.Name, s.P, MaxEnumerateP, n, MaxEnumerateTerms)
	}
	if mode == PopulationCRN {
		return opt, mode, opt.CRNSamples, nil
	}
	return opt, mode, int(n), nil
}

// zNodes returns the z nodes of a cluster with n areas and their weights
// (summing to 1), as appended z offsets in ws.
func (o *PopulationObjective) zNodes(n int) (offs []int32, weights []float64) {
	s := &o.s
	L, U := s.Z.L, s.Z.U
	// Per-area 1-D nodes and weights.
	var x, w []float64
	switch {
	case s.Z.Kind == theory.ZConstant || ((s.Z.Kind == theory.ZUniform || s.Z.Kind == theory.ZShared) && U == L):
		x, w = []float64{L}, []float64{1}
	case s.Z.Kind == theory.ZTwoPoint:
		x, w = []float64{L, U}, []float64{0.5, 0.5}
	default:
		x, w = make([]float64, o.quadNodes), make([]float64, o.quadNodes)
		quad.Legendre{}.FixedLocations(x, w, L, U)
		for i := range w {
			w[i] /= U - L // density of uniform[L, U]
		}
	}
	z := make([]float64, n)
	if s.Z.Kind == theory.ZShared {
		for i := range x {
			for j := range z {
				z[j] = x[i]
			}
			offs = append(offs, o.ws.addZ(z))
			weights = append(weights, w[i])
		}
		return offs, weights
	}
	// Tensor product: an odometer over the n areas.
	idx := make([]int, n)
	for {
		wt := 1.0
		for j, i := range idx {
			z[j] = x[i]
			wt *= w[i]
		}
		offs = append(offs, o.ws.addZ(z))
		weights = append(weights, wt)
		j := 0
		for ; j < n; j++ {
			idx[j]++
			if idx[j] < len(x) {
				break
			}
			idx[j] = 0
		}
		if j == n {
			return offs, weights
		}
	}
}

// enumerate builds the terms: every cluster with π_k > 0 × every mask with
// its probability × every z node with its weight.
func (o *PopulationObjective) enumerate() {
	s := &o.s
	P := s.P
	mask := make([]bool, P)
	for k, c := range s.Clusters {
		if c.Prob == 0 {
			continue
		}
		offs, zw := o.zNodes(c.NumAreas())
		add := func(wm float64) {
			st := o.ws.addStructure(s, k, mask)
			for i, off := range offs {
				o.ws.terms = append(o.ws.terms, term{st: st, z0: off, w: c.Prob * wm * zw[i]})
			}
		}
		if s.Mask == theory.MaskFixed {
			m := s.NumFixedMasked()
			wm := 1 / binom(P, m)
			// Combinations of m positions out of P in lexicographic order.
			idx := make([]int, m)
			for i := range idx {
				idx[i] = i
			}
			for {
				clear(mask)
				for _, p := range idx {
					mask[p] = true
				}
				add(wm)
				i := m - 1
				for i >= 0 && idx[i] == P-m+i {
					i--
				}
				if i < 0 {
					break
				}
				idx[i]++
				for j := i + 1; j < m; j++ {
					idx[j] = idx[j-1] + 1
				}
			}
			continue
		}
		pm := make([]float64, P+1) // γ^m (1−γ)^{P−m}
		for m := range pm {
			pm[m] = math.Pow(s.Gamma, float64(m)) * math.Pow(1-s.Gamma, float64(P-m))
		}
		for bits := uint64(1); bits < 1<<uint(P); bits++ {
			m := 0
			for p := range mask {
				mask[p] = bits>>uint(p)&1 == 1
				if mask[p] {
					m++
				}
			}
			add(pm[m])
		}
	}
}

// LossGrad returns the population loss at c and writes its gradient into
// grad. stderr is 0 for enumeration (exact up to the quadrature error of
// docs/DYNAMICS.md §7) and, for common random numbers, the sample standard
// deviation of the per-sample losses divided by √n.
func (o *PopulationObjective) LossGrad(c, grad theory.Correlations) (loss, stderr float64) {
	loss = o.ws.lossGrad(c, grad)
	return loss, o.stderr(loss)
}

// lossGradStep is LossGrad followed by c ← c − η·grad, fused into the
// kernel's tasks (see stepper).
func (o *PopulationObjective) lossGradStep(c, grad theory.Correlations, eta float64) (loss, stderr float64, finite bool) {
	loss, finite = o.ws.step(c, grad, eta, true)
	return loss, o.stderr(loss), finite
}

// descendSteps takes n fused steps as one phase (see phaser).
func (o *PopulationObjective) descendSteps(c, grad theory.Correlations, eta float64, n int) bool {
	return o.ws.descendSteps(c, grad, eta, n)
}

// phased reports whether descendSteps pays at this GOMAXPROCS (see phaser).
func (o *PopulationObjective) phased() bool { return o.ws.phased(runtime.GOMAXPROCS(0)) }

// release stops the kernel's helper goroutines (see releaser).
func (o *PopulationObjective) release() { o.ws.release() }

func (o *PopulationObjective) stderr(mean float64) float64 {
	if o.mode != PopulationCRN {
		return 0
	}
	ls := o.ws.losses
	n := float64(len(ls))
	ss := 0.0
	for _, l := range ls {
		d := l - mean
		ss += d * d
	}
	return math.Sqrt(ss / (n - 1) / n)
}

// Mode returns the resolved mode: PopulationEnumerate or PopulationCRN.
func (o *PopulationObjective) Mode() string { return o.mode }

// NumTerms returns the number of weighted terms: enumeration terms or CRN
// samples.
func (o *PopulationObjective) NumTerms() int { return len(o.ws.terms) }

// GradStdErr writes into se (c's shape, overwritten) the standard error of
// each coordinate of the CRN gradient estimate at c: the sample standard
// deviation of the per-sample gradients divided by √n (GradOn with every
// coordinate as a functional). For enumeration it writes zeros. It costs
// one LossGrad and a pass over the gradient's entries per sample.
func (o *PopulationObjective) GradStdErr(c, se theory.Correlations) {
	ws := o.ws
	ws.checkShape("input", c)
	ws.checkShape("standard-error", se)
	flat := make([]float64, c.Shape().Len())
	if o.mode == PopulationCRN {
		o.GradOn(c, func(g theory.Correlations, out []float64) { copy(out, g.Flat()) }, make([]float64, len(flat)), flat)
	}
	// se's rows in the flat vector's order (theory.Shape), se itself
	// possibly built without one.
	for k := range se.A {
		for _, row := range se.A[k] {
			flat = flat[copy(row, flat):]
		}
	}
	for _, row := range se.B {
		flat = flat[copy(row, flat):]
	}
}

// GradOn writes into mean and se (len D each) D linear functionals of the
// gradient estimate at c and their standard errors: lin maps a gradient
// (c's shape; lin may not keep it) to D numbers, e.g. its orbit averages.
// mean is lin of LossGrad's gradient. In CRN mode se is the standard
// deviation of lin over single samples' gradients divided by √n — where
// lin averages correlated coordinates, far smaller than the average of
// GradStdErr's — the deviation estimated on the first gradOnSESamples
// samples (i.i.d. draws, so any subset is a random one). For enumeration
// se is 0. It costs one LossGrad and min(n, gradOnSESamples) single-sample
// gradients and calls of lin.
func (o *PopulationObjective) GradOn(c theory.Correlations, lin func(g theory.Correlations, out []float64), mean, se []float64) {
	ws := o.ws
	ws.checkShape("input", c)
	clear(se)
	g := c.Clone()
	o.LossGrad(c, g)
	lin(g, mean)
	if o.mode != PopulationCRN {
		return
	}
	D := len(se)
	m := min(gradOnSESamples, len(ws.terms))
	// The samples in gradOnChunks fixed chunks, each summed in sample
	// order by one worker and the chunks folded in order: the same bits at
	// any GOMAXPROCS.
	// The sums are of lin − shift, shift the first sample's values: a
	// one-pass variance of values whose spread is small next to their
	// mean (an orbit average) would otherwise cancel to nothing.
	chunks := min(gradOnChunks, m)
	shift := ws.linSums(c, 0, 1, lin, make([]float64, D))[0]
	sums := make([][2][]float64, chunks)
	parallel.For(chunks, runtime.GOMAXPROCS(0), func(_, ch int) {
		sums[ch] = ws.linSums(c, ch*m/chunks, (ch+1)*m/chunks, lin, shift)
	})
	sum, sq := make([]float64, D), make([]float64, D)
	for _, cs := range sums {
		floats.Add(sum, cs[0])
		floats.Add(sq, cs[1])
	}
	n, fm := float64(len(ws.terms)), float64(m)
	for i := range se {
		v := (sq[i] - sum[i]*sum[i]/fm) / (fm - 1)
		se[i] = math.Sqrt(math.Max(v, 0) / n)
	}
}

// gradOnChunks is the number of chunks GradOn sums its samples in, and
// gradOnSESamples the samples whose spread gives its standard errors:
// their relative precision is 1/√(2m), 2.2 % at m = 1024. The single-sample
// gradients are the cost (on vit14, 4096 of them at each of C8's three
// states took 2.2 CPU-seconds; docs/PERFORMANCE.md, issue 23, "The
// agreement stage").
const (
	gradOnChunks    = 16
	gradOnSESamples = 1024
)

// linSums returns the sums of lin(g) − shift and of their squares over
// the terms [lo, hi), g each one's gradient (SampleGrads).
func (ws *weightedSet) linSums(c theory.Correlations, lo, hi int, lin func(g theory.Correlations, out []float64), shift []float64) [2][]float64 {
	D := len(shift)
	sg := ws.newSampleGrads()
	out, sum, sq := make([]float64, D), make([]float64, D), make([]float64, D)
	for i := lo; i < hi; i++ {
		lin(sg.at(c, i), out)
		for i, v := range out {
			v -= shift[i]
			sum[i] += v
			sq[i] += v * v
		}
	}
	return [2][]float64{sum, sq}
}
