package judge

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"mimverify/theory"
	"mimverify/theory/expr"
)

// The margin's sign is the verdict: negative exactly when the relation
// fails (for values off the bound), whatever the signs and sizes of the
// two sides. A margin that ignored the relation, or its direction, fails.
func TestVerdictMarginSignIsTheVerdict(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rel := rapid.SampledFrom([]expr.Relation{expr.LE, expr.LT, expr.GE, expr.GT}).Draw(t, "rel")
		value := rapid.OneOf(rapid.Float64Range(-1e6, 1e6), rapid.Float64Range(1e-9, 10), rapid.Just(0.0))
		m, p := value.Draw(t, "measured"), value.Draw(t, "predicted")
		if m == p {
			return // on the bound: the margin is 0 and the strictness decides
		}
		holds, err := rel.Holds(m, p)
		if err != nil {
			t.Fatal(err)
		}
		if got := VerdictMargin(rel, m, p); (got > 0) != holds || got == 0 {
			t.Fatalf("%g %s %g holds = %v, margin %g", m, rel, p, holds, got)
		}
	})
}

func TestVerdictMarginValues(t *testing.T) {
	// log₁₀ of the room: a tenth of the bound is one decade of room.
	if got := VerdictMargin(expr.LE, 1, 10); math.Abs(got-1) > 1e-15 {
		t.Errorf("1 ≤ 10: margin %g, want 1", got)
	}
	if got := VerdictMargin(expr.GE, 1, 10); math.Abs(got+1) > 1e-15 {
		t.Errorf("1 ≥ 10: margin %g, want −1", got)
	}
	if got := VerdictMargin(expr.LE, math.Inf(1), 10); !math.IsInf(got, -1) {
		t.Errorf("never reached (+Inf) ≤ 10: margin %g, want −Inf", got)
	}
	if got := VerdictMargin(expr.LE, math.NaN(), 1); !math.IsNaN(got) {
		t.Errorf("NaN measured: margin %g, want NaN", got)
	}
}

func TestFoldMapsTheLineOntoTheBox(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		x := rapid.Float64Range(-50, 50).Draw(t, "x")
		u := fold(x)
		if u < 0 || u > 1 {
			t.Fatalf("fold(%g) = %g outside [0, 1]", x, u)
		}
		if x >= 0 && x <= 1 && u != x {
			t.Fatalf("fold(%g) = %g: must be the identity on the box", x, u)
		}
		// A reflection: fold(x) = fold(−x) = fold(x + 2).
		if fold(-x) != u || math.Abs(fold(x+2)-u) > 1e-12 {
			t.Fatalf("fold is not the triangle wave at %g", x)
		}
	})
}

// Each field's n draws fall one in each of its n strata, and every layout
// and z law is dealt when n allows.
func TestLatinHypercubeStratifies(t *testing.T) {
	base, err := theory.Preset("default")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := DefaultSearchSpace(base)
	if err != nil {
		t.Fatal(err)
	}
	n := 3 * len(sp.Layouts)
	cs := latinHypercube(theory.NewRand(7, theory.StreamFalsify), sp, n)
	for j, d := range sp.Dims {
		seen := make([]int, n)
		for _, c := range cs {
			seen[min(n-1, int(d.unit(float64(c.Values[j]))*float64(n)))]++
		}
		if slices.ContainsFunc(seen, func(k int) bool { return k != 1 }) {
			t.Errorf("%s: strata counts %v, want one draw in each", d.Field, seen)
		}
	}
	for i := range sp.Layouts {
		if !slices.ContainsFunc(cs, func(c Candidate) bool { return c.Layout == i }) {
			t.Errorf("layout %s never drawn in %d candidates", sp.Layouts[i].Name, n)
		}
	}
	for _, z := range sp.ZKinds {
		if !slices.ContainsFunc(cs, func(c Candidate) bool { return c.ZKind == z }) {
			t.Errorf("z law %s never drawn in %d candidates", z, n)
		}
	}
}

