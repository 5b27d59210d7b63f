// Package expr is a small symbolic-expression language: the predicted
// quantities of the claims, the predicates of their regimes and the bounds
// between engines are Exprs, so that a report prints the formula it
// evaluated, next to its value.
package expr

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Expr is a symbolic expression: it prints its formula (with the paper's
// symbols: η, γ, P, L, C_min, ε, …) and evaluates it on an Env.
type Expr struct {
	op   string // "num", "sym", "+", "-", "*", "/", "^", "neg", or a function name
	val  float64
	name string
	args []Expr
}

// Env binds the symbols of an expression to numbers.
type Env map[string]float64

// Num is a constant. Sym is a named symbol, looked up in the Env.
func Num(v float64) Expr      { return Expr{op: "num", val: v} }
func Sym(name string) Expr    { return Expr{op: "sym", name: name} }
func Neg(a Expr) Expr         { return Expr{op: "neg", args: []Expr{a}} }
func Sub(a, b Expr) Expr      { return Expr{op: "-", args: []Expr{a, b}} }
func Div(a, b Expr) Expr      { return Expr{op: "/", args: []Expr{a, b}} }
func Pow(a, b Expr) Expr      { return Expr{op: "^", args: []Expr{a, b}} }
func Add(a ...Expr) Expr      { return Expr{op: "+", args: a} }
func Mul(a ...Expr) Expr      { return Expr{op: "*", args: a} }
func Log(a Expr) Expr         { return Expr{op: "log", args: []Expr{a}} }
func Exp(a Expr) Expr         { return Expr{op: "exp", args: []Expr{a}} }
func Sqrt(a Expr) Expr        { return Expr{op: "√", args: []Expr{a}} }
func Max(a ...Expr) Expr      { return Expr{op: "max", args: a} }
func Min(a ...Expr) Expr      { return Expr{op: "min", args: a} }
func Ceil(a Expr) Expr        { return Expr{op: "ceil", args: []Expr{a}} }
func PowN(a Expr, n int) Expr { return Pow(a, Num(float64(n))) }

// Eval evaluates the expression. An unbound symbol is an error naming it.
func (e Expr) Eval(env Env) (float64, error) {
	switch e.op {
	case "num":
		return e.val, nil
	case "sym":
		v, ok := env[e.name]
		if !ok {
			return 0, fmt.Errorf("symbol %s has no value", e.name)
		}
		return v, nil
	}
	vals := make([]float64, len(e.args))
	for i, a := range e.args {
		v, err := a.Eval(env)
		if err != nil {
			return 0, err
		}
		vals[i] = v
	}
	switch e.op {
	case "neg":
		return -vals[0], nil
	case "+":
		// Folded from the first term, not from 0: 0 + (−0) is +0, and a sum
		// of negative zeros must stay −0 (1/(γ − 0) at γ = −0 is −Inf).
		if len(vals) == 0 {
			return 0, nil
		}
		s := vals[0]
		for _, v := range vals[1:] {
			s += v
		}
		return s, nil
	case "*":
		p := 1.0
		for _, v := range vals {
			p *= v
		}
		return p, nil
	case "-":
		return vals[0] - vals[1], nil
	case "/":
		return vals[0] / vals[1], nil
	case "^":
		return math.Pow(vals[0], vals[1]), nil
	case "log":
		return math.Log(vals[0]), nil
	case "exp":
		return math.Exp(vals[0]), nil
	case "√":
		return math.Sqrt(vals[0]), nil
	case "ceil":
		return math.Ceil(vals[0]), nil
	case "max", "min":
		r := vals[0]
		for _, v := range vals[1:] {
			if e.op == "max" {
				r = math.Max(r, v)
			} else {
				r = math.Min(r, v)
			}
		}
		return r, nil
	}
	return 0, fmt.Errorf("unknown operator %q", e.op)
}

// MustEval evaluates e and panics on an unbound symbol; for expressions whose
// symbols are known to be bound.
func (e Expr) MustEval(env Env) float64 {
	v, err := e.Eval(env)
	if err != nil {
		panic(err)
	}
	return v
}

// Symbols returns the symbols the expression uses, sorted.
func (e Expr) Symbols() []string {
	set := map[string]bool{}
	var walk func(Expr)
	walk = func(x Expr) {
		if x.op == "sym" {
			set[x.name] = true
		}
		for _, a := range x.args {
			walk(a)
		}
	}
	walk(e)
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// precedence of an operator when printed: higher binds tighter. A
// constant subexpression that the notation folds prints as its value and
// binds as a number does.
func (e Expr) precedence(folds bool) int {
	if folds && e.op != "num" && e.op != "sym" && len(e.Symbols()) == 0 {
		if v, err := e.Eval(nil); err == nil {
			return Num(v).precedence(folds)
		}
	}
	switch e.op {
	case "+", "-":
		return 1
	case "*", "/":
		return 2
	case "neg":
		return 3
	case "^":
		return 4
	case "num":
		if math.Signbit(e.val) { // −0 too: it prints with its sign
			return 3
		}
	}
	return 5
}

var superscripts = map[rune]rune{'0': '⁰', '1': '¹', '2': '²', '3': '³', '4': '⁴', '5': '⁵', '6': '⁶', '7': '⁷', '8': '⁸', '9': '⁹', '-': '⁻'}

// String prints the formula with the usual conventions: · for products,
// − for minus, superscripts for small integer powers, parentheses only where
// precedence needs them. A constant subexpression prints as its value.
func (e Expr) String() string { return e.format(&plain) }

// notation is how a formula prints: the separators and brackets, and the
// forms that differ between plain text (String) and LaTeX (LaTeX).
type notation struct {
	minus, times, open, close string
	number                    func(float64) string
	symbol                    func(string) string
	quotient                  func(n *notation, a, b Expr) string
	power                     func(n *notation, a, b Expr) string
	root                      func(n *notation, a Expr) string
	function                  func(op string) string
	// call, when set, prints a function application in full (LaTeX's
	// ⌈x⌉ has no name before its brackets); nil uses function and open.
	call  func(n *notation, op string, args []Expr) string
	folds bool // print constant subexpressions as their value
}

var plain = notation{
	minus: " − ", times: "·", open: "(", close: ")",
	number: func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) },
	symbol: func(s string) string { return s },
	quotient: func(n *notation, a, b Expr) string {
		return n.paren(a, 2) + "/" + n.paren(b, 3)
	},
	power: func(n *notation, a, b Expr) string {
		base := n.paren(a, 5)
		if b.op == "num" && b.val == math.Trunc(b.val) && math.Abs(b.val) < 100 {
			var s strings.Builder
			for _, r := range strconv.Itoa(int(b.val)) {
				s.WriteRune(superscripts[r])
			}
			return base + s.String()
		}
		return base + "^" + n.paren(b, 5)
	},
	root:     func(n *notation, a Expr) string { return "√" + n.paren(a, 5) },
	function: func(op string) string { return op },
	folds:    true,
}

