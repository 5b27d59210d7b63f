package expr

import (
	"fmt"
	"slices"
)

// Diff returns the derivative ∂e/∂x, with the terms that are a constant 0
// dropped and factors 1 left out, so that a derivative prints as a person
// would write it. max, min and ceil have no derivative everywhere and are
// an error.
func (e Expr) Diff(x string) (Expr, error) {
	if !slices.Contains(e.Symbols(), x) {
		return Num(0), nil
	}
	switch e.op {
	case "sym":
		return Num(1), nil
	case "neg":
		d, err := e.args[0].Diff(x)
		return neg(d), err
	case "+":
		return e.diffSum(x)
	case "-":
		return e.diffArgs(x, func(d []Expr) Expr { return sub(d[0], d[1]) })
	case "*":
		return e.diffProduct(x)
	case "/":
		a, b := e.args[0], e.args[1]
		return e.diffArgs(x, func(d []Expr) Expr {
			return sub(div(d[0], b), div(mul(a, d[1]), PowN(b, 2)))
		})
	case "^":
		return e.diffPow(x)
	case "log":
		return e.diffArgs(x, func(d []Expr) Expr { return div(d[0], e.args[0]) })
	case "exp":
		return e.diffArgs(x, func(d []Expr) Expr { return mul(e, d[0]) })
	case "√":
		return e.diffArgs(x, func(d []Expr) Expr { return div(d[0], Mul(Num(2), e)) })
	}
	return Expr{}, fmt.Errorf("expr: %s(…) has no derivative everywhere", e.op)
}

// diffArgs differentiates every argument and combines the derivatives.
func (e Expr) diffArgs(x string, combine func(d []Expr) Expr) (Expr, error) {
	d := make([]Expr, len(e.args))
	for i, a := range e.args {
		var err error
		if d[i], err = a.Diff(x); err != nil {
			return Expr{}, err
		}
	}
	return combine(d), nil
}

func (e Expr) diffSum(x string) (Expr, error) {
	return e.diffArgs(x, func(d []Expr) Expr { return add(d...) })
}

// diffProduct is the product rule: Σ_i (Π_{j≠i} a_j)·∂a_i.
func (e Expr) diffProduct(x string) (Expr, error) {
	return e.diffArgs(x, func(d []Expr) Expr {
		var terms []Expr
		for i := range e.args {
			if isZero(d[i]) {
				continue
			}
			factors := slices.Clone(e.args[:i])
			factors = append(factors, e.args[i+1:]...)
			terms = append(terms, mul(append(factors, d[i])...))
		}
		return add(terms...)
	})
}

// diffPow is n·aⁿ⁻¹·∂a for an exponent free of x, and aᵇ·(∂b·log a + b·∂a/a)
// otherwise.
func (e Expr) diffPow(x string) (Expr, error) {
	a, b := e.args[0], e.args[1]
	da, err := a.Diff(x)
	if err != nil {
		return Expr{}, err
	}
	if !slices.Contains(b.Symbols(), x) {
		return mul(b, Pow(a, sub(b, Num(1))), da), nil
	}
	db, err := b.Diff(x)
	if err != nil {
		return Expr{}, err
	}
	return mul(e, add(mul(db, Log(a)), div(mul(b, da), a))), nil
}

func isZero(e Expr) bool { return e.op == "num" && e.val == 0 }
func isOne(e Expr) bool  { return e.op == "num" && e.val == 1 }

// add, sub, mul, div and neg build expressions without the terms a
// derivative makes trivial.
func add(terms ...Expr) Expr {
	terms = slices.DeleteFunc(slices.Clone(terms), isZero)
	switch len(terms) {
	case 0:
		return Num(0)
	case 1:
		return terms[0]
	}
	return Add(terms...)
}

func sub(a, b Expr) Expr {
	switch {
	case isZero(b):
		return a
	case isZero(a):
		return neg(b)
	}
	return Sub(a, b)
}

func mul(factors ...Expr) Expr {
	if slices.ContainsFunc(factors, isZero) {
		return Num(0)
	}
	factors = slices.DeleteFunc(slices.Clone(factors), isOne)
	switch len(factors) {
	case 0:
		return Num(1)
	case 1:
		return factors[0]
	}
	return Mul(factors...)
}

func div(a, b Expr) Expr {
	if isZero(a) {
		return Num(0)
	}
	if isOne(b) {
		return a
	}
	return Div(a, b)
}

func neg(a Expr) Expr {
	if isZero(a) {
		return a
	}
	return Neg(a)
}
