package empirical

import (
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/mat"

	"mimverify/internal/parallel"
	"mimverify/theory"
)

// The full model under the departures of docs/ASSUMPTIONS.md. Overlapping
// features and per-image partitions keep the rank-N_k structure of Model
// (the contents of an image still span its N_k features), so they run on
// Model's fast path with other feature rows and areas. Patch noise, several
// heads and a trainable value map break it: they run on the general path
// below, which forms ŷ_p = W·(1/h)Σ_h Σ_q π^h_{p,q} x̃_q genuinely in R^d.

// overlap replaces the embedding's features by overlapping ones
// (docs/ASSUMPTIONS.md §Feature overlap): within cluster k, with u_m the
// basis features, v_j = Σ_m (G^{1/2})_{mj} u_m where G = (1−c)I + c11ᵀ
// (N_k×N_k), whose symmetric square root is aI + b11ᵀ with a = √(1−c),
// b = (√(1−c+N_k c) − a)/N_k; then v ← √(1−ρ²) v + ρ ē with ē = Σ_p e_p/√P.
// So v_i·v_j = (1−ρ²)c + ρ² (i ≠ j, one cluster), ‖v‖ = 1, v·ē = ρ.
func (e *Embedding) overlap(dep theory.Departures) {
	c, rho := dep.FeatureOverlap, dep.PositionOverlap
	if c == 0 && rho == 0 {
		return
	}
	d := e.D
	ebar := make([]float64, d)
	for p := 0; p < e.P; p++ {
		for i, x := range e.row(p) {
			ebar[i] += x
		}
	}
	for i := range ebar {
		ebar[i] /= math.Sqrt(float64(e.P))
	}
	feat := make([]float64, e.F*d)
	for k, off := range e.Offsets {
		n := e.F - off
		if k+1 < len(e.Offsets) {
			n = e.Offsets[k+1] - off
		}
		a := math.Sqrt(1 - c)
		b := (math.Sqrt(1-c+float64(n)*c) - a) / float64(n)
		for j := 0; j < n; j++ {
			v := feat[(off+j)*d : (off+j+1)*d]
			for m := 0; m < n; m++ {
				g := b
				if m == j {
					g += a
				}
				for i, x := range e.row(e.P + off + m) {
					v[i] += g * x
				}
			}
			if rho != 0 {
				s := math.Sqrt(1 - rho*rho)
				for i := range v {
					v[i] = s*v[i] + rho*ebar[i]
				}
			}
		}
	}
	e.feat = feat
}

// general reports whether a setting needs the general path.
func general(s *theory.Setting) bool {
	d := s.Departures
	return d.Noise != 0 || d.NumHeads() > 1 || d.TrainValue
}

// Params are the trained parameters of the full model under departures:
// one key–query matrix per head and, when trained, the value map W (nil:
// the fixed read-out W = I).
type Params struct {
	Q []*mat.Dense
	W *mat.Dense
}

// genWorker holds the scratch buffers of one sample on the general path.
type genWorker struct {
	masked, keys []int
	noise        []float64 // P×d
	xt, hk       []float64 // |K|×d: key contents x̃_q, key tokens h_q
	x            []float64 // |M|×d: clean targets
	eqm          []float64 // |M|×d
	pi           [][]float64
	yh           [][]float64 // per head |M|×d: Σ_q π x̃_q
	ybar, r, g   []float64   // |M|×d: the head average, the residual, ∂ℓ/∂ȳ
	t            []float64   // |M|×|K|
	tq           []float64   // |M|×d
	eq           []float64   // P×d: E_pos·Q_h (Attention)
}

// fits reports whether w was made for P positions, dimension d and h heads.
func (w *genWorker) fits(P, d, h int) bool {
	return len(w.noise) == P*d && len(w.t) == P*P && len(w.pi) == h
}

// attentionWorkers recycles Attention's workers: the judge asks for a
// record's attention image by image, and a fresh worker for each (13·P·d +
// h·P² floats) made gigabytes of garbage in one check, which moved the
// process's peak memory with the collector's timing (TestCostEstimatesHold).
var attentionWorkers sync.Pool

