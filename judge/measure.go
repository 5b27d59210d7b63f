package judge

import (
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"

	"mimverify/internal/mutant"
	"mimverify/internal/parallel"
	"mimverify/theory"
)

// Attention is what the judge measures of a state (A, B) on a set of
// evaluation samples: where masked queries put their attention, and the
// loss split into its reconstructable and irreducible parts.
//
// A masked query p of an image from cluster k is *reconstructable* when its
// own area a = a_k(p) keeps at least one unmasked patch: only then can
// attention recover x_p = z_a v_{k,a}. Its own-area mass is S_a, the
// attention on the unmasked patches of area a.
type Attention struct {
	// Queries counts the reconstructable masked queries measured;
	// Irreducible counts the others.
	Queries, Irreducible int
	// OwnMean is the mean own-area mass over reconstructable queries, and
	// OwnMin its smallest value. OwnQuantile is its δ-quantile (see
	// MeasureAttention): a fraction ≥ 1−δ of queries have at least this
	// much own-area mass.
	OwnMean, OwnMin, OwnQuantile float64
	// OwnReached is the fraction of reconstructable queries whose own-area
	// mass is at least 1 − ε: the probability, over images and masks, of
	// meeting the area-wide level of claim C3.
	OwnReached float64
	// OwnByArea[k][j] is the mean own-area mass of reconstructable queries
	// in area j of cluster k, and OwnByQuery[k][p] that of query position p
	// in images of cluster k, over the masks measured (NaN when none was).
	OwnByArea  [][]float64
	OwnByQuery [][]float64
	// MassByArea[k][j][i] is the mean attention mass that queries in area j
	// of cluster k put on area i (the unmasked patches of area i); for keys
	// "all", the mass on masked keys is not in any area.
	MassByArea [][][]float64
	// ReconstructableLoss and IrreducibleLoss split the loss (per image,
	// with the setting's normalisation) between the two kinds of queries;
	// their sum is the loss on the evaluation samples.
	ReconstructableLoss, IrreducibleLoss float64
	// TVMin, TVMean and TVQuantile are the smallest, the mean and the
	// 2δ-quantile of the total-variation distance
	// ½Σ_q|π_{p,q} − π_{p',q}| between the attention of two reconstructable
	// queries p, p' of the same image in different areas; NaN when no image
	// has such a pair.
	TVMin, TVMean, TVQuantile float64
	// Pairs counts the pairs behind TVMin and TVMean.
	Pairs int
	// OwnMeanSE, OwnReachedSE and ReconstructableLossSE are the standard
	// errors of OwnMean, OwnReached and ReconstructableLoss as estimates of
	// their expectation over images: the images are independent, the
	// queries of one image are not, so they are computed from per-image
	// sums (the ratio estimator's for the two per-query means; NaN with
	// fewer than two images). docs/SHARP.md §2.
	OwnMeanSE, OwnReachedSE, ReconstructableLossSE float64
	// FPShareSE is the standard error of FPShare (the ratio estimator
	// linearised over images). LocalOwnSE and LocalGapSE are, with a
	// global area g, those of the local queries' mean own-area mass and of
	// their mass on g minus it (the curves of C6's events, localMass);
	// NaN without a global area.
	FPShareSE, LocalOwnSE, LocalGapSE float64
	// FPShare is the share of the own-vs-other logit gap carried by the FP
	// correlations, over reconstructable queries that have keys both in and
	// out of their own area: ΣΔ_FP / (|ΣΔ_FP| + |ΣΔ_PP|), where for query p
	// Δ_FP = z_a·A_{k,p,a} − mean_{q off} z_{j(q)}·A_{k,p,j(q)} and
	// Δ_PP = mean_{q own} B_{p,q} − mean_{q off} B_{p,q} (unmasked keys). It
	// is 1 when PP plays no part, ½ when both carry the gap equally (C4).
	FPShare float64
}

