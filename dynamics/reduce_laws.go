package dynamics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"mimverify/theory"
)

// Conservation laws of the reduced system (docs/REDUCE.md §2): a linear
// invariant w·x is conserved by x ← x − η g(x) iff w·g(x) = 0 at every
// state. The laws are the null space of the matrix of gradients at many
// random symmetric states (those span the gradients' linear hull with
// probability one when there are more states than its dimension).

// LawRankTol is the rank tolerance of the null space: a singular value
// σ_i ≤ LawRankTol·σ_1 of the row-normalised gradient matrix counts as 0.
// The gradients are exact to ≈ 1e-15 relative (docs/ORBIT.md §4), so a true
// law leaves σ ≈ √states·1e-15 ≪ 1e-9·σ_1, while the smallest genuine
// singular value at states of unit scale is printed (SmallestKept) to show
// the gap.
const LawRankTol = 1e-9

// Law is one conserved linear combination Σ_o Coef[o]·x_o, normalised as the
// reduced row echelon form of the null space with pivots on the last
// variables, then scaled to integers when every coefficient looks rational.
type Law struct {
	Coef []float64
	Text string
	// Residual is max over the states of |w·g|/(‖w‖·‖g‖).
	Residual float64
}

// KnownLaw is a family of laws of docs/ORBIT.md §6 tested on this setting.
type KnownLaw struct {
	Name string
	// Predicted says whether §6 predicts it here, and why.
	Predicted bool
	Why       string
	// Holds: every instance's residual ≤ LawRankTol; Residual is the worst.
	Holds     bool
	Residual  float64
	Instances int
}

// Laws is the result of the search.
type Laws struct {
	States       int
	Tolerance    float64
	Singular     []float64 // all singular values, largest first (nil if skipped)
	Rank         int
	SmallestKept float64 // σ_Rank / σ_1
	LargestNull  float64 // σ_{Rank+1} / σ_1 (0 when full rank)
	Found        []Law
	Known        []KnownLaw
	// Skipped says why the null space was not computed (time budget).
	Skipped string
	// Note warns that the gradients are CRN estimates (mode crn), with
	// CRNRelErr their relative standard error ‖se‖/‖g‖ at a random state.
	Note      string
	CRNRelErr float64
}

// findLaws computes the null space of the gradients and tests the known laws.
func findLaws(s *theory.Setting, o *Orbit, names []string, opt ReduceOptions) Laws {
	D := o.Dim()
	rng := rand.New(rand.NewPCG(opt.Seed, 0x5ed))
	gt := &gradTimer{o: o}
	state := func() []float64 {
		x := make([]float64, D)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		return x
	}
	grads := [][]float64{gt.grad(state())}
	M := opt.States
	if per := gt.spent; time.Duration(M)*per > opt.Budget {
		M = min(M, 8)
	}
	for len(grads) < M {
		grads = append(grads, gt.grad(state()))
	}
	laws := Laws{States: M, Tolerance: LawRankTol}
	if M < opt.States {
		laws.Skipped = fmt.Sprintf("one gradient takes %.3g s: the null space needs %d states (%.3g s, over the %v budget); only the known laws were tested, on %d states",
			gt.spent.Seconds()/float64(M), opt.States, gt.spent.Seconds()/float64(M)*float64(opt.States), opt.Budget, M)
	} else {
		laws.nullSpace(grads, names)
	}
	laws.Known = knownLaws(s, o.Symmetry(), grads)
	if o.Mode() == OrbitCRN {
		x := state()
		se := make([]float64, D)
		o.GradStdErr(x, se)
		laws.CRNRelErr = floats.Norm(se, 2) / floats.Norm(gt.grad(x), 2)
		laws.Note = fmt.Sprintf("the orbit gradients are common-random-number estimates (mode crn, relative standard error ‖se‖/‖g‖ = %.2g at a random state): "+
			"each is the exact gradient of the objective with its draws fixed (docs/ORBIT.md §3.1), so a law that holds draw by draw (e.g. Σ_q B[p][q]) holds to rounding, "+
			"while the coefficients of the dynamics carry the sampling error. For error-free coefficients use --meanfield or a setting small enough for exact enumeration", laws.CRNRelErr)
	}
	return laws
}

