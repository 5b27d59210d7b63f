package dynamics

import (
	"errors"
	"fmt"
	"math/big"
	"time"

	"mimverify/theory"
)

// This file assembles the reduced system of a setting for 'mimverify
// reduce' (docs/REDUCE.md): the symmetry and its orbits, the orbit variables
// with names, the conservation laws found numerically, the check of SPEC
// §3's slaving relations along the trajectory, and, where one is honest, the
// right-hand side as expressions (reduce_expr.go).

// ReduceOptions configures Reduce. The zero value: the orbit level, Dim()+8
// random states, 50 GD steps for the relations, a 20 s budget, seed 0.
type ReduceOptions struct {
	// MeanField reduces the mean-field system (level 5) instead of the
	// orbit system (level 4).
	MeanField bool
	// States is the number of random symmetric states whose gradients span
	// the gradient space (0: Dim()+8).
	States int
	// Steps is the number of GD steps from Q(0) = 0 along which the slaving
	// relations are checked (0: 50).
	Steps int
	// Budget bounds the time spent in gradient evaluations (0: 20 s); when
	// the null space would exceed it, only the known laws are tested.
	Budget time.Duration
	Seed   uint64
}

// ReducedVariable is one orbit variable: its name in the expressions, kind
// (FP or PP), a representative entry (FP: k, p, j; PP: p, q), the number of
// entries of its orbit and a meaning.
type ReducedVariable struct {
	Name    string
	Kind    string
	Rep     []int
	Mult    int
	Meaning string
}

// Reduced is the reduced system of a setting.
type Reduced struct {
	Setting    string
	Level      string // "orbit" or "meanfield"
	Mode       string // the orbit objective's mode: enumerate, crn, meanfield
	Order      *big.Int
	Complete   bool
	Generators int
	Atoms      int
	PosOrbits  int
	FPOrbits   int
	PPOrbits   int
	Dim        int
	FullDim    int
	Variables  []ReducedVariable
	Laws       Laws
	Relations  Relations
	// System is the closed form of the right-hand side, or nil with
	// NoClosedForm saying why.
	System       *MeanFieldSystem
	NoClosedForm string
}

// Reduce builds the reduced system of the valid setting s.
func Reduce(s *theory.Setting, opt ReduceOptions) (*Reduced, error) {
	if s == nil {
		return nil, errors.New("dynamics: reduce: nil setting")
	}
	if opt.States < 0 || opt.Steps < 0 || opt.Budget < 0 {
		return nil, errors.New("dynamics: reduce: negative option")
	}
	if opt.Budget == 0 {
		opt.Budget = 20 * time.Second
	}
	if opt.Steps == 0 {
		opt.Steps = 50
	}
	o, err := NewOrbit(s, OrbitOptions{MeanField: opt.MeanField, Seed: opt.Seed})
	if err != nil {
		return nil, err
	}
	sy := o.Symmetry()
	r := &Reduced{Setting: s.Name, Level: "orbit", Mode: o.Mode(), Order: sy.Order, Complete: sy.Complete,
		Generators: len(sy.Gens), Atoms: sy.NumAtoms(), PosOrbits: sy.NumPos, FPOrbits: sy.NumFP, PPOrbits: sy.NumPP,
		Dim: o.Dim(), FullDim: sy.FullDim()}
	if opt.MeanField {
		r.Level = "meanfield"
	}
	r.Variables = reducedVariables(s, o)
	names := variableNames(r.Variables)
	if opt.States == 0 {
		opt.States = o.Dim() + 8
	}
	r.Laws = findLaws(s, o, names, opt)
	r.Relations = checkRelations(s, o, opt)
	if r.NoClosedForm = ClosedFormReason(s, opt.MeanField); r.NoClosedForm == "" {
		r.System, err = NewMeanFieldSystem(s, sy, names)
		switch {
		case errors.Is(err, ErrNotPrintable):
			r.NoClosedForm = err.Error()
		case err != nil:
			return nil, err
		}
	}
	return r, nil
}

// variableNames returns the names of vs, in order.
func variableNames(vs []ReducedVariable) []string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.Name
	}
	return names
}

// reducedVariables names the orbit variables: in the worked case of SPEC §3
// (one cluster of equal areas, one position orbit) α, β (own, off FP), b_0
// (diagonal), b_1 (same area), b_2 (other area); otherwise a_1… for FP and
// b_1… for PP orbits, in the order of the state vector.
func reducedVariables(s *theory.Setting, o *Orbit) []ReducedVariable {
	sy := o.Symmetry()
	vs := o.Variables()
	out := make([]ReducedVariable, len(vs))
	worked := len(s.Clusters) == 1 && sy.NumPos == 1 && sy.NumFP == 2 && sy.NumPP == 3
	areas := s.Clusters[0].Areas
	nfp, npp := 0, 0
	for i, v := range vs {
		out[i] = ReducedVariable{Kind: v.Kind, Rep: v.Rep, Mult: v.Mult, Meaning: v.Meaning}
		switch {
		case worked && v.Kind == "FP" && areas[v.Rep[1]] == v.Rep[2]:
			out[i].Name, out[i].Meaning = "α", "own-area FP: A[p][a(p)]"
		case worked && v.Kind == "FP":
			out[i].Name, out[i].Meaning = "β", "off-area FP: A[p][j], j ≠ a(p)"
		case worked && v.Rep[0] == v.Rep[1]:
			out[i].Name, out[i].Meaning = "b_0", "diagonal PP: B[p][p]"
		case worked && areas[v.Rep[0]] == areas[v.Rep[1]]:
			out[i].Name, out[i].Meaning = "b_1", "same-area PP: B[p][q], q ≠ p in the area of p"
		case worked:
			out[i].Name, out[i].Meaning = "b_2", "cross-area PP: B[p][q], q in another area"
		case v.Kind == "FP":
			nfp++
			out[i].Name = fmt.Sprintf("a_%d", nfp)
		default:
			npp++
			out[i].Name = fmt.Sprintf("b_%d", npp)
		}
	}
	return out
}

// gradTimer evaluates the per-entry gradient and times it.
type gradTimer struct {
	o     *Orbit
	spent time.Duration
}

func (t *gradTimer) grad(x []float64) []float64 {
	g := make([]float64, t.o.Dim())
	start := time.Now()
	t.o.LossGrad(x, g)
	t.spent += time.Since(start)
	return g
}
