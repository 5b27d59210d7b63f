package expr

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// The parser reads what String prints (·, −, superscript powers, √, the
// paper's symbols) and the same formulas typed in ASCII (*, -, ^ or **,
// sqrt(…)), so that a claims file can state a prediction as a person writes
// it and a report prints it back unchanged: print(parse(print(e))) is
// print(e). The grammar, loosest first:
//
//	sum     = product {("+" | "−" | "-") product}
//	product = unary {("·" | "*" | "/") unary}
//	unary   = ("−" | "-") unary | power
//	power   = primary [superscript | ("^" | "**") unary]
//	primary = number | symbol | function "(" sum {"," sum} ")" | "(" sum ")" | "√" primary
//
// so that, as in the printer, a prefix minus binds tighter than a product
// and looser than a power (−a² is −(a²)), and √ takes one primary (√a² is
// (√a)²). A chain of products and quotients associates to the left.

// ParseError is a syntax error or an unknown name, at a rune offset of the
// text (0 is the first character).
type ParseError struct {
	Text string
	Pos  int
	Msg  string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%q at character %d: %s", e.Text, e.Pos+1, e.Msg)
}

// functions are the named functions the parser knows, with their builders;
// √ is also written sqrt.
var functions = map[string]func(args []Expr) Expr{
	"log":  func(a []Expr) Expr { return Log(a[0]) },
	"exp":  func(a []Expr) Expr { return Exp(a[0]) },
	"sqrt": func(a []Expr) Expr { return Sqrt(a[0]) },
	"ceil": func(a []Expr) Expr { return Ceil(a[0]) },
	"max":  func(a []Expr) Expr { return Max(a...) },
	"min":  func(a []Expr) Expr { return Min(a...) },
}

// ASCIINames spells the Greek symbols in ASCII: gamma reads as γ when γ is
// a known symbol (and gamma is not), and prints as γ.
var ASCIINames = map[string]string{
	"gamma": "γ", "eta": "η", "sigma": "σ", "kappa": "κ", "lambda": "λ", "rho": "ρ",
	"pi_min": "π_min", "epsilon": "ε", "eps": "ε", "delta": "δ", "T1": "T₁",
	"step_budget": "step budget",
}

// unary reports whether a function takes exactly one argument.
func unaryFunction(name string) bool { return name != "max" && name != "min" }

// Parse reads an expression. Every symbol must be one of known (the symbols
// the caller can bind, e.g. the keys of Setting.Env plus "t"); an unknown
// one is an error naming it and the known ones.
func Parse(text string, known []string) (Expr, error) {
	p := newParser(text, known)
	e, err := p.sum()
	if err == nil && p.tok.kind != tokEnd {
		err = p.fail("unexpected %s after a complete expression", p.tok)
	}
	return e, err
}

// ParsePredicate reads a comparison "left rel right", rel one of < ≤ <= >
// ≥ >= = ==.
func ParsePredicate(text string, known []string) (Predicate, error) {
	p := newParser(text, known)
	left, err := p.sum()
	if err != nil {
		return Predicate{}, err
	}
	if p.tok.kind != tokRel {
		return Predicate{}, p.fail("expected a relation (< ≤ <= > ≥ >= =), found %s", p.tok)
	}
	op := Relation(p.tok.text)
	p.next()
	right, err := p.sum()
	if err == nil && p.tok.kind != tokEnd {
		err = p.fail("unexpected %s after a complete predicate", p.tok)
	}
	return Predicate{Left: left, Op: op, Right: right}, err
}

// Relations lists the relations a claim or predicate may use, in the
// spelling String prints; ParseRelation also takes <=, >= and ==.
func Relations() []Relation { return []Relation{LT, LE, GT, GE, EQ} }

// ParseRelation reads a relation in either spelling.
func ParseRelation(s string) (Relation, error) {
	switch strings.TrimSpace(s) {
	case "<":
		return LT, nil
	case "<=", "≤":
		return LE, nil
	case ">":
		return GT, nil
	case ">=", "≥":
		return GE, nil
	case "=", "==":
		return EQ, nil
	}
	return "", fmt.Errorf("unknown relation %q (known: < <= ≤ > >= ≥ = ==)", s)
}

type tokKind int

const (
	tokEnd tokKind = iota
	tokNum
	tokName
	tokOp  // + − · / ^ √ ( ) ,
	tokSup // a run of superscript digits, text holds the ASCII integer
	tokRel
	tokBad
)

type token struct {
	kind tokKind
	text string
	num  float64
	pos  int
}

func (t token) String() string {
	switch t.kind {
	case tokEnd:
		return "end of text"
	case tokNum:
		return "number " + t.text
	case tokName:
		return "name " + t.text
	case tokBad:
		return "character “" + t.text + "”"
	}
	return "“" + t.text + "”"
}

