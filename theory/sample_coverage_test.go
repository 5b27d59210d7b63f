package theory_test

// Frequency tests of the sampler against the laws of SPEC §1, over the
// parts of the distribution that γ = ½, ≤ 2 clusters and the default z law
// leave invisible (issue 10, item 5).
//
// Every expected value below comes from SPEC §1, not from the sampler. All
// seeds are fixed, so the tests are deterministic; the bounds are chosen so
// that a correct sampler would fail a check with probability below 1e-6:
//   - a frequency: |count − np| ≤ 5σ, σ = √(np(1−p)) (two-sided normal tail
//     at 5σ: 5.7e-7);
//   - a distribution over categories: Pearson's χ² below the 1 − 1e-6
//     quantile of χ²(df), every expected count ≥ 5 (bins merged otherwise);
//   - a sample mean or variance: 5 standard errors of the estimator, from
//     the law's own moments;
//   - a correlation between independent variables: |r| ≤ 5/√n (r√n → N(0,1)).

import (
	"math"
	"strconv"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"mimverify/theory"
)

// covDraw is the only call of the sampler: the fixed sample set of a seed.
func covDraw(t *testing.T, s *theory.Setting, seed uint64, n int) []theory.Sample {
	t.Helper()
	if err := s.Resolve(); err != nil {
		t.Fatal(err)
	}
	out := s.Samples(seed, n)
	for i, x := range out {
		if err := s.CheckSample(x); err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
	}
	return out
}

const covFalseAlarm = 1e-6

// covBinom5 checks a count against Binomial(n, p) at 5σ.
func covBinom5(t *testing.T, what string, count, n int, p float64) {
	t.Helper()
	mean := float64(n) * p
	sd := math.Sqrt(float64(n) * p * (1 - p))
	if math.Abs(float64(count)-mean) > 5*sd {
		t.Errorf("%s: %d of %d, expected %.1f ± %.1f (5σ)", what, count, n, mean, 5*sd)
	}
}

// covChiSquare checks observed counts against expected probabilities (summing
// to 1) with Pearson's statistic; categories with expected count < 5 are
// merged into their neighbour first. Categories with probability 0 must
// have count 0.
func covChiSquare(t *testing.T, what string, counts []int, probs []float64) {
	t.Helper()
	n := 0
	for _, c := range counts {
		n += c
	}
	var obs, exp []float64
	var o, e float64
	for i, c := range counts {
		if probs[i] == 0 {
			if c != 0 {
				t.Errorf("%s: category %d has probability 0 but was drawn %d times", what, i, c)
			}
			continue
		}
		o += float64(c)
		e += float64(n) * probs[i]
		if e >= 5 {
			obs, exp = append(obs, o), append(exp, e)
			o, e = 0, 0
		}
	}
	if e > 0 { // merge the remainder into the last bin
		if len(obs) == 0 {
			t.Fatalf("%s: too few samples for a χ² test", what)
		}
		obs[len(obs)-1] += o
		exp[len(exp)-1] += e
	}
	if len(obs) < 2 {
		return
	}
	x2 := 0.0
	for i := range obs {
		x2 += (obs[i] - exp[i]) * (obs[i] - exp[i]) / exp[i]
	}
	df := float64(len(obs) - 1)
	limit := distuv.ChiSquared{K: df}.Quantile(1 - covFalseAlarm)
	if x2 > limit {
		t.Errorf("%s: χ² = %.1f with %v degrees of freedom, above the 1 − %g quantile %.1f\nobserved %v\nexpected %v",
			what, x2, df, covFalseAlarm, limit, obs, exp)
	}
}

// covCorr returns the sample correlation of x and y (0 if either is constant).
func covCorr(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= n
	my /= n
	var sxy, sxx, syy float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
		syy += (y[i] - my) * (y[i] - my)
	}
	if sxx == 0 || syy == 0 {
		return 0
	}
	return sxy / math.Sqrt(sxx*syy)
}

