package theory

import (
	"math"
	"math/rand/v2"
	"slices"

	"mimverify/internal/mutant"
)

// Stream separates the independent random streams drawn from one seed, so
// that, for example, changing the embedding basis never changes the samples.
type Stream uint64

// The random streams of a run.
const (
	streamSamples          Stream = iota + 1 // the fixed sample set of GD
	StreamBasis                              // the orthonormal embedding basis
	StreamInit                               // a Gaussian initialisation of Q
	StreamSGD                                // fresh samples of SGD
	StreamCRN                                // common random numbers of population estimates
	StreamNoise                              // the patch noise of one sample (departures.noise)
	StreamBatch                              // minibatch indices (departures.batch)
	StreamHeads                              // the initial Q of heads 2..h (departures.heads)
	StreamSampleDepartures                   // the fixed sample set's partitions and noise seeds
	StreamSGDDepartures                      // the partitions and noise seeds of SGD's fresh samples
	StreamFalsify                            // the falsify search's starts and choices (judge/falsify.go)
)

// NewRand returns the deterministic generator for one stream of a seed.
func NewRand(seed uint64, stream Stream) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15^uint64(stream)))
}

// Sample is one (image, mask) pair in the form every engine understands:
// the cluster k, the scalars z_{k,j} of its N_k areas, and the mask (true =
// masked) per position. The image itself is x_p = z_{k,j(p)} v_{k,j(p)}.
type Sample struct {
	Cluster int       `json:"cluster"`
	Z       []float64 `json:"z"`
	Mask    []bool    `json:"mask"`
	// Areas, when not nil, is this image's own partition (area label per
	// position; departures.random_partitions), replacing its cluster's.
	Areas []int `json:"areas,omitempty"`
	// NoiseSeed seeds the patch noise of this image (departures.noise):
	// the noise is drawn from NewRand(NoiseSeed, StreamNoise), so that a
	// sample set holds its noise without storing P·d numbers.
	NoiseSeed uint64 `json:"noise_seed,omitempty"`
}

// AreasOf returns the partition of a sample of s: its own, or its
// cluster's.
func (s *Setting) AreasOf(smp *Sample) []int {
	if smp.Areas != nil {
		return smp.Areas
	}
	return s.Clusters[smp.Cluster].Areas
}

// Sampler draws samples from a setting's distribution with a seeded generator.
type Sampler struct {
	s    *Setting
	rng  *rand.Rand
	perm []int
	// aux, when not nil, draws the departures (partition, noise seed) so
	// that a departed sample set is the in-assumption one plus them.
	aux *rand.Rand
}

// NewSampler returns a sampler of s driven by rng. The setting must be valid.
func (s *Setting) NewSampler(rng *rand.Rand) *Sampler {
	return &Sampler{s: s, rng: rng, perm: make([]int, s.P)}
}

// Draw returns a new sample.
func (sp *Sampler) Draw() Sample {
	var smp Sample
	smp.Cluster = sp.drawCluster()
	smp.Z = sp.drawZ(sp.s.Clusters[smp.Cluster].NumAreas())
	smp.Mask = sp.drawMask()
	sp.drawDepartures(&smp) // draws nothing without departures
	return smp
}

// drawCluster draws the image's cluster by the inverse CDF; the last
// cluster absorbs rounding of the sum.
func (sp *Sampler) drawCluster() int {
	s := sp.s
	u := sp.rng.Float64()
	if mutant.On(mutant.ClusterNoLast) {
		u *= 1 - s.Clusters[len(s.Clusters)-1].Prob
	}
	for k, c := range s.Clusters {
		if mutant.On(mutant.ClusterUniform) {
			c.Prob = 1 / float64(len(s.Clusters))
		}
		if u < c.Prob {
			return k
		}
		u -= c.Prob
	}
	return len(s.Clusters) - 1
}

