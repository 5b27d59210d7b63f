package theory

import (
	"math"
	"slices"
	"testing"

	. "mimverify/theory/expr"
)

// goReference states C2, C3, C5 and C7's formulas with the Go builders of
// rates.go, as Claims did before they moved to builtin_claims.yaml.
func goReference() map[string]struct {
	predicted Expr
	regime    []Predicate
} {
	budget := Predicate{Left: areaWideTime(), Op: LE, Right: Sym("step budget"),
		Why: "the predicted time must fit in the run's step budget (--max-steps)"}
	type ref = struct {
		predicted Expr
		regime    []Predicate
	}
	return map[string]ref{
		"C2": {lossEnvelope(), rateRegime()},
		"C3": {areaWideTime(), append(areaWideRegime(), budget)},
		"C5": {Sub(Num(1), Mul(Num(2), Sym("ε"))), append(areaWideRegime(), budget)},
		"C7": {ownGapAt(), rateRegime()},
	}
}

// TestBuiltinClaimsFileMatchesGo: the embedded claims print every formula
// and predicate as the Go builders do, in text and in LaTeX, with the same
// reasons, and evaluate to the same float64 bit for bit on every preset at
// several ε, δ, t — so that the reports are byte-identical to those of the
// Go statements.
func TestBuiltinClaimsFileMatchesGo(t *testing.T) {
	refs := goReference()
	specs := BuiltinSpecs()
	if len(specs) != len(refs) {
		t.Fatalf("%d built-in specs, want %d", len(specs), len(refs))
	}
	for _, name := range PresetNames() {
		s, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, at := range [][4]float64{{0.1, 0.1, 555, 20000}, {0.05, 0.2, 1, 300}, {0.3, 0.01, 123456, 1e7}} {
			env := s.Env()
			env["ε"], env["δ"], env["t"], env["step budget"] = at[0], at[1], at[2], at[3]
			for _, c := range specs {
				ref := refs[c.ID]
				same(t, name+" "+c.ID+" predicted", c.Predicted, ref.predicted, env)
				if len(c.Regime) != len(ref.regime) {
					t.Fatalf("%s: %d predicates, want %d", c.ID, len(c.Regime), len(ref.regime))
				}
				for i, p := range c.Regime {
					r := ref.regime[i]
					if p.String() != r.String() || p.Op != r.Op || p.Why != r.Why {
						t.Errorf("%s regime[%d] = %q (%q), Go %q (%q)", c.ID, i, p, p.Why, r, r.Why)
					}
					same(t, c.ID+" regime left", p.Left, r.Left, env)
					same(t, c.ID+" regime right", p.Right, r.Right, env)
				}
			}
		}
	}
	for i, c := range Claims() {
		if c.ID != BuiltinIDs[i] {
			t.Errorf("Claims()[%d] = %s, BuiltinIDs says %s", i, c.ID, BuiltinIDs[i])
		}
	}
}

func same(t *testing.T, what string, got, want Expr, env Env) {
	t.Helper()
	if got.String() != want.String() {
		t.Errorf("%s prints %q, Go %q", what, got, want)
	}
	if got.LaTeX() != want.LaTeX() { // the reports' latex fields and Markdown
		t.Errorf("%s prints in LaTeX %q, Go %q", what, got.LaTeX(), want.LaTeX())
	}
	g, w := got.MustEval(env), want.MustEval(env)
	if math.Float64bits(g) != math.Float64bits(w) && !(math.IsNaN(g) && math.IsNaN(w)) {
		t.Errorf("%s = %v, Go %v", what, g, w)
	}
}

// ClaimIDs is the ids of Claims, in order.
func TestClaimIDs(t *testing.T) {
	var ids []string
	for _, c := range Claims() {
		ids = append(ids, c.ID)
	}
	if !slices.Equal(ids, ClaimIDs()) {
		t.Errorf("Claims() ids %v, ClaimIDs() %v", ids, ClaimIDs())
	}
}
