package dynamics

// The exact enumeration's kernel: term's formulas (O1)–(O6) evaluated a
// chunk of count vectors at a time, one pass per quantity with the loop
// over the vectors innermost (instead of one call per vector with loops
// over its one or two groups): the per-vector overhead of calls, slice
// headers and bounds checks goes, and the passes are independent streams
// the processor overlaps. Every per-vector quantity is term's expression,
// operation for operation, and every accumulator (the block loss, accA_c,
// accB_g, accSelf) adds the vectors' contributions in enumeration order,
// so the result is bit-identical to one term call per vector, whatever the
// chunking and whether the vectors are stored (TestEvalEnumMatchesTerm).
// Both sides round every product that enters a sum explicitly (float64
// conversions): otherwise a GOAMD64=v3 build fuses some of them into
// multiply-adds, not the same ones on both sides. The one exception: a vector
// without keys or whose normaliser underflows (Z < tinySum) is evaluated
// by term itself, which adds its gradient before the rest of its chunk's
// (a rounding-level difference, only at extreme scores).

// orbEnumScratch holds one chunk's per-vector quantities.
type orbEnumScratch struct {
	tt, qq       []float64 // per class, stride orbitChunk: T_C, then t_C = T_C/Z; z_C²Q_C/Z²
	inv, sq      []float64 // 1/Z (0: evaluated by term); Σ_C z_C²Q_C/Z²
	wt, ll, row0 []float64 // block weight × probability (0: by term); ℓ of the vectors by term; one vector
}

func (pr *orbProblem) newEnumScratch() {
	C := len(pr.classes)
	pr.es = orbEnumScratch{tt: make([]float64, C*orbitChunk), qq: make([]float64, C*orbitChunk),
		inv: make([]float64, orbitChunk), sq: make([]float64, orbitChunk), wt: make([]float64, orbitChunk),
		ll: make([]float64, orbitChunk), row0: make([]float64, len(pr.groups))}
}

// evalEnum evaluates block b over the exact enumeration of the counts and
// returns Σ_vectors probability × ℓ, adding b.w × probability × the
// gradient into the accumulators when grad.
func (pr *orbProblem) evalEnum(x []float64, b orbBlock, za float64, grad bool) float64 {
	bl := 0.0
	for c := 0; ; c++ {
		cols, prob := pr.enum.chunk(c)
		if len(prob) == 0 {
			return bl
		}
		pr.enumMasses(cols, len(prob))
		pr.enumNorm(x, b.z, cols, prob, za, b.w, grad)
		pr.enumMoments(cols, len(prob))
		bl = pr.enumLoss(prob, za, bl)
		if grad {
			pr.enumGrad(cols, len(prob), za)
		}
	}
}

// enumMasses sets the class masses T_C = Σ_{g∈C} n_g w_g of K vectors.
func (pr *orbProblem) enumMasses(cols []float64, K int) {
	for c, cl := range pr.classes {
		tt := pr.es.tt[c*orbitChunk:][:K]
		if cl.g0 == cl.g1 {
			clear(tt)
		}
		for g := cl.g0; g < cl.g1; g++ {
			col, wg := cols[g*orbitChunk:][:K], pr.w[g]
			if g == cl.g0 {
				for i, n := range col {
					tt[i] = n * wg
				}
				continue
			}
			for i, n := range col {
				tt[i] += float64(n * wg)
			}
		}
	}
}

// enumNorm sets 1/Z (O1) and the weights of the vectors; those without
// keys or with Z < tinySum are evaluated by term (inv = wt = 0 then).
func (pr *orbProblem) enumNorm(x, z, cols, prob []float64, za, bw float64, grad bool) {
	K := len(prob)
	es := &pr.es
	inv, wt := es.inv[:K], es.wt[:K]
	clear(inv)
	for g, w := range pr.w {
		for i, n := range cols[g*orbitChunk:][:K] {
			inv[i] += float64(n * w) // Z summed in group order, as partition does
		}
	}
	if pr.keysAll {
		for g, wm := range pr.wm {
			S := pr.gS[g]
			for i, n := range cols[g*orbitChunk:][:K] {
				inv[i] += float64((S - n) * wm)
			}
		}
		for i := range inv {
			inv[i] += pr.wself
		}
	}
	for i, Z := range inv {
		wt[i] = bw * prob[i]
		if Z >= tinySum {
			inv[i] = 1 / Z
			continue
		}
		for g := range es.row0 {
			es.row0[g] = cols[g*orbitChunk+i]
		}
		es.ll[i] = pr.term(x, z, es.row0, za, wt[i], grad)
		inv[i], wt[i] = 0, 0
	}
}