// drawZ draws the z of each of the image's n areas by the setting's law.
func (sp *Sampler) drawZ(n int) []float64 {
	z := make([]float64, n)
	L, U := sp.s.Z.L, sp.s.Z.U
	switch sp.s.Z.Kind {
	case ZConstant:
		for j := range z {
			z[j] = L
		}
	case ZUniform:
		for j := range z {
			z[j] = L + (U-L)*sp.rng.Float64()
			if mutant.On(mutant.ZPerImage) {
				z[j] = z[0]
			}
		}
	case ZTwoPoint:
		for j := range z {
			if sp.rng.Uint64()&1 == 0 {
				z[j] = L
			} else {
				z[j] = U
			}
		}
	case ZShared:
		shared := L + (U-L)*sp.rng.Float64()
		for j := range z {
			z[j] = shared
		}
	}
	if mutant.On(mutant.ZAtMean) {
		for j := range z {
			z[j] = (L + U) / 2
		}
	}
	return z
}

// drawMask draws the mask by the setting's scheme.
func (sp *Sampler) drawMask() []bool {
	s := sp.s
	mask := make([]bool, s.P)
	switch s.Mask {
	case MaskBernoulli:
		gamma := s.Gamma
		if mutant.On(mutant.MaskRate) {
			gamma *= 0.8
		}
		if mutant.On(mutant.MaskComplement) {
			gamma = 1 - gamma
		}
		for p := range mask {
			mask[p] = sp.rng.Float64() < gamma
		}
	case MaskFixed:
		// Partial Fisher–Yates: the first m entries of a random permutation.
		for p := range sp.perm {
			sp.perm[p] = p
		}
		m := s.NumFixedMasked()
		for i := 0; i < m; i++ {
			j := i + sp.rng.IntN(s.P-i)
			sp.perm[i], sp.perm[j] = sp.perm[j], sp.perm[i]
			mask[sp.perm[i]] = true
		}
	}
	if mutant.On(mutant.MaskLeak) && sp.rng.IntN(4) == 0 {
		if p := slices.Index(mask, true); p >= 0 {
			mask[p] = false
		}
	}
	return mask
}

// Samples returns the fixed sample set of size n for a seed: the set that
// every engine using samples (full GD, the exact recursion) trains on.
func (s *Setting) Samples(seed uint64, n int) []Sample {
	sp := s.NewSampler(NewRand(seed, streamSamples)).WithAux(NewRand(seed, StreamSampleDepartures))
	out := make([]Sample, n)
	for i := range out {
		out[i] = sp.Draw()
	}
	return out
}

// CheckSample reports whether a sample is consistent with the setting: a
// cluster index in range, one z in [L, U] per area, one mask flag per
// position. Samples read from files must pass it before use.
func (s *Setting) CheckSample(smp Sample) error {
	if smp.Cluster < 0 || smp.Cluster >= len(s.Clusters) {
		return &FieldError{Field: "cluster", Value: itoa(smp.Cluster), Allowed: "a cluster index in [0, " + itoa(len(s.Clusters)-1) + "]"}
	}
	n := s.Clusters[smp.Cluster].NumAreas()
	if len(smp.Z) != n {
		return &FieldError{Field: "z", Value: "(length " + itoa(len(smp.Z)) + ")", Allowed: "one z per area of cluster " + itoa(smp.Cluster) + " (" + itoa(n) + ")"}
	}
	for _, z := range smp.Z {
		if math.IsNaN(z) || z < s.Z.L || z > s.Z.U {
			return &FieldError{Field: "z", Value: ftoa(z), Allowed: "in [L, U] = [" + ftoa(s.Z.L) + ", " + ftoa(s.Z.U) + "]"}
		}
	}
	if len(smp.Mask) != s.P {
		return &FieldError{Field: "mask", Value: "(length " + itoa(len(smp.Mask)) + ")", Allowed: "one flag per position (P = " + itoa(s.P) + ")"}
	}
	return s.checkSampleAreas(smp, n)
}
