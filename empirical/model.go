package empirical

import (
	"fmt"
	"math"
	"runtime"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	"gonum.org/v1/gonum/mat"

	"mimverify/internal/fastexp"
	"mimverify/internal/parallel"
	"mimverify/theory"
)

// ChunkSize is the number of samples one worker processes into one partial
// gradient. It is fixed (independent of GOMAXPROCS) and the partials are
// summed in chunk order, so that LossGrad is bit-identical whatever the
// number of cores.
const ChunkSize = 16

// roundChunks and partialBudget bound the memory of the partial gradients:
// chunks are processed in rounds of at most roundChunks (fewer when their
// P×d partials would exceed partialBudget bytes, but at least GOMAXPROCS),
// each round reduced in chunk order into the total before the next starts.
// The result does not depend on the round size.
// (They are variables so that the tests can check that last claim.)
var (
	roundChunks   = 32
	partialBudget = 256 << 20
)

// Model evaluates the empirical loss of the full model of SPEC §1 and its
// analytic gradient with respect to the d×d key–query matrix Q, genuinely in
// R^d (no use of the (A, B) reduction). The derivation of the gradient is in
// docs/GRADIENT.md. A Model holds reusable buffers: it is not safe for
// concurrent use.
type Model struct {
	s     *theory.Setting
	emb   *Embedding
	all   bool    // keys "all"
	scale float64 // s.LossScale()

	eq       []float64   // P×d: row p is e_pᵀ Q
	posT     []float64   // d×P: the positional embeddings by columns, E_pos
	featT    [][]float64 // per cluster, d×N_k: its features by columns
	w        []float64   // P×d: Σ over samples of the per-query gradient rows
	partials [][]float64 // per chunk of a round: partial W (P×d)
	ploss    []float64   // per chunk of a round: partial loss
	workers  []*worker
}

// worker holds the per-goroutine scratch buffers of one sample.
type worker struct {
	masked, keys []int
	eqm          []float64 // (block of M)×d: rows e_pᵀ Q of the masked queries
	karea        []int     // |U|: area of each unmasked key
	hk           []float64 // |K|×d: key tokens h_q = x̃_q + e_q (unmasked keys first)
	hkT          []float64 // d×|K|: the same, transposed
	sc           []float64 // |M|×|K|: scores, then attention π, then ∂ℓ/∂s
	sz           []float64 // |M|×N_k: z_j Σ_{q∈U∩P_j} π_{p,q} (attention mass per area, times z_j)
	y            []float64 // |M|×d: ŷ_p, then the residual ŷ_p − x_p
	rv           []float64 // |M|×N_k: (ŷ_p − x_p)·v_j
	yr           []float64 // |M|: ŷ_p·(ŷ_p − x_p)
	t            []float64 // |M|×d: rows Σ_q ∂ℓ/∂s_{p,q} h_qᵀ
}

// NewModel returns the model of setting s (copied: later changes to s do not
// affect the model) in embedding e. The setting must be valid and e built
// for it.
func NewModel(s *theory.Setting, e *Embedding) (*Model, error) {
	if e.P != s.P || e.F != s.NumFeatures() || e.D != s.Dim() {
		return nil, fmt.Errorf("empirical: embedding (P=%d, F=%d, d=%d) does not fit the setting (P=%d, F=%d, d=%d)",
			e.P, e.F, e.D, s.P, s.NumFeatures(), s.Dim())
	}
	sc := s.Clone()
	m := &Model{
		s:     &sc,
		emb:   e,
		all:   s.Keys == theory.KeysAll,
		scale: s.LossScale(),
		eq:    make([]float64, s.P*e.D),
		w:     make([]float64, s.P*e.D),
		posT:  transpose(make([]float64, s.P*e.D), e.rows, s.P, e.D),
		featT: make([][]float64, len(s.Clusters)),
	}
	for k := range s.Clusters {
		vk, na := m.features(k)
		m.featT[k] = transpose(make([]float64, na*e.D), vk, na, e.D)
	}
	return m, nil
}

// transpose writes into t (len ≥ m·n) the n×m transpose of the row-major
// m×n matrix a, the layout gemmNN reads its right factor in, and returns
// t[:m·n].
func transpose(t, a []float64, m, n int) []float64 {
	t = t[:m*n]
	for i := range m {
		for j, x := range a[i*n : (i+1)*n] {
			t[j*m+i] = x
		}
	}
	return t
}

// Embedding returns the model's embedding.
func (m *Model) Embedding() *Embedding { return m.emb }

func newWorker(p, d, nmax int) *worker {
	qb := min(p, queryBlock)
	return &worker{
		masked: make([]int, 0, p),
		keys:   make([]int, 0, p),
		karea:  make([]int, p),
		eqm:    make([]float64, qb*d),
		hk:     make([]float64, p*d),
		hkT:    make([]float64, p*d),
		sc:     make([]float64, qb*p),
		sz:     make([]float64, qb*nmax),
		y:      make([]float64, qb*d),
		rv:     make([]float64, qb*nmax),
		yr:     make([]float64, qb),
		t:      make([]float64, qb*d),
	}
}

