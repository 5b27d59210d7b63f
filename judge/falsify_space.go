package judge

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"mimverify/theory"
)

// SearchDim is one continuous field of a falsify search: its name (one of
// SearchFields), its range, and whether it is searched on a log scale
// (a step size or a tolerance spans decades; a probability does not).
type SearchDim struct {
	Field  string  `json:"field"`
	Lo     float64 `json:"lo"`
	Hi     float64 `json:"hi"`
	Log    bool    `json:"log,omitempty"`
	Detail string  `json:"detail,omitempty"`
}

// at maps u ∈ [0, 1] to the field's value.
func (d SearchDim) at(u float64) float64 {
	u = math.Min(1, math.Max(0, u))
	if d.Log {
		return d.Lo * math.Pow(d.Hi/d.Lo, u)
	}
	return d.Lo + u*(d.Hi-d.Lo)
}

// unit maps a value back to u ∈ [0, 1] (clamped).
func (d SearchDim) unit(v float64) float64 {
	var u float64
	if d.Log {
		u = math.Log(v/d.Lo) / math.Log(d.Hi/d.Lo)
	} else {
		u = (v - d.Lo) / (d.Hi - d.Lo)
	}
	return math.Min(1, math.Max(0, u))
}

// Layout is one choice of positions and clusters of a falsify search: P,
// the clusters' partitions, and the setting it comes from.
type Layout struct {
	Name string `json:"name"`
	// P and K are the number of positions and of clusters; shrinking
	// prefers smaller layouts in this order.
	P int `json:"P"`
	K int `json:"K"`
	// setting is the layout's setting, of which a candidate keeps P, the
	// side and the clusters' partitions.
	setting theory.Setting
}

// SearchSpace is where falsify looks for a counterexample: the continuous
// fields with their ranges, the z laws, and a family of layouts. The space
// is declared per field, once, for every claim; each claim's regime then
// cuts its own part out of it (a candidate outside the regime is not a
// counterexample, and the search is pushed back in by the regime's
// violation, falsify.go).
type SearchSpace struct {
	Dims    []SearchDim    `json:"dims"`
	ZKinds  []theory.ZKind `json:"z_kinds"`
	Layouts []Layout       `json:"layouts"`
}

// SearchFields are the continuous fields a search space may declare: the
// setting's γ, η, z's lower end L and the spread U/L of its range (so that
// U ≥ L holds everywhere in the box), the check's ε and δ, and the skew of
// the cluster probabilities (π_k ∝ e^{skew·(k − (K−1)/2)}; ignored for one
// cluster).
var SearchFields = []string{"gamma", "eta", "z.L", "z.spread", "epsilon", "delta", "cluster_skew"}

// DefaultSearchSpace is the space falsify searches when none is given: the
// ranges in which the paper's setting makes sense (γ away from 0 and 1, a
// step size from far inside to far outside the rate regime, z from 0.2 to
// 8, ε and δ down to a few per cent), the three per-area z laws, and a
// family of small layouts around the base setting's own (grids of 4 to 8
// positions a side with blocks, rows and columns, global+local lines). A
// 4×4 grid of 2×2 blocks in one cluster is left out: with a spread z law
// its orbit expectation took 70 s a step budget (docs/FALSIFY.md §1).
func DefaultSearchSpace(base theory.Setting) (*SearchSpace, error) {
	sp := &SearchSpace{
		Dims: []SearchDim{
			{Field: "gamma", Lo: 0.1, Hi: 0.9, Detail: "masking probability γ"},
			{Field: "eta", Lo: 0.1, Hi: 100, Log: true, Detail: "step size η"},
			{Field: "z.L", Lo: 0.2, Hi: 2, Log: true, Detail: "lower end L of the z law"},
			{Field: "z.spread", Lo: 1, Hi: 4, Log: true, Detail: "U/L (ignored for a constant z)"},
			{Field: "epsilon", Lo: 0.02, Hi: 0.3, Log: true, Detail: "ε of C3, C5"},
			{Field: "delta", Lo: 0.05, Hi: 0.5, Detail: "δ of C3, C5"},
			{Field: "cluster_skew", Lo: -1.5, Hi: 1.5, Detail: "π_k ∝ e^{skew·(k − (K−1)/2)}"},
		},
		ZKinds: []theory.ZKind{theory.ZConstant, theory.ZUniform, theory.ZTwoPoint},
	}
	base = base.Clone()
	if err := base.Resolve(); err != nil {
		return nil, err
	}
	family := []struct {
		name string
		make func() (theory.Setting, error)
	}{
		{"as given (" + base.Name + ")", func() (theory.Setting, error) { return base, nil }},
		{"grid4 blocks2+rows2", func() (theory.Setting, error) { return theory.Grid(4, theory.Blocks(2), theory.Rows(2)) }},
		{"grid4 rows2+columns2", func() (theory.Setting, error) { return theory.Grid(4, theory.Rows(2), theory.Columns(2)) }},
		{"line 2+2+2", func() (theory.Setting, error) { return theory.GlobalLocal(2, 2, 2) }},
		{"global-local 6+2+2", func() (theory.Setting, error) { return theory.GlobalLocal(6, 2, 2) }},
		{"global-local 10+3+3", func() (theory.Setting, error) { return theory.GlobalLocal(10, 3, 3) }},
		{"grid6 blocks3+rows2", func() (theory.Setting, error) { return theory.Grid(6, theory.Blocks(3), theory.Rows(2)) }},
		{"grid8 blocks4+rows2+columns2", func() (theory.Setting, error) {
			return theory.Grid(8, theory.Blocks(4), theory.Rows(2), theory.Columns(2))
		}},
	}
	for _, f := range family {
		s, err := f.make()
		if err != nil {
			return nil, fmt.Errorf("layout %s: %w", f.name, err)
		}
		if f.name != family[0].name && slices.ContainsFunc(sp.Layouts, func(l Layout) bool { return sameLayout(&l.setting, &s) }) {
			continue
		}
		sp.Layouts = append(sp.Layouts, Layout{Name: f.name, P: s.P, K: len(s.Clusters), setting: s})
	}
	// The base layout stays first (a search starts around it); the rest
	// go from small to large, the order in which shrinking tries them.
	slices.SortStableFunc(sp.Layouts[1:], func(a, b Layout) int { return cmpLayout(&a, &b) })
	return sp, sp.validate()
}

