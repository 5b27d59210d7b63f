package expr

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// LaTeX prints the expression for a TeX document, a Markdown page ($…$) or
// a JSON consumer: \frac for quotients, \cdot for products, ^{…} for
// powers, \sqrt{…}, \log, \exp, \max, \min, ⌈…⌉ as \lceil…\rceil, Greek
// symbols as commands (γ → \gamma), subscripts braced and words upright
// (C_min → C_{\mathrm{min}}, T₁ → T_{1}), numbers with every digit (an
// exponent as 1.5 \times 10^{-7}). Unlike String it never folds a constant
// subexpression into its value: the formula is the one evaluated.
func (e Expr) LaTeX() string { return e.format(&latex) }

// LaTeX prints the predicate as "left rel right" in LaTeX (≤ → \le).
func (p Predicate) LaTeX() string {
	return p.Left.LaTeX() + " " + p.Op.LaTeX() + " " + p.Right.LaTeX()
}

// LaTeX prints the relation as a TeX math symbol.
func (r Relation) LaTeX() string {
	switch r {
	case LE:
		return `\le`
	case GE:
		return `\ge`
	}
	return string(r)
}

var latex = notation{
	minus: " - ", times: ` \cdot `, open: `\left(`, close: `\right)`,
	number: latexNumber,
	symbol: SymbolLaTeX,
	quotient: func(n *notation, a, b Expr) string {
		return `\frac{` + a.format(n) + `}{` + b.format(n) + `}`
	},
	power: func(n *notation, a, b Expr) string {
		base := n.paren(a, 5)
		if a.op == "num" && strings.Contains(base, `\times`) {
			base = n.open + base + n.close // 1.5 \times 10^{-7} binds as a product
		}
		return base + "^{" + b.format(n) + "}"
	},
	root:     func(n *notation, a Expr) string { return `\sqrt{` + a.format(n) + `}` },
	function: func(op string) string { return `\` + op },
	call: func(n *notation, op string, args []Expr) string {
		parts := make([]string, len(args))
		for i, a := range args {
			parts[i] = a.format(n)
		}
		if op == "ceil" {
			return `\left\lceil ` + parts[0] + ` \right\rceil`
		}
		return `\` + op + n.open + strings.Join(parts, ", ") + n.close
	},
}

// latexNumber prints v with the fewest digits that read back as v, an
// exponent as a power of ten.
func latexNumber(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return `\infty`
	case math.IsInf(v, -1):
		return `-\infty`
	case math.IsNaN(v):
		return `\mathrm{NaN}`
	}
	s := strconv.FormatFloat(v, 'g', -1, 64)
	mant, exp, ok := strings.Cut(s, "e")
	if !ok {
		return s
	}
	k, _ := strconv.Atoi(exp) // "+06" and "-07" read as 6 and -7
	return mant + ` \times 10^{` + strconv.Itoa(k) + `}`
}

// greekLaTeX spells the Greek letters the symbols and names use as TeX
// commands (ε is the rounded \varepsilon the paper's ε looks like).
var greekLaTeX = map[rune]string{
	'α': `\alpha`, 'β': `\beta`, 'γ': `\gamma`, 'δ': `\delta`, 'ε': `\varepsilon`, 'ζ': `\zeta`,
	'η': `\eta`, 'θ': `\theta`, 'κ': `\kappa`, 'λ': `\lambda`, 'μ': `\mu`, 'ν': `\nu`,
	'ξ': `\xi`, 'π': `\pi`, 'ρ': `\rho`, 'σ': `\sigma`, 'τ': `\tau`, 'φ': `\varphi`,
	'χ': `\chi`, 'ψ': `\psi`, 'ω': `\omega`, 'Γ': `\Gamma`, 'Δ': `\Delta`, 'Λ': `\Lambda`,
	'Σ': `\Sigma`, 'Ω': `\Omega`, 'ℒ': `\mathcal{L}`,
}

// subscriptDigit reads a subscript digit (₀–₉) as its digit.
func subscriptDigit(r rune) (rune, bool) {
	if r >= '₀' && r <= '₉' {
		return '0' + (r - '₀'), true
	}
	return 0, false
}

// SymbolLaTeX prints a symbol's name in LaTeX: a Greek letter as its
// command, a word of several letters upright (\mathrm{…}; with a space,
// \text{…}), what follows the first "_" or trailing subscript digits as a
// braced subscript (C_min → C_{\mathrm{min}}, z_4 → z_{4}, T₁ → T_{1},
// π_min → \pi_{\mathrm{min}}).
func SymbolLaTeX(name string) string {
	base, sub, hasSub := strings.Cut(name, "_")
	if !hasSub {
		trimmed := strings.TrimRightFunc(base, func(r rune) bool { _, ok := subscriptDigit(r); return ok })
		if trimmed != base && trimmed != "" {
			for _, r := range base[len(trimmed):] {
				d, _ := subscriptDigit(r)
				sub += string(d)
			}
			base, hasSub = trimmed, true
		}
	}
	out := latexWord(base)
	if hasSub {
		out += "_{" + latexWord(sub) + "}"
	}
	return out
}

// latexWord prints one part of a symbol: a single letter or digits as
// they are, a Greek letter as its command, a word upright.
func latexWord(w string) string {
	if g, ok := greekLaTeX[firstRune(w)]; ok && utf8.RuneCountInString(w) == 1 {
		return g
	}
	switch {
	case utf8.RuneCountInString(w) <= 1 || strings.IndexFunc(w, func(r rune) bool { return !unicode.IsDigit(r) }) < 0:
		return w
	case strings.Contains(w, " "):
		return `\text{` + w + `}`
	}
	return `\mathrm{` + w + `}`
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

// NameLaTeX prints a prediction's display name in LaTeX, e.g. "T*(ε)" →
// T^{*}(\varepsilon), "1 − 2ε" → 1 - 2\varepsilon, "ℒ*(t)" →
// \mathcal{L}^{*}(t), "δ₁" → \delta_{1}; a name of words ("FP majority",
// "prediction") prints upright as \text{…}; TeX's special characters (a
// claims file's predicted_name may hold any) are escaped (% → \%).
func NameLaTeX(name string) string {
	var b strings.Builder
	rs := []rune(name)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch g, greek := greekLaTeX[r]; {
		case greek:
			b.WriteString(g)
			if i+1 < len(rs) && unicode.IsLetter(rs[i+1]) && greekLaTeX[rs[i+1]] == "" {
				b.WriteByte(' ')
			}
		case isWordRune(r) && i+1 < len(rs) && isWordRune(rs[i+1]):
			// A run of two or more ASCII letters, with the spaces between
			// its words: upright text.
			j := i
			for j < len(rs) && (isWordRune(rs[j]) || rs[j] == ' ' && j+1 < len(rs) && isWordRune(rs[j+1])) {
				j++
			}
			b.WriteString(`\text{` + string(rs[i:j]) + `}`)
			i = j - 1
		case r == '*':
			b.WriteString("^{*}")
		case r == '−':
			b.WriteByte('-')
		case strings.ContainsRune(`%&#$~{}\`, r): // TeX's own characters, as text
			b.WriteString(texEscapes[r])
		default:
			if d, ok := subscriptDigit(r); ok {
				b.WriteString("_{" + string(d) + "}")
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// texEscapes writes TeX's special characters in a name as themselves.
var texEscapes = map[rune]string{'%': `\%`, '&': `\&`, '#': `\#`, '$': `\$`, '~': `\sim `, '{': `\{`, '}': `\}`, '\\': `\backslash `}

func isWordRune(r rune) bool { return r < utf8.RuneSelf && unicode.IsLetter(r) }