// covAreasOf returns a partition of P positions into n areas (round robin).
func covAreasOf(P, n int) []int {
	a := make([]int, P)
	for p := range a {
		a[p] = p % n
	}
	return a
}

// covBaseSetting is a valid setting with P positions and the given clusters
// (probabilities and area counts); everything else at its default.
func covBaseSetting(P int, probs []float64, areas []int) theory.Setting {
	s := theory.Setting{P: P, Z: theory.ZLaw{Kind: theory.ZUniform, L: 0.5, U: 2}, Gamma: 0.3, Eta: 1}
	for k, p := range probs {
		s.Clusters = append(s.Clusters, theory.Cluster{Areas: covAreasOf(P, areas[k]), Prob: p})
	}
	return s
}

// TestCoverageClusterChoice: with K ≥ 3 clusters and non-uniform π_k, every
// cluster (the last included) is drawn with its own probability, a cluster
// of probability 0 never, and each sample carries one z per area of the
// cluster drawn (N_k differs between clusters here).
func TestCoverageClusterChoice(t *testing.T) {
	cases := [][]float64{
		{0.1, 0.2, 0.3, 0.4},
		{0.45, 0.1, 0.3, 0.15},
		{0.5, 0.3, 0.2},
		{0.25, 0, 0.15, 0.35, 0.25},
	}
	const n = 60000
	for ci, probs := range cases {
		nareas := make([]int, len(probs))
		for k := range nareas {
			nareas[k] = 1 + k%4
		}
		s := covBaseSetting(8, probs, nareas)
		counts := make([]int, len(probs))
		for _, x := range covDraw(t, &s, uint64(1000+ci), n) {
			counts[x.Cluster]++
			if len(x.Z) != nareas[x.Cluster] {
				t.Fatalf("probs %v: cluster %d has %d areas but the sample has %d z", probs, x.Cluster, nareas[x.Cluster], len(x.Z))
			}
		}
		for k, p := range probs {
			if p > 0 {
				covBinom5(t, "cluster frequency, probs "+covFmtProbs(probs)+", cluster "+covItoa(k), counts[k], n, p)
			}
		}
		covChiSquare(t, "cluster distribution "+covFmtProbs(probs), counts, probs)
	}
}

// TestCoverageBernoulliMask: with γ ∈ {0.3, 0.8} (γ ↔ 1 − γ swaps show),
// each position is masked with probability γ, independently: the frequency
// per position and per pair of positions (γ²), and the distribution of the
// number of masked positions per image (Binomial(P, γ)).
func TestCoverageBernoulliMask(t *testing.T) {
	const P, n = 9, 30000
	for gi, gamma := range []float64{0.3, 0.8} {
		s := covBaseSetting(P, []float64{0.3, 0.3, 0.4}, []int{3, 2, 1})
		s.Gamma, s.Mask = gamma, theory.MaskBernoulli
		perPos := make([]int, P)
		pair := make([][]int, P)
		for p := range pair {
			pair[p] = make([]int, P)
		}
		sizes := make([]int, P+1)
		total := 0
		perCluster := make([]int, len(s.Clusters))    // masked positions per cluster
		imgPerCluster := make([]int, len(s.Clusters)) // images per cluster
		for _, x := range covDraw(t, &s, uint64(2000+gi), n) {
			imgPerCluster[x.Cluster]++
			m := 0
			for p, b := range x.Mask {
				if !b {
					continue
				}
				m++
				perPos[p]++
				for q := p + 1; q < P; q++ {
					if x.Mask[q] {
						pair[p][q]++
					}
				}
			}
			sizes[m]++
			total += m
			perCluster[x.Cluster] += m
		}
		g := "γ = " + covFtoa(gamma)
		covBinom5(t, g+": masked positions", total, n*P, gamma)
		for k := range perCluster { // the mask does not depend on the cluster
			covBinom5(t, g+": masked positions in images of cluster "+covItoa(k), perCluster[k], imgPerCluster[k]*P, gamma)
		}
		for p := 0; p < P; p++ {
			covBinom5(t, g+": position "+covItoa(p)+" masked", perPos[p], n, gamma)
			for q := p + 1; q < P; q++ {
				covBinom5(t, g+": positions "+covItoa(p)+","+covItoa(q)+" both masked", pair[p][q], n, gamma*gamma)
			}
		}
		want := make([]float64, P+1)
		for m := range want {
			want[m] = distuv.Binomial{N: P, P: gamma}.Prob(float64(m))
		}
		covChiSquare(t, g+": number of masked positions", sizes, want)
	}
}