// enumMoments normalises the masses (t_C = T_C/Z) and sets
// z_C²Q_C/Z² = z_C²(t_C²/m + m Σ_g u_g² V_g) (O2, O3) and its sum over C.
func (pr *orbProblem) enumMoments(cols []float64, K int) {
	es := &pr.es
	inv, sq := es.inv[:K], es.sq[:K]
	for c, cl := range pr.classes {
		tt, qq := es.tt[c*orbitChunk:][:K], es.qq[c*orbitChunk:][:K]
		im := pr.invm[c]
		for i, v := range inv {
			tt[i] *= v
			qq[i] = tt[i] * tt[i] * im
		}
		for g := cl.g0; g < cl.g1; g++ {
			wg, hv, S, m := pr.w[g], pr.hv[g], pr.gS[g], pr.m[g]
			for i, n := range cols[g*orbitChunk:][:K] {
				ug := wg * inv[i]
				if n == 0 {
					ug = 0 // an absent cell (its w/Z may be huge) contributes nothing
				}
				v := hv * n * (S - n)
				qq[i] += float64(m * ug * ug * v)
			}
		}
		zc2 := pr.zc2[c]
		for i := range qq {
			qq[i] *= zc2
		}
		if c == 0 {
			copy(sq, qq)
			continue
		}
		for i, q := range qq {
			sq[i] += q
		}
	}
}

// enumLoss adds Σ probability × ℓ (O4) to bl and returns it.
func (pr *orbProblem) enumLoss(prob []float64, za, bl float64) float64 {
	K := len(prob)
	es := &pr.es
	inv, sq, ll, ta := es.inv[:K], es.sq[:K], es.ll[:K], es.tt[:K] // the own class is class 0
	za2 := za * za
	for i, p := range prob {
		l := ll[i]
		if inv[i] != 0 {
			l = float64(0.5*sq[i]) - float64(za2*ta[i]) + float64(0.5*za2)
		}
		bl += float64(p * l)
	}
	return bl
}

// enumGrad adds weight × the gradient (O5)–(O6) of K vectors.
func (pr *orbProblem) enumGrad(cols []float64, K int, za float64) {
	es := &pr.es
	wt, sq, ta := es.wt[:K], es.sq[:K], es.tt[:K]
	za2 := za * za
	for c, cl := range pr.classes {
		tt, qq := es.tt[c*orbitChunk:][:K], es.qq[c*orbitChunk:][:K]
		oz, zc, im := pr.own[c]*za2, pr.zc[c], pr.invm[c]
		a := pr.accA[c]
		for i, w := range wt {
			rbar := sq[i] - float64(za2*ta[i])
			a += float64(w * zc * im * (qq[i] - float64(oz*ta[i]) - float64(rbar*tt[i])))
		}
		pr.accA[c] = a
		for g := cl.g0; g < cl.g1; g++ {
			pr.enumGradB(g, c, cols[g*orbitChunk:][:K], za2)
		}
	}
	if pr.keysAll {
		s, inv := pr.accSelf, es.inv[:K]
		for i, w := range wt {
			s -= float64(w * pr.wself * inv[i] * (sq[i] - float64(za2*ta[i])))
		}
		pr.accSelf = s
	}
}

// enumGradB adds weight × ∂ℓ/∂B of group g (class c) of the vectors whose
// counts of group g are col.
func (pr *orbProblem) enumGradB(g, c int, col []float64, za2 float64) {
	K := len(col)
	es := &pr.es
	wt, inv, sq, ta := es.wt[:K], es.inv[:K], es.sq[:K], es.tt[:K]
	tt := es.tt[c*orbitChunk:][:K]
	wg, hv, S, m, is, wm := pr.w[g], pr.hv[g], pr.gS[g], pr.m[g], pr.invS[g], pr.wm[g]
	oz, im, zc2 := pr.own[c]*za2, pr.invm[c], pr.zc2[c]
	all := pr.keysAll
	b := pr.accB[g]
	for i, n := range col {
		rbar := sq[i] - float64(za2*ta[i])
		ug := wg * inv[i]
		if n == 0 {
			ug = 0
		}
		v := hv * n * (S - n)
		r := float64(n*tt[i]*im) + float64(ug*m*v)
		gb := ug * is * (float64(zc2*r) - float64((oz+rbar)*n))
		if all {
			gb -= float64((S - n) * is * wm * inv[i] * rbar)
		}
		b += float64(wt[i] * gb)
	}
	pr.accB[g] = b
}
