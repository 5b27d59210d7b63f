package theory

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"mimverify/internal/mutant"
)

// Limits on the size of a setting. They keep a mistyped config from asking for
// terabytes, and they are part of the validation errors users see.
const (
	maxP        = 4096
	maxExtraDim = 4096
	maxZ        = 1e6
	// maxClusters bounds the number of clusters K. The presets have 1 to 3;
	// every engine's cost per step grows at least like K (A has K·P·N_k
	// entries) and the claims' times like 1/π_min ≥ K, so K = 64 is already
	// some 20 times the default setting's cost and times. The cap also
	// bounds a setting to K·P ≤ 2¹⁸ area labels, which bounds the cost of
	// reading a config (docs/FORMATS.md).
	maxClusters = 64
	// maxReportedErrors bounds the problems one error lists; the others are
	// counted ("… and N more").
	maxReportedErrors = 20
)

// The allowed ranges as the errors state them, shared by Validate and by the
// config parser's type errors.
var (
	allowP        = fmt.Sprintf("an integer in [2, %d]", maxP)
	allowSide     = "0 or the square root of P"
	allowClusters = fmt.Sprintf("a list of 1 to %d clusters {name, areas, prob}", maxClusters)
	allowAreas    = fmt.Sprintf("a list of exactly P area labels (P ≤ %d)", maxP)
	allowLabel    = "an area label in [0, P−1]"
	allowProb     = "a probability in [0, 1]"
	allowZ        = fmt.Sprintf("a number in (0, %g]", maxZ)
	allowZKind    = "one of constant, uniform, two-point, shared"
	allowGamma    = "a masking probability in the open interval (0, 1)"
	allowMask     = "one of bernoulli, fixed"
	allowKeys     = "one of unmasked, all"
	allowLoss     = "one of sum, mean"
	allowEta      = fmt.Sprintf("a step size in [%g, %g]", MinEta, MaxEta)
	allowInitKind = "one of zero, gaussian"
	allowSigma    = "0 for the zero initialisation, or a standard deviation in (0, 10] for the gaussian one"
	allowExtraDim = fmt.Sprintf("an integer in [0, %d]", maxExtraDim)
	allowRequire  = "a list of distinct claim ids, each one of " + strings.Join(ClaimIDs(), ", ")
)

// MinEta and MaxEta bound the step size η. The lower bound keeps every
// step size derived from η a normal positive number: C8's agreement run
// steps with η/4, which a subnormal η (5e-324) would round to 0; below
// 1e-9 a run of the step budget (at most 10⁷ steps) moves the state by
// less than 1e-2·|gradient| and measures nothing.
const (
	MinEta = 1e-9
	MaxEta = 1e6
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
	// Require lists the claims a check of this setting must assert: one
	// outside its regime (or not measurable) fails the check as a failing
	// claim does. A preset carries its own list ('mimverify presets'); a
	// file with "preset: NAME" inherits NAME's unless it says "require:".
	// Engines ignore it; sweeps, which explore beyond the regimes on
	// purpose, require only what --require names (docs/SWEEPS.md).
	Require []string `json:"require,omitempty"`
	// Departures from SPEC §1's assumptions (docs/ASSUMPTIONS.md); the zero
	// value (none) is omitted from the JSON form.
	Departures Departures `json:"departures,omitzero"`
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
	scale := 1.0
	if s.Loss == LossMean || mutant.On(mutant.LossPerP) {
		scale = 1 / float64(s.P)
	}
	if mutant.On(mutant.LossPerGamma) {
		scale /= s.Gamma
	}
	return scale
}

// validateRequire checks the required claims: distinct ids of claims.
func (s *Setting) validateRequire(errs *errorList) {
	for i, id := range s.Require {
		if !slices.Contains(ClaimIDs(), id) || slices.Contains(s.Require[:i], id) {
			errs.bad(fmt.Sprintf("require[%d]", i), fmt.Sprintf("%q", id), allowRequire)
		}
	}
}

// Clone returns a deep copy.
func (s Setting) Clone() Setting {
	c := s
	c.Require = slices.Clone(s.Require)
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
	s.Departures.resolve()
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

// errorList collects the problems of one input, keeping the first
// maxReportedErrors and counting the rest, so that a file with a million bad
// labels gives a short message quickly.
type errorList struct {
	errs []error
	more int
}

func (l *errorList) full() bool { return len(l.errs) >= maxReportedErrors }

func (l *errorList) add(err error) {
	if l.full() {
		l.more++
		return
	}
	l.errs = append(l.errs, err)
}

// bad adds a *FieldError, formatting it only when it will be listed.
func (l *errorList) bad(field string, value any, allowed string) {
	if l.full() {
		l.more++
		return
	}
	l.add(&FieldError{Field: field, Value: fmt.Sprint(value), Allowed: allowed})
}

func (l *errorList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	return &multiError{Errs: l.errs, More: l.more}
}

// multiError is the error of an input with several problems: the first
// maxReportedErrors of them, and the number of the others. Its Unwrap lets
// errors.As find each listed *FieldError.
type multiError struct {
	Errs []error
	More int
}

func (e *multiError) Error() string {
	var b strings.Builder
	for i, err := range e.Errs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(err.Error())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\n… and %d more problems (only the first %d are listed)", e.More, len(e.Errs))
	}
	return b.String()
}

func (e *multiError) Unwrap() []error { return e.Errs }