// nullSpace fills Singular, Rank and Found from the gradients.
func (l *Laws) nullSpace(grads [][]float64, names []string) {
	M, D := len(grads), len(grads[0])
	G := mat.NewDense(M, D, nil)
	for i, g := range grads {
		n := floats.Norm(g, math.Inf(1))
		if n == 0 {
			n = 1
		}
		for j, v := range g {
			G.Set(i, j, v/n)
		}
	}
	var svd mat.SVD
	if !svd.Factorize(G, mat.SVDFullV) {
		l.Skipped = "the SVD did not converge"
		return
	}
	l.Singular = svd.Values(nil)
	var V mat.Dense
	svd.VTo(&V)
	s1 := 0.0
	if len(l.Singular) > 0 {
		s1 = l.Singular[0]
	}
	for _, v := range l.Singular {
		if v > LawRankTol*s1 {
			l.Rank++
		}
	}
	if l.Rank > 0 {
		l.SmallestKept = l.Singular[l.Rank-1] / s1
	}
	if l.Rank < len(l.Singular) && s1 > 0 {
		l.LargestNull = l.Singular[l.Rank] / s1
	}
	basis := make([][]float64, 0, D-l.Rank)
	for c := l.Rank; c < D; c++ {
		row := make([]float64, D)
		for r := range D {
			row[r] = V.At(r, c)
		}
		basis = append(basis, row)
	}
	for _, w := range rrefFromLast(basis) {
		w = integerScale(w)
		l.Found = append(l.Found, Law{Coef: w, Text: lawText(w, names), Residual: residual(w, grads)})
	}
}

// rrefFromLast returns the reduced row echelon form of the rows with pivots
// chosen from the last column backwards (so that each law solves for a late
// variable — PP before FP — in terms of the earlier ones), entries below
// 1e-10 set to 0.
func rrefFromLast(rows [][]float64) [][]float64 {
	if len(rows) == 0 {
		return nil
	}
	D := len(rows[0])
	r := 0
	for c := D - 1; c >= 0 && r < len(rows); c-- {
		best := r
		for i := r; i < len(rows); i++ {
			if math.Abs(rows[i][c]) > math.Abs(rows[best][c]) {
				best = i
			}
		}
		if math.Abs(rows[best][c]) < 1e-8 {
			continue
		}
		rows[r], rows[best] = rows[best], rows[r]
		pv := rows[r][c]
		for j := range rows[r] {
			rows[r][j] /= pv
		}
		for i := range rows {
			if i != r && rows[i][c] != 0 {
				f := rows[i][c]
				for j := range rows[i] {
					rows[i][j] -= f * rows[r][j]
				}
			}
		}
		r++
	}
	rows = rows[:r]
	for _, row := range rows {
		for j, v := range row {
			if math.Abs(v) < 1e-10 {
				row[j] = 0
			}
		}
	}
	return rows
}

// ratTol is how close a coefficient must be to p/q (q ≤ maxDen) to print as
// that fraction: well above the ≈ 1e-13 error of the null-space basis and
// below any difference that matters.
const (
	ratTol = 1e-8
	maxDen = 720
)

// rational returns p, q with |c − p/q| ≤ ratTol·max(1, |c|) and the smallest
// such q ≤ maxDen, or ok = false.
func rational(c float64) (p, q int64, ok bool) {
	for q = 1; q <= maxDen; q++ {
		p = int64(math.Round(c * float64(q)))
		if math.Abs(c-float64(p)/float64(q)) <= ratTol*math.Max(1, math.Abs(c)) {
			return p, q, true
		}
	}
	return 0, 0, false
}

// integerScale multiplies w by the lcm of its coefficients' denominators
// when they all look rational (and the lcm stays ≤ maxDen), rounding to the
// integers; otherwise it returns w.
func integerScale(w []float64) []float64 {
	l := int64(1)
	for _, c := range w {
		_, q, ok := rational(c)
		if !ok {
			return w
		}
		l = l / gcd(l, q) * q
		if l > maxDen {
			return w
		}
	}
	out := make([]float64, len(w))
	for i, c := range w {
		out[i] = math.Round(c * float64(l))
	}
	return out
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// FormatCoef prints a coefficient as a fraction when it looks rational,
// else with 6 significant digits.
func FormatCoef(c float64) string {
	p, q, ok := rational(c)
	switch {
	case !ok:
		return fmt.Sprintf("%.6g", c)
	case q == 1:
		return fmt.Sprint(p)
	}
	return fmt.Sprintf("%d/%d", p, q)
}

// lawText prints Σ c_o·name_o, e.g. "3·b_1 − α".
func lawText(w []float64, names []string) string {
	var b strings.Builder
	for i, c := range w {
		if c == 0 {
			continue
		}
		sign := " + "
		if c < 0 {
			sign, c = " − ", -c
		}
		if b.Len() == 0 {
			sign = strings.TrimSpace(sign)
			if sign == "+" {
				sign = ""
			}
		}
		b.WriteString(sign)
		if cs := FormatCoef(c); cs != "1" {
			b.WriteString(cs + "·")
		}
		b.WriteString(names[i])
	}
	return b.String()
}

// residual returns max over grads of |w·g|/(‖w‖·‖g‖) (0 for g = 0).
func residual(w []float64, grads [][]float64) float64 {
	worst := 0.0
	nw := floats.Norm(w, 2)
	for _, g := range grads {
		d := floats.Dot(w, g)
		if ng := floats.Norm(g, 2); ng > 0 && nw > 0 {
			worst = math.Max(worst, math.Abs(d)/(nw*ng))
		}
	}
	return worst
}
