package dynamics

// The CRN samples' kernel for problems whose classes are single areas
// (i.i.d. z: m = 1, no within-class variance), docs/ORBIT.md §4.2. With
// w_g = e_C·eB_g (e_C = e^{z_C A_C − m_A}) every per-group quantity of term
// factors into a per-class one times eB_g:
//
//	T_C = e_C·Σ_{g∈C} n_g eB_g,
//	weight·∂_{B_g} = eB_g/S_g·[n_g·X_C − (S_g − n_g)·Y]   (keys "all": Y ≠ 0),
//	X_C = weight·(e_C/Z)(z_C² t_C − [C=a] z_a² − r̄),  Y = weight·e^{−m_A} r̄/Z,
//
// so a term costs two multiply-adds per group (the class sums, and
// Σ_terms n_g X_C accumulated per group) and O(classes) otherwise, instead
// of term's dozen operations per group; the B gradients are assembled once
// per evaluation. The exponentials e_C of all samples are taken together by
// expNonPosSlice. The same expectation as term's, rounded differently
// (TestOrbitCRNKernel: ≤ 10⁻¹³ relative). A term whose normaliser underflows
// (Z < tinySum) is evaluated by term, as before.

// crnFast reports whether the problem's CRN samples take evalSamples: CRN
// blocks first, every class a single area, exact counts.
func (pr *orbProblem) crnFast() bool {
	if !pr.exact || len(pr.blocks) == 0 || pr.blocks[0].sample < 0 {
		return false
	}
	for _, cl := range pr.classes {
		if cl.m != 1 {
			return false
		}
	}
	return true
}

// orbSampleScratch is evalSamples' scratch.
type orbSampleScratch struct {
	ex          []float64 // per sample: e_C of each class, then e^{−m_A}
	nb, X       []float64 // per class: Σ n_g eB_g; X_C
	accN, accNy []float64 // per group: Σ n_g X_C; Σ n_g Y
	accY, sumSB float64   // Σ Y; Σ_g S_g eB_g
	areas, fps  []int     // per class: its area and A variable
	nSamples    int       // leading sample blocks
}

// evalSamples evaluates the leading CRN sample blocks of the problem at x,
// adding into the accumulators and sampleLoss as eval's block loop would,
// and returns how many blocks it took.
func (pr *orbProblem) evalSamples(x []float64, grad bool, sampleLoss []float64) int {
	ss := &pr.ss
	if ss.areas == nil {
		pr.newSampleScratch()
	}
	N, G := len(pr.classes), len(pr.groups)
	pr.sampleExps(x)
	clear(ss.accN)
	clear(ss.accNy)
	ss.accY = 0
	for i, b := range pr.blocks[:ss.nSamples] {
		e := ss.ex[i*(N+1) : (i+1)*(N+1)]
		for c, j := range ss.areas {
			pr.zc[c] = b.z[j]
			pr.zc2[c] = b.z[j] * b.z[j]
		}
		za := pr.zc[0]
		bl := 0.0
		for cv := b.c0; cv < b.c1; cv++ {
			n := pr.counts[cv*G : (cv+1)*G]
			wt := b.w * pr.cweight[cv]
			l, ok := pr.sampleTerm(e, n, za, wt, grad)
			if !ok {
				pr.setWeightsFast(x, b.z)
				l = pr.term(x, b.z, n, za, wt, grad)
			}
			bl += pr.cweight[cv] * l
		}
		pr.accLoss += b.w * bl
		sampleLoss[b.sample] += pr.wLoss * bl
	}
	if grad {
		for g := range G {
			d := ss.accN[g]
			if pr.keysAll {
				d -= pr.gS[g]*ss.accY - ss.accNy[g]
			}
			pr.accB[g] += pr.eB[g] * pr.invS[g] * d
		}
		if pr.keysAll {
			pr.accSelf -= pr.eSelf * ss.accY
		}
	}
	return ss.nSamples
}

