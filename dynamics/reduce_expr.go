package dynamics

import (
	"errors"
	"fmt"
	"slices"

	"mimverify/theory"
	"mimverify/theory/expr"
)

// This file builds the closed form of the mean-field system (level 5,
// docs/ORBIT.md §5 and docs/REDUCE.md) as symbolic expressions: the loss of
// each query class as an Expr of the orbit variables, and the right-hand side
// dx_o/dτ = −g_o obtained from it with Expr.Diff. It is built from the
// setting and the symmetry's orbits directly (not from the engine's lumped
// classes), so that comparing it with Orbit.LossGrad checks the engine.

// ClosedFormReason returns why no closed form of the reduced right-hand side
// is given for s at the level asked (meanField false: the orbit level 4), or
// "" when there is one: the mean field with a constant z law.
func ClosedFormReason(s *theory.Setting, meanField bool) string {
	if !meanField {
		return "the orbit (level 4) expectation is a sum over the vectors of unmasked counts per key cell " +
			"(independent binomials, or a multivariate hypergeometric law for fixed masks), weighted by their " +
			"probabilities: a finite but long sum, not a formula worth printing; the mean field (--meanfield) has one for a constant z law"
	}
	if !constantZ(s) {
		switch s.Z.Kind {
		case theory.ZTwoPoint:
			return "z is two-point and independent across areas: the expectation over z is a sum over 2^N z vectors per cluster; no closed form is printed (use a constant z law)"
		default:
			return fmt.Sprintf("z is %s on [%g, %g]: the expectation over z is an integral, which the engine evaluates by Gauss–Legendre quadrature; no closed form is printed (use a constant z law)", s.Z.Kind, s.Z.L, s.Z.U)
		}
	}
	return ""
}

// MeanFieldSystem is the closed form of the mean-field system for a constant
// z law, written with auxiliary quantities: Defs (evaluated in order) give
// each area's unnormalised attention mass T_i and each query's softmax
// normaliser Z_b in terms of the variables; Queries[i] is the loss Λ of the
// i-th query representative in terms of those; Loss = Σ_p |orbit(p)|·Λ_p;
// and RHS[o] = dx_o/dτ = −g_o, g the per-entry gradient of Orbit.LossGrad,
// obtained by the chain rule through the definitions with Expr.Diff
// (docs/REDUCE.md §3).
type MeanFieldSystem struct {
	// Params binds the setting's parameters that the expressions name
	// (γ or P and m, z, π_k); ParamOrder lists them in print order.
	Params     expr.Env
	ParamOrder []string
	ParamDoc   map[string]string
	Defs       []Definition
	// Queries[i] is Λ_{p0} = Σ_k π_k·λ·Pr(p0 ∈ M)·ℓ_{p0,k} for the query
	// representative QueryRep[i] (the smallest position of its orbit),
	// whose orbit has OrbitSize[i] positions.
	Queries   []expr.Expr
	QueryRep  []int
	OrbitSize []int
	Loss      expr.Expr
	RHS       []expr.Expr
	Row       []int // index into Queries of the row each RHS differentiates
	Divisor   []int // entries of the orbit in that row
	blocks    [][]mfBlock
}

// Definition is an auxiliary quantity: Name = Expr.
type Definition struct {
	Name    string
	Expr    expr.Expr
	Meaning string
}

// Env returns the parameters, the variables at x and the definitions
// evaluated in order: the environment the right-hand side is evaluated in.
func (m *MeanFieldSystem) Env(names []string, x []float64) (expr.Env, error) {
	env := expr.Env{}
	for k, v := range m.Params {
		env[k] = v
	}
	for i, n := range names {
		env[n] = x[i]
	}
	for _, d := range m.Defs {
		v, err := d.Expr.Eval(env)
		if err != nil {
			return nil, err
		}
		env[d.Name] = v
	}
	return env, nil
}

// mfBlock is one (query, cluster) softmax: Z = Σ_j mult_j·T_j + masked.
type mfBlock struct {
	T      []mfAux
	Z      string
	masked expr.Expr // masked keys and the query itself (keys "all"), or 0
}

type mfAux struct {
	name string
	def  expr.Expr
	mult int
}

// mfCell is one key cell of a query: the keys q ≠ p0 of one area with one
// PP variable.
type mfCell struct{ pp, n int }

// mfArea is one area of the query's cluster, as the loss sees it.
type mfArea struct {
	fp    int
	own   bool
	cells []mfCell
}