// Finite reports whether x is neither NaN nor ±Inf: the one test every
// package uses (engines stop at the first non-finite number; validation
// rejects them).
func Finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Validate checks every field against its allowed range. It returns nil or an
// *errorList listing one *FieldError per problem, the first maxReportedErrors of
// them (use errors.As to inspect them).
func (s *Setting) Validate() error {
	var errs errorList
	bad := errs.bad
	// A bad P is reported alone: the checks that compare other fields with
	// P (side, the labels, the fixed mask's count) are skipped.
	pOK := s.P >= 2 && s.P <= maxP
	if !pOK {
		bad("P", s.P, allowP)
	}
	if pOK && s.Side != 0 && s.Side*s.Side != s.P {
		bad("side", s.Side, fmt.Sprintf("0 or the square root of P = %d", s.P))
	}
	if len(s.Clusters) == 0 {
		bad("clusters", "[]", "a list of at least one cluster")
	} else if len(s.Clusters) > maxClusters {
		bad("clusters", fmt.Sprintf("(a list of %d clusters)", len(s.Clusters)), allowClusters)
		return errs.err()
	}
	s.validateClusters(&errs, pOK)
	switch s.Z.Kind {
	case ZConstant, ZUniform, ZTwoPoint, ZShared:
	default:
		bad("z.kind", fmt.Sprintf("%q", s.Z.Kind), allowZKind)
	}
	if !Finite(s.Z.L) || s.Z.L <= 0 || s.Z.L > maxZ {
		bad("z.L", s.Z.L, allowZ)
	}
	if !Finite(s.Z.U) || s.Z.U <= 0 || s.Z.U > maxZ {
		bad("z.U", s.Z.U, allowZ)
	} else if Finite(s.Z.L) && s.Z.U < s.Z.L {
		bad("z.U", s.Z.U, fmt.Sprintf("at least z.L = %g", s.Z.L))
	} else if s.Z.Kind == ZConstant && s.Z.U != s.Z.L {
		bad("z.U", s.Z.U, fmt.Sprintf("equal to z.L = %g for the constant law", s.Z.L))
	}
	if !Finite(s.Gamma) || s.Gamma <= 0 || s.Gamma >= 1 {
		bad("gamma", s.Gamma, allowGamma)
	}
	switch s.Mask {
	case MaskBernoulli:
	case MaskFixed:
		if m := s.NumFixedMasked(); Finite(s.Gamma) && pOK && (m < 1 || m > s.P-1) {
			bad("gamma", s.Gamma, fmt.Sprintf("such that round(γP) is in [1, P−1] for the fixed mask scheme (P = %d gives %d)", s.P, m))
		}
	default:
		bad("mask", fmt.Sprintf("%q", s.Mask), allowMask)
	}
	switch s.Keys {
	case KeysUnmasked, KeysAll:
	default:
		bad("keys", fmt.Sprintf("%q", s.Keys), allowKeys)
	}
	switch s.Loss {
	case LossSum, LossMean:
	default:
		bad("loss", fmt.Sprintf("%q", s.Loss), allowLoss)
	}
	s.validateRequire(&errs)
	if !Finite(s.Eta) || s.Eta < MinEta || s.Eta > MaxEta {
		bad("eta", s.Eta, allowEta)
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
		bad("init.kind", fmt.Sprintf("%q", s.Init.Kind), allowInitKind)
	}
	if s.ExtraDim < 0 || s.ExtraDim > maxExtraDim {
		bad("extra_dim", s.ExtraDim, allowExtraDim)
	}
	s.validateDepartures(&errs)
	return errs.err()
}

// validateClusters checks the clusters' labels and probabilities. The
// labels are checked against P only when P itself is valid: against a bad
// P every label would be "wrong", a cascade that buries the one error.
func (s *Setting) validateClusters(errs *errorList, pOK bool) {
	bad := errs.bad
	probSum := 0.0
	for k, c := range s.Clusters {
		f := fmt.Sprintf("clusters[%d]", k)
		if pOK {
			s.validateAreas(errs, f, c)
		}
		if !Finite(c.Prob) || c.Prob < 0 || c.Prob > 1 {
			bad(f+".prob", c.Prob, allowProb)
		} else {
			probSum += c.Prob
		}
	}
	if len(s.Clusters) > 0 && math.Abs(probSum-1) > 1e-9 {
		bad("clusters[*].prob", probSum, "probabilities summing to 1 (±1e-9)")
	}
}

// validateAreas checks the area labels of cluster c (named f) against P.
func (s *Setting) validateAreas(errs *errorList, f string, c Cluster) {
	bad := errs.bad
	if len(c.Areas) == 0 {
		bad(f+".areas", "[]", fmt.Sprintf("a list of P = %d area labels", s.P))
	} else if len(c.Areas) != s.P {
		bad(f+".areas", fmt.Sprintf("(length %d)", len(c.Areas)), fmt.Sprintf("a list of exactly P = %d area labels", s.P))
	}
	n := 0
	for p, a := range c.Areas {
		if a < 0 || a >= s.P {
			if errs.full() {
				errs.more++
				continue
			}
			bad(fmt.Sprintf("%s.areas[%d]", f, p), a, fmt.Sprintf("an area label in [0, P−1 = %d]", s.P-1))
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
			bad(f+".areas", fmt.Sprintf("(labels %s unused)", strings.Join(missing, ",")), fmt.Sprintf("labels covering 0..N_k−1 = 0..%d with no gap", n-1))
		}
	}
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
