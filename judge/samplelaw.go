package judge

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"mimverify/theory"
	"mimverify/theory/expr"
)

// The samples → population link of C8 presumes that the training samples
// are draws from the setting's law; every engine that trains on samples
// inherits a fault of the sampler, and the reduced ODE does not (it takes
// the law's expectation analytically). sampleLawCheck tests the samples'
// statistics against the law directly (docs/AGREEMENT.md §6).

// lawAlpha is the sample-law check's false-alarm rate over all its
// statistics: 0.27 %, one family per check (a sampler fault moves many
// statistics at once, so the family-wise bound costs little power).
const lawAlpha = 0.0027

// lawStat is one statistic of the samples, standardised: z = (observed −
// expected)/sd under the law, or ±Inf for a value the law cannot produce.
type lawStat struct {
	name string
	z    float64
}

// sampleLawCheck returns the check "the training samples follow the
// setting's law": the largest |z| over the statistics below against the
// two-sided Bonferroni bound z_B for a false-alarm rate lawAlpha over
// all of them.
func sampleLawCheck(s *theory.Setting, samples []theory.Sample) AgreementCheck {
	var stats []lawStat
	stats = append(stats, clusterStats(s, samples)...)
	stats = append(stats, maskStats(s, samples)...)
	stats = append(stats, maskPairStat(s, samples)...)
	stats = append(stats, zStats(s, samples)...)
	stats = append(stats, zPairStat(s, samples)...)
	stats = append(stats, crossStat(s, samples)...)
	worst := lawStat{name: "none", z: 0}
	for _, st := range stats {
		if !(math.Abs(st.z) <= math.Abs(worst.z)) {
			worst = st
		}
	}
	zB := bonferroniZ(lawAlpha, len(stats))
	return AgreementCheck{
		Name:     fmt.Sprintf("training samples (n = %d) vs the setting's law, %d statistics; largest: %s, z = %.3g", len(samples), len(stats), worst.name, worst.z),
		Quantity: "max |z| over the sample statistics", Measured: math.Abs(worst.z),
		Bound: expr.Sym("z_B"), Env: expr.Env{"z_B": zB}}
}

// binomialZ standardises a count k of n Bernoulli(p) trials; for p ∈ {0, 1}
// any other count is impossible (±Inf).
func binomialZ(k, n int, p float64) float64 {
	mean := float64(n) * p
	sd := math.Sqrt(mean * (1 - p))
	if sd == 0 {
		if float64(k) == mean {
			return 0
		}
		return math.Copysign(math.Inf(1), float64(k)-mean)
	}
	return (float64(k) - mean) / sd
}

// clusterStats: the number of images of each cluster, Binomial(n, π_k).
func clusterStats(s *theory.Setting, samples []theory.Sample) []lawStat {
	counts := make([]int, len(s.Clusters))
	for _, smp := range samples {
		counts[smp.Cluster]++
	}
	out := make([]lawStat, len(s.Clusters))
	for k, c := range s.Clusters {
		out[k] = lawStat{fmt.Sprintf("images of cluster %d", k), binomialZ(counts[k], len(samples), c.Prob)}
	}
	return out
}

// maskStats: for Bernoulli masks, the number of images masking each
// position, Binomial(n, γ), and the total masked, Binomial(nP, γ); for
// fixed masks, every image masks exactly round(γP) positions (its
// positions uniformly: Binomial(n, m/P) per position).
func maskStats(s *theory.Setting, samples []theory.Sample) []lawStat {
	n := len(samples)
	perPos := make([]int, s.P)
	total, wrongSize := 0, 0
	for _, smp := range samples {
		m := 0
		for p, masked := range smp.Mask {
			if masked {
				perPos[p]++
				m++
			}
		}
		total += m
		if s.Mask == theory.MaskFixed && m != s.NumFixedMasked() {
			wrongSize++
		}
	}
	rate := s.Gamma
	var out []lawStat
	if s.Mask == theory.MaskFixed {
		rate = float64(s.NumFixedMasked()) / float64(s.P)
		out = append(out, lawStat{"images without exactly round(γP) masked positions", binomialZ(wrongSize, n, 0)})
	} else {
		out = append(out, lawStat{"masked positions in all", binomialZ(total, n*s.P, rate)})
	}
	for p, k := range perPos {
		out = append(out, lawStat{fmt.Sprintf("images masking position %d", p), binomialZ(k, n, rate)})
	}
	return out
}

// maxPairPositions bounds the positions maskPairStat correlates (its cost
// is n·P²/2): the first maxPairPositions of a larger setting.
const maxPairPositions = 512