// MeasureAttention computes the attention statistics of the correlations c
// on the evaluation samples. eps sets OwnReached and delta OwnQuantile. The pairwise total
// variation costs O(|M|²·P) per image and is computed only when withTV is
// set (TVMin and TVMean are NaN otherwise). The scores are those of
// SPEC §2: s_{p,q} = z_{j(q)} A_{k,p,j(q)} + B_{p,q} for unmasked keys and
// B_{p,q} for masked keys (keys "all"), normalised by log-sum-exp.
func MeasureAttention(s *theory.Setting, c theory.Correlations, samples []theory.Sample, eps, delta float64, withTV bool) Attention {
	return accumulate(s, c, samples, withTV).finish(len(samples), eps, delta)
}

// setTV sets the pairwise total-variation summary of a from the values
// tvs (reordered in place): its count, minimum, mean and 2δ-quantile.
func (a *Attention) setTV(tvs []float64, delta float64) {
	a.Pairs = len(tvs)
	a.TVMin, a.TVMean, a.TVQuantile = summarize(tvs, 2*delta)
}

// measureRecord is the judge's measurement of one record on the samples,
// with the pairwise total variations when withTV.
func measureRecord(s *theory.Setting, rec *theory.Record, samples []theory.Sample, eps, delta float64, withTV bool) Measure {
	return Measure{Step: rec.Step, Loss: rec.Loss,
		Attention: MeasureAttention(s, rec.Correlations, samples, eps, delta, withTV),
		FP:        SummarizeFP(s, rec.Correlations)}
}

// pairTVs returns the total variations of every pair of reconstructable
// queries in different areas of one image, over the samples (the values
// behind Attention.TVQuantile), unsorted.
func pairTVs(s *theory.Setting, c theory.Correlations, samples []theory.Sample) []float64 {
	return accumulate(s, c, samples, true).tvs
}

// accumulate adds every sample's queries into fresh sums.
func accumulate(s *theory.Setting, c theory.Correlations, samples []theory.Sample, withTV bool) *attentionSums {
	return accumulateWith(s, c, samples, withTV, nil)
}

// accumulateWith is accumulate with the attention and per-query losses of
// model instead of SPEC §2's scores when model is not nil (a setting that
// departs from the assumptions, SPEC §5: judge/departures.go).
func accumulateWith(s *theory.Setting, c theory.Correlations, samples []theory.Sample, withTV bool, model modelAttention) *attentionSums {
	sums := newAttentionSums(s)
	sums.model = model
	sums.reserve(samples, withTV)
	workers := 1 // the model's attention keeps a per-sample cache
	if model == nil {
		sums.eb = newFactoredB(c, s.P)
		workers = runtime.GOMAXPROCS(0)
	}
	pis := make([][]float64, workers) // each worker's scratch: the attention of its current query
	for w := range pis {
		pis[w] = make([]float64, s.P)
	}
	results := chunkResults.Get().(*[]sampleResult)
	defer chunkResults.Put(results)
	for c0 := 0; c0 < len(samples); c0 += measureChunk {
		chunk := samples[c0:min(c0+measureChunk, len(samples))]
		parallel.For(len(chunk), workers, func(w, i int) {
			sums.evaluate(s, c, &chunk[i], pis[w], withTV, &(*results)[i])
		})
		for i := range chunk {
			sums.fold(&chunk[i], &(*results)[i])
		}
	}
	sums.eb.release()
	return sums
}

// reserve sizes the per-image, per-query and per-pair lists once, for at
// most every masked query of the samples and every pair of them: appended
// to one image at a time they were copied over and over as they grew (the
// pool's pair list of C5 is millions of numbers on vit14).
func (sums *attentionSums) reserve(samples []theory.Sample, withTV bool) {
	queries, pairs := 0, 0
	for i := range samples {
		m := 0
		for _, masked := range samples[i].Mask {
			if masked {
				m++
			}
		}
		queries += m
		pairs += m * (m - 1) / 2
	}
	sums.images = make([]imageSums, 0, len(samples))
	sums.own = make([]float64, 0, queries)
	if withTV {
		sums.tvs = make([]float64, 0, pairs)
	}
}