func newGenWorker(P, d, h int) *genWorker {
	w := &genWorker{noise: make([]float64, P*d), xt: make([]float64, P*d), hk: make([]float64, P*d),
		x: make([]float64, P*d), eqm: make([]float64, P*d), ybar: make([]float64, P*d), r: make([]float64, P*d),
		g: make([]float64, P*d), t: make([]float64, P*P), tq: make([]float64, P*d), eq: make([]float64, P*d)}
	for i := 0; i < h; i++ {
		w.pi = append(w.pi, make([]float64, P*P))
		w.yh = append(w.yh, make([]float64, P*d))
	}
	return w
}

// genPart is one chunk's partial gradient: per head the rows W_h (P×d, as
// Model.w) and the value map's gradient (d×d, when trained).
type genPart struct {
	wq   [][]float64
	gw   []float64
	loss float64
}

// LossGradParams returns the empirical loss of the model with parameters
// pr on the samples (the setting's departures applied) and, when gq is not
// nil, writes ∇_{Q_h} L into gq[h] and, when pr.W and gw are not nil,
// ∇_W L into gw. It is bit-identical for any GOMAXPROCS (chunks reduced
// in order). docs/ASSUMPTIONS.md §The general path derives the gradient.
func (m *Model) LossGradParams(pr Params, samples []theory.Sample, gq []*mat.Dense, gw *mat.Dense) float64 {
	e, s := m.emb, m.s
	d, P, h := e.D, s.P, len(pr.Q)
	eqs := make([][]float64, h)
	for i, q := range pr.Q {
		e.checkQ(q)
		eqs[i] = make([]float64, P*d)
		r := q.RawMatrix()
		gemm(blas.NoTrans, blas.NoTrans, P, d, d, 1, e.rows, d, r.Data, r.Stride, 0, eqs[i], d)
	}
	var wv []float64
	if pr.W != nil {
		wv = mat.DenseCopyOf(pr.W).RawMatrix().Data
	}
	wantGrad := gq != nil
	n := len(samples)
	c := m.scale / float64(max(n, 1))
	total := m.genChunks(samples, eqs, wv, wantGrad, c)
	if wantGrad {
		for i := range gq {
			if gq[i].IsEmpty() {
				gq[i].ReuseAs(d, d)
			}
			g := gq[i].RawMatrix()
			gemm(blas.Trans, blas.NoTrans, d, d, P, 1, e.rows, d, total.wq[i], d, 0, g.Data, g.Stride)
		}
		if gw != nil && wv != nil {
			if gw.IsEmpty() {
				gw.ReuseAs(d, d)
			}
			gw.Copy(mat.NewDense(d, d, total.gw))
		}
	}
	return total.loss * m.scale / float64(max(n, 1))
}

// genChunks evaluates the samples in chunks of ChunkSize on up to
// GOMAXPROCS workers, each chunk into its own partial, and adds the
// partials in chunk order (so the total does not depend on the workers).
func (m *Model) genChunks(samples []theory.Sample, eqs [][]float64, wv []float64, wantGrad bool, c float64) *genPart {
	d, P, h := m.emb.D, m.s.P, len(eqs)
	n := len(samples)
	nChunks := (n + ChunkSize - 1) / ChunkSize
	procs := runtime.GOMAXPROCS(0)
	newPart := func() *genPart {
		p := &genPart{}
		if wantGrad {
			for range h {
				p.wq = append(p.wq, make([]float64, P*d))
			}
			if wv != nil {
				p.gw = make([]float64, d*d)
			}
		}
		return p
	}
	total := newPart()
	parts := make([]*genPart, min(nChunks, procs))
	workers := make([]*genWorker, len(parts))
	for i := range parts {
		parts[i], workers[i] = newPart(), newGenWorker(P, d, h)
	}
	for r0 := 0; r0 < nChunks; r0 += len(parts) {
		r1 := min(r0+len(parts), nChunks)
		parallel.For(r1-r0, r1-r0, func(w, k int) {
			ci := r0 + k
			part := parts[k]
			part.clear()
			for i := ci * ChunkSize; i < min((ci+1)*ChunkSize, n); i++ {
				part.loss += m.genSample(workers[w], &samples[i], eqs, wv, part, c)
			}
		})
		for ci := r0; ci < r1; ci++ { // chunk order
			total.add(parts[ci-r0])
		}
	}
	return total
}

func (p *genPart) clear() {
	p.loss = 0
	for _, w := range p.wq {
		clear(w)
	}
	clear(p.gw)
}

func (p *genPart) add(o *genPart) {
	p.loss += o.loss
	for i, w := range p.wq {
		for j, x := range o.wq[i] {
			w[j] += x
		}
	}
	for j, x := range o.gw {
		p.gw[j] += x
	}
}