func (a mfArea) key() string { return fmt.Sprint(a.fp, a.own, a.cells) }

// mfBuilder holds what the query losses share.
type mfBuilder struct {
	m       *MeanFieldSystem
	s       *theory.Setting
	sy      *Symmetry
	z, ubar expr.Expr
	sym     func(int) expr.Expr
	maxInt  int
	nT, nZ  int // auxiliary names given so far
}

// NewMeanFieldSystem builds the closed form for the valid setting s with a
// constant z law, on the orbits of sy, the variables named by names (len
// NumFP + NumPP).
func NewMeanFieldSystem(s *theory.Setting, sy *Symmetry, names []string) (*MeanFieldSystem, error) {
	if r := ClosedFormReason(s, true); r != "" {
		return nil, fmt.Errorf("dynamics: reduce: %s", r)
	}
	if D := sy.NumFP + sy.NumPP; len(names) != D || sy.P != s.P {
		return nil, fmt.Errorf("dynamics: reduce: %d names for %d variables", len(names), D)
	}
	m := &MeanFieldSystem{Params: expr.Env{}, ParamDoc: map[string]string{}}
	b := &mfBuilder{m: m, s: s, sy: sy, sym: func(o int) expr.Expr { return expr.Sym(names[o]) }}
	b.z = m.param("z", s.Z.L, "the constant z of every area")
	// ū: the probability that a key q ≠ p0 is unmasked given p0 ∈ M; qM:
	// Pr(p0 ∈ M).
	var qM expr.Expr
	if s.Mask == theory.MaskFixed {
		P := m.param("P", float64(s.P), "number of positions")
		mm := m.param("m", float64(s.NumFixedMasked()), "masked positions per image, round(γP)")
		b.ubar, qM = expr.Div(expr.Sub(P, mm), expr.Sub(P, expr.Num(1))), expr.Div(mm, P)
	} else {
		g := m.param("γ", s.Gamma, "masking probability")
		b.ubar, qM = expr.Sub(expr.Num(1), g), g
	}
	reps, sizes := orbitReps(sy)
	var total []expr.Expr
	for i, p0 := range reps {
		var terms []expr.Expr
		var blocks []mfBlock
		for k, cl := range s.Clusters {
			if cl.Prob == 0 {
				continue
			}
			w := []expr.Expr{qM}
			if len(s.Clusters) > 1 {
				w = append(w, m.param(fmt.Sprintf("π_%d", k), cl.Prob, fmt.Sprintf("probability of cluster %d", k)))
			}
			if s.Loss == theory.LossMean {
				w = append(w, expr.Div(expr.Num(1), m.param("P", float64(s.P), "number of positions")))
			}
			l, blk := b.queryLoss(k, p0)
			blocks = append(blocks, blk)
			terms = append(terms, expr.Mul(append(w, l)...))
		}
		b.maxInt = max(b.maxInt, sizes[i])
		m.Queries = append(m.Queries, sumOf(terms))
		m.blocks = append(m.blocks, blocks)
		m.QueryRep, m.OrbitSize = append(m.QueryRep, p0), append(m.OrbitSize, sizes[i])
		total = append(total, scale(sizes[i], m.Queries[i]))
	}
	m.Loss = sumOf(total)
	if err := m.buildRHS(s, sy, names); err != nil {
		return nil, err
	}
	for _, d := range m.Divisor {
		b.maxInt = max(b.maxInt, d)
	}
	if b.maxInt >= MaxPrintedInt {
		return nil, fmt.Errorf("%w: it has the integer %d, beyond the exact range of the formula printer (< %d)", ErrNotPrintable, b.maxInt, MaxPrintedInt)
	}
	return m, nil
}

func (m *MeanFieldSystem) param(name string, v float64, doc string) expr.Expr {
	if _, ok := m.Params[name]; !ok {
		m.Params[name], m.ParamDoc[name] = v, doc
		m.ParamOrder = append(m.ParamOrder, name)
	}
	return expr.Sym(name)
}

// ErrNotPrintable is returned by NewMeanFieldSystem when the closed form
// exists but would not print exactly.
var ErrNotPrintable = errors.New("the closed form would not print exactly")

// MaxPrintedInt bounds the integers of a printed closed form: Expr.String
// prints numbers with 4 significant digits, exact for integers below 10⁴.
const MaxPrintedInt = 10000