// paren prints a in parentheses when it binds less tightly than min.
func (n *notation) paren(a Expr, min int) string {
	if a.precedence(n.folds) < min {
		return n.open + a.format(n) + n.close
	}
	return a.format(n)
}

func (e Expr) format(n *notation) string {
	if n.folds && e.op != "num" && e.op != "sym" && len(e.Symbols()) == 0 {
		if v, err := e.Eval(nil); err == nil {
			return n.number(v)
		}
	}
	switch e.op {
	case "num":
		return n.number(e.val)
	case "sym":
		return n.symbol(e.name)
	case "neg":
		return strings.TrimSpace(n.minus) + n.paren(e.args[0], 3)
	case "+":
		var b strings.Builder
		for i, a := range e.args {
			switch {
			case i > 0 && a.op == "neg":
				b.WriteString(n.minus + n.paren(a.args[0], 2))
			case i > 0:
				b.WriteString(" + " + n.paren(a, 1))
			default:
				b.WriteString(n.paren(a, 1))
			}
		}
		return b.String()
	case "-":
		return n.paren(e.args[0], 1) + n.minus + n.paren(e.args[1], 2)
	case "*":
		parts := make([]string, len(e.args))
		for i, a := range e.args {
			parts[i] = n.paren(a, 2)
		}
		return strings.Join(parts, n.times)
	case "/":
		return n.quotient(n, e.args[0], e.args[1])
	case "^":
		return n.power(n, e.args[0], e.args[1])
	case "√":
		return n.root(n, e.args[0])
	}
	if n.call != nil {
		return n.call(n, e.op, e.args)
	}
	parts := make([]string, len(e.args))
	for i, a := range e.args {
		parts[i] = a.format(n)
	}
	return n.function(e.op) + n.open + strings.Join(parts, ", ") + n.close
}

// Relation is a comparison between two numbers: the Op of a Predicate, and
// how a claim's measured value must compare with its prediction.
type Relation string

// The relations.
const (
	LT Relation = "<"
	LE Relation = "≤"
	GT Relation = ">"
	GE Relation = "≥"
	EQ Relation = "="
)

// Holds reports whether left r right.
func (r Relation) Holds(left, right float64) (bool, error) {
	switch r {
	case LT:
		return left < right, nil
	case LE:
		return left <= right, nil
	case GT:
		return left > right, nil
	case GE:
		return left >= right, nil
	case EQ:
		return left == right, nil
	}
	return false, fmt.Errorf("unknown relation %q", string(r))
}

// Predicate is one condition of a claim's regime, such as γ ≤ 0.9 or
// (1−γ)·C_min ≥ 4: a comparison between two expressions.
type Predicate struct {
	Left  Expr
	Op    Relation
	Right Expr
	// Why says in words what the condition is for.
	Why string
}

// String prints the predicate as a formula.
func (p Predicate) String() string {
	return p.Left.String() + " " + string(p.Op) + " " + p.Right.String()
}

// Eval evaluates both sides and the comparison.
func (p Predicate) Eval(env Env) (holds bool, left, right float64, err error) {
	if left, err = p.Left.Eval(env); err != nil {
		return false, 0, 0, err
	}
	if right, err = p.Right.Eval(env); err != nil {
		return false, 0, 0, err
	}
	holds, err = p.Op.Holds(left, right)
	return holds, left, right, err
}
