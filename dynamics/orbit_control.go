package dynamics

import (
	"math"
)

// The control variate's expectation E_z F(z, n̄) factored over the areas
// (docs/ORBIT.md §4.1). With i.i.d. z every class is one area (m = 1) and
// F(z, n̄) depends on z only through per-area factors and the normaliser
// Z = K + Σ_C T_C(z_C). Every quantity F needs is a sum of
// Π_C h_C(z_C) / Z^k, k ∈ {1, 2, 3}, and
//
//	Z^{-k} = (1/Γ(k)) ∫ e^{kt − Z e^t} dt ≈ Σ_r c_{k,r} e^{−α_r Z}
//
// by the trapezoidal rule in t (α_r = e^{t_r}), whose error relative to
// Z^{-k} is bounded uniformly on [Zmin, Zmax] (ctrlRelBound). Then
// e^{−α Z} = e^{−α K} Π_C e^{−α T_C}, and the tensor product of the areas'
// z rules is a product of one-area sums: Σ_r over N·n one-area moments
// instead of n^N nodes.

// Trapezoid parameters: step, the left margin (in t, below −ln Zmax) and
// the right end (Zmin e^{t} ≥ ctrlRightU). ctrlRelBound gives the error.
const (
	ctrlStep    = 0.2
	ctrlLeft    = 40.0
	ctrlRightU  = 50.0
	ctrlMaxSpan = 100.0 // ln(Zmax/Zmin) beyond which the tensor rule is used
	// ctrlCostNodes is the typical number of trapezoid nodes (≈ (44 +
	// ln(Zmax/Zmin))/h), for choosing between the factored and tensor rules.
	ctrlCostNodes = 250
)

// The one-area moments Σ_ν ω_ν h(z_ν, T_ν, e_ν) e^{−α T_ν} (T = β e).
const (
	mom0 = iota
	momZT
	momZ2T
	momZ3T
	momQ // z²T²
	momZ3T2
	momZ3T3
	momE
	momZ2E
	momZ2ET
	momZ2ET2
	numMom
)

// orbControl is the factored control expectation of one problem: the
// one-area z rule and the mean counts, and scratch.
type orbControl struct {
	zn, zw []float64 // one area's z nodes and weights
	nbar   []float64 // mean counts per group
	ez2    float64   // E z_a²
	f      float64   // e^{−shift} of the last evaluation
	// Scratch: per (class, node) e, T, the moment factors; per (r, class,
	// node) the exponentials; per class the accumulated expectations.
	e, T, pre, ex []float64
	mom           [][numMom]float64
	l1, l2a, sq   []float64
	acc           ctrlAcc
}

// ctrlAcc holds the expectations of docs/ORBIT.md §4.1 (one per class
// where indexed).
type ctrlAcc struct {
	e1z2Ta, e1z3Ta, e1z2ea float64   // k = 1
	e2z2Ta                 float64   // k = 2
	e3Q                    float64   // k = 3
	e2Q, e2z3T2, e2z2eT    []float64 // k = 2, per class
	e2zTz2Ta, e2ez2Ta      []float64
	e3zTQ, e3eQ            []float64 // k = 3, per class
}

// newControl returns the factored control of pr for i.i.d. z with one-area
// rule (zn, zw) and mean counts nbar, or nil when it does not apply (a
// lumped class).
func (pr *orbProblem) newControl(zn, zw, nbar []float64) *orbControl {
	for _, cl := range pr.classes {
		if cl.m != 1 {
			return nil
		}
	}
	N, nz := len(pr.classes), len(zn)
	c := &orbControl{zn: zn, zw: zw, nbar: nbar}
	for i, z := range zn {
		c.ez2 += zw[i] * z * z
	}
	c.e, c.T, c.pre = make([]float64, N*nz), make([]float64, N*nz), make([]float64, N*nz*numMom)
	c.mom = make([][numMom]float64, N)
	c.l1, c.l2a, c.sq = make([]float64, N), make([]float64, N), make([]float64, N)
	a := &c.acc
	a.e2Q, a.e2z3T2, a.e2z2eT = make([]float64, N), make([]float64, N), make([]float64, N)
	a.e2zTz2Ta, a.e2ez2Ta = make([]float64, N), make([]float64, N)
	a.e3zTQ, a.e3eQ = make([]float64, N), make([]float64, N)
	return c
}

