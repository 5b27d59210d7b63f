package expr

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

var testSymbols = []string{"a", "b", "C_min", "γ", "t", "T₁"}

// genNumber draws a decimal with at most four significant digits, parsed
// from its text, so that String (which prints four) prints it exactly.
func genNumber(t *rapid.T) Expr {
	m := rapid.IntRange(0, 9999).Draw(t, "mantissa")
	k := rapid.IntRange(-7, 3).Draw(t, "exponent")
	v, err := strconv.ParseFloat(strconv.Itoa(m)+"e"+strconv.Itoa(k), 64)
	if err != nil {
		t.Fatal(err)
	}
	if rapid.Bool().Draw(t, "negative") {
		v = -v
	}
	return Num(v)
}

// genExpr draws an expression whose every compound node has a symbol (a
// constant subexpression prints as its four-digit value, which is not the
// expression) and whose sums and products are not nested to the right (a +
// (b + c) prints as a + b + c, which evaluates as (a + b) + c, differing in
// the last bit). Every other shape of every operator is drawn.
func genExpr(depth int) *rapid.Generator[Expr] { return genTree(depth, true) }

// genTree draws as genExpr does; with symbolic false a compound node may
// be constant (for LaTeX, which prints constants as they are, unfolded).
func genTree(depth int, symbolic bool) *rapid.Generator[Expr] {
	return rapid.Custom(func(t *rapid.T) Expr {
		if depth == 0 || rapid.IntRange(0, 3).Draw(t, "leaf") == 0 {
			return leaf(t)
		}
		sub := func(label string) Expr { return genTree(depth-1, symbolic).Draw(t, label) }
		var e Expr
		switch op := rapid.SampledFrom([]string{"+", "-", "*", "/", "^", "neg", "log", "exp", "√", "max", "min", "ceil"}).Draw(t, "op"); op {
		case "+", "*":
			args := []Expr{sub("first")}
			for i := range rapid.IntRange(1, 3).Draw(t, "n") {
				args = append(args, notChain(sub("arg"+strconv.Itoa(i)), op))
			}
			e = Expr{op: op, args: args}
		case "-":
			e = Sub(sub("left"), notChain(sub("right"), "+"))
		case "/":
			e = Div(sub("num"), sub("den"))
		case "^":
			e = Pow(sub("base"), rapid.OneOf(genTree(depth-1, symbolic), rapid.Custom(genNumber)).Draw(t, "exp"))
		case "neg":
			e = Neg(sub("arg"))
		case "max", "min":
			e = Expr{op: op, args: []Expr{sub("x"), sub("y")}}
		default:
			e = Expr{op: op, args: []Expr{sub("arg")}}
		}
		if symbolic && len(e.Symbols()) == 0 {
			e.args[0] = Sym(rapid.SampledFrom(testSymbols).Draw(t, "sym"))
		}
		return e
	})
}

func leaf(t *rapid.T) Expr {
	if rapid.Bool().Draw(t, "isNum") {
		return genNumber(t)
	}
	return Sym(rapid.SampledFrom(testSymbols).Draw(t, "sym"))
}

// notChain wraps a non-first term of a sum ("+") or factor of a product
// ("*") that would print unparenthesised and re-associate.
func notChain(e Expr, op string) Expr {
	chain := map[string][]string{"+": {"+", "-"}, "*": {"*", "/"}}[op]
	for _, c := range chain {
		if e.op == c {
			return Log(e)
		}
	}
	return e
}

// TestParseRoundTrip: for every drawn expression e, parse(print(e)) prints
// as e does and evaluates to the same float64, bit for bit (the parser's
// tree evaluates the same operations in the same order; a − b parses as
// a + (−b), which IEEE rounds identically), and so does its LaTeX.
func TestParseRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := genExpr(4).Draw(t, "e")
		text := e.String()
		p, err := Parse(text, testSymbols)
		if err != nil {
			t.Fatalf("Parse(%q): %v", text, err)
		}
		if got := p.String(); got != text {
			t.Fatalf("print(parse(%q)) = %q", text, got)
		}
		env := Env{}
		for _, s := range testSymbols {
			env[s] = rapid.Float64Range(-3, 3).Draw(t, s)
		}
		want, got := e.MustEval(env), p.MustEval(env)
		if !(want == got || math.IsNaN(want) && math.IsNaN(got)) {
			t.Fatalf("%s = %v, parsed %v", text, want, got)
		}
	})
}