// measureChunk is the number of images evaluated before their results are
// folded into the sums: it bounds the memory the results hold.
const measureChunk = 64

// chunkResults recycles a chunk's results, whose buffers grow to the
// setting's size once instead of at every record.
var chunkResults = sync.Pool{New: func() any { r := make([]sampleResult, measureChunk); return &r }}

// attentionSums accumulates what MeasureAttention needs over the samples.
// Until finish, the fields of at that are means hold sums, and the losses
// hold totals over all images.
type attentionSums struct {
	at Attention
	// counts[k][j] and queryCounts[k][p] count the reconstructable queries
	// behind at.OwnByArea[k][j] (and at.MassByArea[k][j]) and
	// at.OwnByQuery[k][p].
	counts, queryCounts [][]int
	// own lists the own-area mass of every reconstructable query, and tvs
	// the total variations of the pairs measured.
	own, tvs []float64
	// images holds each image's part of the sums, for the standard
	// errors; global is the setting's global area (−1: none).
	images []imageSums
	global int
	// gapFP and gapPP are the sums of Δ_FP and Δ_PP behind FPShare.
	gapFP, gapPP float64
	// model, when not nil, gives the attention and losses measured;
	// otherwise eb is the state's table for the factored attention
	// (measure_factored.go).
	model modelAttention
	eb    *factoredB
}

func newAttentionSums(s *theory.Setting) *attentionSums {
	K := len(s.Clusters)
	sums := &attentionSums{counts: make([][]int, K), queryCounts: make([][]int, K), global: -1}
	if g, ok := s.GlobalArea(); ok {
		sums.global = g
	}
	at := &sums.at
	at.OwnByArea = make([][]float64, K)
	at.MassByArea = make([][][]float64, K)
	at.OwnByQuery = make([][]float64, K)
	for k, cl := range s.Clusters {
		n := cl.NumAreas()
		at.OwnByArea[k] = make([]float64, n)
		at.OwnByQuery[k] = make([]float64, s.P)
		sums.queryCounts[k] = make([]int, s.P)
		sums.counts[k] = make([]int, n)
		at.MassByArea[k] = make([][]float64, n)
		for j := range at.MassByArea[k] {
			at.MassByArea[k][j] = make([]float64, n)
		}
	}
	return sums
}

// imageSums is one image's part of the sums: its reconstructable queries'
// own-area masses are own[first:] up to the next image's first.
type imageSums struct {
	first int
	loss  float64
	// fp and pp are the image's sums of Δ_FP and Δ_PP (FPShare).
	fp, pp float64
	// With a global area, per area of cluster 0: the reconstructable
	// queries, their own-area mass and their mass on the global area.
	count, own, onG []float64
}

// tvQuery is a reconstructable query kept for the pairwise total variation:
// its area and a copy of its attention.
type tvQuery struct {
	area int
	pi   []float64
}

// sampleResult is what one image contributes to the sums: its masked
// queries in position order, and the total variations of its pairs. The
// queries' area masses live in mass; a result is refilled chunk after chunk.
type sampleResult struct {
	queries []queryResult
	mass    []float64
	tvs     []float64
	// groups and work are the image's key groups and its queries' scratch,
	// kept with the slot so that their lists are allocated once.
	groups keyGroups
	work   queryWork
}

// queryResult is one masked query p of area a: its area masses S and
// scaled loss, whether it is reconstructable, and its logit gaps (gap is
// false when it has none).
type queryResult struct {
	p, a                 int
	S                    []float64
	loss                 float64
	reconstructable, gap bool
	fp, pp               float64
}