// buildRHS differentiates, for each variable, the loss of the first query
// representative whose row holds entries of its orbit, by the chain rule
// through the definitions: with Z = Σ_j mult_j·T_j + M per block,
// dΛ/dx = Σ_blocks [Σ_j (∂Λ/∂T_j + mult_j·∂Λ/∂Z)·∂T_j/∂x + ∂Λ/∂Z·∂M/∂x].
func (m *MeanFieldSystem) buildRHS(s *theory.Setting, sy *Symmetry, names []string) error {
	D := sy.NumFP + sy.NumPP
	m.RHS, m.Row, m.Divisor = make([]expr.Expr, D), make([]int, D), make([]int, D)
	for o := range D {
		m.Row[o] = -1
	}
	for i, p0 := range m.QueryRep {
		count := make([]int, D)
		for k := range sy.FPOrbit {
			for _, id := range sy.FPOrbit[k][p0] {
				count[id]++
			}
		}
		for q := range s.P {
			count[sy.NumFP+int(sy.PPOrbit[p0*s.P+q])]++
		}
		for o, n := range count {
			if n > 0 && m.Row[o] < 0 {
				m.Row[o], m.Divisor[o] = i, n
			}
		}
	}
	for o := range D {
		if m.Row[o] < 0 {
			return fmt.Errorf("dynamics: reduce: variable %s has no entry in a representative row (not a group's orbits)", names[o])
		}
		d, err := m.chain(m.Row[o], names[o])
		if err != nil {
			return err
		}
		switch {
		case isZeroExpr(d):
			m.RHS[o] = expr.Num(0) // no gradient (e.g. B[p][p] with unmasked keys)
		case m.Divisor[o] == 1:
			m.RHS[o] = expr.Neg(d)
		default:
			m.RHS[o] = expr.Div(expr.Neg(d), expr.Num(float64(m.Divisor[o])))
		}
	}
	return nil
}

// chain returns dΛ_i/dx for the variable named x.
func (m *MeanFieldSystem) chain(i int, x string) (expr.Expr, error) {
	L := m.Queries[i]
	var terms []expr.Expr
	for _, b := range m.blocks[i] {
		if len(b.T) == 0 {
			continue
		}
		dZ, err := L.Diff(b.Z)
		if err != nil {
			return expr.Expr{}, err
		}
		for _, t := range b.T {
			dT, err := t.def.Diff(x)
			if err != nil {
				return expr.Expr{}, err
			}
			if isZeroExpr(dT) {
				continue
			}
			dL, err := L.Diff(t.name)
			if err != nil {
				return expr.Expr{}, err
			}
			terms = append(terms, expr.Mul(expr.Add(dL, scale(t.mult, dZ)), dT))
		}
		dM, err := b.masked.Diff(x)
		if err != nil {
			return expr.Expr{}, err
		}
		if !isZeroExpr(dM) {
			terms = append(terms, expr.Mul(dZ, dM))
		}
	}
	return sumOf(terms), nil
}

// isZeroExpr reports whether e is the constant 0.
func isZeroExpr(e expr.Expr) bool {
	if len(e.Symbols()) > 0 {
		return false
	}
	v, err := e.Eval(nil)
	return err == nil && v == 0
}

