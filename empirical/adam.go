package empirical

import "math"

// adam is the state of Adam (Kingma & Ba 2015, Algorithm 1) over a list of
// parameter arrays: first and second moment estimates and the step count.
// The update of one coordinate, with g its gradient:
//
//	m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,
//	θ ← θ − η (m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε).
type adam struct {
	b1, b2, eps, eta float64
	t                int
	m, v             [][]float64
}

func newAdam(b1, b2, eps, eta float64, sizes []int) *adam {
	a := &adam{b1: b1, b2: b2, eps: eps, eta: eta}
	for _, n := range sizes {
		a.m = append(a.m, make([]float64, n))
		a.v = append(a.v, make([]float64, n))
	}
	return a
}

// step updates params in place from grads (same shapes as at newAdam).
func (a *adam) step(params, grads [][]float64) {
	a.t++
	c1 := 1 - math.Pow(a.b1, float64(a.t))
	c2 := 1 - math.Pow(a.b2, float64(a.t))
	for i, th := range params {
		m, v, g := a.m[i], a.v[i], grads[i]
		for j := range th {
			m[j] = a.b1*m[j] + (1-a.b1)*g[j]
			v[j] = a.b2*v[j] + (1-a.b2)*g[j]*g[j]
			th[j] -= a.eta * (m[j] / c1) / (math.Sqrt(v[j]/c2) + a.eps)
		}
	}
}