// gather fills the worker's masked queries, keys, key contents (noise
// included) and tokens, and clean targets for one sample; it returns
// (|M|, |U|, |K|).
func (m *Model) gather(wk *genWorker, smp *theory.Sample) (nm, nu, nk int) {
	e, s := m.emb, m.s
	d, P := e.D, s.P
	k, areas := smp.Cluster, s.AreasOf(smp)
	sigma := s.Departures.Noise
	if sigma != 0 {
		// Every position's noise is drawn, masked or not, so that a patch's
		// noise does not depend on the mask.
		rng := theory.NewRand(smp.NoiseSeed, theory.StreamNoise)
		for i := range wk.noise[:P*d] {
			wk.noise[i] = sigma * rng.NormFloat64()
		}
	}
	wk.masked, wk.keys = wk.masked[:0], wk.keys[:0]
	for p := 0; p < P; p++ {
		if smp.Mask[p] {
			wk.masked = append(wk.masked, p)
		} else {
			wk.keys = append(wk.keys, p)
		}
	}
	nm, nu = len(wk.masked), len(wk.keys)
	if m.all {
		wk.keys = append(wk.keys, wk.masked...)
	}
	nk = len(wk.keys)
	for r, q := range wk.keys {
		xt, hk := wk.xt[r*d:(r+1)*d], wk.hk[r*d:(r+1)*d]
		clear(xt)
		if r < nu {
			z, v := smp.Z[areas[q]], e.featRow(k, areas[q])
			for i := range xt {
				xt[i] = z * v[i]
			}
			if sigma != 0 {
				for i, x := range wk.noise[q*d : (q+1)*d] {
					xt[i] += x
				}
			}
		}
		for i, x := range e.row(q) {
			hk[i] = xt[i] + x
		}
	}
	for i, p := range wk.masked {
		z, v := smp.Z[areas[p]], e.featRow(k, areas[p])
		for j := range d {
			wk.x[i*d+j] = z * v[j]
		}
	}
	return nm, nu, nk
}

// genSample adds one sample's contribution to part (gradient when part.wq
// is not nil) and returns its unscaled loss ½ Σ_{p∈M} ‖ŷ_p − x_p‖².
func (m *Model) genSample(wk *genWorker, smp *theory.Sample, eqs [][]float64, wv []float64, part *genPart, c float64) float64 {
	d := m.emb.D
	nm, _, nk := m.gather(wk, smp)
	if nm == 0 {
		return 0
	}
	h := len(eqs)
	ybar, r := wk.ybar[:nm*d], wk.r[:nm*d]
	clear(ybar)
	if nk > 0 {
		for hi, eq := range eqs {
			for i, p := range wk.masked {
				copy(wk.eqm[i*d:(i+1)*d], eq[p*d:(p+1)*d])
			}
			pi, yh := wk.pi[hi][:nm*nk], wk.yh[hi][:nm*d]
			gemm(blas.NoTrans, blas.Trans, nm, nk, d, 1, wk.eqm, d, wk.hk, d, 0, pi, nk)
			softmaxRows(pi, nm, nk)
			gemm(blas.NoTrans, blas.NoTrans, nm, d, nk, 1, pi, nk, wk.xt, d, 0, yh, d)
			for i, y := range yh {
				ybar[i] += y / float64(h)
			}
		}
	}
	// ŷ = ȳ Wᵀ (row form), residual R = ŷ − X.
	if wv != nil {
		gemm(blas.NoTrans, blas.Trans, nm, d, d, 1, ybar, d, wv, d, 0, r, d)
	} else {
		copy(r, ybar)
	}
	loss := 0.0
	for i := range r {
		r[i] -= wk.x[i]
		loss += r[i] * r[i] / 2
	}
	if part.wq == nil || nk == 0 {
		return loss
	}
	m.genBackward(wk, eqs, wv, part, c, nm, nk)
	return loss
}