// evaluate measures every masked query of one image into res (the part of
// the work that images do independently). pi is scratch space of length P.
func (sums *attentionSums) evaluate(s *theory.Setting, c theory.Correlations, smp *theory.Sample, pi []float64, withTV bool, res *sampleResult) {
	areas := s.AreasOf(smp)
	g := &res.groups
	g.build(s, smp, areas)
	n := len(smp.Z)
	w := res.work.size(n + 1)
	masked := len(smp.Mask) - g.off[n]
	if s.Keys == theory.KeysAll {
		masked = g.size(n)
	}
	res.queries = slices.Grow(res.queries[:0], masked)
	res.mass = slices.Grow(res.mass[:0], masked*n)[:masked*n]
	var recon []tvQuery
	for p, m := range smp.Mask {
		if !m {
			continue
		}
		a := areas[p]
		groupSums(sums.eb, c, *g, p, w)
		q := queryResult{p: p, a: a, reconstructable: g.size(a) > 0}
		i := len(res.queries)
		q.S = res.mass[i*n : (i+1)*n : (i+1)*n]
		q.loss = sums.query(s, c, smp, *g, p, w, q.S, pi, withTV)
		if q.reconstructable {
			q.fp, q.pp, q.gap = logitGaps(c, smp, *g, p, a, w.bsum)
			if withTV {
				recon = append(recon, tvQuery{a, append([]float64(nil), pi...)})
			}
		}
		res.queries = append(res.queries, q)
	}
	res.tvs = appendPairTV(res.tvs[:0], recon)
}

// fold adds one image's result to the sums, in the order of its queries:
// folding the images in order gives the same bits however many workers
// evaluated them.
func (sums *attentionSums) fold(smp *theory.Sample, res *sampleResult) {
	sums.images = append(sums.images, imageSums{first: len(sums.own)})
	img := &sums.images[len(sums.images)-1]
	if sums.global >= 0 && smp.Cluster == 0 {
		n := len(smp.Z)
		img.count, img.own, img.onG = make([]float64, n), make([]float64, n), make([]float64, n)
	}
	for i := range res.queries {
		q := &res.queries[i]
		if !q.reconstructable {
			sums.at.Irreducible++
			sums.at.IrreducibleLoss += q.loss
			continue
		}
		sums.addReconstructable(smp.Cluster, q, img)
	}
	sums.tvs = append(sums.tvs, res.tvs...)
}

// query writes into S the area masses of the masked query p of smp and
// returns its scaled loss, and fills pi with its attention when withTV (or
// when it is measured directly): by the model when there is one, else by
// the factored attention, falling back to attend when its normaliser
// underflows.
func (sums *attentionSums) query(s *theory.Setting, c theory.Correlations, smp *theory.Sample, g keyGroups, p int, w queryWork, S, pi []float64, withTV bool) float64 {
	// The image's own partition, as its key groups and own areas: with a
	// partition per image (the random-partitions departure) the cluster's
	// would group the masses by the wrong areas
	// (TestModelMeasurementOwnPartition).
	areas := s.AreasOf(smp)
	if sums.model != nil {
		mS, loss := modelQuery(sums.model, smp, areas, p, pi)
		copy(S, mS)
		return loss * s.LossScale()
	}
	out := pi
	if !withTV {
		out = nil
	}
	return specQuery(s, sums.eb, c, smp, g, areas[p], p, w, S, out, pi)
}

// specQuery measures the masked query p of smp, own area a, under SPEC §2's
// scores: its area masses into S (and its attention into out when out is
// not nil; pi is the direct path's scratch), by the factored softmax or,
// where its normaliser underflows, the direct log-sum-exp; it returns the
// query's loss, scaled. w must hold the query's group sums (groupSums).
func specQuery(s *theory.Setting, eb *factoredB, c theory.Correlations, smp *theory.Sample, g keyGroups, a, p int, w queryWork, S, out, pi []float64) float64 {
	if !eb.attend(c, smp, g, p, w, S, out) {
		copy(S, attend(s, c, *smp, p, pi))
	}
	return queryLoss(S, smp.Z, a) * s.LossScale()
}

