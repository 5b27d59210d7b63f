package judge

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"

	"mimverify/dynamics"
	"mimverify/theory"
)

// The n-sample state's own error (docs/SHARP.md §4): GD on n training
// images follows the population path θ_t only to O(n^{−1/2}), and a
// functional f of the final state inherits that error. To first order
//
//	f(θ_T^n) − f(θ_T) ≈ (1/n) Σ_i u_i,   u_i = −η Σ_{t<T} λ_{t+1} · Π g_i(θ_t),
//
// with λ the adjoint of the orbit recursion y ← y − η g(y) started from
// λ_T = ∇_y f and Π g_i the orbit average of image i's gradient. Its
// standard deviation over training sets is √(Var u / n), estimated by the
// sample variance of u_i over the training images.

// orbitPath is the reduced run's whole path: the orbit state and the
// gradient at it, at every step 0…T.
type orbitPath struct {
	x, g [][]float64
}

// trace is dynamics.OrbitEngine.Trace: it keeps copies of x_t and g_t.
func (p *orbitPath) trace(_ int, x, g []float64) {
	p.x = append(p.x, slices.Clone(x))
	p.g = append(p.g, slices.Clone(g))
}

// stateNodes is the number of steps at which the per-image gradients are
// evaluated: the sum over t < T in u_i is a quadrature on this many
// geometrically spaced steps (dense where the path moves fast), each node
// costing one gradient per training image.
var stateNodes = 48

// fpShareGrad returns the population FP share A/(|A| + |B|) at the orbit
// state x and its gradient in x. A and B, the weighted sums of the FP and
// PP logit gaps, are linear in x (dynamics.Orbit.GapGradients), so
// ∇f = sign(B)·(B ∇A − A ∇B)/V² with V = |A| + |B|.
func fpShareGrad(o *dynamics.Orbit, x []float64) (f float64, grad []float64) {
	dA, dB := make([]float64, o.Dim()), make([]float64, o.Dim())
	o.GapGradients(dA, dB)
	A, B := floats.Dot(dA, x), floats.Dot(dB, x)
	V := math.Abs(A) + math.Abs(B)
	if V == 0 {
		return math.NaN(), nil
	}
	grad = make([]float64, o.Dim())
	floats.AddScaled(grad, sign(B)*B/(V*V), dA)
	floats.AddScaled(grad, -sign(B)*A/(V*V), dB)
	return A / V, grad
}

// adjointAtNodes walks the linearised orbit recursion backwards from
// λ_T = lamT and returns λ_{t+1} at each node t. The step's transpose is
// applied as Jᵀλ = M J (M⁻¹λ), M = diag(orbit sizes): g(y) = M⁻¹∇_y L(y)
// with the Hessian of L(lift(y)) symmetric. J v is a one-sided difference
// of jo's gradient along v, at a step of 10⁻⁷ of the state's scale: the
// truncation error is then ~10⁻⁷ relative, far below what a standard error
// needs. jo is the path's own objective (whose gradients the path holds)
// or a cheaper one with fewer CRN draws.
func adjointAtNodes(o, jo *dynamics.Orbit, eta float64, path *orbitPath, lamT []float64, nodes []int) [][]float64 {
	mult := o.Multiplicity()
	lam := slices.Clone(lamT)
	n := len(lam)
	v, xp, gp, g0 := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	out := make([][]float64, len(nodes))
	k := len(nodes) - 1
	for t := len(path.x) - 2; t >= 0; t-- {
		if k >= 0 && nodes[k] == t {
			out[k] = slices.Clone(lam)
			k--
		}
		for i := range v {
			v[i] = lam[i] / float64(mult[i])
		}
		vmax := floats.Norm(v, math.Inf(1))
		if vmax == 0 {
			continue
		}
		h := 1e-7 * math.Max(1, floats.Norm(path.x[t], math.Inf(1))) / vmax
		floats.AddScaledTo(xp, path.x[t], h, v)
		jo.LossGrad(xp, gp)
		if jo == o {
			copy(g0, path.g[t])
		} else {
			jo.LossGrad(path.x[t], g0)
		}
		for i := range lam {
			lam[i] -= eta * float64(mult[i]) * (gp[i] - g0[i]) / h
		}
	}
	return out
}

// quadrature returns geometrically spaced steps in [0, T−1] (all of them
// when T ≤ m) and weights such that Σ_k w_k a(t_k) is the sum of a(t) over
// t < T for a that is linear between the nodes.
func quadrature(T, m int) (nodes []int, w []float64) {
	if T <= m {
		for t := range T {
			nodes, w = append(nodes, t), append(w, 1)
		}
		return nodes, w
	}
	for j := range m {
		t := int(math.Round(math.Pow(float64(T), float64(j)/float64(m-1)))) - 1
		if len(nodes) == 0 || t > nodes[len(nodes)-1] {
			nodes = append(nodes, t)
		}
	}
	w = make([]float64, len(nodes))
	k := 0
	for t := range T {
		for k+1 < len(nodes) && nodes[k+1] <= t {
			k++
		}
		if nodes[k] == t || k+1 == len(nodes) {
			w[k]++
			continue
		}
		a := float64(t-nodes[k]) / float64(nodes[k+1]-nodes[k])
		w[k] += 1 - a
		w[k+1] += a
	}
	return nodes, w
}

// fpShareStateSE is stateSE for the population FP share at the path's
// last state, or NaNs and why not.
func fpShareStateSE(s *theory.Setting, eng *dynamics.OrbitEngine, path *orbitPath, samples []theory.Sample) (stateErrors, string) {
	nan := stateErrors{math.NaN(), math.NaN()}
	_, lamT := fpShareGrad(eng.Used, path.x[len(path.x)-1])
	if lamT == nil {
		return nan, "the FP share is undefined at the reduced run's last state"
	}
	jo, err := jacobianOrbit(s, eng)
	if err != nil {
		return nan, err.Error()
	}
	se, err := stateSE(s, eng.Used, jo, path, samples, lamT)
	if err != nil {
		return nan, err.Error()
	}
	return se, ""
}

