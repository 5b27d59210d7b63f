package main

import (
	"fmt"
	"strings"
)

// The text and Markdown forms of 'mimverify reduce' (docs/REDUCE.md).

func reduceTitle(o reduceOutput) string {
	level := "orbit system (level 4, " + o.Mode + ")"
	if o.Level == "meanfield" {
		level = "mean-field system (level 5)"
	}
	return fmt.Sprintf("Reduced system of %q: %s", o.Setting, level)
}

func symmetryLines(o reduceOutput) []string {
	s := o.Symmetry
	order := "a verified subgroup (the search hit its budget; order unknown)"
	if s.Order != nil {
		order = "order " + *s.Order
	}
	lines := []string{
		fmt.Sprintf("group: %s, %d verified generators, %d atoms", order, s.Generators, s.Atoms),
		fmt.Sprintf("orbits: %d on positions, %d of FP entries, %d of PP pairs", s.PositionOrbits, s.FPOrbits, s.PPOrbits),
		fmt.Sprintf("dimension: %d reduced, against K·P·N + P² = %d", s.Dim, s.FullDim),
	}
	if s.Start != "" {
		lines = append(lines, "start: "+s.Start)
	}
	return lines
}

func repString(v reduceVariable) string {
	if v.Kind == "FP" {
		return fmt.Sprintf("A[%d][%d][%d]", v.Rep[0], v.Rep[1], v.Rep[2])
	}
	return fmt.Sprintf("B[%d][%d]", v.Rep[0], v.Rep[1])
}

func holdsWord(h bool) string {
	if h {
		return "holds"
	}
	return "fails"
}

func lawsHeader(l reduceLaws) string {
	if l.Skipped != "" {
		return "null space not computed: " + l.Skipped
	}
	return fmt.Sprintf("null space of the per-entry gradients at %d random symmetric states (x ~ N(0,1) per variable), by SVD of the row-normalised matrix; rank tolerance σ ≤ %g·σ₁. Rank %d (smallest kept σ/σ₁ = %.3g, largest dropped %.3g), so %s w·x = const:",
		l.States, l.RankTolerance, l.Rank, l.SmallestKept, l.LargestNull, plural(len(l.Found), "independent law"))
}

func relationLine(r reduceRelations) string {
	head := "SPEC §3 relations, generalised: Σ_{q∈P_{k,j}, q≠p} B[p][q] = A[k][p][j]/z for every cluster k, query p and area j (worked case: b₁ = α/(z(C−1)), b₂ = β/(zC))"
	if !r.Applies {
		return head + ": not checked — " + r.Why
	}
	pred := "docs/ORBIT.md §6 predicts they fail here (they need one cluster, constant z, unmasked keys)"
	if r.Predicted {
		pred = "as docs/ORBIT.md §6 predicts"
	}
	return fmt.Sprintf("%s: %s along %d GD steps from Q(0) = 0 (η = %g): largest residual %.3g relative to max|x| (tolerance %g); %s.",
		head, holdsWord(r.Holds), r.Steps, r.Eta, r.Residual, r.Tolerance, pred)
}

const rhsNote = "dx_o/dτ = −g_o(x), τ = η·t (GD is x ← x − η·g), with g_o the per-entry gradient ∂L/∂θ_i of any entry i of orbit o — the quantity Orbit.LossGrad returns — computed as −(1/n)·∂Λ_p/∂x_o, Λ_p the loss of the query row p holding n entries of the orbit."