// attend fills pi with the attention of the masked query p of smp over the
// keys and returns S, the attention mass on the unmasked keys of each area.
// The scores are those of SPEC §2, normalised by log-sum-exp; a key that
// takes no attention (masked, under keys "unmasked") gets exactly 0. When no
// key can take attention at all, pi and S are all zero.
func attend(s *theory.Setting, c theory.Correlations, smp theory.Sample, p int, pi []float64) []float64 {
	k := smp.Cluster
	areas := s.AreasOf(&smp)
	mx := math.Inf(-1)
	for q := range pi {
		pi[q] = math.Inf(-1)
		if smp.Mask[q] {
			if s.Keys != theory.KeysAll {
				continue
			}
			pi[q] = c.B[p][q]
		} else {
			pi[q] = smp.Z[areas[q]]*c.A[k][p][areas[q]] + c.B[p][q]
		}
		mx = math.Max(mx, pi[q])
	}
	S := make([]float64, len(smp.Z))
	if math.IsInf(mx, -1) {
		clear(pi)
		return S
	}
	sum := 0.0
	for q := range pi {
		if math.IsInf(pi[q], -1) {
			pi[q] = 0
			continue
		}
		pi[q] = math.Exp(pi[q] - mx)
		if mutant.On(mutant.SoftmaxNoShift) {
			pi[q] *= math.Exp(mx) // the shift undone: exp(s) overflows once a score passes ~709
		}
		sum += pi[q]
	}
	for q := range pi {
		pi[q] /= sum
		if !smp.Mask[q] {
			j := areas[q]
			if mutant.On(mutant.AreaShift) {
				j = (j + 1) % len(S)
			}
			S[j] += pi[q]
		}
	}
	return S
}

// queryLoss is the unnormalised loss ½‖ŷ_p − x_p‖² of a query of area a
// whose attention puts mass S[j] on area j: ŷ_p = Σ_j S_j z_j v_j and
// x_p = z_a v_a, with the v_j orthonormal.
func queryLoss(S, z []float64, a int) float64 {
	loss := 0.0
	for j := range S {
		r := S[j] * z[j]
		if j == a {
			r -= z[a]
		}
		loss += 0.5 * r * r
	}
	return loss
}

// addReconstructable records the reconstructable query q of an image of
// cluster k.
func (sums *attentionSums) addReconstructable(k int, q *queryResult, img *imageSums) {
	a, S := q.a, q.S
	at := &sums.at
	at.Queries++
	at.ReconstructableLoss += q.loss
	img.loss += q.loss
	if q.gap {
		sums.gapFP += q.fp
		sums.gapPP += q.pp
		img.fp += q.fp
		img.pp += q.pp
	}
	if img.count != nil {
		img.count[a]++
		img.own[a] += S[a]
		img.onG[a] += S[sums.global]
	}
	sums.own = append(sums.own, S[a])
	at.OwnByArea[k][a] += S[a]
	sums.counts[k][a]++
	at.OwnByQuery[k][q.p] += S[a]
	sums.queryCounts[k][q.p]++
	for j := range S {
		at.MassByArea[k][a][j] += S[j]
	}
}

// logitGaps returns Δ_FP and Δ_PP of query p of area a (see
// Attention.FPShare) from the sums of B over its key groups, bsum; ok is
// false when it has no unmasked key outside its area, and so no gap to
// split.
func logitGaps(c theory.Correlations, smp *theory.Sample, g keyGroups, p, a int, bsum []float64) (fp, pp float64, ok bool) {
	n := len(smp.Z)
	ownKeys := g.size(a)
	off := g.off[n] - ownKeys // the unmasked keys outside area a
	if off <= 0 {
		return 0, 0, false
	}
	arow := c.A[smp.Cluster][p]
	var fpOff, ppOff float64
	for j := range n {
		if j != a {
			fpOff += float64(g.size(j)) * smp.Z[j] * arow[j]
			ppOff += bsum[j]
		}
	}
	fp = smp.Z[a]*arow[a] - fpOff/float64(off)
	pp = bsum[a]/float64(ownKeys) - ppOff/float64(off)
	return fp, pp, true
}

// appendPairTV appends to tvs the total variation between the attention of
// every pair of queries of one image that lie in different areas.
func appendPairTV(tvs []float64, recon []tvQuery) []float64 {
	for i := range recon {
		for j := i + 1; j < len(recon); j++ {
			if recon[i].area == recon[j].area {
				continue
			}
			tvs = append(tvs, totalVariation(recon[i].pi, recon[j].pi))
		}
	}
	return tvs
}

