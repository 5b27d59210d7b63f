package expr

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
)

// TestDiffMatchesFiniteDifferences differentiates expressions that use
// every differentiable operator with respect to each of their symbols and
// compares with gonum's central finite difference. The tolerance: a
// central difference with step 1e-5 on these O(1) smooth functions has
// truncation error ~1e-10·|f”'| and rounding error ~1e-11·|f|; 1e-7
// relative is far above both and far below a wrong rule (an O(1) error).
func TestDiffMatchesFiniteDifferences(t *testing.T) {
	x, y, z := Sym("x"), Sym("y"), Sym("z_1")
	cases := []Expr{
		Add(Mul(Num(3), x, y), Neg(Div(x, Add(y, Num(2)))), PowN(z, 3)),
		Sub(Exp(Mul(x, y)), Log(Add(Num(1), PowN(x, 2)))),
		Sqrt(Add(PowN(x, 2), PowN(y, 2), Num(1))),
		Pow(Add(x, Num(2)), y),
		Div(Exp(x), Add(Exp(x), Exp(y), Exp(z))), // a softmax weight
		Mul(Div(Num(1), Sqrt(x)), Log(y), Neg(z)),
	}
	env := Env{"x": 0.7, "y": 1.3, "z_1": -0.4}
	for _, e := range cases {
		for _, v := range []string{"x", "y", "z_1"} {
			d, err := e.Diff(v)
			if err != nil {
				t.Fatal(err)
			}
			got := d.MustEval(env)
			f := func(p float64) float64 {
				local := Env{"x": env["x"], "y": env["y"], "z_1": env["z_1"]}
				local[v] = p
				return e.MustEval(local)
			}
			want := fd.Derivative(f, env[v], &fd.Settings{Formula: fd.Central, Step: 1e-5})
			if math.Abs(got-want) > 1e-7*math.Max(1, math.Abs(want)) {
				t.Errorf("∂(%s)/∂%s = %s = %v, finite difference %v", e, v, d, got, want)
			}
		}
	}
	if _, err := Max(x, y).Diff("x"); err == nil {
		t.Error("max differentiated without error")
	}
	if d, _ := Mul(Num(2), y).Diff("x"); !isZero(d) {
		t.Errorf("∂(2y)/∂x = %s, want 0", d)
	}
}