type parser struct {
	text  string
	src   []rune
	at    int
	tok   token
	known []string
	err   *ParseError
}

func newParser(text string, known []string) *parser {
	p := &parser{text: text, src: []rune(text), known: known}
	p.next()
	return p
}

func (p *parser) fail(format string, a ...any) error {
	if p.err == nil {
		p.err = &ParseError{Text: p.text, Pos: p.tok.pos, Msg: fmt.Sprintf(format, a...)}
	}
	return p.err
}

// sum = product {("+" | "−") product}; a difference is kept as the sum of
// a negated term, which prints and evaluates as the difference.
func (p *parser) sum() (Expr, error) {
	first, err := p.product()
	if err != nil {
		return Expr{}, err
	}
	terms := []Expr{first}
	for p.tok.kind == tokOp && (p.tok.text == "+" || p.tok.text == "−") {
		minus := p.tok.text == "−"
		p.next()
		t, err := p.product()
		if err != nil {
			return Expr{}, err
		}
		if minus {
			t = Neg(t)
		}
		terms = append(terms, t)
	}
	if len(terms) == 1 {
		return first, nil
	}
	return Add(terms...), nil
}

// product = unary {("·" | "/") unary}, left to right: a·b·c is one product,
// a·b/c the quotient of a·b by c, a/b·c the product of a/b and c.
func (p *parser) product() (Expr, error) {
	left, err := p.unary()
	if err != nil {
		return Expr{}, err
	}
	for p.tok.kind == tokOp && (p.tok.text == "·" || p.tok.text == "/") {
		op := p.tok.text
		p.next()
		right, err := p.unary()
		if err != nil {
			return Expr{}, err
		}
		switch {
		case op == "/":
			left = Div(left, right)
		case left.op == "*":
			left = Mul(append(slices.Clone(left.args), right)...)
		default:
			left = Mul(left, right)
		}
	}
	return left, nil
}

// unary = "−" unary | power. The negation of a number literal is the
// negative number, as the printer folds it.
func (p *parser) unary() (Expr, error) {
	if p.tok.kind == tokOp && p.tok.text == "−" {
		p.next()
		e, err := p.unary()
		if err != nil {
			return Expr{}, err
		}
		if e.op == "num" {
			return Num(-e.val), nil
		}
		return Neg(e), nil
	}
	return p.power()
}

// power = primary [superscript | "^" unary]; the exponent after ^ may carry
// its own sign (t^-0.6) and associates to the right (a^b^c is a^(b^c)).
func (p *parser) power() (Expr, error) {
	base, err := p.primary()
	if err != nil {
		return Expr{}, err
	}
	switch {
	case p.tok.kind == tokSup:
		n := p.tok.num
		p.next()
		return Pow(base, Num(n)), nil
	case p.tok.kind == tokOp && p.tok.text == "^":
		p.next()
		exp, err := p.unary()
		if err != nil {
			return Expr{}, err
		}
		return Pow(base, exp), nil
	}
	return base, nil
}

func (p *parser) primary() (Expr, error) {
	t := p.tok
	switch {
	case t.kind == tokNum:
		p.next()
		return Num(t.num), nil
	case t.kind == tokName:
		p.next()
		if p.tok.kind == tokOp && p.tok.text == "(" {
			return p.call(t)
		}
		if alias, ok := ASCIINames[t.text]; ok && !slices.Contains(p.known, t.text) && slices.Contains(p.known, alias) {
			return Sym(alias), nil
		}
		if !slices.Contains(p.known, t.text) {
			return Expr{}, p.failAt(t, "unknown symbol %s (known: %s)", t.text, strings.Join(p.known, " "))
		}
		return Sym(t.text), nil
	case t.kind == tokOp && t.text == "√":
		p.next()
		a, err := p.primary()
		if err != nil {
			return Expr{}, err
		}
		return Sqrt(a), nil
	case t.kind == tokOp && t.text == "(":
		p.next()
		e, err := p.sum()
		if err != nil {
			return Expr{}, err
		}
		return e, p.expect(")")
	case t.kind == tokBad:
		return Expr{}, p.fail("unexpected %s", t)
	}
	return Expr{}, p.fail("expected a number, a symbol, a function or “(”, found %s", t)
}

// call reads the arguments of a function whose name is t.
func (p *parser) call(t token) (Expr, error) {
	build, ok := functions[t.text]
	if !ok {
		return Expr{}, p.failAt(t, "unknown function %s (known: ceil exp log max min sqrt)", t.text)
	}
	p.next() // (
	var args []Expr
	for {
		a, err := p.sum()
		if err != nil {
			return Expr{}, err
		}
		args = append(args, a)
		if p.tok.kind != tokOp || p.tok.text != "," {
			break
		}
		p.next()
	}
	if err := p.expect(")"); err != nil {
		return Expr{}, err
	}
	if unaryFunction(t.text) && len(args) != 1 {
		return Expr{}, p.failAt(t, "%s takes one argument, not %d", t.text, len(args))
	}
	return build(args), nil
}

