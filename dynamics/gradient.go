package dynamics

import (
	"math"
	"unsafe"

	"mimverify/theory"
)

// Gradient evaluates an objective's gradient on flat vectors of a setting's
// shape (theory.Shape), for integrators and linear algebra that work on
// []float64. It keeps a view of each vector it is given, so no evaluation
// copies the state. A Gradient is not safe for concurrent use.
type Gradient struct {
	obj   Objective
	shape theory.Shape
	views map[viewKey]theory.Correlations
	xp    []float64 // scratch point of HessVec
	gp    []float64
	gm    []float64
}

type viewKey struct {
	p *float64
	n int
}

// NewGradient returns the gradient of obj on vectors of shape sh.
func NewGradient(sh theory.Shape, obj Objective) *Gradient {
	n := sh.Len()
	return &Gradient{obj: obj, shape: sh, views: map[viewKey]theory.Correlations{},
		xp: make([]float64, n), gp: make([]float64, n), gm: make([]float64, n)}
}

// view returns correlations backed by x (kept, so that the buffers an
// integrator reuses are viewed once).
func (e *Gradient) view(x []float64) theory.Correlations {
	k := viewKey{unsafe.SliceData(x), len(x)}
	v, ok := e.views[k]
	if !ok {
		v = e.shape.View(x)
		e.views[k] = v
	}
	return v
}

// At writes ∇L(x) into dst and returns the loss and its standard error.
func (e *Gradient) At(x, dst []float64) (loss, stderr float64) {
	return e.obj.LossGrad(e.view(x), e.view(dst))
}

// hessStep is ε^{1/3} = ∛(2⁻⁵²), rounded to float64.
const hessStep = 6.0554544523933395e-06

// HessVec writes a central directional difference of the gradient,
// H(x)·v ≈ (∇L(x + δv) − ∇L(x − δv))/(2δ), into dst, with
// δ = ε^{1/3}·max(1, ‖x‖_∞)/‖v‖_∞: the step that balances the O(δ²)
// truncation error against the O(ε/δ) rounding error (docs/FLOW.md §3).
func (e *Gradient) HessVec(x, v, dst []float64) {
	// Plain comparisons, not math.Max (whose NaN and ±0 rules cost most of
	// this loop): the same maxima of absolute values; a NaN in x or v is
	// found apart and makes every entry NaN, as math.Max's would.
	vmax, xmax, nan := 0.0, 1.0, false
	for i := range v {
		a, b := math.Abs(v[i]), math.Abs(x[i])
		if a > vmax {
			vmax = a
		}
		if b > xmax {
			xmax = b
		}
		nan = nan || a != a || b != b
	}
	if nan {
		for i := range dst {
			dst[i] = math.NaN()
		}
		return
	}
	if vmax == 0 {
		clear(dst)
		return
	}
	d := hessStep * xmax / vmax
	for i := range x {
		e.xp[i] = x[i] + d*v[i]
	}
	e.At(e.xp, e.gp)
	for i := range x {
		e.xp[i] = x[i] - d*v[i]
	}
	e.At(e.xp, e.gm)
	for i := range dst {
		dst[i] = (e.gp[i] - e.gm[i]) / (2 * d)
	}
}