// ctrlRelBound bounds the error of the trapezoidal Σ_r c_{k,r} e^{−α_r x}
// relative to x^{−k}, uniformly in x ∈ [Zmin, Zmax], for the nodes t_r = r·h,
// r = r0…r1 (docs/ORBIT.md §4.1): aliasing (Poisson summation) plus the two
// truncated tails.
func ctrlRelBound(k int, h, zmin, zmax float64, r0, r1 int) float64 {
	gk := math.Gamma(float64(k))
	alias := 0.0
	for m := 1; m < 50; m++ {
		y := 2 * math.Pi * float64(m) / h
		g2 := math.Pi * y / math.Sinh(math.Pi*y)
		for j := 1; j < k; j++ {
			g2 *= float64(j*j) + y*y
		}
		alias += 2 * math.Sqrt(g2) / gk
	}
	fk := float64(k)
	tFirst, tLast := float64(r0)*h, float64(r1)*h
	left := math.Pow(zmax*math.Exp(tFirst), fk) * h * math.Exp(-fk*h) / (-math.Expm1(-fk * h)) / gk
	right := 0.0
	for u := zmin * math.Exp(tLast+h); u < 800; u *= math.Exp(h) {
		right += h * math.Pow(u, fk) * math.Exp(-u) / gk
	}
	return alias + left + right
}

// ctrlNodes returns the node range r0…r1 (t_r = r·h) for Z in [zmin, zmax].
func ctrlNodes(zmin, zmax float64) (r0, r1 int) {
	r0 = int(math.Floor((-math.Log(zmax) - ctrlLeft) / ctrlStep))
	r1 = int(math.Ceil(math.Log(ctrlRightU/zmin) / ctrlStep))
	return r0, r1
}

// evalControl computes the control expectation E_z F(z, n̄) at x (ctrlAdd
// adds it), in place of the tensor rule's blocks. It reports false when the
// normaliser's range is outside the rule's design (no keys, underflow,
// ln(Zmax/Zmin) > ctrlMaxSpan): the caller then evaluates the tensor blocks.
func (pr *orbProblem) evalControl(x []float64) bool {
	c := pr.ctrl
	nz := len(c.zn)
	sh := 0.0
	for _, cl := range pr.classes {
		for _, z := range c.zn {
			sh = max(sh, z*x[cl.fp])
		}
	}
	f := math.Exp(-sh)
	K := 0.0
	if pr.keysAll {
		for g, gr := range pr.groups {
			K += (float64(gr.S) - c.nbar[g]) * pr.eB[g]
		}
		K = (K + pr.eSelf) * f
	}
	zmin, zmax := K, K
	for ci, cl := range pr.classes {
		beta := 0.0
		for g := cl.g0; g < cl.g1; g++ {
			beta += c.nbar[g] * pr.eB[g]
		}
		lo, hi := math.Inf(1), 0.0
		for i, z := range c.zn {
			e := math.Exp(z*x[cl.fp] - sh)
			c.e[ci*nz+i], c.T[ci*nz+i] = e, beta*e
			lo, hi = min(lo, beta*e), max(hi, beta*e)
		}
		zmin, zmax = zmin+lo, zmax+hi
	}
	if !(zmin >= tinySum) || !(zmax < math.Inf(1)) || math.Log(zmax/zmin) > ctrlMaxSpan {
		return false
	}
	r0, r1 := ctrlNodes(zmin, zmax)
	pr.ctrlFactors()
	pr.ctrlExps(r0, r1, K)
	pr.ctrlSum(r0, r1)
	c.f = f
	return true
}

