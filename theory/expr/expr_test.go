package expr

import (
	"math"
	"testing"
)

func TestExprPrintsAndEvaluates(t *testing.T) {
	// T*(ε) = c·P/(η·(1 − γ)·C_min·L⁴·ε), the example of the judge's issue.
	e := Div(Mul(Sym("c"), Sym("P")), Mul(Sym("η"), Sub(Num(1), Sym("γ")), Sym("C_min"), PowN(Sym("L"), 4), Sym("ε")))
	if got, want := e.String(), "c·P/(η·(1 − γ)·C_min·L⁴·ε)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	env := Env{"c": 2, "P": 64, "η": 0.5, "γ": 0.25, "C_min": 4, "L": 0.5, "ε": 0.1}
	want := 2.0 * 64 / (0.5 * 0.75 * 4 * 0.0625 * 0.1)
	if v := e.MustEval(env); math.Abs(v-want) > 1e-12*want {
		t.Errorf("Eval = %v, want %v", v, want)
	}
	if _, err := e.Eval(Env{"c": 1}); err == nil {
		t.Error("an unbound symbol evaluated without error")
	}
	cases := []struct {
		e    Expr
		text string
		val  float64
	}{
		{Sub(Sym("a"), Add(Sym("b"), Num(1))), "a − (b + 1)", -2},
		{Neg(Add(Sym("a"), Sym("b"))), "−(a + b)", -3},
		{Sqrt(Div(Sym("a"), Sym("b"))), "√(a/b)", math.Sqrt(0.5)},
		{Pow(Sym("b"), Sym("a")), "b^a", 2},
		{Max(Sym("a"), Log(Sym("b"))), "max(a, log(b))", 1},
		{Div(Sym("a"), Mul(Sym("b"), Sym("b"))), "a/(b·b)", 0.25},
		{Add(Sym("a"), Neg(Div(Num(1), Sym("b")))), "a − 1/b", 0.5},
		{Mul(Add(PowN(Num(1), 2), Mul(Num(3), Num(1))), Sym("a")), "4·a", 4},
	}
	for _, c := range cases {
		if c.e.String() != c.text {
			t.Errorf("String() = %q, want %q", c.e.String(), c.text)
		}
		if v := c.e.MustEval(Env{"a": 1, "b": 2}); math.Abs(v-c.val) > 1e-15 {
			t.Errorf("%s = %v, want %v", c.text, v, c.val)
		}
	}
	if got := e.Symbols(); len(got) != 7 {
		t.Errorf("Symbols() = %v, want the 7 symbols", got)
	}
}

func TestPredicate(t *testing.T) {
	p := Predicate{Left: Mul(Sub(Num(1), Sym("γ")), Sym("C_min")), Op: GE, Right: Num(4)}
	if p.String() != "(1 − γ)·C_min ≥ 4" {
		t.Errorf("String() = %q", p.String())
	}
	holds, l, r, err := p.Eval(Env{"γ": 0.5, "C_min": 6})
	if err != nil || holds || l != 3 || r != 4 {
		t.Errorf("Eval = %v, %v, %v, %v; want false, 3, 4", holds, l, r, err)
	}
}