// jacobianDraws returns the CRN draws per representative of the cheaper
// objective whose Jacobian the adjoint uses instead of the run's own (n
// draws), or 0 when there is none: an eighth of n, at least sharpMinCRN,
// and only when its two evaluations per step (adjointAtNodes) cost less
// than one of the run's. A standard error needs the Jacobian to a few per
// cent, not to the run's precision (TestStateSEApproximations).
func jacobianDraws(n int) int {
	d := max(sharpMinCRN, n/8)
	if 2*d >= n {
		return 0
	}
	return d
}

// jacobianOrbit is the objective whose Jacobian the adjoint of the state
// noise uses: the run's own, or in CRN mode one with jacobianDraws draws.
func jacobianOrbit(s *theory.Setting, eng *dynamics.OrbitEngine) (*dynamics.Orbit, error) {
	o := eng.Used
	d := jacobianDraws(o.NumSamples())
	if d == 0 {
		return o, nil
	}
	opt := eng.Options
	opt.Mode, opt.Symmetry, opt.CRNSamples = dynamics.OrbitCRN, o.Symmetry(), d
	return dynamics.NewOrbit(s, opt)
}

// stateImages caps the training images whose per-image gradients
// estimate Var u: the variance of a sample variance of m values is about
// 2/m relative, so 128 images give the standard error to ≈ 6 %.
const stateImages = 128

// stateSE returns the first-order standard deviation, over training sets
// of len(samples) images, of f(θ_T^n) − f(θ_T) for the functional whose
// gradient at the path's last state is lamT (see the top of this file); jo
// is the objective whose Jacobian the adjoint uses (adjointAtNodes). The
// per-image projected gradients do not depend on λ: they are computed on
// two goroutines while the adjoint runs, each image's in its own slot, so
// the value does not depend on GOMAXPROCS.
func stateSE(s *theory.Setting, o, jo *dynamics.Orbit, path *orbitPath, samples []theory.Sample, lamT []float64) (stateErrors, error) {
	T := len(path.x) - 1
	if T < 1 || len(samples) < 2 {
		return stateErrors{}, nil
	}
	nodes, w := quadrature(T, stateNodes)
	imgs := samples[:min(len(samples), stateImages)]
	obj, err := dynamics.NewSampleObjective(s, imgs)
	if err != nil {
		return stateErrors{math.NaN(), math.NaN()}, fmt.Errorf("the state noise: %w", err)
	}
	proj := make([][][]float64, len(imgs))
	var wg sync.WaitGroup
	const workers = 2
	for wk := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lift, grads := s.Shape().New(), obj.Grads()
			for _, t := range nodes {
				o.Lift(path.x[t], lift)
				for i := wk; i < len(imgs); i += workers {
					p := make([]float64, o.Dim())
					o.Project(grads.At(lift, i), p)
					proj[i] = append(proj[i], p)
				}
			}
		}()
	}
	lam := adjointAtNodes(o, jo, s.Eta, path, lamT, nodes)
	wg.Wait()
	images := adjointSD(s.Eta, w, lam, len(imgs), len(samples), func(k int) func(i int) []float64 {
		return func(i int) []float64 { return proj[i][k] }
	})
	return stateErrors{Images: images, CRNPath: crnPathSE(o, s.Eta, path, nodes, w, lam)}, nil
}

// adjointSD is √(Var u / n) with u_i = −η Σ_k w_k λ_k·row(i, k) over the
// draws i < m: the first-order standard deviation of a final-state
// functional over n i.i.d. draws whose orbit gradient at node k is
// row(i, k) = rows(k)(i), Var estimated on the first m of them. It asks
// for the nodes' rows one node at a time, so that a caller may hold one
// node's rows only.
func adjointSD(eta float64, w []float64, lam [][]float64, m, n int, rows func(k int) func(i int) []float64) float64 {
	u := make([]float64, m)
	for k := range w {
		row := rows(k)
		for i := range u {
			u[i] -= eta * w[k] * floats.Dot(lam[k], row(i))
		}
	}
	return math.Sqrt(stat.Variance(u, nil) / float64(n))
}

// stateErrors are the first-order standard deviations of a final-state
// functional: Images over training sets of n images (the n-sample run's
// path against the population's), CRNPath over the reduced run's own CRN
// draws (its path against the population's; 0 for an enumeration).
type stateErrors struct {
	Images, CRNPath float64
}

// crnPathSE is the same first-order error for the reduced run itself in
// CRN mode: its gradient is the mean of n i.i.d. sample rows
// (dynamics.Orbit.SampleGradients) plus a part common to all, so its path
// errs from the population path as an n-image run does, the rows standing
// for the images' projected gradients.
func crnPathSE(o *dynamics.Orbit, eta float64, path *orbitPath, nodes []int, w []float64, lam [][]float64) float64 {
	n, D := o.NumSamples(), o.Dim()
	if n < 2 {
		return 0
	}
	// One node's n rows of D at a time: at Options.Power 24 on default
	// (98 304 draws) all the nodes' rows at once were 390 MB, half the
	// check's peak.
	per := make([]float64, n*D)
	return adjointSD(eta, w, lam, n, n, func(k int) func(i int) []float64 {
		o.SampleGradients(path.x[nodes[k]], per)
		return func(i int) []float64 { return per[i*D : (i+1)*D] }
	})
}
