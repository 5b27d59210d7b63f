package judge

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"mimverify/theory"
)

// The factored attention (measure_factored.go) against the direct
// log-sum-exp (attend) on every masked query of presets with both key
// modes, at random states from small to huge scores; and the logit gaps
// from the group sums against their definition, summed key by key. At
// scales 400 and 3000 the factors e^{zA − m_A} and e^{B − m_p} underflow for some
// queries: those must fall back, and the test requires that some do.
func TestFactoredAttentionMatchesDirect(t *testing.T) {
	for _, name := range []string{"grid4", "default", "global-local"} {
		for _, keys := range []theory.KeyMode{theory.KeysUnmasked, theory.KeysAll} {
			s, err := theory.Preset(name)
			if err != nil {
				t.Fatal(err)
			}
			s.Keys = keys
			samples := s.Samples(7, 24)
			fallbacks := 0
			for i, scale := range []float64{0, 0.5, 3, 30, 400, 3000} {
				c := randomState(&s, rand.New(rand.NewPCG(uint64(i), 99)), scale)
				fallbacks += compareFactored(t, &s, c, samples, name, scale)
			}
			if fallbacks == 0 {
				t.Errorf("%s keys %v: no query fell back to the direct softmax at scales 400 and 3000; the test does not reach the fallback", name, keys)
			}
		}
	}
}

// compareFactored checks every masked query of the samples and returns how
// many fell back. Tolerance (absolute, on masses and weights in [0, 1]):
// both sides sum at most P products, each within a few ulps of its exact
// value (exp, products, one division), so they differ by at most about
// (P + 8)·u of the normaliser's scale, u = 2⁻⁵³; 4(P + 8)u leaves room for
// the directions of the roundings. Besides, each side rounds the exponents
// (score differences) at their magnitude, at most 2M with M the query's
// largest |z_j A_j| + |B_{p,q}|: a relative error of up to 2M·u per weight
// on each side, hence 4M·u more.
func compareFactored(t *testing.T, s *theory.Setting, c theory.Correlations, samples []theory.Sample, name string, scale float64) int {
	t.Helper()
	f := newFactoredB(c, s.P)
	piF, piD := make([]float64, s.P), make([]float64, s.P)
	fallbacks := 0
	var g keyGroups // built over the previous sample's lists: their reuse is tested too
	for si := range samples {
		smp := &samples[si]
		areas := s.AreasOf(smp)
		g.build(s, smp, areas)
		w := newQueryWork(len(smp.Z) + 1)
		for p, m := range smp.Mask {
			if !m {
				continue
			}
			groupSums(f, c, g, p, w)
			tol := 4*float64(s.P+8)*0x1p-53 + 4*maxScore(c, smp, areas, p)*0x1p-53
			checkGaps(t, c, smp, areas, g, p, w.bsum, name, scale)
			SF := make([]float64, len(smp.Z))
			if !f.attend(c, smp, g, p, w, SF, piF) {
				fallbacks++
				continue
			}
			SD := attend(s, c, *smp, p, piD)
			for j := range SD {
				if !(math.Abs(SF[j]-SD[j]) <= tol) {
					t.Fatalf("%s scale %v sample %d query %d: area %d mass factored %v, direct %v", name, scale, si, p, j, SF[j], SD[j])
				}
			}
			for q := range piD {
				if !(math.Abs(piF[q]-piD[q]) <= tol) {
					t.Fatalf("%s scale %v sample %d query %d: weight of key %d factored %v, direct %v", name, scale, si, p, q, piF[q], piD[q])
				}
			}
		}
	}
	return fallbacks
}

// checkGaps compares logitGaps with Δ_FP and Δ_PP summed key by key from
// their definition (Attention.FPShare). The sums of at most P terms of size
// ≤ |x|max agree to P·u·|x|max each; 8P·u·(|x|max + 1) covers both sides.
func checkGaps(t *testing.T, c theory.Correlations, smp *theory.Sample, areas []int, g keyGroups, p int, bsum []float64, name string, scale float64) {
	t.Helper()
	k, a := smp.Cluster, areas[p]
	var own, off int
	var fpOff, ppOwn, ppOff, big float64
	for q, m := range smp.Mask {
		if m {
			continue
		}
		big = math.Max(big, math.Max(math.Abs(c.B[p][q]), math.Abs(smp.Z[areas[q]]*c.A[k][p][areas[q]])))
		if areas[q] == a {
			own++
			ppOwn += c.B[p][q]
		} else {
			off++
			fpOff += smp.Z[areas[q]] * c.A[k][p][areas[q]]
			ppOff += c.B[p][q]
		}
	}
	fp, pp, ok := logitGaps(c, smp, g, p, a, bsum)
	if ok != (off > 0 && own > 0) && own > 0 {
		t.Fatalf("%s query %d: ok = %v with %d keys off its area", name, p, ok, off)
	}
	if !ok || own == 0 {
		return
	}
	wantFP := smp.Z[a]*c.A[k][p][a] - fpOff/float64(off)
	wantPP := ppOwn/float64(own) - ppOff/float64(off)
	tol := 8 * float64(len(smp.Mask)) * 0x1p-53 * (big + 1)
	if !(math.Abs(fp-wantFP) <= tol) || !(math.Abs(pp-wantPP) <= tol) {
		t.Fatalf("%s scale %v query %d: gaps (%v, %v), by definition (%v, %v)", name, scale, p, fp, pp, wantFP, wantPP)
	}
}

