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
// per evaluation. The draws are taken by chunks, eight at a time, by the
// lane kernels of orbit_crn_lanes.go (the exponentials e_C by
// expNonPosSlice). The same expectation as term's, rounded differently
// (TestOrbitCRNKernel: ≤ 10⁻¹³ relative). A term whose normaliser underflows
// (Z < tinySum) is evaluated by term, as before.

// crnFast reports whether the problem's CRN samples take evalSamples: CRN
// blocks first, every class a single area, exact counts (held as float32:
// every group below 2²⁴ keys).
func (pr *orbProblem) crnFast() bool {
	if !pr.exact || len(pr.blocks) == 0 || pr.blocks[0].sample < 0 {
		return false
	}
	for _, cl := range pr.classes {
		if cl.m != 1 {
			return false
		}
	}
	for _, gr := range pr.groups {
		if gr.S >= 1<<24 {
			return false
		}
	}
	// The lane kernels take one weight per term for all draws (sampleCRN
	// gives every draw 1/n, addControl the pair 1, −1), and draw i is
	// block i.
	b0 := pr.blocks[0]
	for i, b := range pr.blocks {
		if b.sample < 0 {
			break
		}
		if b.sample != i || b.w != b0.w || b.c1-b.c0 != b0.c1-b0.c0 || b.c1-b.c0 > 2 {
			return false
		}
		for j := range b.c1 - b.c0 {
			if pr.cweight[b.c0+j] != pr.cweight[b0.c0+j] {
				return false
			}
		}
	}
	return true
}

// orbSampleScratch is evalSamples' state: the draws in structure-of-arrays
// form by chunks of crnChunk (the last one padded to a multiple of
// crnLanes; the tables of chunk k start at draw k·crnChunk), the chunk's
// tables, and the lane accumulators (orbit_crn_lanes.go).
type orbSampleScratch struct {
	n        int        // leading sample blocks (draws)
	cnt      []float32  // per chunk: G rows of its counts (exact in float32: < 2²⁴)
	z        []float64  // per chunk: N rows of z_C
	wt, cw   [2]float64 // per term (the draw's counts, the mean): weight and count weight
	bw       float64    // the draws' block weight
	gb       []int      // class c's groups are gb[c] ≤ g < gb[c+1]
	a        []float64  // per class: its A variable's value
	areas    []int      // per class: its area
	fps      []int      // per class: its A variable
	w        crnWork
	e, nb, X []float64 // the chunk's tables
	y, loss  []float64
	// The control pairs' mean vector n̄ (nil without): its class sums and
	// masked mass, the same for every draw, as tables; its losses.
	mean             []float64
	nbMean, nbMeanT  []float64
	maskMeanT, lossM []float64
	maskMean         float64
	meanK            int // the width of nbMeanT (0: to be filled)
	masked           []float64
	// Lane accumulators: per class Σ X_C of the mean's terms; per group
	// Σ n_g X_C and Σ (S_g − n_g) Y; Σ Y of the samples' and the mean's
	// terms.
	accXm, accN, accNy, accY, accYm []float64
	// Totals of the lane accumulators (sampleAssemble).
	totXm, totN, totNy []float64
	totY, totYm        float64
}

// crnChunk is the number of draws evaluated together: its tables (about
// (3N + G/2 + 4)·8 bytes a draw) stay in the first-level cache.
const crnChunk = 64

// evalSamples evaluates the leading CRN sample blocks of the problem at x,
// adding into the accumulators and sampLoss as compute's block loop would,
// and returns how many blocks it took.
func (pr *orbProblem) evalSamples(x []float64, grad bool) int {
	ss := &pr.ss
	if ss.areas == nil {
		pr.newSampleScratch()
	}
	N := len(pr.classes)
	ss.w.eSelf = pr.eSelf
	for _, v := range [][]float64{ss.accXm, ss.accN, ss.accNy, ss.accY, ss.accYm, ss.w.acc} {
		clear(v)
	}
	if ss.mean != nil {
		ss.maskMean = pr.classSums(ss.mean, ss.nbMean)
		ss.meanK = 0
	}
	for k0 := 0; k0 < ss.n; k0 += crnChunk {
		pr.sampleChunk(x, k0, grad)
	}
	if !grad {
		return ss.n
	}
	for c := range N {
		pr.accA[c] += laneTotal(ss.w.acc[c*crnLanes:])
		ss.totXm[c] = laneTotal(ss.accXm[c*crnLanes:])
	}
	for g := range pr.groups {
		ss.totN[g] = laneTotal(ss.accN[g*crnLanes:])
		ss.totNy[g] = laneTotal(ss.accNy[g*crnLanes:])
	}
	ss.totY, ss.totYm = laneTotal(ss.accY), laneTotal(ss.accYm)
	pr.sampleAssemble()
	return ss.n
}