// sameLayout reports whether two settings have the same positions and
// partitions (their probabilities aside).
func sameLayout(a, b *theory.Setting) bool {
	if a.P != b.P || len(a.Clusters) != len(b.Clusters) {
		return false
	}
	for k := range a.Clusters {
		if !slices.Equal(a.Clusters[k].Areas, b.Clusters[k].Areas) {
			return false
		}
	}
	return true
}

func cmpLayout(a, b *Layout) int {
	if a.P != b.P {
		return a.P - b.P
	}
	return a.K - b.K
}

// validate checks a space: known fields, each once, finite ranges with
// Lo < Hi (Lo > 0 on a log scale), and at least one z law and layout.
func (sp *SearchSpace) validate() error {
	var errs []string
	for i, d := range sp.Dims {
		switch {
		case !slices.Contains(SearchFields, d.Field):
			errs = append(errs, fmt.Sprintf("dim %s: unknown field; the fields are %s", d.Field, strings.Join(SearchFields, ", ")))
		case slices.ContainsFunc(sp.Dims[:i], func(o SearchDim) bool { return o.Field == d.Field }):
			errs = append(errs, fmt.Sprintf("dim %s: given twice", d.Field))
		case !(d.Lo < d.Hi) || math.IsInf(d.Lo, 0) || math.IsInf(d.Hi, 0):
			errs = append(errs, fmt.Sprintf("dim %s: range [%g, %g] must be finite with lo < hi", d.Field, d.Lo, d.Hi))
		case d.Log && !(d.Lo > 0):
			errs = append(errs, fmt.Sprintf("dim %s: a log-scale range must be positive, got lo = %g", d.Field, d.Lo))
		}
	}
	if len(sp.ZKinds) == 0 || len(sp.Layouts) == 0 {
		errs = append(errs, "give at least one z law and one layout")
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: search space: %s", ErrOptions, strings.Join(errs, "; "))
	}
	return nil
}

// Candidate is one point of a falsify search: a layout (its index in the
// space), a z law and the values of the continuous fields, in the order of
// the space's Dims.
type Candidate struct {
	Layout int          `json:"layout"`
	ZKind  theory.ZKind `json:"z_kind"`
	Values []Float      `json:"values"`
}

func (c Candidate) clone() Candidate {
	c.Values = slices.Clone(c.Values)
	return c
}

// key identifies a candidate for the evaluation cache (values to 12
// significant digits: the optimiser's own rounding noise is not a new
// point).
func (c Candidate) key() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d|%s", c.Layout, c.ZKind)
	for _, v := range c.Values {
		fmt.Fprintf(&b, "|%.12g", v)
	}
	return b.String()
}

// value returns the candidate's value of a field and whether the space has it.
func (sp *SearchSpace) value(c Candidate, field string) (float64, bool) {
	i := slices.IndexFunc(sp.Dims, func(d SearchDim) bool { return d.Field == field })
	if i < 0 {
		return 0, false
	}
	return float64(c.Values[i]), true
}