// genBackward adds c·∂ℓ/∂(rows of e_pᵀQ_h) and c·∂ℓ/∂W for one sample whose
// forward pass is in wk: ∂ℓ/∂W = Rᵀȳ, G = ∂ℓ/∂ȳ = R W, and per head
// ∂ℓ/∂s_{p,q} = π_{p,q} (x̃_q − y_{h,p})·G_p / h.
func (m *Model) genBackward(wk *genWorker, eqs [][]float64, wv []float64, part *genPart, c float64, nm, nk int) {
	d, h := m.emb.D, len(eqs)
	ybar, r, g := wk.ybar[:nm*d], wk.r[:nm*d], wk.g[:nm*d]
	if wv != nil {
		gemm(blas.Trans, blas.NoTrans, d, d, nm, c, r, d, ybar, d, 1, part.gw, d)
		gemm(blas.NoTrans, blas.NoTrans, nm, d, d, 1, r, d, wv, d, 0, g, d)
	} else {
		copy(g, r)
	}
	t, tq := wk.t[:nm*nk], wk.tq[:nm*d]
	for hi := range eqs {
		pi, yh := wk.pi[hi][:nm*nk], wk.yh[hi][:nm*d]
		// t = G X̃ᵀ: t_{p,q} = x̃_q·G_p.
		gemm(blas.NoTrans, blas.Trans, nm, nk, d, 1, g, d, wk.xt, d, 0, t, nk)
		for i := 0; i < nm; i++ {
			yg := dot(yh[i*d:(i+1)*d], g[i*d:(i+1)*d])
			for j := 0; j < nk; j++ {
				t[i*nk+j] = c * pi[i*nk+j] * (t[i*nk+j] - yg) / float64(h)
			}
		}
		gemm(blas.NoTrans, blas.NoTrans, nm, d, nk, 1, t, nk, wk.hk, d, 0, tq, d)
		w := part.wq[hi]
		for i, p := range wk.masked {
			dst := w[p*d : (p+1)*d]
			for j, x := range tq[i*d : (i+1)*d] {
				dst[j] += x
			}
		}
	}
}

// Attention returns the model's own attention on one sample (SPEC §5): for
// every masked query p, pi[p] is its attention over the positions (the
// heads' softmaxes averaged, as the model combines them; 0 on positions
// that are not keys) and loss[p] its unscaled loss ½‖ŷ_p − x_p‖², ŷ_p
// through the value map and the noisy contents, x_p the clean patch;
// pi[p] is nil for unmasked p. It allocates; it is meant for measurement,
// not training.
func (m *Model) Attention(pr Params, smp *theory.Sample) (pi [][]float64, loss []float64) {
	e, s := m.emb, m.s
	d, P, h := e.D, s.P, len(pr.Q)
	wk, _ := attentionWorkers.Get().(*genWorker)
	if wk == nil || !wk.fits(P, d, h) {
		wk = newGenWorker(P, d, h)
	}
	defer attentionWorkers.Put(wk)
	nm, _, nk := m.gather(wk, smp)
	pi, loss = make([][]float64, P), make([]float64, P)
	ybar := make([]float64, nm*d)
	for _, p := range wk.masked {
		pi[p] = make([]float64, P)
	}
	for hi, q := range pr.Q {
		if nk == 0 {
			break
		}
		eq := wk.eq
		r := q.RawMatrix()
		gemm(blas.NoTrans, blas.NoTrans, P, d, d, 1, e.rows, d, r.Data, r.Stride, 0, eq, d)
		for i, p := range wk.masked {
			copy(wk.eqm[i*d:(i+1)*d], eq[p*d:(p+1)*d])
		}
		sc := wk.pi[hi][:nm*nk]
		gemm(blas.NoTrans, blas.Trans, nm, nk, d, 1, wk.eqm, d, wk.hk, d, 0, sc, nk)
		softmaxRows(sc, nm, nk)
		for i, p := range wk.masked {
			for j, key := range wk.keys {
				pi[p][key] += sc[i*nk+j] / float64(h)
			}
		}
	}
	for i, p := range wk.masked {
		y := ybar[i*d : (i+1)*d]
		for key, w := range pi[p] {
			if w != 0 {
				j := indexOf(wk.keys, key)
				for c, x := range wk.xt[j*d : (j+1)*d] {
					y[c] += w * x
				}
			}
		}
		if pr.W != nil {
			var yv mat.VecDense
			yv.MulVec(pr.W, mat.NewVecDense(d, y))
			y = yv.RawVector().Data
		}
		sq := 0.0
		for c, x := range y {
			r := x - wk.x[i*d+c]
			sq += r * r
		}
		loss[p] = sq / 2
	}
	return pi, loss
}

func indexOf(xs []int, x int) int {
	for i, y := range xs {
		if y == x {
			return i
		}
	}
	return -1
}