// TestParseASCII reads the formulas a claims file states, typed in ASCII,
// and checks the value against the same formula written in Go.
func TestParseASCII(t *testing.T) {
	env := Env{"c": 0.02, "L": 0.8, "t": 500, "γ": 0.5, "U": 1.2, "C_min": 4}
	cases := []struct {
		text string
		want float64
	}{
		{"2.5 * (c*L^4*t)^(-0.6)", 2.5 * math.Pow(0.02*math.Pow(0.8, 4)*500, -0.6)},
		{"2.5*(c*L**4*t)^-0.6", 2.5 * math.Pow(0.02*math.Pow(0.8, 4)*500, -0.6)},
		{"c*U^4", 0.02 * math.Pow(1.2, 4)},
		{"-L^2", -0.64},
		{"(-L)^2", 0.64},
		{"1 - γ - 0.25", 0.25},
		{"C_min/2/4", 0.5},
		{"C_min/2*4", 8},
		{"sqrt(t)/√C_min", math.Sqrt(500) / 2},
		{"max(1, log(t), exp(-c)) + min(γ, 1e-3)", math.Log(500) + 1e-3},
		{"ceil(γ*3)", 2},
		{"2^3^2", 512},
		{"L⁻²", 1 / 0.64},
	}
	known := []string{"c", "L", "t", "γ", "U", "C_min"}
	for _, c := range cases {
		e, err := Parse(c.text, known)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.text, err)
			continue
		}
		// The values are a few operations from their Go form: 1e-14 relative is
		// far above their rounding and far below any misparse.
		if v := e.MustEval(env); math.Abs(v-c.want) > 1e-14*math.Abs(c.want) {
			t.Errorf("%q parsed as %s = %v, want %v", c.text, e, v, c.want)
		}
	}
}

func TestParsePredicate(t *testing.T) {
	known := []string{"γ", "c", "U"}
	for _, c := range []struct {
		text string
		op   Relation
		env  Env
		want bool
	}{
		{"γ <= 0.6", LE, Env{"γ": 0.6}, true},
		{"c*U^4 ≤ 10", LE, Env{"c": 1, "U": 2}, false},
		{"γ>=0.5", GE, Env{"γ": 0.4}, false},
		{"γ > 0", GT, Env{"γ": 0.4}, true},
		{"γ == 0.5", EQ, Env{"γ": 0.5}, true},
		{"γ < 1 - γ", LT, Env{"γ": 0.4}, true},
	} {
		p, err := ParsePredicate(c.text, known)
		if err != nil {
			t.Errorf("ParsePredicate(%q): %v", c.text, err)
			continue
		}
		holds, _, _, err := p.Eval(c.env)
		if p.Op != c.op || err != nil || holds != c.want {
			t.Errorf("%q: op %s holds %v (%v), want %s %v", c.text, p.Op, holds, err, c.op, c.want)
		}
		if back, err := ParsePredicate(p.String(), known); err != nil || back.String() != p.String() {
			t.Errorf("%q prints %q, which parses back as %q (%v)", c.text, p.String(), back.String(), err)
		}
	}
}

// TestParseErrors: every malformed text is an error that says where and
// what, and an unknown symbol is named along with the known ones.
func TestParseErrors(t *testing.T) {
	known := []string{"t", "γ"}
	for _, c := range []struct{ text, want string }{
		{"2*x", "unknown symbol x (known: t γ)"},
		{"t +", "expected a number"},
		{"(t", "expected “)”"},
		{"t t", "unexpected name t"},
		{"foo(t)", "unknown function foo"},
		{"log(t, t)", "log takes one argument"},
		{"t $ 2", "unexpected character “$”"},
		{"", "found end of text"},
		{"t <= 1", "unexpected “≤” after a complete expression"},
	} {
		_, err := Parse(c.text, known)
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", c.text, err, c.want)
		}
	}
	if _, err := Parse("2*x", known); !strings.Contains(err.Error(), "at character 3") {
		t.Errorf("the unknown symbol's position: %v", err)
	}
	for _, text := range []string{"γ", "γ <= ", "γ ≤ 1 2", "γ ≤ 1 ≤ 2"} {
		if _, err := ParsePredicate(text, known); err == nil {
			t.Errorf("ParsePredicate(%q) parsed", text)
		}
	}
	if _, err := ParseRelation("=<"); err == nil || !strings.Contains(err.Error(), "<=") {
		t.Errorf("ParseRelation(=<) = %v", err)
	}
}