// ctrlFactors tabulates ω·h(z, T, e) for each moment, class and node.
func (pr *orbProblem) ctrlFactors() {
	c := pr.ctrl
	nz := len(c.zn)
	for i := range c.e {
		z, w := c.zn[i%nz], c.zw[i%nz]
		e, T := c.e[i], c.T[i]
		z2, T2 := z*z, T*T
		p := c.pre[i*numMom : (i+1)*numMom]
		p[mom0] = w
		p[momZT] = w * z * T
		p[momZ2T] = w * z2 * T
		p[momZ3T] = w * z2 * z * T
		p[momQ] = w * z2 * T2
		p[momZ3T2] = w * z2 * z * T2
		p[momZ3T3] = w * z2 * z * T2 * T
		p[momE] = w * e
		p[momZ2E] = w * z2 * e
		p[momZ2ET] = w * z2 * e * T
		p[momZ2ET2] = w * z2 * e * T2
	}
}

// ctrlExps fills ex with e^{−α_r T} for every node r and (class, area
// node), and e^{−α_r K} after them, by expNonPosSlice.
func (pr *orbProblem) ctrlExps(r0, r1 int, K float64) {
	c := pr.ctrl
	M := len(c.T) + 1
	R := r1 - r0 + 1
	if cap(c.ex) < R*M {
		c.ex = make([]float64, R*M)
	}
	c.ex = c.ex[:R*M]
	for r := range R {
		alpha := math.Exp(float64(r0+r) * ctrlStep)
		row := c.ex[r*M : (r+1)*M]
		for i, T := range c.T {
			row[i] = -alpha * T
		}
		row[M-1] = -alpha * K
	}
	expNonPosSlice(c.ex)
}

// ctrlSum accumulates the expectations of ctrlAcc over the nodes r.
func (pr *orbProblem) ctrlSum(r0, r1 int) {
	c := pr.ctrl
	N, nz := len(pr.classes), len(c.zn)
	M := len(c.T) + 1
	a := &c.acc
	*a = ctrlAcc{e2Q: a.e2Q, e2z3T2: a.e2z3T2, e2z2eT: a.e2z2eT, e2zTz2Ta: a.e2zTz2Ta, e2ez2Ta: a.e2ez2Ta, e3zTQ: a.e3zTQ, e3eQ: a.e3eQ}
	for _, v := range [][]float64{a.e2Q, a.e2z3T2, a.e2z2eT, a.e2zTz2Ta, a.e2ez2Ta, a.e3zTQ, a.e3eQ} {
		clear(v)
	}
	for r := range r1 - r0 + 1 {
		row := c.ex[r*M : (r+1)*M]
		ctrlMoments(row[:N*nz], c.pre, nz, c.mom)
		t := float64(r0+r) * ctrlStep
		al := math.Exp(t)
		w1 := ctrlStep * al * row[M-1] // h e^{t}/Γ(1) · e^{−αK}
		w2 := w1 * al                  // h e^{2t}/Γ(2)
		w3 := w2 * al / 2              // h e^{3t}/Γ(3)
		pr.ctrlNode(w1, w2, w3)
	}
}

// ctrlMomentsGo sets each class's moments at one trapezoid node,
// mom[C][k] = Σ_i pre[(C·nz + i)·numMom + k]·ex[C·nz + i], summed from +0
// over the class's z nodes i in order (ctrlMoments: in AVX-512 when the CPU
// has it, the same bits, TestCtrlMomentsMatchGo).
func ctrlMomentsGo(ex, pre []float64, nz int, mom [][numMom]float64) {
	for ci := range mom {
		var m [numMom]float64
		for i, e := range ex[ci*nz : (ci+1)*nz] {
			p := (*[numMom]float64)(pre[(ci*nz+i)*numMom:])
			for k := range m {
				m[k] += float64(p[k] * e)
			}
		}
		mom[ci] = m
	}
}

