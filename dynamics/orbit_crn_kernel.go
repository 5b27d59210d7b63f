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
	accN, accNy []float64 // per group: Σ n_g X_C; Σ (S_g − n_g) Y
	accY        float64   // Σ Y
	// The control pairs' mean vector n̄ (nil without): its class sums and
	// masked mass, the same for every sample, and Σ X_C, Σ Y over its terms.
	mean            []float64
	nbMean          []float64
	maskMean, accYm float64
	accXm           []float64
	areas, fps      []int // per class: its area and A variable
	g0, g1          []int // per class: its groups
	nSamples        int   // leading sample blocks
}

// evalSamples evaluates the leading CRN sample blocks of the problem at x,
// adding into the accumulators and sampLoss as compute's block loop would,
// and returns how many blocks it took.
func (pr *orbProblem) evalSamples(x []float64, grad bool) int {
	ss := &pr.ss
	if ss.areas == nil {
		pr.newSampleScratch()
	}
	N := len(pr.classes)
	pr.sampleExps(x)
	for _, v := range [][]float64{ss.accN, ss.accNy, ss.accXm} {
		clear(v)
	}
	ss.accY, ss.accYm = 0, 0
	if ss.mean != nil {
		ss.maskMean = pr.classSums(ss.mean, ss.nbMean)
	}
	for i, b := range pr.blocks[:ss.nSamples] {
		e := ss.ex[i*(N+1) : (i+1)*(N+1)]
		for c, j := range ss.areas {
			pr.zc[c] = b.z[j]
			pr.zc2[c] = b.z[j] * b.z[j]
		}
		za := pr.zc[0]
		bl := 0.0
		for cv := b.c0; cv < b.c1; cv++ {
			bl += pr.cweight[cv] * pr.sampleTerm(x, b, cv, e, za, grad)
		}
		pr.accLoss += b.w * bl
		pr.sampLoss[b.sample] = pr.wLoss * bl
	}
	if grad {
		pr.sampleAssemble()
	}
	return ss.nSamples
}

// sampleTerm evaluates count vector cv of sample block b (class factors e)
// and returns ℓ, adding its gradient when grad; a vector whose normaliser
// underflows (or without keys) is evaluated by term.
func (pr *orbProblem) sampleTerm(x []float64, b orbBlock, cv int, e []float64, za float64, grad bool) float64 {
	ss := &pr.ss
	G := len(pr.groups)
	n := pr.counts[cv*G : (cv+1)*G]
	wt := b.w * pr.cweight[cv]
	isMean := ss.mean != nil && cv == b.c0+1
	nb, masked := ss.nb, 0.0
	if isMean {
		nb, masked = ss.nbMean, ss.maskMean
	} else {
		masked = pr.classSums(n, nb)
	}
	l, y, ok := pr.sampleTermAt(e, nb, masked, za, wt, grad)
	if !ok {
		pr.setWeightsFast(x, b.z)
		return pr.term(x, b.z, n, za, wt, grad)
	}
	if !grad {
		return l
	}
	X := ss.X
	if isMean {
		for c := range X {
			ss.accXm[c] += X[c]
		}
		ss.accYm += y
		return l
	}
	ss.accY += y
	accN, cls := ss.accN[:G], pr.gcls[:G]
	for g, ng := range n {
		accN[g] += ng * X[cls[g]]
	}
	if pr.keysAll {
		accNy, gS := ss.accNy[:G], pr.gS[:G]
		for g, ng := range n {
			accNy[g] += (gS[g] - ng) * y
		}
	}
	return l
}

// sampleAssemble adds the B gradients from the per-group sums:
// ∂_{B_g} += eB_g/S_g·[Σ n_g X_C − Σ (S_g − n_g) Y] (the masked keys' sum
// accumulated as such: S_g·ΣY − Σ n_g Y would cancel when most keys are
// unmasked).
func (pr *orbProblem) sampleAssemble() {
	ss := &pr.ss
	for g := range pr.groups {
		d := ss.accN[g]
		my := ss.accNy[g]
		if ss.mean != nil {
			d += ss.mean[g] * ss.accXm[pr.gcls[g]]
			my += (pr.gS[g] - ss.mean[g]) * ss.accYm
		}
		if pr.keysAll {
			d -= my
		}
		pr.accB[g] += pr.eB[g] * pr.invS[g] * d
	}
	if pr.keysAll {
		pr.accSelf -= pr.eSelf * (ss.accY + ss.accYm)
	}
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
	if b := pr.blocks[0]; b.c1-b.c0 == 2 { // control pairs (addControl)
		ss.mean = pr.counts[(b.c0+1)*G : (b.c0+2)*G]
	}
	ss.ex = make([]float64, ss.nSamples*(N+1))
	ss.nb, ss.X, ss.nbMean, ss.accXm = make([]float64, N), make([]float64, N), make([]float64, N), make([]float64, N)
	ss.accN, ss.accNy = make([]float64, G), make([]float64, G)
	ss.areas, ss.fps, ss.g0, ss.g1 = make([]int, N), make([]int, N), make([]int, N), make([]int, N)
	for c, cl := range pr.classes {
		ss.areas[c], ss.fps[c], ss.g0[c], ss.g1[c] = cl.area, cl.fp, cl.g0, cl.g1
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
}

// classSums sets nb_C = Σ_{g∈C} n_g eB_g and returns the masked keys' mass
// Σ_g (S_g − n_g) eB_g (keys "all"; 0 otherwise).
func (pr *orbProblem) classSums(n, nb []float64) float64 {
	ss, eB := &pr.ss, pr.eB
	for c := range nb {
		s := 0.0
		for g := ss.g0[c]; g < ss.g1[c]; g++ {
			s += n[g] * eB[g]
		}
		nb[c] = s
	}
	masked := 0.0
	if pr.keysAll {
		for g, ng := range n[:len(eB)] {
			masked += (pr.gS[g] - ng) * eB[g]
		}
	}
	return masked
}

// sampleTermAt evaluates one term from its class sums nb and masked mass
// (class factors e, e^{−m_A} = e[N]; block × count weight wt): it returns
// ℓ and, when grad, adds the A gradients into accA and sets X_C and
// returns Y. ok is false (nothing done) when Z < tinySum (underflow, or no
// keys).
func (pr *orbProblem) sampleTermAt(e, nb []float64, masked, za, wt float64, grad bool) (loss, y float64, ok bool) {
	N := len(pr.classes)
	T := pr.T[:N]
	Z := 0.0
	for c := range T {
		T[c] = e[c] * nb[c]
		Z += T[c]
	}
	if pr.keysAll {
		Z += e[N] * (masked + pr.eSelf)
	}
	if !(Z >= tinySum) {
		return 0, 0, false
	}
	inv := 1 / Z
	sumQ := 0.0
	for c := range T {
		T[c] *= inv
		sumQ += pr.zc2[c] * T[c] * T[c]
	}
	ta, za2 := T[0], za*za
	rbar := sumQ - za2*ta
	loss = 0.5*sumQ - za2*ta + 0.5*za2
	if grad {
		X, zc, zc2, acc := pr.ss.X[:N], pr.zc[:N], pr.zc2[:N], pr.accA[:N]
		for c := range N {
			q := zc2[c] * T[c]
			own := 0.0
			if c == 0 {
				own = za2
			}
			acc[c] += wt * zc[c] * (q*T[c] - own*ta - rbar*T[c])
			X[c] = wt * e[c] * inv * (q - own - rbar)
		}
		y = wt * e[N] * inv * rbar
	}
	return loss, y, true
}