// totalVariation returns ½ Σ_q |a_q − b_q| (len(b) ≥ len(a)), in four
// chains: one would make the additions' latency the loop's cost (the pairs'
// TVs were 4 % of vit14's check). Each |·| ≤ 1 and they sum to at most 2,
// so the order changes the result by a few units in the last place.
func totalVariation(a, b []float64) float64 {
	b = b[:len(a)]
	var t0, t1, t2, t3 float64
	q := 0
	for ; q+4 <= len(a); q += 4 {
		t0 += math.Abs(a[q] - b[q])
		t1 += math.Abs(a[q+1] - b[q+1])
		t2 += math.Abs(a[q+2] - b[q+2])
		t3 += math.Abs(a[q+3] - b[q+3])
	}
	for ; q < len(a); q++ {
		t0 += math.Abs(a[q] - b[q])
	}
	return ((t0 + t1) + (t2 + t3)) / 2
}

// finish turns the sums over nSamples images into the statistics.
func (sums *attentionSums) finish(nSamples int, eps, delta float64) Attention {
	at := sums.at
	if nSamples > 0 {
		at.ReconstructableLoss /= float64(nSamples)
		at.IrreducibleLoss /= float64(nSamples)
	}
	for k := range sums.queryCounts {
		for p, n := range sums.queryCounts[k] {
			at.OwnByQuery[k][p] = meanOf(at.OwnByQuery[k][p], n)
		}
	}
	for k := range sums.counts {
		for j, n := range sums.counts[k] {
			at.OwnByArea[k][j] = meanOf(at.OwnByArea[k][j], n)
			for i := range at.MassByArea[k][j] {
				at.MassByArea[k][j][i] = meanOf(at.MassByArea[k][j][i], n)
			}
		}
	}
	at.FPShare = math.NaN()
	if sums.gapFP != 0 || sums.gapPP != 0 {
		at.FPShare = sums.gapFP / (math.Abs(sums.gapFP) + math.Abs(sums.gapPP))
	}
	sums.standardErrors(&at, eps)
	at.setTV(sums.tvs, delta)
	if mutant.On(mutant.QuantileSide) {
		delta = 1 - delta
	}
	at.OwnMin, at.OwnMean, at.OwnQuantile = summarize(sums.own, delta)
	at.OwnReached = math.NaN()
	if len(sums.own) > 0 {
		reached := 0
		for _, x := range sums.own {
			if x >= 1-eps {
				reached++
			}
		}
		at.OwnReached = float64(reached) / float64(len(sums.own))
	}
	return at
}

// standardErrors sets the standard errors of at from the per-image sums
// (docs/SHARP.md §2): ratio estimators over the images, Σ_i x_i / Σ_i m_i
// with x_i an image's sum and m_i its number of reconstructable queries,
// linearised.
func (sums *attentionSums) standardErrors(at *Attention, eps float64) {
	nan := math.NaN()
	at.OwnMeanSE, at.OwnReachedSE, at.ReconstructableLossSE, at.FPShareSE, at.LocalOwnSE, at.LocalGapSE = nan, nan, nan, nan, nan, nan
	n := len(sums.images)
	if n < 2 {
		return
	}
	m, ones := make([]float64, n), make([]float64, n)
	o, r, l := make([]float64, n), make([]float64, n), make([]float64, n)
	fp, gap := make([]float64, n), make([]float64, n)
	sFP, sPP := sign(sums.gapFP), sign(sums.gapPP)
	for i, img := range sums.images {
		end := len(sums.own)
		if i+1 < n {
			end = sums.images[i+1].first
		}
		m[i], l[i], ones[i] = float64(end-img.first), img.loss, 1
		for _, v := range sums.own[img.first:end] {
			o[i] += v
			if v >= 1-eps {
				r[i]++
			}
		}
		// FPShare = ΣΔ_FP / (|ΣΔ_FP| + |ΣΔ_PP|): a ratio of image sums.
		fp[i], gap[i] = img.fp, sFP*img.fp+sPP*img.pp
	}
	at.OwnMeanSE, at.OwnReachedSE, at.ReconstructableLossSE = ratioSE(o, m), ratioSE(r, m), ratioSE(l, ones)
	at.FPShareSE = ratioSE(fp, gap)
	if sums.global >= 0 {
		at.LocalOwnSE = localSE(sums.images, sums.global, func(img *imageSums, j int) float64 { return img.own[j] })
		at.LocalGapSE = localSE(sums.images, sums.global, func(img *imageSums, j int) float64 { return img.onG[j] - img.own[j] })
	}
}