// TestCoverageFixedMask: the fixed scheme masks exactly round(γP)
// positions, and the masked set is uniform over all C(P, m) subsets.
// P = 9: γ = 0.3 gives round(2.7) = 3 (floor would give 2), γ = 0.8 gives
// round(7.2) = 7 (ceil would give 8).
func TestCoverageFixedMask(t *testing.T) {
	const P, n = 9, 40000
	for gi, gamma := range []float64{0.3, 0.8} {
		m := int(math.Round(gamma * P))
		s := covBaseSetting(P, []float64{0.2, 0.5, 0.3}, []int{3, 3, 1})
		s.Gamma, s.Mask = gamma, theory.MaskFixed
		counts := make([]int, 1<<P)
		perPos := make([]int, P)
		for _, x := range covDraw(t, &s, uint64(3000+gi), n) {
			code, size := 0, 0
			for p, b := range x.Mask {
				if b {
					code |= 1 << p
					size++
					perPos[p]++
				}
			}
			if size != m {
				t.Fatalf("γ = %v: %d masked positions, want round(γP) = %d", gamma, size, m)
			}
			counts[code]++
		}
		g := "γ = " + covFtoa(gamma)
		for p := 0; p < P; p++ {
			covBinom5(t, g+": position "+covItoa(p)+" masked", perPos[p], n, float64(m)/P)
		}
		// Uniform over the subsets of size m; other codes have probability 0.
		probs := make([]float64, len(counts))
		for code := range probs {
			if covPopcount(code) == m {
				probs[code] = 1 / covBinomial(P, m)
			}
		}
		covChiSquare(t, g+": masked subsets", counts, probs)
	}
}