// ctrlNode adds one trapezoid node's contribution (weights w1, w2, w3 for
// Z^{-1}, Z^{-2}, Z^{-3}, e^{−αK} included) from the class moments.
func (pr *orbProblem) ctrlNode(w1, w2, w3 float64) {
	c := pr.ctrl
	N := len(pr.classes)
	mo, l1, l2a, sq := c.mom, c.l1, c.l2a, c.sq
	// l1[C] = Π_{C'≠C} m0; l2a[C] = Π_{C'∉{C,a}} m0 (a = class 0);
	// sq[C] = Σ_{C'≠C} Q_{C'} Π_{C''∉{C,C'}} m0.
	for ci := range N {
		p, s, pa := 1.0, 0.0, 1.0
		for cj := range N {
			if cj == ci {
				continue
			}
			s = s*mo[cj][mom0] + p*mo[cj][momQ]
			p *= mo[cj][mom0]
			if cj != 0 {
				pa *= mo[cj][mom0]
			}
		}
		l1[ci], sq[ci], l2a[ci] = p, s, pa
	}
	a := &c.acc
	ma := &mo[0]
	a.e1z2Ta += w1 * l1[0] * ma[momZ2T]
	a.e1z3Ta += w1 * l1[0] * ma[momZ3T]
	a.e1z2ea += w1 * l1[0] * ma[momZ2E]
	a.e2z2Ta += w2 * l1[0] * ma[momZ2T]
	for ci := range N {
		m := &mo[ci]
		a.e2Q[ci] += w2 * l1[ci] * m[momQ]
		a.e2z3T2[ci] += w2 * l1[ci] * m[momZ3T2]
		a.e2z2eT[ci] += w2 * l1[ci] * m[momZ2ET]
		if ci == 0 {
			a.e2zTz2Ta[0] += w2 * l1[0] * m[momZ3T2]
			a.e2ez2Ta[0] += w2 * l1[0] * m[momZ2ET]
		} else {
			a.e2zTz2Ta[ci] += w2 * l2a[ci] * m[momZT] * ma[momZ2T]
			a.e2ez2Ta[ci] += w2 * l2a[ci] * m[momE] * ma[momZ2T]
		}
		a.e3zTQ[ci] += w3 * (m[momZT]*sq[ci] + l1[ci]*m[momZ3T3])
		a.e3eQ[ci] += w3 * (m[momE]*sq[ci] + l1[ci]*m[momZ2ET2])
		a.e3Q += w3 * l1[ci] * m[momQ]
	}
}

// ctrlAdd adds the control expectation's loss and gradient (docs/ORBIT.md
// §4.1), as evalControl computed it, into the problem's accumulators.
func (pr *orbProblem) ctrlAdd(grad bool) {
	c := pr.ctrl
	a, f := &c.acc, c.f
	sumQ := 0.0
	for _, v := range a.e2Q {
		sumQ += v
	}
	pr.accLoss += 0.5*sumQ - a.e1z2Ta + 0.5*c.ez2
	if !grad {
		return
	}
	y := a.e3Q - a.e2z2Ta // E[r̄/Z]
	for ci := range pr.classes {
		own := 0.0
		if ci == 0 {
			own = 1
		}
		pr.accA[ci] += a.e2z3T2[ci] - own*a.e1z3Ta - (a.e3zTQ[ci] - a.e2zTz2Ta[ci])
		xc := a.e2z2eT[ci] - own*a.e1z2ea - (a.e3eQ[ci] - a.e2ez2Ta[ci])
		cl := pr.classes[ci]
		for g := cl.g0; g < cl.g1; g++ {
			if c.nbar[g] > 0 {
				pr.accB[g] += pr.eB[g] * c.nbar[g] * pr.invS[g] * xc
			}
			if pr.keysAll {
				pr.accB[g] -= (pr.gS[g] - c.nbar[g]) * pr.invS[g] * pr.eB[g] * f * y
			}
		}
	}
	if pr.keysAll {
		pr.accSelf -= pr.eSelf * f * y
	}
}