// queryLoss is ℓ_{p0,k} with the unmasked counts at their means,
// ½ Σ_j (z·T_j/Z − z·[j = a])², with definitions T_j = Σ_{cells c of j}
// n_c·ū·exp(z·A_j + b_c) and Z = Σ_j T_j (+ for keys "all" the masked keys
// n_c·(1 − ū)·exp(b_c) and the query exp(B[p0][p0])). Identical areas are
// merged with their multiplicity.
func (b *mfBuilder) queryLoss(k, p0 int) (expr.Expr, mfBlock) {
	s, sy, z := b.s, b.sy, b.z
	uniq, mult := queryAreas(s, sy, k, p0)
	blk := mfBlock{masked: expr.Num(0)}
	var zTerms, masked []expr.Expr
	T := make([]expr.Expr, len(uniq))
	for i, a := range uniq {
		var ts []expr.Expr
		for _, c := range a.cells {
			score := expr.Add(expr.Mul(z, b.sym(a.fp)), b.sym(c.pp))
			ts = append(ts, scale(c.n, expr.Mul(b.ubar, expr.Exp(score))))
			masked = append(masked, scale(c.n*mult[i], expr.Mul(expr.Sub(expr.Num(1), b.ubar), expr.Exp(b.sym(c.pp)))))
			b.maxInt = max(b.maxInt, c.n*mult[i])
		}
		if len(ts) == 0 {
			continue
		}
		b.nT++
		name := fmt.Sprintf("T_%d", b.nT)
		what := "an off area"
		if a.own {
			what = "the own area"
		}
		if mult[i] > 1 {
			what = fmt.Sprintf("each of %d off areas", mult[i])
		}
		b.m.Defs = append(b.m.Defs, Definition{name, sumOf(ts), fmt.Sprintf("query p = %d, cluster %d: unnormalised attention mass on %s", p0, k, what)})
		T[i] = expr.Sym(name)
		blk.T = append(blk.T, mfAux{name, sumOf(ts), mult[i]})
		zTerms = append(zTerms, scale(mult[i], T[i]))
	}
	if s.Keys == theory.KeysAll {
		masked = append(masked, expr.Exp(b.sym(sy.NumFP+int(sy.PPOrbit[p0*s.P+p0]))))
		blk.masked = sumOf(masked)
		zTerms = append(zTerms, blk.masked)
	}
	if len(zTerms) == 0 {
		return expr.Mul(expr.Num(0.5), z, z), blk // no keys: ŷ = 0
	}
	b.nZ++
	blk.Z = fmt.Sprintf("Z_%d", b.nZ)
	b.m.Defs = append(b.m.Defs, Definition{blk.Z, sumOf(zTerms), fmt.Sprintf("query p = %d, cluster %d: softmax normaliser", p0, k)})
	Z := expr.Sym(blk.Z)
	var sq []expr.Expr
	for i, a := range uniq {
		r := expr.Num(0)
		if len(a.cells) > 0 {
			r = expr.Mul(z, expr.Div(T[i], Z))
		}
		if a.own {
			r = expr.Sub(r, z)
		} else if len(a.cells) == 0 {
			continue
		}
		sq = append(sq, scale(mult[i], expr.Mul(r, r)))
	}
	return expr.Mul(expr.Num(0.5), sumOf(sq)), blk
}

// queryAreas returns the distinct areas of query p0 in cluster k (own
// first) and their multiplicities.
func queryAreas(s *theory.Setting, sy *Symmetry, k, p0 int) ([]mfArea, []int) {
	cl := s.Clusters[k]
	areas := make([]mfArea, cl.NumAreas())
	cellN := make([]map[int]int, len(areas))
	for j := range areas {
		areas[j] = mfArea{fp: sy.FPOrbit[k][p0][j], own: j == cl.Areas[p0]}
		cellN[j] = map[int]int{}
	}
	for q := range s.P {
		if q != p0 {
			cellN[cl.Areas[q]][sy.NumFP+int(sy.PPOrbit[p0*s.P+q])]++
		}
	}
	for j := range areas {
		for pp, n := range cellN[j] {
			areas[j].cells = append(areas[j].cells, mfCell{pp, n})
		}
		slices.SortFunc(areas[j].cells, func(a, b mfCell) int { return a.pp - b.pp })
	}
	slices.SortStableFunc(areas, func(a, b mfArea) int {
		switch {
		case a.own == b.own:
			return 0
		case a.own:
			return -1
		}
		return 1
	})
	var uniq []mfArea
	var mult []int
	for _, a := range areas {
		if i := slices.IndexFunc(uniq, func(u mfArea) bool { return u.key() == a.key() }); i >= 0 {
			mult[i]++
			continue
		}
		uniq, mult = append(uniq, a), append(mult, 1)
	}
	return uniq, mult
}

// orbitReps returns the smallest position of each position orbit and the
// orbit sizes, in orbit-id order.
func orbitReps(sy *Symmetry) (rep, size []int) {
	rep, size = make([]int, sy.NumPos), make([]int, sy.NumPos)
	for p := sy.P - 1; p >= 0; p-- {
		rep[sy.PosOrbit[p]] = p
		size[sy.PosOrbit[p]]++
	}
	return rep, size
}

func sumOf(terms []expr.Expr) expr.Expr {
	switch len(terms) {
	case 0:
		return expr.Num(0)
	case 1:
		return terms[0]
	}
	return expr.Add(terms...)
}

// scale is n·e, e itself for n = 1.
func scale(n int, e expr.Expr) expr.Expr {
	if n == 1 {
		return e
	}
	return expr.Mul(expr.Num(float64(n)), e)
}