func TestRoundingsAreRounderAndNear(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := rapid.Float64Range(1e-3, 1e3).Draw(t, "v")
		for _, r := range roundings(v) {
			if r == v || math.Abs(r-v) > 0.5*v {
				t.Fatalf("rounding %g of %g: not a near, different value", r, v)
			}
			if sigDigitsOf(r) > sigDigitsOf(v) {
				t.Fatalf("rounding %g of %g has more significant digits", r, v)
			}
		}
	})
	if got := roundings(0.1766); !slices.Equal(got, []float64{0.2, 0.18}) {
		t.Errorf("roundings(0.1766) = %v, want [0.2 0.18]", got)
	}
}

// sigDigitsOf counts the significant digits of x as Go prints it, by
// trimming the leading and trailing zeros of its decimal digits.
func sigDigitsOf(x float64) int {
	s := strconv.FormatFloat(math.Abs(x), 'f', -1, 64)
	s = strings.Trim(strings.ReplaceAll(s, ".", ""), "0")
	return len(s)
}

// A search space that names an unknown field, or a range the optimiser
// cannot use, is bad input naming the field.
func TestSearchSpaceValidation(t *testing.T) {
	for _, d := range []SearchDim{
		{Field: "gama", Lo: 0.1, Hi: 0.9},
		{Field: "eta", Lo: 1, Hi: 1},
		{Field: "eta", Lo: 0, Hi: 10, Log: true},
		{Field: "eta", Lo: 0, Hi: math.Inf(1)},
	} {
		sp := &SearchSpace{Dims: []SearchDim{d}, ZKinds: []theory.ZKind{theory.ZConstant}, Layouts: []Layout{{Name: "x"}}}
		if err := sp.validate(); err == nil {
			t.Errorf("%+v: accepted", d)
		}
	}
}

// selectWeighted is quantileOf on sorted values, without the sort: the
// same value on random weighted samples with ties (a sort-based reference).
func TestSelectWeightedIsTheSortedQuantile(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 60).Draw(t, "n")
		ps := make([]weighted, n)
		for i := range ps {
			// Few distinct values, so that ties are common; dyadic
			// weights, so that every partial sum is exact.
			ps[i] = weighted{x: float64(rapid.IntRange(0, 8).Draw(t, "x")), w: float64(rapid.IntRange(0, 4).Draw(t, "w")) / 4}
		}
		q := rapid.Float64Range(0, 1).Draw(t, "q")
		sorted := slices.Clone(ps)
		slices.SortStableFunc(sorted, func(a, b weighted) int { return cmp.Compare(a.x, b.x) })
		xs, ws := make([]float64, n), make([]float64, n)
		total := 0.0
		for i, p := range sorted {
			xs[i], ws[i] = p.x, p.w
			total += p.w
		}
		want := quantileOf(xs, ws, q)
		if got := selectWeighted(slices.Clone(ps), q*total); got != want {
			t.Fatalf("selectWeighted = %g, sorted quantile = %g (q = %g, %v)", got, want, q, ps)
		}
	})
}

// BenchmarkFalsifyCandidate is one candidate of a search judged for C2–C7
// at once on the orbit engine: the default layout, uniform z on [0.5, 1.5],
// γ = ½, η = 10: the default preset itself (docs/PERFORMANCE.md §Falsify).
func BenchmarkFalsifyCandidate(b *testing.B) {
	base, err := theory.Preset("default")
	if err != nil {
		b.Fatal(err)
	}
	opt := FalsifyOptions{MaxWork: -1} // its planned length is an upper bound: the run settles at step 612
	if err := opt.defaults(base); err != nil {
		b.Fatal(err)
	}
	targets, err := falsifyTargets([]string{"C2", "C3", "C4", "C5", "C6", "C7"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	e := newEvaluators(targets, &opt, nil)[targets[0].main]
	c := Candidate{Layout: 0, ZKind: theory.ZUniform, Values: []Float{0.5, 10, 0.5, 3, 0.1, 0.1, 0}}
	b.ReportAllocs()
	for b.Loop() {
		if evs := e.run(c); evs["C2"].Error != "" {
			b.Fatal(evs["C2"].Error)
		}
	}
}
