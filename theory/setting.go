package theory

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Limits on the size of a setting. They keep a mistyped config from asking for
// terabytes, and they are part of the validation errors users see.
const (
	maxP        = 4096
	maxExtraDim = 4096
	maxZ        = 1e6
)

// ZKind names a law of the per-area scalar z ∈ [L, U] (SPEC §1).
type ZKind string

// The z laws. Constant draws z = L (and requires U = L); Uniform draws
// z ~ uniform[L, U] independently per area; TwoPoint draws z ∈ {L, U} with
// probability ½ each, independently per area; Shared draws one
// z ~ uniform[L, U] per image and gives it to every area.
const (
	ZConstant ZKind = "constant"
	ZUniform  ZKind = "uniform"
	ZTwoPoint ZKind = "two-point"
	ZShared   ZKind = "shared"
)

// ZLaw is the distribution of the per-area scalars z.
type ZLaw struct {
	Kind ZKind   `json:"kind"`
	L    float64 `json:"L"`
	U    float64 `json:"U"`
}

// MaskScheme names how the masked set M ⊂ [P] is drawn.
type MaskScheme string

// Bernoulli masks each position independently with probability γ; Fixed masks
// a uniformly random subset of exactly round(γP) positions.
const (
	MaskBernoulli MaskScheme = "bernoulli"
	MaskFixed     MaskScheme = "fixed"
)

// KeyMode names the set of keys a masked query attends to.
type KeyMode string

// KeysUnmasked attends to the unmasked positions only; KeysAll attends to
// every position, the masked ones (the query itself included) carrying
// content 0.
const (
	KeysUnmasked KeyMode = "unmasked"
	KeysAll      KeyMode = "all"
)

// LossNorm names the normalisation of the per-image loss.
type LossNorm string

// LossSum is ½ Σ_{p∈M} ‖ŷ_p − x_p‖²; LossMean divides that by P.
const (
	LossSum  LossNorm = "sum"
	LossMean LossNorm = "mean"
)

// InitKind names the initialisation of the key–query matrix Q.
type InitKind string

// InitZero starts from Q = 0; InitGaussian starts from Q with i.i.d.
// N(0, σ²) entries.
const (
	InitZero     InitKind = "zero"
	InitGaussian InitKind = "gaussian"
)

// Init is the initialisation of Q.
type Init struct {
	Kind  InitKind `json:"kind"`
	Sigma float64  `json:"sigma,omitempty"`
}

// Cluster is one cluster D_k of images: a partition of the P positions into
// N_k areas, given as an area label in 0..N_k−1 per position, and the
// probability π_k that an image comes from this cluster.
type Cluster struct {
	Name  string  `json:"name,omitempty"`
	Areas []int   `json:"areas"`
	Prob  float64 `json:"prob"`
}

// NumAreas returns N_k, the number of areas (one more than the largest label).
func (c Cluster) NumAreas() int {
	n := 0
	for _, a := range c.Areas {
		if a+1 > n {
			n = a + 1
		}
	}
	return n
}

// AreaSizes returns the number of positions in each area.
func (c Cluster) AreaSizes() []int {
	sizes := make([]int, c.NumAreas())
	for _, a := range c.Areas {
		sizes[a]++
	}
	return sizes
}

// Setting is everything SPEC §1 needs to define the data, the model and its
// training. The zero value is not valid; start from a preset or a config file
// and call Resolve, or check a hand-built value with Validate.
type Setting struct {
	// Name is informative only (the preset or file it came from).
	Name string `json:"name,omitempty"`
	// P is the number of patch positions.
	P int `json:"P"`
	// Side is the side of the square grid when P = Side², for display only;
	// 0 when the positions have no grid geometry.
	Side     int       `json:"side,omitempty"`
	Clusters []Cluster `json:"clusters"`
	Z        ZLaw      `json:"z"`
	// Gamma is the masking probability γ ∈ (0, 1).
	Gamma float64    `json:"gamma"`
	Mask  MaskScheme `json:"mask"`
	Keys  KeyMode    `json:"keys"`
	Loss  LossNorm   `json:"loss"`
	// Eta is the gradient-descent step size η > 0.
	Eta  float64 `json:"eta"`
	Init Init    `json:"init"`
	// ExtraDim is the number of embedding dimensions beyond P + Σ_k N_k.
	ExtraDim int `json:"extra_dim"`
}

