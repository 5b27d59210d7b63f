package expr

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"pgregory.net/rapid"
)

// The LaTeX printer is tested by reading what it prints back with a small
// reader of the TeX it may write (below, written for the test and sharing
// nothing with the printer): the tree read back evaluates to the printed
// expression's value bit for bit, so every bracket, \frac, power, sign and
// digit is where the expression has it.

// texSymbols is how each test symbol must be spelled in LaTeX: Greek as a
// command, a word subscript upright, a subscript digit braced.
var texSymbols = map[string]string{
	"a": "a", "b": "b", "t": "t", `\gamma`: "γ", `C_{\mathrm{min}}`: "C_min", `T_{1}`: "T₁",
}

type texReader struct {
	s   string
	err error
}

func (r *texReader) skip() { r.s = strings.TrimLeft(r.s, " ") }

// eat consumes tok if the text continues with it.
func (r *texReader) eat(tok string) bool {
	r.skip()
	if strings.HasPrefix(r.s, tok) {
		// A command must not continue with letters (\left vs \leftarrow).
		rest := r.s[len(tok):]
		if strings.HasPrefix(tok, `\`) && unicode.IsLetter(rune(tok[len(tok)-1])) && rest != "" && unicode.IsLetter(rune(rest[0])) {
			return false
		}
		r.s = rest
		return true
	}
	return false
}

func (r *texReader) must(tok string) {
	if !r.eat(tok) && r.err == nil {
		r.err = fmt.Errorf("expected %q at %q", tok, r.s)
	}
}

func (r *texReader) sum() Expr {
	terms := []Expr{r.product()}
	for r.err == nil {
		switch {
		case r.eat("+"):
			terms = append(terms, r.product())
		case r.eat("-"):
			terms = append(terms, Neg(r.product()))
		default:
			if len(terms) == 1 {
				return terms[0]
			}
			return Add(terms...)
		}
	}
	return Num(math.NaN())
}

func (r *texReader) product() Expr {
	factors := []Expr{r.unary()}
	for r.err == nil && r.eat(`\cdot`) {
		factors = append(factors, r.unary())
	}
	if len(factors) == 1 {
		return factors[0]
	}
	return Mul(factors...)
}

func (r *texReader) unary() Expr {
	if r.eat("-") {
		if e := r.unary(); e.op == "num" {
			return Num(-e.val)
		} else {
			return Neg(e)
		}
	}
	base := r.primary()
	if r.eat("^{") {
		e := r.sum()
		r.must("}")
		return Pow(base, e)
	}
	return base
}

func (r *texReader) braced() Expr {
	r.must("{")
	e := r.sum()
	r.must("}")
	return e
}

func (r *texReader) primary() Expr {
	switch {
	case r.eat(`\frac`):
		return Div(r.braced(), r.braced())
	case r.eat(`\sqrt`):
		return Sqrt(r.braced())
	case r.eat(`\left\lceil`):
		e := r.sum()
		r.must(`\right\rceil`)
		return Ceil(e)
	case r.eat(`\left(`):
		e := r.sum()
		r.must(`\right)`)
		return e
	}
	for _, f := range []string{"log", "exp", "max", "min"} {
		if r.eat(`\` + f) {
			r.must(`\left(`)
			args := []Expr{r.sum()}
			for r.eat(",") {
				args = append(args, r.sum())
			}
			r.must(`\right)`)
			return functions[f](args)
		}
	}
	r.skip()
	if r.s != "" && (r.s[0] >= '0' && r.s[0] <= '9') {
		return r.number()
	}
	return r.symbol()
}

// number reads digits and, printed as m \times 10^{k}, the exponent.
func (r *texReader) number() Expr {
	n := strings.IndexFunc(r.s, func(c rune) bool { return !(c >= '0' && c <= '9' || c == '.') })
	if n < 0 {
		n = len(r.s)
	}
	text := r.s[:n]
	r.s = r.s[n:]
	if r.eat(`\times 10^{`) {
		k := strings.Index(r.s, "}")
		if k < 0 {
			r.err = fmt.Errorf("unclosed exponent at %q", r.s)
			return Num(math.NaN())
		}
		text += "e" + r.s[:k]
		r.s = r.s[k+1:]
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil && r.err == nil {
		r.err = err
	}
	return Num(v)
}

// symbol reads a letter or a command, and a braced subscript.
func (r *texReader) symbol() Expr {
	n := 1
	if strings.HasPrefix(r.s, `\`) {
		n = 1 + strings.IndexFunc(r.s[1:]+"!", func(c rune) bool { return !unicode.IsLetter(c) })
	}
	name := r.s[:n]
	r.s = r.s[n:]
	if strings.HasPrefix(r.s, "_{") {
		k := strings.Index(r.s, "}}") // C_{\mathrm{min}}
		if j := strings.Index(r.s, "}"); k < 0 || !strings.Contains(r.s[:j], `\`) {
			k = j - 1
		}
		name += r.s[:k+2]
		r.s = r.s[k+2:]
	}
	sym, ok := texSymbols[name]
	if !ok && r.err == nil {
		r.err = fmt.Errorf("unknown symbol %q", name)
	}
	return Sym(sym)
}

func readTeX(s string) (Expr, error) {
	r := &texReader{s: s}
	e := r.sum()
	if r.skip(); r.err == nil && r.s != "" {
		r.err = fmt.Errorf("unread text %q", r.s)
	}
	return e, r.err
}

// TestLaTeXRoundTrip reads the LaTeX of drawn expressions back, constant
// subexpressions included (LaTeX does not fold them), and compares the
// values bit for bit on drawn symbol values.
func TestLaTeXRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := genTree(4, rapid.Bool().Draw(t, "symbolic")).Draw(t, "e")
		tex := e.LaTeX()
		back, err := readTeX(tex)
		if err != nil {
			t.Fatalf("LaTeX %s of %s: %v", tex, e, err)
		}
		env := Env{}
		for _, s := range testSymbols {
			env[s] = rapid.Float64Range(-3, 3).Draw(t, s)
		}
		want, got := e.MustEval(env), back.MustEval(env)
		if !(want == got || math.IsNaN(want) && math.IsNaN(got)) {
			t.Fatalf("%s: LaTeX %s reads back as %v, the expression is %v", e, tex, got, want)
		}
	})
}

// TestLaTeXConstants: a constant subexpression keeps its structure and its
// brackets in LaTeX (String folds it into its value).
func TestLaTeXConstants(t *testing.T) {
	e := Mul(Add(Num(1), Num(2)), Sym("a"))
	back, err := readTeX(e.LaTeX())
	if err != nil {
		t.Fatal(err)
	}
	if got := back.MustEval(Env{"a": 5}); got != 15 {
		t.Errorf("(1 + 2)·a printed %s, reads back as %v at a = 5, want 15", e.LaTeX(), got)
	}
}

// TestSymbolAndNameLaTeX: the spellings the reports' names and symbols
// must have (the symbols of Setting.Env, and the built-in claims' names).
func TestSymbolAndNameLaTeX(t *testing.T) {
	for name, want := range map[string]string{
		"γ": `\gamma`, "C_min": `C_{\mathrm{min}}`, "z_4": `z_{4}`, "T₁": `T_{1}`, "π_min": `\pi_{\mathrm{min}}`,
		"step budget": `\text{step budget}`, "ε": `\varepsilon`, "c": "c",
	} {
		if got := SymbolLaTeX(name); got != want {
			t.Errorf("SymbolLaTeX(%q) = %s, want %s", name, got, want)
		}
	}
	for name, want := range map[string]string{
		"T*(ε)": `T^{*}(\varepsilon)`, "1 − 2ε": `1 - 2\varepsilon`, "ℒ*(t)": `\mathcal{L}^{*}(t)`,
		"δ₁": `\delta_{1}`, "FP majority": `\text{FP majority}`, "prediction": `\text{prediction}`, "εt": `\varepsilon t`,
		"50% rate {x}": `50\% \text{rate} \{x\}`,
	} {
		if got := NameLaTeX(name); got != want {
			t.Errorf("NameLaTeX(%q) = %s, want %s", name, got, want)
		}
	}
	p := Predicate{Left: Sym("γ"), Op: LE, Right: Num(0.9)}
	if got := p.LaTeX(); got != `\gamma \le 0.9` {
		t.Errorf("(γ ≤ 0.9).LaTeX() = %s", got)
	}
}