// queryBlock is the number of masked queries processed together (the rows
// of the products); it bounds the per-worker buffers to O(queryBlock·(P+d)
// + P·d).
const queryBlock = 64

// Loss returns the empirical loss at Q on the samples.
func (m *Model) Loss(q mat.Matrix, samples []theory.Sample) float64 {
	return m.LossGrad(q, samples, nil)
}

// LossGrad returns the empirical loss L(Q) = (1/n) Σ_i ℓ(Q; sample i) and,
// when grad is not nil, writes ∇_Q L into grad (d×d, or empty: it is then
// allocated). The samples must pass s.CheckSample; an empty sample set has
// loss 0 and gradient 0. The result is bit-identical for any GOMAXPROCS.
// The gradient formula is derived in docs/GRADIENT.md:
// ∂ℓ/∂s_{p,q} = c·π_{p,q} (x̃_q − ŷ_p)·(ŷ_p − x_p), ∇_Q = Σ ∂ℓ/∂s_{p,q} e_p h_qᵀ.
func (m *Model) LossGrad(q mat.Matrix, samples []theory.Sample, grad *mat.Dense) float64 {
	e := m.emb
	d, P := e.D, m.s.P
	e.checkQ(q)
	wantGrad := grad != nil
	if wantGrad {
		if grad.IsEmpty() {
			grad.ReuseAs(d, d)
		}
		e.checkQ(grad)
	}
	n := len(samples)
	if n == 0 {
		if wantGrad {
			grad.Zero()
		}
		return 0
	}

	// EQ = E_posᵀ Q: row p is e_pᵀ Q (computed once per evaluation).
	var qraw blas64General
	switch qq := q.(type) {
	case *mat.Dense:
		r := qq.RawMatrix()
		qraw = blas64General{r.Data, r.Stride}
	default:
		dense := mat.DenseCopyOf(q)
		r := dense.RawMatrix()
		qraw = blas64General{r.Data, r.Stride}
	}
	gemmNN(P, d, d, e.rows, d, qraw.data, qraw.stride, m.eq, d)

	nChunks := (n + ChunkSize - 1) / ChunkSize
	procs := runtime.GOMAXPROCS(0)
	round := max(1, procs, min(roundChunks, partialBudget/(8*P*d)))
	if len(m.workers) < min(procs, round) {
		nmax := 0 // the most areas of a cluster
		for _, cl := range m.s.Clusters {
			nmax = max(nmax, cl.NumAreas())
		}
		for len(m.workers) < min(procs, round) {
			m.workers = append(m.workers, newWorker(P, d, nmax))
		}
	}
	if wantGrad {
		for len(m.partials) < min(nChunks, round) {
			m.partials = append(m.partials, make([]float64, P*d))
		}
		clear(m.w)
	}
	if len(m.ploss) < round {
		m.ploss = make([]float64, round)
	}
	c := m.scale / float64(n) // d(loss)/d(per-sample loss)
	loss := 0.0
	for r0 := 0; r0 < nChunks; r0 += round {
		loss = m.round(samples, r0, min(r0+round, nChunks), procs, wantGrad, c, loss)
	}
	if wantGrad {
		// ∇Q = Σ_p e_p W[p]ᵀ = E_pos W (E_pos: d×P, columns e_p).
		g := grad.RawMatrix()
		gemmNN(d, d, P, m.posT, P, m.w, d, g.Data, g.Stride)
	}
	return loss * m.scale / float64(n)
}

// round evaluates the chunks [r0, r1) of the samples on up to procs
// workers, each chunk into its own partial (loss, and W when wantGrad), then
// adds them to loss and m.w in chunk order, and returns the new loss.
func (m *Model) round(samples []theory.Sample, r0, r1, procs int, wantGrad bool, c, loss float64) float64 {
	n := len(samples)
	parallel.For(r1-r0, min(procs, len(m.workers)), func(w, k int) {
		ci := r0 + k
		var part []float64
		if wantGrad {
			part = m.partials[k]
			clear(part)
		}
		l := 0.0
		for i := ci * ChunkSize; i < min((ci+1)*ChunkSize, n); i++ {
			l += m.sample(m.workers[w], &samples[i], part, c)
		}
		m.ploss[k] = l
	})
	// Reduce in chunk order: the sum does not depend on which worker
	// computed which chunk.
	for ci := r0; ci < r1; ci++ {
		loss += m.ploss[ci-r0]
		if wantGrad {
			part := m.partials[ci-r0]
			for i, x := range part {
				m.w[i] += x
			}
		}
	}
	return loss
}