// NumFeatures returns Σ_k N_k, the number of feature vectors v_{k,j}.
func (s *Setting) NumFeatures() int {
	n := 0
	for _, c := range s.Clusters {
		n += c.NumAreas()
	}
	return n
}

// Dim returns the embedding dimension d = P + Σ_k N_k + ExtraDim.
func (s *Setting) Dim() int { return s.P + s.NumFeatures() + s.ExtraDim }

// NumFixedMasked returns round(γP), the mask size of the fixed scheme.
func (s *Setting) NumFixedMasked() int { return int(math.Round(s.Gamma * float64(s.P))) }

// LossScale returns the factor applied to ½ Σ_{p∈M} ‖ŷ_p − x_p‖²: 1 for the
// sum normalisation, 1/P for the mean.
func (s *Setting) LossScale() float64 {
	if s.Loss == LossMean {
		return 1 / float64(s.P)
	}
	return 1
}

// Clone returns a deep copy.
func (s Setting) Clone() Setting {
	c := s
	c.Clusters = make([]Cluster, len(s.Clusters))
	for k, cl := range s.Clusters {
		c.Clusters[k] = cl
		c.Clusters[k].Areas = append([]int(nil), cl.Areas...)
	}
	return c
}

// Resolve fills the optional fields with their defaults (mask bernoulli, keys
// unmasked, loss sum, init zero, uniform cluster probabilities when none is
// given, U = L for a constant z law) and then validates the result.
func (s *Setting) Resolve() error {
	if s.Mask == "" {
		s.Mask = MaskBernoulli
	}
	if s.Keys == "" {
		s.Keys = KeysUnmasked
	}
	if s.Loss == "" {
		s.Loss = LossSum
	}
	if s.Init.Kind == "" {
		s.Init.Kind = InitZero
	}
	if s.Z.Kind == ZConstant && s.Z.U == 0 {
		s.Z.U = s.Z.L
	}
	allZero := true
	for _, c := range s.Clusters {
		if c.Prob != 0 {
			allZero = false
		}
	}
	if allZero {
		for k := range s.Clusters {
			s.Clusters[k].Prob = 1 / float64(len(s.Clusters))
		}
	}
	return s.Validate()
}

// FieldError reports one invalid field: its path in the config file, the
// value found, and the allowed range.
type FieldError struct {
	Field   string
	Value   string
	Allowed string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s = %s: must be %s", e.Field, e.Value, e.Allowed)
}

