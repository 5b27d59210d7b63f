package proptest

import (
	"math"

	"pgregory.net/rapid"

	"mimverify/theory"
)

// Bounds limits the settings a generator draws.
type Bounds struct {
	// MaxP bounds the number of positions (at least 2).
	MaxP int
	// MaxClusters bounds the number of clusters (at least 1).
	MaxClusters int
	// MaxAreas bounds the number of areas per cluster (0: up to P).
	MaxAreas int
	// ZKinds, Masks, Keys and Losses restrict the modes drawn (nil: all).
	ZKinds []theory.ZKind
	Masks  []theory.MaskScheme
	Keys   []theory.KeyMode
	Losses []theory.LossNorm
	// Gaussian allows the Gaussian initialisation.
	Gaussian bool
	// MinGamma and MaxGamma bound γ (0: the default range [0.1, 0.9]).
	MinGamma, MaxGamma float64
}

// DefaultBounds are the bounds of the agreement properties: P up to 36, one
// to three clusters, areas of any size from 1 to P, every z law, mask scheme,
// key mode and loss normalisation, both initialisations.
var DefaultBounds = Bounds{MaxP: 36, MaxClusters: 3, Gaussian: true}

func orAll[T any](given, all []T) []T {
	if len(given) > 0 {
		return given
	}
	return all
}

// Partition draws an area label per position for P positions, with a number
// of areas in [1, maxAreas] and every label used; areas have sizes from 1 to
// P. It shrinks towards one area and towards labels in position order.
func Partition(P, maxAreas int) *rapid.Generator[[]int] {
	return rapid.Custom(func(t *rapid.T) []int {
		hi := P
		if maxAreas > 0 && maxAreas < hi {
			hi = maxAreas
		}
		n := rapid.IntRange(1, hi).Draw(t, "areas")
		labels := make([]int, P)
		for p := range labels {
			if p < n {
				labels[p] = p // every label used at least once
			} else {
				labels[p] = rapid.IntRange(0, n-1).Draw(t, "label")
			}
		}
		return rapid.Permutation(labels).Draw(t, "layout")
	})
}

// Settings draws valid, resolved settings within the bounds. The step size
// η is drawn in [0.05, 2] for the summed loss and P times that for the mean
// loss, so that the per-position step is comparable.
func Settings(b Bounds) *rapid.Generator[theory.Setting] {
	return rapid.Custom(func(t *rapid.T) theory.Setting {
		var s theory.Setting
		s.Name = "generated"
		s.P = rapid.IntRange(2, max(2, b.MaxP)).Draw(t, "P")
		K := rapid.IntRange(1, max(1, b.MaxClusters)).Draw(t, "clusters")
		weights := make([]float64, K)
		total := 0.0
		for k := range weights {
			weights[k] = float64(rapid.IntRange(1, 4).Draw(t, "weight"))
			total += weights[k]
		}
		for k := 0; k < K; k++ {
			s.Clusters = append(s.Clusters, theory.Cluster{Areas: Partition(s.P, b.MaxAreas).Draw(t, "partition"), Prob: weights[k] / total})
		}
		kind := rapid.SampledFrom(orAll(b.ZKinds, []theory.ZKind{theory.ZConstant, theory.ZUniform, theory.ZTwoPoint, theory.ZShared})).Draw(t, "z.kind")
		L := rapid.Float64Range(0.3, 1.5).Draw(t, "z.L")
		U := L
		if kind != theory.ZConstant {
			U = L + rapid.Float64Range(0, 1.5).Draw(t, "z.width")
		}
		s.Z = theory.ZLaw{Kind: kind, L: L, U: U}
		s.Mask = rapid.SampledFrom(orAll(b.Masks, []theory.MaskScheme{theory.MaskBernoulli, theory.MaskFixed})).Draw(t, "mask")
		if s.Mask == theory.MaskFixed {
			// round(γP) must be in [1, P−1]: draw the mask size, then γ.
			m := rapid.IntRange(1, s.P-1).Draw(t, "masked")
			s.Gamma = math.Min(0.9, math.Max(0.1, float64(m)/float64(s.P)))
			if r := s.NumFixedMasked(); r < 1 || r > s.P-1 {
				s.Gamma = float64(m) / float64(s.P)
			}
		} else {
			lo, hi := 0.1, 0.9
			if b.MinGamma > 0 {
				lo = b.MinGamma
			}
			if b.MaxGamma > 0 {
				hi = b.MaxGamma
			}
			s.Gamma = rapid.Float64Range(lo, hi).Draw(t, "gamma")
		}
		s.Keys = rapid.SampledFrom(orAll(b.Keys, []theory.KeyMode{theory.KeysUnmasked, theory.KeysAll})).Draw(t, "keys")
		s.Loss = rapid.SampledFrom(orAll(b.Losses, []theory.LossNorm{theory.LossSum, theory.LossMean})).Draw(t, "loss")
		s.Eta = rapid.Float64Range(0.05, 2).Draw(t, "eta")
		if s.Loss == theory.LossMean {
			s.Eta *= float64(s.P)
		}
		s.Init = theory.Init{Kind: theory.InitZero}
		if b.Gaussian && rapid.Bool().Draw(t, "gaussian init") {
			s.Init = theory.Init{Kind: theory.InitGaussian, Sigma: rapid.Float64Range(0.01, 0.5).Draw(t, "sigma")}
		}
		s.ExtraDim = rapid.IntRange(0, 3).Draw(t, "extra_dim")
		if err := s.Resolve(); err != nil {
			t.Fatalf("generated an invalid setting: %v", err)
		}
		return s
	})
}
