package proptest

import (
	"math"

	"mimverify/dynamics"
	"mimverify/theory"
)

// flat lists A then B entry by entry.
func flat(c theory.Correlations) []float64 {
	var v []float64
	for _, ak := range c.A {
		for _, row := range ak {
			v = append(v, row...)
		}
	}
	for _, row := range c.B {
		v = append(v, row...)
	}
	return v
}

func dist2(a, b theory.Correlations) float64 {
	x, y := flat(a), flat(b)
	d := 0.0
	for i := range x {
		d += (x[i] - y[i]) * (x[i] - y[i])
	}
	return math.Sqrt(d)
}

// growth measures the finite-time amplification of perturbations by the GD
// map along the exact trajectory: it reruns the exact recursion from the
// initial state moved by h in a fixed random direction and returns, per
// record, the largest ‖Δ_s‖/h seen up to it (at least 1). A GD map that
// contracts (η below 2/λ_max of a convex stretch) gives 1; a step size
// beyond the stable range gives exponential growth, and with it the
// amplification of rounding differences that the identity bound must carry.
func growth(s *theory.Setting, obj dynamics.Objective, init theory.Correlations, steps, every int, base theory.Trajectory) ([]float64, error) {
	const h = 1e-9
	pert := init.Clone()
	rng := theory.NewRand(7, theory.StreamInit)
	v := make([]float64, 0)
	for k := range pert.A {
		for p := range pert.A[k] {
			for j := range pert.A[k][p] {
				x := rng.NormFloat64()
				v = append(v, x)
				pert.A[k][p][j] += h * x
			}
		}
	}
	for p := range pert.B {
		for q := range pert.B[p] {
			x := rng.NormFloat64()
			v = append(v, x)
			pert.B[p][q] += h * x
		}
	}
	norm := 0.0
	for _, x := range v {
		norm += x * x
	}
	norm = math.Sqrt(norm)
	tr, err := dynamics.Descend(s, obj, dynamics.DescendOptions{Steps: steps, RecordEvery: every, Init: pert, Engine: "exact"})
	if err != nil {
		return nil, err
	}
	g := make([]float64, len(tr.Records))
	running := 1.0
	for i := range tr.Records {
		running = math.Max(running, dist2(tr.Records[i].Correlations, base.Records[i].Correlations)/(h*norm))
		g[i] = running
	}
	return g, nil
}

// unflatInto writes v into c (A then B), the inverse of flat.
func unflatInto(c theory.Correlations, v []float64) {
	i := 0
	for _, ak := range c.A {
		for _, row := range ak {
			i += copy(row, v[i:])
		}
	}
	for _, row := range c.B {
		i += copy(row, v[i:])
	}
}

// expansion bounds how much the linearised GD map can stretch a perturbation
// along a path: Π_s max(1, ‖I − ηH(θ_s)‖₂), which bounds ‖Φ(t, s)‖ for every
// s. The Hessian H is that of obj, applied by central differences of its
// gradient (step 1e-5: truncation O(1e-10·‖∇³L‖), rounding O(1e-11·‖∇L‖)),
// and the norm of the symmetric matrix I − ηH is found by 30 power
// iterations from a fixed start (an estimate from below that converges
// geometrically; the product over the path is then an upper estimate of the
// stretch actually met).
func expansion(s *theory.Setting, obj dynamics.Objective, path []theory.Record) float64 {
	const h = 1e-5
	gp, gm := theory.NewCorrelations(s), theory.NewCorrelations(s)
	xp, xm := theory.NewCorrelations(s), theory.NewCorrelations(s)
	prod := 1.0
	for _, rec := range path[:len(path)-1] {
		x := flat(rec.Correlations)
		v := make([]float64, len(x))
		rng := theory.NewRand(11, theory.StreamInit)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		norm := 0.0
		for it := 0; it < 30; it++ {
			n := 0.0
			for _, a := range v {
				n += a * a
			}
			n = math.Sqrt(n)
			if n == 0 {
				break
			}
			up, um := make([]float64, len(x)), make([]float64, len(x))
			for i := range x {
				v[i] /= n
				up[i], um[i] = x[i]+h*v[i], x[i]-h*v[i]
			}
			unflatInto(xp, up)
			unflatInto(xm, um)
			obj.LossGrad(xp, gp)
			obj.LossGrad(xm, gm)
			fp, fm := flat(gp), flat(gm)
			w := make([]float64, len(x))
			norm = 0
			for i := range w {
				w[i] = v[i] - s.Eta*(fp[i]-fm[i])/(2*h)
				norm += w[i] * w[i]
			}
			norm = math.Sqrt(norm)
			v = w
		}
		prod *= math.Max(1, norm)
	}
	return prod
}

// predictedSampleGap returns the first-order prediction of the RMS distance
// ‖θ_t^n − θ_t‖ between the exact recursion on n samples and the population
// recursion after the path's last step (docs/AGREEMENT.md §2):
//
//	E‖δ_t‖² ≈ tr Cov(G) / n,  G_i = η Σ_{s<t} ∇ℓ_i(θ_s),
//
// with the covariance estimated from a pool of fresh samples along the
// population path.
func predictedSampleGap(s *theory.Setting, path []theory.Record, pool []theory.Sample, n int) float64 {
	var sum, sum2 []float64
	g := theory.NewCorrelations(s)
	for _, x := range pool {
		o, err := dynamics.NewSampleObjective(s, []theory.Sample{x})
		if err != nil {
			return math.NaN()
		}
		var acc []float64
		for _, rec := range path[:len(path)-1] {
			o.LossGrad(rec.Correlations, g)
			f := flat(g)
			if acc == nil {
				acc = make([]float64, len(f))
			}
			for i := range f {
				acc[i] += s.Eta * f[i]
			}
		}
		if sum == nil {
			sum, sum2 = make([]float64, len(acc)), make([]float64, len(acc))
		}
		for i, a := range acc {
			sum[i] += a
			sum2[i] += a * a
		}
	}
	m := float64(len(pool))
	tr := 0.0
	for i := range sum {
		tr += math.Max(0, (sum2[i]-sum[i]*sum[i]/m)/(m-1))
	}
	return math.Sqrt(tr / float64(n))
}