// maxScore is the largest |z_j A_{k,p,j}| + |B_{p,q}| over the keys of query p.
func maxScore(c theory.Correlations, smp *theory.Sample, areas []int, p int) float64 {
	m := 0.0
	for q := range smp.Mask {
		m = math.Max(m, math.Abs(smp.Z[areas[q]]*c.A[smp.Cluster][p][areas[q]])+math.Abs(c.B[p][q]))
	}
	return m
}

// The measurement's images are evaluated in parallel and folded in order:
// the same bits at any GOMAXPROCS, across several chunks of images.
func TestMeasureAttentionBitsAcrossGOMAXPROCS(t *testing.T) {
	s, err := theory.Preset("global-local")
	if err != nil {
		t.Fatal(err)
	}
	samples := s.Samples(3, 2*measureChunk+17)
	c := randomState(&s, rand.New(rand.NewPCG(5, 6)), 2)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var ref Attention
	for i, procs := range []int{1, 2, 3} {
		runtime.GOMAXPROCS(procs)
		at := MeasureAttention(&s, c, samples, 0.1, 0.1, true)
		if i == 0 {
			ref = at
			continue
		}
		if diff := cmp.Diff(ref, at, cmpopts.EquateNaNs()); diff != "" {
			t.Errorf("GOMAXPROCS %d differs from 1 (-1 +%d):\n%s", procs, procs, diff)
		}
	}
	if ref.Pairs == 0 || ref.Queries == 0 {
		t.Fatalf("nothing measured: %d queries, %d pairs", ref.Queries, ref.Pairs)
	}
}

// BenchmarkMeasureAttention measures one record's measurement on n = 256
// images (without the pair TVs) at P = 64 (default) and 196 (vit14), at a
// state of scale 1.
func BenchmarkMeasureAttention(b *testing.B) {
	for _, name := range []string{"default", "vit14"} {
		b.Run(name, func(b *testing.B) {
			s, err := theory.Preset(name)
			if err != nil {
				b.Fatal(err)
			}
			samples := s.Samples(1, 256)
			c := randomState(&s, rand.New(rand.NewPCG(1, 2)), 1)
			b.ResetTimer()
			for range b.N {
				MeasureAttention(&s, c, samples, 0.1, 0.1, false)
			}
		})
	}
}

// BenchmarkCheck measures a whole check of a preset with the default
// options (make bench runs it with -benchtime 1x).
func BenchmarkCheck(b *testing.B) {
	for _, name := range []string{"default", "vit14"} {
		b.Run(name, func(b *testing.B) {
			s, err := theory.Preset(name)
			if err != nil {
				b.Fatal(err)
			}
			for range b.N {
				if _, err := Check(s, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// summarize's selection against a sort: the minimum, the mean to rounding,
// and the quantile under quantileOf's rule, with ties, NaN and every level.
func TestSummarizeMatchesSort(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		xs := rapid.SliceOfN(rapid.SampledFrom([]float64{-1, 0, 0.25, 0.5, 0.5, 0.75, 1, 3, math.NaN()}), 1, 60).Draw(t, "xs")
		q := rapid.Float64Range(0, 1).Draw(t, "q")
		sorted := slices.Clone(xs)
		sort.Float64s(sorted)
		lo, mean, quant := summarize(slices.Clone(xs), q)
		wantQ := quantileOf(sorted, nil, q)
		sum := 0.0
		for _, x := range sorted {
			sum += x
		}
		same := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
		if !same(lo, sorted[0]) || !same(quant, wantQ) {
			t.Fatalf("summarize(%v, %v): min %v, quantile %v; by sorting %v, %v", xs, q, lo, quant, sorted[0], wantQ)
		}
		// Two sums of n values of size ≤ 3 in different orders: each within
		// n·u·Σ|x| ≤ 3n²u of the exact sum, so the means within 6n·u.
		if want := sum / float64(len(xs)); !same(mean, want) && !(math.Abs(mean-want) <= 6*float64(len(xs))*0x1p-53) {
			t.Fatalf("mean %v, by sorting %v", mean, want)
		}
	})
}