// maskPairStat tests that Bernoulli masks are independent across positions
// — the joint law, which the per-position counts cannot see (a mask shared
// by positions p and p + 64 keeps every marginal). One omnibus statistic,
// so that it costs the other statistics no power: with r_pq the sample
// correlation of the mask indicators of positions p < q over the n images,
// T = Σ n·r_pq² is, under independence, a sum of m = P(P−1)/2 terms each
// close to χ²₁ (E[n·r²] = n/(n−1)) and uncorrelated with one another, so
// z = (T − m·n/(n−1))/√(2m) is close to standard normal. A position never
// or always masked in the sample has no correlation and is left out.
// Fixed-count masks are dependent by construction and are not tested.
func maskPairStat(s *theory.Setting, samples []theory.Sample) []lawStat {
	n := len(samples)
	if s.Mask != theory.MaskBernoulli || n < 3 {
		return nil
	}
	P := min(s.P, maxPairPositions)
	// Centred, scaled indicators: x_ip = (m_ip − mean_p)/sd_p.
	var cols [][]float64
	for p := range P {
		col := make([]float64, n)
		for i, smp := range samples {
			if smp.Mask[p] {
				col[i] = 1
			}
		}
		mean, sd := stat.MeanStdDev(col, nil)
		if sd == 0 {
			continue
		}
		for i := range col {
			col[i] = (col[i] - mean) / sd
		}
		cols = append(cols, col)
	}
	m := len(cols) * (len(cols) - 1) / 2
	if m == 0 {
		return nil
	}
	T := 0.0
	for a := range cols {
		for b := a + 1; b < len(cols); b++ {
			r := floats.Dot(cols[a], cols[b]) / float64(n-1)
			T += float64(n) * r * r
		}
	}
	mean := float64(m) * float64(n) / float64(n-1)
	return []lawStat{{fmt.Sprintf("pairwise dependence of the masks over %d positions (Σ n·r²)", len(cols)), (T - mean) / math.Sqrt(2*float64(m))}}
}

// zStats tests the z values: their range and, per law, their mean and
// their spread within an image (independent areas, or one shared z).
func zStats(s *theory.Setting, samples []theory.Sample) []lawStat {
	L, U := s.Z.L, s.Z.U
	outside, values, ups := 0, 0, 0
	sum := 0.0
	for _, smp := range samples {
		for _, z := range smp.Z {
			values++
			sum += z
			if !(z >= L && z <= U) || (s.Z.Kind == theory.ZConstant && z != L) || (s.Z.Kind == theory.ZTwoPoint && z != L && z != U) {
				outside++
			}
			if z == U {
				ups++
			}
		}
	}
	out := []lawStat{{"z values the law cannot produce", binomialZ(outside, values, 0)}}
	switch {
	case s.Z.Kind == theory.ZConstant || U == L:
	case s.Z.Kind == theory.ZTwoPoint:
		out = append(out, lawStat{"z values at U", binomialZ(ups, values, 0.5)})
	default:
		// Uniform on [L, U]: mean (L+U)/2, variance σ² = (U−L)²/12.
		count := values
		if s.Z.Kind == theory.ZShared {
			count = len(samples)
			sum = 0
			for _, smp := range samples {
				sum += smp.Z[0]
			}
		}
		sd := (U - L) / math.Sqrt(12)
		out = append(out, lawStat{"mean z", (sum/float64(count) - (L+U)/2) / (sd / math.Sqrt(float64(count)))})
		out = append(out, withinImageStats(s, samples)...)
	}
	return out
}

// withinImageStats tests the spread of z within images, per cluster with
// N ≥ 2 areas: the unbiased sample variance s² of an image's z values has
// mean σ² and variance σ⁴(2/(N−1) + κ/N) for i.i.d. uniform z (excess
// kurtosis κ = −6/5); a shared z has s² = 0 exactly.
func withinImageStats(s *theory.Setting, samples []theory.Sample) []lawStat {
	sigma2 := (s.Z.U - s.Z.L) * (s.Z.U - s.Z.L) / 12
	var out []lawStat
	for k, cl := range s.Clusters {
		N := cl.NumAreas()
		if N < 2 {
			continue
		}
		n, sum := 0, 0.0
		for _, smp := range samples {
			if smp.Cluster == k {
				n++
				sum += stat.Variance(smp.Z, nil)
			}
		}
		if n == 0 {
			continue
		}
		name := fmt.Sprintf("spread of z within images of cluster %d", k)
		if s.Z.Kind == theory.ZShared {
			out = append(out, lawStat{name, binomialZ(int(math.Ceil(sum)), n, 0)})
			continue
		}
		v := sigma2 * sigma2 * (2/float64(N-1) - 1.2/float64(N))
		out = append(out, lawStat{name, (sum/float64(n) - sigma2) / math.Sqrt(v/float64(n))})
	}
	return out
}

