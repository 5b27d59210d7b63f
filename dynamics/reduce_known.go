package dynamics

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/floats"

	"mimverify/theory"
)

// The conservation laws of docs/ORBIT.md §6, written on the orbit variables
// of a representative row, tested on this setting's gradients; and SPEC §3's
// slaving relations checked along the reduced GD trajectory from Q(0) = 0.

// knownLaws tests the three families of docs/ORBIT.md §6 on the gradients.
func knownLaws(s *theory.Setting, sy *Symmetry, grads [][]float64) []KnownLaw {
	D := sy.NumFP + sy.NumPP
	reps, _ := orbitReps(sy)
	unmasked := s.Keys == theory.KeysUnmasked
	z := (s.Z.L + s.Z.U) / 2
	rowB := KnownLaw{Name: "Σ_q B[p][q] (every query row p)", Predicted: true,
		Why: "always: adding c to every score of a row leaves its softmax unchanged"}
	rowA := KnownLaw{Name: "Σ_j A[k][p][j] (every cluster k, row p)", Predicted: commonZ(s) && unmasked}
	area := KnownLaw{Name: fmt.Sprintf("Σ_{q∈P_{k,j}} B[p][q] − A[k][p][j]/z with z = %g (every k, p, area j)", z),
		Predicted: areaLawPredicted(s)}
	switch {
	case rowA.Predicted:
		rowA.Why = "z is common to the areas of an image and keys are the unmasked positions: adding c to A[k][p][·] shifts every key's score by z·c"
	case !unmasked:
		rowA.Why = "fails for keys \"all\": the masked keys' scores do not move with A"
	default:
		rowA.Why = "fails for z independent across areas: the shift z_j·c differs between areas"
	}
	switch {
	case area.Predicted:
		area.Why = "one cluster, constant z, unmasked keys: per image Σ_{q∈P_j∩U} ∂ℓ/∂B[p][q] = (1/z)·∂ℓ/∂A[p][j]"
	case len(s.Clusters) > 1:
		area.Why = "fails for several clusters: B is shared by the clusters, A is not"
	case !constantZ(s):
		area.Why = "fails for a random z: the factor 1/z does not come out of the expectation (tested with z = E z)"
	default:
		area.Why = "fails for keys \"all\": masked keys of area j add −π·r̄ to the B sum only"
	}
	test := func(l *KnownLaw, w []float64) {
		l.Instances++
		l.Residual = math.Max(l.Residual, residual(w, grads))
	}
	for _, p0 := range reps {
		w := make([]float64, D)
		for q := range s.P {
			w[sy.NumFP+int(sy.PPOrbit[p0*s.P+q])]++
		}
		test(&rowB, w)
		for k, cl := range s.Clusters {
			w := make([]float64, D)
			for _, id := range sy.FPOrbit[k][p0] {
				w[id]++
			}
			test(&rowA, w)
			for j := range cl.NumAreas() {
				w := make([]float64, D)
				for q, a := range cl.Areas {
					if a == j {
						w[sy.NumFP+int(sy.PPOrbit[p0*s.P+q])]++
					}
				}
				w[sy.FPOrbit[k][p0][j]] -= 1 / z
				test(&area, w)
			}
		}
	}
	out := []KnownLaw{rowB, rowA, area}
	for i := range out {
		out[i].Holds = out[i].Residual <= LawRankTol
	}
	return out
}

// areaLawPredicted reports whether docs/ORBIT.md §6 predicts its law 3,
// Σ_{q∈P_{k,j}} B[p][q] − A[k][p][j]/z (and so, from Q(0) = 0, the
// slaving relations): one cluster, a constant z, unmasked keys.
func areaLawPredicted(s *theory.Setting) bool {
	return len(s.Clusters) == 1 && constantZ(s) && s.Keys == theory.KeysUnmasked
}

// Relations is the check of SPEC §3's slaving relations, generalised: for
// every cluster k, query representative p and area j,
// Σ_{q∈P_{k,j}, q≠p} B[p][q] = A[k][p][j]/z along reduced GD from Q(0) = 0
// (in the worked case: b_1 = α/(z(C−1)) and b_2 = β/(zC)).
type Relations struct {
	// Applies is false (with Why) when z is not constant: the relation
	// names a constant z.
	Applies bool
	Why     string
	// Predicted: docs/ORBIT.md §6 (law 3 from Q(0) = 0) says it holds.
	Predicted bool
	Steps     int
	Eta       float64
	// Residual is the largest |Σ B − A/z| over steps, k, p, j, relative to
	// the largest |x| at that step; Holds when ≤ RelationTol.
	Residual float64
	Holds    bool
}

// RelationTol bounds the relative residual of a relation that holds: the
// per-step gradients satisfy it to ≈ 1e-15 relative and GD adds the errors
// of ≤ a few hundred steps.
const RelationTol = 1e-10

// checkRelations runs reduced GD from 0 and measures the relations.
func checkRelations(s *theory.Setting, o *Orbit, opt ReduceOptions) Relations {
	sy := o.Symmetry()
	r := Relations{Eta: s.Eta, Predicted: areaLawPredicted(s)}
	if !constantZ(s) {
		r.Why = fmt.Sprintf("z is %s: the relations name a constant z (docs/ORBIT.md §6: they fail for shared or independent z)", s.Z.Kind)
		return r
	}
	r.Applies = true
	z := s.Z.L
	reps, _ := orbitReps(sy)
	x := make([]float64, o.Dim())
	gt := &gradTimer{o: o}
	for t := 1; t <= opt.Steps; t++ {
		floats.AddScaled(x, -s.Eta, gt.grad(x))
		r.Steps = t
		scale := floats.Norm(x, math.Inf(1))
		for _, p0 := range reps {
			for k, cl := range s.Clusters {
				sum := make([]float64, cl.NumAreas())
				for q, a := range cl.Areas {
					if q != p0 {
						sum[a] += x[sy.NumFP+int(sy.PPOrbit[p0*s.P+q])]
					}
				}
				for j, v := range sum {
					d := math.Abs(v - x[sy.FPOrbit[k][p0][j]]/z)
					if scale > 0 {
						r.Residual = math.Max(r.Residual, d/scale)
					}
				}
			}
		}
		if gt.spent*time.Duration(t+1)/time.Duration(t) > opt.Budget {
			break
		}
	}
	r.Holds = r.Residual <= RelationTol
	return r
}