func sign(x float64) float64 {
	if x < 0 {
		return -1
	}
	return 1
}

// localSE is the standard error of the average over the local areas j ≠ g
// of the per-area ratio means Σ_i val_ij / Σ_i count_ij (localMass),
// linearised over images: u_i = (1/A) Σ_j (val_ij − R_j count_ij)/m̄_j.
func localSE(images []imageSums, g int, val func(img *imageSums, j int) float64) float64 {
	var areas int
	for i := range images {
		areas = max(areas, len(images[i].count))
	}
	n := float64(len(images))
	R, mbar := make([]float64, areas), make([]float64, areas)
	for j := range areas {
		v, c := 0.0, 0.0
		for i := range images {
			if images[i].count != nil {
				v += val(&images[i], j)
				c += images[i].count[j]
			}
		}
		if c > 0 {
			R[j], mbar[j] = v/c, c/n
		}
	}
	local := 0
	for j := range areas {
		if j != g && mbar[j] > 0 {
			local++
		}
	}
	if local == 0 {
		return math.NaN()
	}
	ss := 0.0
	for i := range images {
		u := 0.0
		for j := range areas {
			if j != g && mbar[j] > 0 && images[i].count != nil {
				u += (val(&images[i], j) - R[j]*images[i].count[j]) / mbar[j]
			}
		}
		u /= float64(local)
		ss += u * u
	}
	return math.Sqrt(ss / (n * (n - 1)))
}

// ratioSE is the standard error of the ratio estimator Σx/Σm over n
// independent units, to first order: √(Σ(x_i − R m_i)² / (n(n−1))) / m̄
// (with m ≡ 1 the standard error of a mean). NaN when Σm = 0.
func ratioSE(x, m []float64) float64 {
	n := float64(len(x))
	sx, sm := 0.0, 0.0
	for i := range x {
		sx += x[i]
		sm += m[i]
	}
	if sm == 0 {
		return math.NaN()
	}
	R, ss := sx/sm, 0.0
	for i := range x {
		d := x[i] - R*m[i]
		ss += d * d
	}
	se := math.Sqrt(ss/(n*(n-1))) / (sm / n)
	if mutant.On(mutant.SEDoubled) {
		se *= 2
	}
	return se
}