func (pr *orbProblem) newSampleScratch() {
	ss := &pr.ss
	N, G := len(pr.classes), len(pr.groups)
	for _, b := range pr.blocks {
		if b.sample < 0 {
			break
		}
		ss.nSamples++
	}
	ss.ex = make([]float64, ss.nSamples*(N+1))
	ss.nb, ss.X = make([]float64, N), make([]float64, N)
	ss.accN, ss.accNy = make([]float64, G), make([]float64, G)
	ss.areas, ss.fps = make([]int, N), make([]int, N)
	for c, cl := range pr.classes {
		ss.areas[c], ss.fps[c] = cl.area, cl.fp
	}
}

// sampleExps sets e_C = e^{z_C A_C − m_A} (m_A = max(0, max_C z_C A_C)) and
// e^{−m_A} of every sample block, all by one expNonPosSlice call.
func (pr *orbProblem) sampleExps(x []float64) {
	ss := &pr.ss
	N := len(pr.classes)
	for i, b := range pr.blocks[:ss.nSamples] {
		e := ss.ex[i*(N+1) : (i+1)*(N+1)]
		mA := 0.0
		for c, j := range ss.areas {
			e[c] = b.z[j] * x[ss.fps[c]]
			mA = max(mA, e[c])
		}
		for c := range N {
			e[c] -= mA
		}
		e[N] = -mA
	}
	expNonPosSlice(ss.ex)
	ss.sumSB = 0
	for g := range pr.groups {
		ss.sumSB += pr.gS[g] * pr.eB[g]
	}
}

// sampleTerm evaluates one count vector n of a sample with class factors e
// (and e^{−m_A} = e[N]) and block weight × count weight wt: it returns ℓ,
// adds the A gradients into accA and the per-group sums of the B gradients
// into the scratch when grad, and reports false (doing nothing) when the
// normaliser underflows.
func (pr *orbProblem) sampleTerm(e, n []float64, za, wt float64, grad bool) (float64, bool) {
	ss := &pr.ss
	N := len(pr.classes)
	nb, T, cls, eB := ss.nb[:N], pr.T[:N], pr.gcls, pr.eB
	clear(nb)
	keys, masked := pr.keysAll, 0.0
	for g, ng := range n {
		nb[cls[g]] += ng * eB[g]
		keys = keys || ng > 0
	}
	if !keys {
		return 0.5 * za * za, true
	}
	Z := 0.0
	for c := range T {
		T[c] = e[c] * nb[c]
		Z += T[c]
	}
	if pr.keysAll {
		for g, ng := range n {
			masked += (pr.gS[g] - ng) * eB[g]
		}
		Z += e[N] * (masked + pr.eSelf)
	}
	if !(Z >= tinySum) {
		return 0, false
	}
	inv := 1 / Z
	sumQ := 0.0
	for c := range T {
		T[c] *= inv
		sumQ += pr.zc2[c] * T[c] * T[c]
	}
	ta, za2 := T[0], za*za
	rbar := sumQ - za2*ta
	loss := 0.5*sumQ - za2*ta + 0.5*za2
	if grad {
		pr.sampleGrad(e, n, za2, ta, rbar, inv, wt)
	}
	return loss, true
}

// sampleGrad adds one term's A gradients into accA and its B gradients'
// per-group sums into the scratch (evalSamples assembles them).
func (pr *orbProblem) sampleGrad(e, n []float64, za2, ta, rbar, inv, wt float64) {
	ss := &pr.ss
	N := len(pr.classes)
	X, T, zc, zc2, cls := ss.X[:N], pr.T[:N], pr.zc[:N], pr.zc2[:N], pr.gcls
	acc := pr.accA[:N]
	for c := range N {
		q := zc2[c] * T[c]
		own := 0.0
		if c == 0 {
			own = za2
		}
		acc[c] += wt * zc[c] * (q*T[c] - own*ta - rbar*T[c])
		X[c] = wt * e[c] * inv * (q - own - rbar)
	}
	accN := ss.accN[:len(n)]
	for g, ng := range n {
		accN[g] += ng * X[cls[g]]
	}
	if pr.keysAll {
		y := wt * e[N] * inv * rbar
		ss.accY += y
		accNy := ss.accNy[:len(n)]
		for g, ng := range n {
			accNy[g] += ng * y
		}
	}
}