// Finite reports whether x is neither NaN nor ±Inf: the one test every
// package uses (engines stop at the first non-finite number; validation
// rejects them).
func Finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Validate checks every field against its allowed range. It returns nil or an
// error joining one *FieldError per problem (use errors.As to inspect them).
func (s *Setting) Validate() error {
	var errs []error
	bad := func(field string, value any, allowed string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Value: fmt.Sprint(value), Allowed: fmt.Sprintf(allowed, args...)})
	}
	if s.P < 2 || s.P > maxP {
		bad("P", s.P, "an integer in [2, %d]", maxP)
	}
	if s.Side != 0 && s.Side*s.Side != s.P {
		bad("side", s.Side, "0 or the square root of P = %d", s.P)
	}
	if len(s.Clusters) == 0 {
		bad("clusters", "[]", "a list of at least one cluster")
	}
	probSum := 0.0
	for k, c := range s.Clusters {
		f := fmt.Sprintf("clusters[%d]", k)
		if len(c.Areas) == 0 {
			bad(f+".areas", "[]", "a list of P = %d area labels", s.P)
		} else if len(c.Areas) != s.P {
			bad(f+".areas", fmt.Sprintf("(length %d)", len(c.Areas)), "a list of exactly P = %d area labels", s.P)
		}
		n := 0
		for p, a := range c.Areas {
			if a < 0 || a >= s.P {
				bad(fmt.Sprintf("%s.areas[%d]", f, p), a, "an area label in [0, P−1 = %d]", s.P-1)
			} else if a+1 > n {
				n = a + 1
			}
		}
		if n > 0 {
			used := make([]bool, n)
			for _, a := range c.Areas {
				if a >= 0 && a < n {
					used[a] = true
				}
			}
			var missing []string
			for j, u := range used {
				if !u {
					missing = append(missing, fmt.Sprint(j))
				}
			}
			if len(missing) > 0 {
				bad(f+".areas", fmt.Sprintf("(labels %s unused)", strings.Join(missing, ",")), "labels covering 0..N_k−1 = 0..%d with no gap", n-1)
			}
		}
		if !Finite(c.Prob) || c.Prob < 0 || c.Prob > 1 {
			bad(f+".prob", c.Prob, "a probability in [0, 1]")
		} else {
			probSum += c.Prob
		}
	}
	if len(s.Clusters) > 0 && math.Abs(probSum-1) > 1e-9 {
		bad("clusters[*].prob", probSum, "probabilities summing to 1 (±1e-9)")
	}
	switch s.Z.Kind {
	case ZConstant, ZUniform, ZTwoPoint, ZShared:
	default:
		bad("z.kind", fmt.Sprintf("%q", s.Z.Kind), "one of constant, uniform, two-point, shared")
	}
	if !Finite(s.Z.L) || s.Z.L <= 0 || s.Z.L > maxZ {
		bad("z.L", s.Z.L, "a number in (0, %g]", maxZ)
	}
	if !Finite(s.Z.U) || s.Z.U <= 0 || s.Z.U > maxZ {
		bad("z.U", s.Z.U, "a number in (0, %g]", maxZ)
	} else if Finite(s.Z.L) && s.Z.U < s.Z.L {
		bad("z.U", s.Z.U, "at least z.L = %g", s.Z.L)
	} else if s.Z.Kind == ZConstant && s.Z.U != s.Z.L {
		bad("z.U", s.Z.U, "equal to z.L = %g for the constant law", s.Z.L)
	}
	if !Finite(s.Gamma) || s.Gamma <= 0 || s.Gamma >= 1 {
		bad("gamma", s.Gamma, "a masking probability in the open interval (0, 1)")
	}
	switch s.Mask {
	case MaskBernoulli:
	case MaskFixed:
		if m := s.NumFixedMasked(); Finite(s.Gamma) && s.P >= 2 && (m < 1 || m > s.P-1) {
			bad("gamma", s.Gamma, "such that round(γP) is in [1, P−1] for the fixed mask scheme (P = %d gives %d)", s.P, m)
		}
	default:
		bad("mask", fmt.Sprintf("%q", s.Mask), "one of bernoulli, fixed")
	}
	switch s.Keys {
	case KeysUnmasked, KeysAll:
	default:
		bad("keys", fmt.Sprintf("%q", s.Keys), "one of unmasked, all")
	}
	switch s.Loss {
	case LossSum, LossMean:
	default:
		bad("loss", fmt.Sprintf("%q", s.Loss), "one of sum, mean")
	}
	if !Finite(s.Eta) || s.Eta <= 0 || s.Eta > 1e6 {
		bad("eta", s.Eta, "a step size in (0, 1e6]")
	}
	switch s.Init.Kind {
	case InitZero:
		if s.Init.Sigma != 0 {
			bad("init.sigma", s.Init.Sigma, "0 (or absent) for the zero initialisation")
		}
	case InitGaussian:
		if !Finite(s.Init.Sigma) || s.Init.Sigma <= 0 || s.Init.Sigma > 10 {
			bad("init.sigma", s.Init.Sigma, "a standard deviation in (0, 10] for the gaussian initialisation")
		}
	default:
		bad("init.kind", fmt.Sprintf("%q", s.Init.Kind), "one of zero, gaussian")
	}
	if s.ExtraDim < 0 || s.ExtraDim > maxExtraDim {
		bad("extra_dim", s.ExtraDim, "an integer in [0, %d]", maxExtraDim)
	}
	return errors.Join(errs...)
}

// Members returns the positions of each area, in increasing order.
func (c Cluster) Members() [][]int {
	m := make([][]int, c.NumAreas())
	for p, a := range c.Areas {
		m[a] = append(m[a], p)
	}
	return m
}

// GlobalArea returns the dominant area of a one-cluster setting with a
// global area (the layout of claim C6): an area more than twice as large as
// every other one. ok is false for other settings. It depends on the areas'
// sizes only, never on their labels: it is the one definition of the global
// area that the rates (Env) and the judge share.
func (s *Setting) GlobalArea() (area int, ok bool) {
	if len(s.Clusters) != 1 {
		return 0, false
	}
	sizes := s.Clusters[0].AreaSizes()
	if len(sizes) < 2 {
		return 0, false
	}
	g := 0
	for j, n := range sizes {
		if n > sizes[g] {
			g = j
		}
	}
	for j, n := range sizes {
		if j != g && 2*n > sizes[g] {
			return 0, false
		}
	}
	return g, true
}