type blas64General struct {
	data   []float64
	stride int
}

// sample adds one sample's contribution c·∂ℓ/∂(e_pᵀQ) to the rows of part (when
// part is not nil) and returns its unscaled loss ½ Σ_{p∈M} ‖ŷ_p − x_p‖².
// No allocation.
func (m *Model) sample(wk *worker, smp *theory.Sample, part []float64, c float64) float64 {
	e := m.emb
	d, P := e.D, m.s.P
	k := smp.Cluster
	areas := m.s.AreasOf(smp)
	feat := func(p int) []float64 { return e.featRow(k, areas[p]) }

	wk.masked, wk.keys = wk.masked[:0], wk.keys[:0]
	for p := 0; p < P; p++ {
		if smp.Mask[p] {
			wk.masked = append(wk.masked, p)
		} else {
			wk.keys = append(wk.keys, p)
		}
	}
	nm, nu := len(wk.masked), len(wk.keys)
	if nm == 0 {
		return 0
	}
	if m.all {
		wk.keys = append(wk.keys, wk.masked...)
	}
	nk := len(wk.keys)
	loss := 0.0
	if nk == 0 {
		// No keys: ŷ_p = 0, loss ½‖x_p‖², no gradient.
		for _, p := range wk.masked {
			z := smp.Z[areas[p]]
			v := feat(p)
			sq := 0.0
			for _, x := range v {
				sq += (z * x) * (z * x)
			}
			loss += sq / 2
		}
		return loss
	}

	// Gather the key tokens (and the unmasked keys' areas).
	for r, q := range wk.keys {
		h := wk.hk[r*d : (r+1)*d]
		eqv := e.row(q)
		if r < nu {
			z := smp.Z[areas[q]]
			v := feat(q)
			wk.karea[r] = areas[q]
			for i := range h {
				h[i] = z*v[i] + eqv[i]
			}
		} else {
			copy(h, eqv) // masked key: content 0
		}
	}
	transpose(wk.hkT, wk.hk, nk, d) // the scores' product reads the keys by columns
	// The queries, in blocks of at most queryBlock (every row is independent
	// of the others, so the blocking changes no result).
	for b0 := 0; b0 < nm; b0 += queryBlock {
		loss += m.queries(wk, smp, wk.masked[b0:min(b0+queryBlock, nm)], nu, nk, part, c)
	}
	return loss
}

// queries processes one block of masked queries of a sample whose keys are
// gathered in wk (the first nu unmasked), and returns their unscaled loss.
func (m *Model) queries(wk *worker, smp *theory.Sample, masked []int, nu, nk int, part []float64, c float64) float64 {
	d := m.emb.D
	nm := len(masked)

	// Query rows e_pᵀ Q.
	for i, p := range masked {
		copy(wk.eqm[i*d:(i+1)*d], m.eq[p*d:(p+1)*d])
	}

	// Scores s_{p,q} = e_pᵀ Q h_q, then π = softmax over the keys.
	sc := wk.sc[:nm*nk]
	gemmNN(nm, nk, d, wk.eqm, d, wk.hkT, nk, sc, nk)
	softmaxRows(sc, nm, nk)

	loss := m.residuals(wk, smp, masked, nu, nk)
	if part == nil {
		return loss
	}
	m.scoreGrad(wk, smp, nm, nu, nk, c)
	// W[p] += Σ_q ∂ℓ/∂s_{p,q} h_q: the rows of ∂ℓ/∂s times H_K.
	t := wk.t[:nm*d]
	gemmNN(nm, d, nk, sc, nk, wk.hk, d, t, d)
	for i, p := range masked {
		dst := part[p*d : (p+1)*d]
		src := t[i*d : (i+1)*d]
		for j, x := range src {
			dst[j] += x
		}
	}
	return loss
}

// softmaxRows replaces each of the nm rows of sc (nk scores each) by its
// softmax, shifted by the row maximum (log-sum-exp).
func softmaxRows(sc []float64, nm, nk int) {
	for i := 0; i < nm; i++ {
		row := sc[i*nk : (i+1)*nk]
		mx := math.Inf(-1)
		for _, x := range row {
			if x > mx { // a NaN score is skipped here; its exp makes the row NaN below
				mx = x
			}
		}
		for j, x := range row {
			row[j] = x - mx
		}
		fastexp.NonPos(row)
		sum := 0.0
		for _, ex := range row {
			sum += ex
		}
		inv := 1 / sum
		for j := range row {
			row[j] *= inv
		}
	}
}

// features returns the rows v_{k,0..N_k−1} of the features of cluster k
// (N_k×d, contiguous in the embedding) and N_k.
func (m *Model) features(k int) ([]float64, int) {
	e := m.emb
	na := m.s.Clusters[k].NumAreas()
	return e.feat[e.Offsets[k]*e.D : (e.Offsets[k]+na)*e.D], na
}