// sampleChunk evaluates the draws k0, … of one chunk: the class factors,
// then per term the class sums and the class work, then the per-group
// sums; a draw whose normaliser underflows is evaluated by term.
func (pr *orbProblem) sampleChunk(x []float64, k0 int, grad bool) {
	ss := &pr.ss
	N, G := len(pr.classes), len(pr.groups)
	nd := min(crnChunk, ss.n-k0)
	K := roundLanes(nd)
	cnt, z := ss.cnt[k0*G:k0*G+G*K], ss.z[k0*N:k0*N+N*K]
	pr.sampleExps(x, z, K, nd)
	w := &ss.w
	w.K, w.z, w.e, w.grad = K, z, ss.e, grad
	w.X, w.y = ss.X, ss.y
	crnClassSums(cnt, K, ss.gb, pr.eB, pr.gS, pr.keysAll, ss.nb, ss.masked)
	w.nb, w.masked, w.loss, w.wt = ss.nb, ss.masked, ss.loss, ss.wt[0]
	if crnClassWork(w) > 0 {
		pr.sampleFallback(x, k0, nd, 0, ss.loss)
	}
	if grad {
		crnGroupAcc(cnt, K, pr.gcls, ss.X, ss.y, pr.gS, pr.keysAll, ss.accN, ss.accNy, ss.accY)
	}
	if ss.mean != nil {
		if ss.meanK != K {
			pr.meanTables(K)
		}
		w.nb, w.masked, w.loss, w.wt = ss.nbMeanT, ss.maskMeanT, ss.lossM, ss.wt[1]
		if crnClassWork(w) > 0 {
			pr.sampleFallback(x, k0, nd, 1, ss.lossM)
		}
		if grad {
			crnLaneSum(ss.X, K, N, ss.accXm)
			crnLaneSum(ss.y, K, 1, ss.accYm)
		}
	}
	sl := pr.sampLoss[k0 : k0+nd]
	for i := range sl {
		bl := 0.0 + ss.cw[0]*ss.loss[i]
		if ss.mean != nil {
			bl += ss.cw[1] * ss.lossM[i]
		}
		pr.accLoss += ss.bw * bl
		sl[i] = pr.wLoss * bl
	}
}

// meanTables fills the mean's class sums and masked mass as tables K wide.
func (pr *orbProblem) meanTables(K int) {
	ss := &pr.ss
	for c, v := range ss.nbMean {
		row := ss.nbMeanT[c*K : (c+1)*K]
		for i := range row {
			row[i] = v
		}
	}
	for i := range ss.maskMeanT {
		ss.maskMeanT[i] = ss.maskMean
	}
	ss.meanK = K
}

// sampleFallback evaluates by term the draws of the chunk whose normaliser
// (in ss.w.Z) underflowed in term j (0: the draw's counts, 1: the mean),
// setting their loss and zeroing their X and Y (padding draws beyond nd
// are zeroed only).
func (pr *orbProblem) sampleFallback(x []float64, k0, nd, j int, loss []float64) {
	ss, w := &pr.ss, &pr.ss.w
	G := len(pr.groups)
	for i := range w.K {
		if w.Z[i] >= tinySum {
			continue
		}
		for c := range w.N {
			w.X[c*w.K+i] = 0
		}
		w.y[i] = 0
		if i >= nd {
			continue
		}
		b := pr.blocks[k0+i]
		n := pr.counts[(b.c0+j)*G : (b.c0+j+1)*G]
		pr.setWeightsFast(x, b.z)
		loss[i] = pr.term(x, b.z, n, b.z[pr.ownArea], ss.wt[j], w.grad)
	}
}

// sampleAssemble adds the B gradients from the per-group sums:
// ∂_{B_g} += eB_g/S_g·[Σ n_g X_C − Σ (S_g − n_g) Y] (the masked keys' sum
// accumulated as such: S_g·ΣY − Σ n_g Y would cancel when most keys are
// unmasked).
func (pr *orbProblem) sampleAssemble() {
	ss := &pr.ss
	for g := range pr.groups {
		d := ss.totN[g]
		my := ss.totNy[g]
		if ss.mean != nil {
			d += ss.mean[g] * ss.totXm[pr.gcls[g]]
			my += (pr.gS[g] - ss.mean[g]) * ss.totYm
		}
		if pr.keysAll {
			d -= my
		}
		pr.accB[g] += pr.eB[g] * pr.invS[g] * d
	}
	if pr.keysAll {
		pr.accSelf -= pr.eSelf * (ss.totY + ss.totYm)
	}
}