// Describe prints a candidate as its fields, as a person reads it.
func (sp *SearchSpace) Describe(c Candidate) string {
	parts := []string{"layout " + sp.Layouts[c.Layout].Name, "z " + string(c.ZKind)}
	for i, d := range sp.Dims {
		if (d.Field == "z.spread" && c.ZKind == theory.ZConstant) || (d.Field == "cluster_skew" && sp.Layouts[c.Layout].K == 1) {
			continue // not read by the candidate's setting
		}
		parts = append(parts, fmt.Sprintf("%s = %.4g", d.Field, float64(c.Values[i])))
	}
	return strings.Join(parts, ", ")
}

// Build returns the setting and the judge's options of a candidate: the
// base options with ε and δ from the candidate where the space has them.
// The setting carries no required claims (a search asks itself which claim
// it judges).
func (sp *SearchSpace) Build(c Candidate, base Options) (theory.Setting, Options, error) {
	s := sp.Layouts[c.Layout].setting.Clone()
	s.Require = nil
	opt := base
	get := func(field string, def float64) float64 {
		if v, ok := sp.value(c, field); ok {
			return v
		}
		return def
	}
	s.Gamma, s.Eta = get("gamma", s.Gamma), get("eta", s.Eta)
	s.Z.Kind, s.Z.L = c.ZKind, get("z.L", s.Z.L)
	spread := 1.0
	if s.Z.L > 0 && s.Z.U > s.Z.L {
		spread = s.Z.U / s.Z.L
	}
	s.Z.U = s.Z.L * get("z.spread", spread)
	if s.Z.Kind == theory.ZConstant || s.Z.U <= s.Z.L {
		s.Z.Kind, s.Z.U = theory.ZConstant, s.Z.L
	}
	opt.Epsilon, opt.Delta = get("epsilon", opt.Epsilon), get("delta", opt.Delta)
	if skew, ok := sp.value(c, "cluster_skew"); ok && len(s.Clusters) > 1 {
		setSkew(&s, skew)
	}
	s.Name = "falsify-" + strings.NewReplacer(" ", "-", "+", "-", "(", "", ")", "").Replace(sp.Layouts[c.Layout].Name)
	if err := s.Validate(); err != nil {
		return s, opt, err
	}
	return s, opt, nil
}

// setSkew sets the cluster probabilities π_k ∝ e^{skew·(k − (K−1)/2)}.
func setSkew(s *theory.Setting, skew float64) {
	K := len(s.Clusters)
	sum := 0.0
	w := make([]float64, K)
	for k := range w {
		w[k] = math.Exp(skew * (float64(k) - float64(K-1)/2))
		sum += w[k]
	}
	for k := range w {
		s.Clusters[k].Prob = w[k] / sum
	}
}

// spaceFile is a search space file as the user writes it (docs/FALSIFY.md
// §1): the continuous fields with their ranges (replacing the default
// dims when given), the z laws, and layouts by name from the default
// family ("as given" is the base setting's own).
type spaceFile struct {
	Dims    []SearchDim    `json:"dims"`
	ZKinds  []theory.ZKind `json:"z_kinds"`
	Layouts []string       `json:"layouts"`
}

// ParseSearchSpace reads a search space file (YAML or JSON, strictly: an
// unknown key is an error naming it) over the default space of base:
// what the file gives replaces the default's part, what it leaves out is
// the default's.
func ParseSearchSpace(data []byte, base theory.Setting) (*SearchSpace, error) {
	var f spaceFile
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, fmt.Errorf("%w: search space: %w", ErrOptions, err)
	}
	sp, err := DefaultSearchSpace(base)
	if err != nil {
		return nil, err
	}
	if f.Dims != nil {
		sp.Dims = f.Dims
	}
	for _, z := range f.ZKinds {
		if !slices.Contains([]theory.ZKind{theory.ZConstant, theory.ZUniform, theory.ZTwoPoint}, z) {
			return nil, fmt.Errorf("%w: search space: z_kinds: %q must be one of constant, uniform, two-point", ErrOptions, z)
		}
	}
	if f.ZKinds != nil {
		sp.ZKinds = f.ZKinds
	}
	if f.Layouts != nil {
		var chosen []Layout
		for _, name := range f.Layouts {
			i := slices.IndexFunc(sp.Layouts, func(l Layout) bool {
				return l.Name == name || (name == "as given" && strings.HasPrefix(l.Name, "as given"))
			})
			if i < 0 {
				var names []string
				for _, l := range sp.Layouts {
					names = append(names, l.Name)
				}
				return nil, fmt.Errorf("%w: search space: layouts: %q is not one of %s", ErrOptions, name, strings.Join(names, "; "))
			}
			chosen = append(chosen, sp.Layouts[i])
		}
		sp.Layouts = chosen
	}
	return sp, sp.validate()
}