// meanOf is sum/n, or NaN when nothing was summed.
func meanOf(sum float64, n int) float64 {
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// summarize returns the minimum, the mean and the q-quantile of xs — the
// largest v such that a fraction ≥ 1 − q of the values is ≥ v — or NaNs for
// an empty list. It reorders xs (a selection, not a sort).
func summarize(xs []float64, q float64) (lo, mean, quantile float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	lo, sum := xs[0], 0.0
	nan := false
	for _, x := range xs {
		lo = min(lo, x)
		sum += x
		nan = nan || math.IsNaN(x)
	}
	i := quantileIndex(len(xs), q)
	switch {
	case i < 0:
		quantile = math.NaN()
	case nan: // sort's order, NaN first, defines the quantile then
		sort.Float64s(xs)
		quantile = xs[i]
	default:
		quantile = selectKth(xs, i)
	}
	return lo, sum / float64(len(xs)), quantile
}

// selectKth returns the element that sorting xs (no NaN) would put at index
// k, reordering xs, in expected linear time: three-way partitions around a
// median of three, keeping the side that holds k.
func selectKth(xs []float64, k int) float64 {
	for len(xs) > 1 {
		pivot, lt, gt := partition3(xs, func(x float64) float64 { return x })
		switch {
		case k < lt:
			xs = xs[:lt]
		case k < gt:
			return pivot
		default:
			xs, k = xs[gt:], k-gt
		}
	}
	return xs[0]
}

// partition3 orders xs (len ≥ 2) around the median of the keys of its
// first, middle and last elements as [< pivot | = pivot | > pivot] and
// returns the pivot and the bounds lt, gt of the middle part: the step of
// both quickselects, selectKth and selectWeighted.
func partition3[T any](xs []T, key func(T) float64) (pivot float64, lt, gt int) {
	a, b, c := key(xs[0]), key(xs[len(xs)/2]), key(xs[len(xs)-1])
	pivot = max(min(a, b), min(max(a, b), c))
	i, gt := 0, len(xs) // [< pivot | = pivot | unseen | > pivot]
	for i < gt {
		switch x := key(xs[i]); {
		case x < pivot:
			xs[lt], xs[i] = xs[i], xs[lt]
			lt++
			i++
		case x > pivot:
			gt--
			xs[i], xs[gt] = xs[gt], xs[i]
		default:
			i++
		}
	}
	return pivot, lt, gt
}

// quantileOf returns the q-quantile of the sorted values xs under the
// weights ws (nil: equal weights): the first value at which the cumulative
// weight exceeds q of the total (the last value if none), so that a
// fraction ≥ 1 − q of the weight lies at or above it. With equal weights
// it is the element ⌊q·n⌋, counted exactly. The measurements and the sharp
// predictions read their quantiles with it, so the two sides share one
// rule. A level outside [0, 1] (NaN included) has no quantile: the result
// is NaN, never an index computed from it; callers check their levels
// first (sharpC5), so that the NaN cannot reach a verdict.
func quantileOf(xs, ws []float64, q float64) float64 {
	if len(xs) == 0 || !(q >= 0 && q <= 1) {
		return math.NaN()
	}
	if ws == nil {
		return xs[quantileIndex(len(xs), q)]
	}
	total := 0.0
	for _, w := range ws {
		total += w
	}
	cum := 0.0
	for i, w := range ws {
		if cum += w; cum > q*total {
			return xs[i]
		}
	}
	return xs[len(xs)-1]
}

// quantileIndex is the index of the q-quantile of n sorted equally
// weighted values under quantileOf's rule, ⌊q·n⌋ (at most n − 1); −1 when
// there is none (n = 0, or q outside [0, 1] or NaN).
func quantileIndex(n int, q float64) int {
	if n == 0 || !(q >= 0 && q <= 1) {
		return -1
	}
	if mutant.On(mutant.QuantileRound) {
		return min(int(math.Ceil(q*float64(n))), n-1)
	}
	return min(int(math.Floor(q*float64(n))), n-1)
}

// FPSummary summarises the FP and PP correlations of a state: the mean
// own-area FP correlation A_{k,p,a_k(p)}, the mean off-area one (over
// j ≠ a_k(p)), and the largest |B|.
type FPSummary struct {
	OwnMean, OffMean, MaxAbsB float64
}

// SummarizeFP computes the FP/PP summary of c.
func SummarizeFP(s *theory.Setting, c theory.Correlations) FPSummary {
	var f FPSummary
	nOwn, nOff := 0, 0
	for k, cl := range s.Clusters {
		for p, a := range cl.Areas {
			for j, x := range c.A[k][p] {
				if j == a {
					f.OwnMean += x
					nOwn++
				} else {
					f.OffMean += x
					nOff++
				}
			}
		}
	}
	if nOwn > 0 {
		f.OwnMean /= float64(nOwn)
	}
	if nOff > 0 {
		f.OffMean /= float64(nOff)
	} else {
		f.OffMean = math.NaN()
	}
	_, f.MaxAbsB = c.MaxAbs()
	return f
}