// newSampleScratch builds the draws' tables (crnFast has checked that
// every draw has the weights of the first) and the chunk's scratch.
func (pr *orbProblem) newSampleScratch() {
	ss := &pr.ss
	N, G := len(pr.classes), len(pr.groups)
	for _, b := range pr.blocks {
		if b.sample < 0 {
			break
		}
		ss.n++
	}
	b0 := pr.blocks[0]
	ss.bw = b0.w
	for j := range b0.c1 - b0.c0 {
		ss.cw[j] = pr.cweight[b0.c0+j]
		ss.wt[j] = b0.w * ss.cw[j]
	}
	if b0.c1-b0.c0 == 2 { // control pairs (addControl)
		ss.mean = pr.counts[(b0.c0+1)*G : (b0.c0+2)*G]
	}
	ss.areas, ss.fps, ss.gb, ss.a = make([]int, N), make([]int, N), make([]int, N+1), make([]float64, N)
	for c, cl := range pr.classes {
		ss.areas[c], ss.fps[c], ss.gb[c], ss.gb[c+1] = cl.area, cl.fp, cl.g0, cl.g1
	}
	pad := roundLanes(ss.n)
	ss.cnt, ss.z = make([]float32, pad*G), make([]float64, pad*N)
	for k0 := 0; k0 < ss.n; k0 += crnChunk {
		K := roundLanes(min(crnChunk, ss.n-k0))
		cnt, z := ss.cnt[k0*G:k0*G+G*K], ss.z[k0*N:k0*N+N*K]
		for i, b := range pr.blocks[k0:min(k0+K, ss.n)] {
			for g, v := range pr.counts[b.c0*G : (b.c0+1)*G] {
				cnt[g*K+i] = float32(v)
			}
			for c, j := range ss.areas {
				z[c*K+i] = b.z[j]
			}
		}
	}
	K := crnChunk
	ss.e, ss.nb, ss.X = make([]float64, (N+1)*K), make([]float64, N*K), make([]float64, N*K)
	ss.y, ss.loss, ss.masked = make([]float64, K), make([]float64, K), make([]float64, K)
	ss.nbMean, ss.nbMeanT = make([]float64, N), make([]float64, N*K)
	ss.maskMeanT, ss.lossM = make([]float64, K), make([]float64, K)
	ss.accXm, ss.accN, ss.accNy = make([]float64, N*crnLanes), make([]float64, G*crnLanes), make([]float64, G*crnLanes)
	ss.accY, ss.accYm = make([]float64, crnLanes), make([]float64, crnLanes)
	ss.totXm, ss.totN, ss.totNy = make([]float64, N), make([]float64, G), make([]float64, G)
	ss.w = crnWork{N: N, keysAll: pr.keysAll, T: make([]float64, N*crnLanes),
		acc: make([]float64, N*crnLanes), Z: make([]float64, K)}
}

// sampleExps sets the chunk's class factors e_C = e^{z_C A_C − m_A}
// (m_A = max(0, max_C z_C A_C)) and e^{−m_A} of its K draws (z: N rows),
// by one expNonPosSlice call; the padding draws beyond nd get 0, so that
// their normaliser is 0 and the kernels leave them out.
func (pr *orbProblem) sampleExps(x, z []float64, K, nd int) {
	ss := &pr.ss
	N := len(pr.classes)
	e := ss.e[:(N+1)*K]
	for c, fp := range ss.fps {
		ss.a[c] = x[fp]
	}
	crnExpArgs(z, K, ss.a, e)
	expNonPosSlice(e)
	for r := range N + 1 {
		clear(e[r*K+nd : (r+1)*K])
	}
}

// classSums sets nb_C = Σ_{g∈C} n_g eB_g and returns the masked keys' mass
// Σ_g (S_g − n_g) eB_g (keys "all"; 0 otherwise).
func (pr *orbProblem) classSums(n, nb []float64) float64 {
	ss, eB := &pr.ss, pr.eB
	for c := range nb {
		s := 0.0
		for g := ss.gb[c]; g < ss.gb[c+1]; g++ {
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