func (p *parser) failAt(t token, format string, a ...any) error {
	p.tok = t
	return p.fail(format, a...)
}

func (p *parser) expect(op string) error {
	if p.tok.kind != tokOp || p.tok.text != op {
		return p.fail("expected “%s”, found %s", op, p.tok)
	}
	p.next()
	return nil
}

// canonicalOps maps every spelling of an operator to the one the parser
// works with.
var canonicalOps = map[string]string{
	"+": "+", "-": "−", "−": "−", "*": "·", "·": "·", "⋅": "·", "×": "·", "/": "/",
	"^": "^", "**": "^", "√": "√", "(": "(", ")": ")", ",": ",",
}

var superscriptDigits = map[rune]rune{'⁰': '0', '¹': '1', '²': '2', '³': '3', '⁴': '4', '⁵': '5', '⁶': '6', '⁷': '7', '⁸': '8', '⁹': '9', '⁻': '-'}

// next reads the next token into p.tok.
func (p *parser) next() {
	for p.at < len(p.src) && unicode.IsSpace(p.src[p.at]) {
		p.at++
	}
	start := p.at
	if p.at >= len(p.src) {
		p.tok = token{kind: tokEnd, pos: start}
		return
	}
	r := p.src[p.at]
	switch {
	case r >= '0' && r <= '9' || r == '.':
		p.tok = p.number()
	case isNameStart(r):
		for p.at < len(p.src) && isNameRune(p.src[p.at]) {
			p.at++
		}
		p.tok = token{kind: tokName, text: string(p.src[start:p.at]), pos: start}
	case superscriptDigits[r] != 0:
		p.tok = p.superscript()
	default:
		p.tok = p.operator()
	}
}

// operator reads a relation or an operator, two characters first.
func (p *parser) operator() token {
	start := p.at
	two := ""
	if p.at+1 < len(p.src) {
		two = string(p.src[p.at : p.at+2])
	}
	if rel, err := ParseRelation(two); err == nil {
		p.at += 2
		return token{kind: tokRel, text: string(rel), pos: start}
	}
	if two == "**" {
		p.at += 2
		return token{kind: tokOp, text: "^", pos: start}
	}
	one := string(p.src[p.at])
	p.at++
	if rel, err := ParseRelation(one); err == nil {
		return token{kind: tokRel, text: string(rel), pos: start}
	}
	if op, ok := canonicalOps[one]; ok {
		return token{kind: tokOp, text: op, pos: start}
	}
	return token{kind: tokBad, text: one, pos: start}
}

// number reads digits, a fraction and an exponent (1e-05, 2.5E+3).
func (p *parser) number() token {
	start := p.at
	digits := func() {
		for p.at < len(p.src) && p.src[p.at] >= '0' && p.src[p.at] <= '9' {
			p.at++
		}
	}
	digits()
	if p.at < len(p.src) && p.src[p.at] == '.' {
		p.at++
		digits()
	}
	if p.at < len(p.src) && (p.src[p.at] == 'e' || p.src[p.at] == 'E') {
		k := p.at + 1
		if k < len(p.src) && (p.src[k] == '+' || p.src[k] == '-') {
			k++
		}
		if k < len(p.src) && p.src[k] >= '0' && p.src[k] <= '9' {
			p.at = k
			digits()
		}
	}
	text := string(p.src[start:p.at])
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return token{kind: tokBad, text: text, pos: start}
	}
	return token{kind: tokNum, text: text, num: v, pos: start}
}

// superscript reads a run of superscript digits with an optional leading ⁻.
func (p *parser) superscript() token {
	start := p.at
	var b strings.Builder
	for p.at < len(p.src) && superscriptDigits[p.src[p.at]] != 0 {
		b.WriteRune(superscriptDigits[p.src[p.at]])
		p.at++
	}
	n, err := strconv.Atoi(b.String())
	if err != nil {
		return token{kind: tokBad, text: string(p.src[start:p.at]), pos: start}
	}
	return token{kind: tokSup, text: b.String(), num: float64(n), pos: start}
}

// isNameStart and isNameRune: a symbol is a letter or _ followed by
// letters, digits, _ and subscript digits (C_min, z_4, T₁, π_min).
func isNameStart(r rune) bool { return unicode.IsLetter(r) || r == '_' }

func isNameRune(r rune) bool {
	return isNameStart(r) || (r >= '0' && r <= '9') || (r >= '₀' && r <= '₉')
}