// residuals computes, from the attention π in wk.sc, the predictions
// ŷ_p = Σ_q π_{p,q} x̃_q of the masked queries (masked keys have x̃_q = 0),
// leaves the residuals ŷ_p − x_p in wk.y and ŷ_p·(ŷ_p − x_p) in wk.yr, and
// returns the unscaled loss ½ Σ ‖ŷ_p − x_p‖². The contents of cluster k
// have rank N_k, x̃_q = z_{j(q)} v_{k,j(q)}, so
// ŷ_p = Σ_j (z_j Σ_{q∈U∩P_j} π_{p,q}) v_{k,j}: per-area sums of π, then an
// |M|×N_k by N_k×d product with the features.
func (m *Model) residuals(wk *worker, smp *theory.Sample, masked []int, nu, nk int) float64 {
	e := m.emb
	d := e.D
	k := smp.Cluster
	areas := m.s.AreasOf(smp)
	nm := len(masked)
	vk, na := m.features(k)
	sc, sz := wk.sc[:nm*nk], wk.sz[:nm*na]
	clear(sz)
	karea := wk.karea[:nu]
	for i := 0; i < nm; i++ {
		row, szi := sc[i*nk:i*nk+nu], sz[i*na:(i+1)*na]
		for r, j := range karea {
			szi[j] += row[r]
		}
		for j := range szi {
			szi[j] *= smp.Z[j]
		}
	}
	y := wk.y[:nm*d]
	gemmNN(nm, d, na, sz, na, vk, d, y, d)
	loss := 0.0
	for i, p := range masked {
		z := smp.Z[areas[p]]
		v := e.featRow(k, areas[p])
		yi := y[i*d : (i+1)*d]
		sq, yr := 0.0, 0.0
		for j := range yi {
			yh := yi[j]
			rj := yh - z*v[j]
			yi[j] = rj
			sq += rj * rj
			yr += yh * rj
		}
		wk.yr[i] = yr
		loss += sq / 2
	}
	return loss
}

// scoreGrad replaces the attention π in wk.sc by c·∂ℓ/∂s_{p,q} =
// c·π_{p,q} (x̃_q − ŷ_p)·(ŷ_p − x_p) = c·π_{p,q} (x̃_q·(ŷ_p − x_p) − yr_p), with
// x̃_q·(ŷ_p − x_p) = z_{j(q)} rv_{p,j(q)}, rv = (Ŷ − X)·V_kᵀ (rank N_k again;
// masked keys have x̃_q = 0).
func (m *Model) scoreGrad(wk *worker, smp *theory.Sample, nm, nu, nk int, c float64) {
	d := m.emb.D
	vkT := m.featT[smp.Cluster]
	na := len(vkT) / d
	sc, y, rv := wk.sc[:nm*nk], wk.y[:nm*d], wk.rv[:nm*na]
	gemmNN(nm, na, d, y, d, vkT, na, rv, na) // (ŷ_p − x_p)·v_j
	karea := wk.karea[:nu]
	for i := 0; i < nm; i++ {
		row := sc[i*nk : (i+1)*nk]
		yr := wk.yr[i]
		rvi := rv[i*na : (i+1)*na]
		for j := range rvi {
			rvi[j] *= smp.Z[j]
		}
		for j, a := range karea {
			row[j] = c * row[j] * (rvi[a] - yr)
		}
		for j := nu; j < nk; j++ {
			row[j] = c * row[j] * (0 - yr)
		}
	}
}

var impl gonum.Implementation

// Tile sizes of gemm: a tile of at most tileM×tileN outputs is below gonum's
// threshold for spawning goroutines (4 blocks of 64×64), so every Dgemm call
// runs serially on the calling worker without allocating.
const (
	tileM = 64
	tileN = 192
)

// gemm computes C = alpha·op(A)·op(B) + beta·C (row-major, as blas.Dgemm),
// tiling the output so that gonum's Dgemm never goes parallel (this package
// parallelises over samples instead). Tiling only the output leaves each
// entry's summation order unchanged.
func gemm(tA, tB blas.Transpose, mm, nn, kk int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	for i0 := 0; i0 < mm; i0 += tileM {
		mi := min(tileM, mm-i0)
		var as []float64
		if tA == blas.NoTrans {
			as = a[i0*lda:]
		} else {
			as = a[i0:]
		}
		for j0 := 0; j0 < nn; j0 += tileN {
			nj := min(tileN, nn-j0)
			var bs []float64
			if tB == blas.NoTrans {
				bs = b[j0:]
			} else {
				bs = b[j0*ldb:]
			}
			impl.Dgemm(tA, tB, mi, nj, kk, alpha, as, lda, bs, ldb, beta, c[i0*ldc+j0:], ldc)
		}
	}
}