// omnibus accumulates T = Σ n_i·r_i² over m sample correlations r_i of
// pairs of columns, each over n_i rows: under independence each term is
// close to χ²₁ with mean n_i/(n_i − 1), and the terms are uncorrelated
// (maskPairStat), so T is close to a χ²_m scaled by that mean.
type omnibus struct {
	T, mean float64
	m       int
}

// add adds the correlation of two standardised columns of n rows.
func (o *omnibus) add(a, b []float64) {
	n := float64(len(a))
	r := floats.Dot(a, b) / (n - 1)
	o.T += n * r * r
	o.mean += n / (n - 1)
	o.m++
}

// z converts T to a standard normal deviate through its χ²_m law (scaled
// by the mean n/(n − 1)) rather than the normal approximation, which is
// far too light-tailed for the few pairs of crossStat (m = 3: a 4.13-σ
// normal bound would be passed by χ²₃ 240 times too often).
func (o *omnibus) z() float64 {
	chi := distuv.ChiSquared{K: float64(o.m)}
	x := o.T / (o.mean / float64(o.m))
	if up := chi.Survival(x); up < 0.5 {
		return -distuv.UnitNormal.Quantile(up)
	}
	return distuv.UnitNormal.Quantile(chi.CDF(x))
}

// standardised returns (x − mean)/sd, or nil when x is constant.
func standardised(x []float64) []float64 {
	mean, sd := stat.MeanStdDev(x, nil)
	if !(sd > 0) {
		return nil
	}
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = (v - mean) / sd
	}
	return out
}

// zPairStat tests that the z of an image's areas are independent of one
// another for the laws that draw them independently (uniform, two-point):
// per cluster with N ≥ 2 areas, the correlation over its images of z_a and
// z_b for every pair of areas a < b, in one omnibus statistic. A two-point
// z drawn once for all areas (every pair correlated 1) fails it, as does
// any coupling of areas that keeps each area's law.
func zPairStat(s *theory.Setting, samples []theory.Sample) []lawStat {
	if (s.Z.Kind != theory.ZUniform && s.Z.Kind != theory.ZTwoPoint) || s.Z.L == s.Z.U {
		return nil
	}
	var o omnibus
	for k, cl := range s.Clusters {
		N := cl.NumAreas()
		var rows []theory.Sample
		for _, smp := range samples {
			if smp.Cluster == k {
				rows = append(rows, smp)
			}
		}
		if N < 2 || len(rows) < 3 {
			continue
		}
		cols := make([][]float64, N)
		for j := range cols {
			col := make([]float64, len(rows))
			for i, smp := range rows {
				col[i] = smp.Z[j]
			}
			cols[j] = standardised(col)
		}
		for a := range cols {
			for b := a + 1; b < N; b++ {
				if cols[a] != nil && cols[b] != nil {
					o.add(cols[a], cols[b])
				}
			}
		}
	}
	if o.m == 0 {
		return nil
	}
	return []lawStat{{fmt.Sprintf("dependence of z across areas (%d area pairs, Σ n·r²)", o.m), o.z()}}
}

// crossStat tests that the cluster, the mask and z are drawn independently
// of one another: per image its cluster (an indicator per cluster but the
// last), its number of masked positions (Bernoulli masks) and its mean z
// (a law that varies), and the correlation over the images of every pair
// of these from different sources, in one omnibus statistic.
func crossStat(s *theory.Setting, samples []theory.Sample) []lawStat {
	n := len(samples)
	if n < 3 {
		return nil
	}
	var groups [][][]float64 // per source: its standardised columns
	var clusters [][]float64
	for k := 0; k+1 < len(s.Clusters); k++ {
		col := make([]float64, n)
		for i, smp := range samples {
			if smp.Cluster == k {
				col[i] = 1
			}
		}
		if c := standardised(col); c != nil {
			clusters = append(clusters, c)
		}
	}
	masked, zmean := make([]float64, n), make([]float64, n)
	for i, smp := range samples {
		for _, m := range smp.Mask {
			if m {
				masked[i]++
			}
		}
		zmean[i] = stat.Mean(smp.Z, nil)
	}
	groups = append(groups, clusters)
	for _, col := range [][]float64{masked, zmean} {
		if c := standardised(col); c != nil {
			groups = append(groups, [][]float64{c})
		}
	}
	var o omnibus
	for g := range groups {
		for h := g + 1; h < len(groups); h++ {
			for _, a := range groups[g] {
				for _, b := range groups[h] {
					o.add(a, b)
				}
			}
		}
	}
	if o.m == 0 {
		return nil
	}
	return []lawStat{{fmt.Sprintf("dependence between cluster, mask count and mean z (%d pairs, Σ n·r²)", o.m), o.z()}}
}
