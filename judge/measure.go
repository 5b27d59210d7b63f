package judge

import (
	"math"
	"sort"

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
	K := len(s.Clusters)
	var at Attention
	at.OwnByArea = make([][]float64, K)
	at.MassByArea = make([][][]float64, K)
	counts := make([][]int, K)
	at.OwnByQuery = make([][]float64, K)
	queryCounts := make([][]int, K)
	for k, cl := range s.Clusters {
		n := cl.NumAreas()
		at.OwnByArea[k] = make([]float64, n)
		at.OwnByQuery[k] = make([]float64, s.P)
		queryCounts[k] = make([]int, s.P)
		counts[k] = make([]int, n)
		at.MassByArea[k] = make([][]float64, n)
		for j := range at.MassByArea[k] {
			at.MassByArea[k][j] = make([]float64, n)
		}
	}
	var own []float64
	pi := make([]float64, s.P)
	var tvs []float64
	var gapFP, gapPP float64
	type query struct {
		p, area int
		pi      []float64
	}
	for _, smp := range samples {
		k := smp.Cluster
		areas := s.Clusters[k].Areas
		n := len(smp.Z)
		unmaskedIn := make([]int, n)
		for q, m := range smp.Mask {
			if !m {
				unmaskedIn[areas[q]]++
			}
		}
		var recon []query
		for p, m := range smp.Mask {
			if !m {
				continue
			}
			a := areas[p]
			// Scores and softmax over the keys.
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
			S := make([]float64, n)
			if !math.IsInf(mx, -1) {
				sum := 0.0
				for q := range pi {
					if math.IsInf(pi[q], -1) {
						pi[q] = 0
						continue
					}
					pi[q] = math.Exp(pi[q] - mx)
					sum += pi[q]
				}
				for q := range pi {
					pi[q] /= sum
					if !smp.Mask[q] {
						S[areas[q]] += pi[q]
					}
				}
			} else {
				clear(pi)
			}
			loss := 0.0
			for j := range S {
				r := S[j] * smp.Z[j]
				if j == a {
					r -= smp.Z[a]
				}
				loss += 0.5 * r * r
			}
			loss *= s.LossScale()
			if unmaskedIn[a] == 0 {
				at.Irreducible++
				at.IrreducibleLoss += loss
				continue
			}
			at.Queries++
			at.ReconstructableLoss += loss
			if off := unmaskedKeys(smp.Mask) - unmaskedIn[a]; off > 0 {
				var fpOff, ppOwn, ppOff float64
				for q, m := range smp.Mask {
					if m {
						continue
					}
					if areas[q] == a {
						ppOwn += c.B[p][q]
					} else {
						fpOff += smp.Z[areas[q]] * c.A[k][p][areas[q]]
						ppOff += c.B[p][q]
					}
				}
				gapFP += smp.Z[a]*c.A[k][p][a] - fpOff/float64(off)
				gapPP += ppOwn/float64(unmaskedIn[a]) - ppOff/float64(off)
			}
			own = append(own, S[a])
			at.OwnByArea[k][a] += S[a]
			counts[k][a]++
			at.OwnByQuery[k][p] += S[a]
			queryCounts[k][p]++
			for j := range S {
				at.MassByArea[k][a][j] += S[j]
			}
			if withTV {
				recon = append(recon, query{p, a, append([]float64(nil), pi...)})
			}
		}
		for i := range recon {
			for j := i + 1; j < len(recon); j++ {
				if recon[i].area == recon[j].area {
					continue
				}
				tv := 0.0
				for q := range recon[i].pi {
					tv += math.Abs(recon[i].pi[q] - recon[j].pi[q])
				}
				tv /= 2
				tvs = append(tvs, tv)
			}
		}
	}
	if len(samples) > 0 {
		at.ReconstructableLoss /= float64(len(samples))
		at.IrreducibleLoss /= float64(len(samples))
	}
	for k := range queryCounts {
		for p, n := range queryCounts[k] {
			if n == 0 {
				at.OwnByQuery[k][p] = math.NaN()
			} else {
				at.OwnByQuery[k][p] /= float64(n)
			}
		}
	}
	for k := range counts {
		for j, n := range counts[k] {
			if n == 0 {
				at.OwnByArea[k][j] = math.NaN()
				for i := range at.MassByArea[k][j] {
					at.MassByArea[k][j][i] = math.NaN()
				}
				continue
			}
			at.OwnByArea[k][j] /= float64(n)
			for i := range at.MassByArea[k][j] {
				at.MassByArea[k][j][i] /= float64(n)
			}
		}
	}
	at.FPShare = math.NaN()
	if gapFP != 0 || gapPP != 0 {
		at.FPShare = gapFP / (math.Abs(gapFP) + math.Abs(gapPP))
	}
	at.Pairs = len(tvs)
	at.TVMin, at.TVMean, at.TVQuantile = summarize(tvs, 2*delta)
	at.OwnMin, at.OwnMean, at.OwnQuantile = summarize(own, delta)
	at.OwnReached = math.NaN()
	if len(own) > 0 {
		// own is sorted: the queries at or above 1 − ε form its tail.
		at.OwnReached = float64(len(own)-sort.SearchFloat64s(own, 1-eps)) / float64(len(own))
	}
	return at
}

// summarize returns the minimum, the mean and the q-quantile of xs — the
// largest v such that a fraction ≥ 1 − q of the values is ≥ v — or NaNs for
// an empty list. It sorts xs.
func summarize(xs []float64, q float64) (lo, mean, quantile float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	sort.Float64s(xs)
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	i := min(int(math.Floor(q*float64(len(xs)))), len(xs)-1)
	return xs[0], sum / float64(len(xs)), xs[i]
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

func unmaskedKeys(mask []bool) int {
	n := 0
	for _, m := range mask {
		if !m {
			n++
		}
	}
	return n
}