// TestCoverageZLaws checks each z law on clusters of 3 and 2 areas:
// constant (z = L exactly), uniform on [L, U] (range, mean (L+U)/2, variance
// (U−L)²/12, and a 10-bin χ²), two-point (values L or U, each with
// frequency ½), all independent across areas (per area: correlation between
// areas ≈ 0) unless shared (one z per image: equal across areas, uniform).
// Every law is also independent across images (lag-1 correlation ≈ 0).
func TestCoverageZLaws(t *testing.T) {
	const n = 40000
	const L, U = 0.5, 2.0
	for zi, kind := range []theory.ZKind{theory.ZConstant, theory.ZUniform, theory.ZTwoPoint, theory.ZShared} {
		s := covBaseSetting(6, []float64{0.6, 0.4}, []int{3, 2})
		s.Z = theory.ZLaw{Kind: kind, L: L, U: U}
		if kind == theory.ZConstant {
			s.Z.U = L
		}
		samples := covDraw(t, &s, uint64(4000+zi), n)
		var all, a0, a1, prev, next []float64
		for i, x := range samples {
			for _, z := range x.Z {
				if z < s.Z.L || z > s.Z.U {
					t.Fatalf("%s: z = %v outside [%v, %v]", kind, z, s.Z.L, s.Z.U)
				}
			}
			all = append(all, x.Z...)
			a0, a1 = append(a0, x.Z[0]), append(a1, x.Z[1])
			if i > 0 {
				prev, next = append(prev, samples[i-1].Z[0]), append(next, x.Z[0])
			}
			if kind == theory.ZShared {
				for j, z := range x.Z {
					if z != x.Z[0] {
						t.Fatalf("shared: sample %d has z[%d] = %v ≠ z[0] = %v (one z per image)", i, j, z, x.Z[0])
					}
				}
			}
		}
		switch kind {
		case theory.ZConstant:
			for _, z := range all {
				if z != L {
					t.Fatalf("constant: z = %v, want L = %v", z, L)
				}
			}
			continue
		case theory.ZTwoPoint:
			for j, zs := range [][]float64{a0, a1} {
				hi := 0
				for _, z := range zs {
					switch z {
					case U:
						hi++
					case L:
					default:
						t.Fatalf("two-point: z = %v not in {L, U}", z)
					}
				}
				covBinom5(t, "two-point: z = U in area "+covItoa(j), hi, len(zs), 0.5)
			}
		case theory.ZUniform, theory.ZShared:
			// Shared: one independent draw per image, so test a0 only.
			zs := all
			if kind == theory.ZShared {
				zs = a0
			}
			covCheckUniform(t, string(kind), zs, L, U)
		}
		r := covCorr(a0, a1)
		if kind == theory.ZShared {
			if r < 1-1e-12 {
				t.Errorf("shared: correlation between areas 0 and 1 = %v, want 1", r)
			}
		} else if math.Abs(r)*math.Sqrt(float64(len(a0))) > 5 {
			t.Errorf("%s: correlation between areas 0 and 1 = %.4f, want 0 ± %.4f (independent per area)", kind, r, 5/math.Sqrt(float64(len(a0))))
		}
		if r := covCorr(prev, next); math.Abs(r)*math.Sqrt(float64(len(prev))) > 5 {
			t.Errorf("%s: correlation of z between consecutive images = %.4f, want 0 ± %.4f", kind, r, 5/math.Sqrt(float64(len(prev))))
		}
	}
}

// covCheckUniform tests i.i.d. draws against uniform[L, U]: the mean
// (standard error (U−L)/√(12n)), the variance (standard error
// √((μ₄ − σ⁴)/n) with σ² = (U−L)²/12, μ₄ = (U−L)⁴/80) and a 10-bin χ².
func covCheckUniform(t *testing.T, what string, zs []float64, L, U float64) {
	t.Helper()
	n := float64(len(zs))
	w := U - L
	mean := 0.0
	for _, z := range zs {
		mean += z
	}
	mean /= n
	if se := w / math.Sqrt(12*n); math.Abs(mean-(L+U)/2) > 5*se {
		t.Errorf("%s: mean %.5f, want (L+U)/2 = %.5f ± %.5f", what, mean, (L+U)/2, 5*se)
	}
	v := 0.0
	for _, z := range zs {
		v += (z - (L+U)/2) * (z - (L+U)/2)
	}
	v /= n
	s2, m4 := w*w/12, w*w*w*w/80
	if se := math.Sqrt((m4 - s2*s2) / n); math.Abs(v-s2) > 5*se {
		t.Errorf("%s: variance %.5f, want (U−L)²/12 = %.5f ± %.5f", what, v, s2, 5*se)
	}
	const bins = 10
	counts := make([]int, bins)
	probs := make([]float64, bins)
	for i := range probs {
		probs[i] = 1.0 / bins
	}
	for _, z := range zs {
		counts[min(bins-1, int((z-L)/w*bins))]++
	}
	covChiSquare(t, what+": 10-bin histogram on [L, U]", counts, probs)
}

func covPopcount(x int) int {
	c := 0
	for ; x != 0; x &= x - 1 {
		c++
	}
	return c
}

func covBinomial(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

func covItoa(i int) string { return strconv.Itoa(i) }

func covFtoa(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

func covFmtProbs(p []float64) string {
	s := "["
	for i, x := range p {
		if i > 0 {
			s += " "
		}
		s += covFtoa(x)
	}
	return s + "]"
}