func renderReduceText(o reduceOutput) string {
	var b strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	line("%s", reduceTitle(o))
	line("\nSymmetry")
	for _, s := range symmetryLines(o) {
		line("  %s", s)
	}
	line("\nVariables")
	line("  %-6s %-4s %-16s %12s  %s", "name", "kind", "representative", "multiplicity", "meaning")
	for _, v := range o.Variables {
		line("  %-6s %-4s %-16s %12d  %s", v.Name, v.Kind, repString(v), v.Multiplicity, v.Meaning)
	}
	line("\nConservation laws")
	line("  %s", lawsHeader(o.Laws))
	for _, l := range o.Laws.Found {
		line("    %-40s (residual %.2g)", l.Text, l.Residual)
	}
	if o.Laws.Note != "" {
		line("  Note: %s.", o.Laws.Note)
	}
	line("  Known laws (docs/ORBIT.md §6), tested on the same gradients:")
	for _, k := range o.Laws.Known {
		line("    %s: %s (%s, worst residual %.2g); predicted %s: %s", k.Name, holdsWord(k.Holds), plural(k.Instances, "instance"), k.Residual, holdsWord(k.Predicted), k.Why)
	}
	line("\n%s", relationLine(o.Relations))
	line("\nRight-hand side")
	if !o.Equations.ClosedForm {
		line("  no closed form: %s", o.Equations.Reason)
		return b.String()
	}
	line("  %s", rhsNote)
	line("  Parameters:")
	for _, p := range o.Equations.Parameters {
		line("    %s = %v  (%s)", p.Name, p.Value, p.Meaning)
	}
	line("  Definitions (evaluated in order):")
	for _, d := range o.Equations.Definitions {
		line("    %s = %s   (%s)", d.Name, d.Text, d.Meaning)
	}
	for _, q := range o.Equations.Queries {
		line("  Λ_%d (query p = %d, orbit of %d positions) = %s", q.Rep, q.Rep, q.OrbitSize, q.Text)
	}
	line("  L = Σ_p |orbit(p)|·Λ_p = %s", o.Equations.Loss.Text)
	for _, r := range o.Equations.RHS {
		line("  d%s/dτ = %s", r.Variable, r.Text)
	}
	return b.String()
}

// texNames turns the Greek letters of symbol names into TeX commands,
// closed by {} (GitHub's inline math refuses a space before the closing $);
// before a subscript the command needs no closing.
var (
	texSub   = strings.NewReplacer("π_", `\pi_`)
	texNames = strings.NewReplacer("α", `\alpha{}`, "β", `\beta{}`, "γ", `\gamma{}`, "π", `\pi{}`, "Λ", `\Lambda{}`)
)

func tex(s string) string { return texNames.Replace(texSub.Replace(s)) }

// mathName prints a symbol name as Expr.LaTeX does (T_1 → T_{1}).
func mathName(n string) string {
	if a, b, ok := strings.Cut(n, "_"); ok {
		return a + "_{" + b + "}"
	}
	return n
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func renderReduceMarkdown(o reduceOutput) string {
	var b strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	line("# %s\n", reduceTitle(o))
	line("## Symmetry\n")
	for _, s := range symmetryLines(o) {
		line("- %s", s)
	}
	line("\n## Variables\n")
	line("| name | kind | representative | multiplicity | meaning |")
	line("|---|---|---|---|---|")
	for _, v := range o.Variables {
		line("| $%s$ | %s | `%s` | %d | %s |", tex(mathName(v.Name)), v.Kind, repString(v), v.Multiplicity, mdEscape(v.Meaning))
	}
	line("\n## Conservation laws\n")
	line("%s\n", lawsHeader(o.Laws))
	for _, l := range o.Laws.Found {
		line("- `%s` (residual %.2g)", l.Text, l.Residual)
	}
	if o.Laws.Note != "" {
		line("\n**Note:** %s.", o.Laws.Note)
	}
	line("\nKnown laws (docs/ORBIT.md §6), tested on the same gradients:\n")
	line("| law | measured | worst residual | predicted | why |")
	line("|---|---|---|---|---|")
	for _, k := range o.Laws.Known {
		line("| `%s` | %s | %.2g | %s | %s |", k.Name, holdsWord(k.Holds), k.Residual, holdsWord(k.Predicted), mdEscape(k.Why))
	}
	line("\n## Slaving relations\n")
	line("%s\n", relationLine(o.Relations))
	line("## Right-hand side\n")
	if !o.Equations.ClosedForm {
		line("No closed form: %s", o.Equations.Reason)
		return b.String()
	}
	line("%s\n", rhsNote)
	line("| parameter | value | meaning |")
	line("|---|---|---|")
	for _, p := range o.Equations.Parameters {
		line("| $%s$ | %v | %s |", tex(mathName(p.Name)), p.Value, p.Meaning)
	}
	line("\nDefinitions, evaluated in order:\n")
	for _, d := range o.Equations.Definitions {
		line("$$%s = %s$$\n\n(%s)\n", tex(mathName(d.Name)), tex(d.LaTeX), d.Meaning)
	}
	for _, q := range o.Equations.Queries {
		line("Query $p = %d$ (orbit of %d positions):\n\n$$\\Lambda_{%d} = %s$$\n", q.Rep, q.OrbitSize, q.Rep, tex(q.LaTeX))
	}
	line("$$L = %s$$\n", tex(o.Equations.Loss.LaTeX))
	for _, r := range o.Equations.RHS {
		line("$$\\frac{d%s}{d\\tau} = %s$$\n", tex(mathName(r.Variable)), tex(r.LaTeX))
	}
	return b.String()
}
