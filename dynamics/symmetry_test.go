package dynamics

import (
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"mimverify/theory"
)

// TestSymmetryPresetsTable logs the per-preset table of docs/ORBIT.md §2
// and checks the structural orbits against the closure of the generators.
func TestSymmetryPresetsTable(t *testing.T) {
	for _, name := range theory.PresetNames() {
		s, err := theory.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		sy, err := FindSymmetry(&s)
		if err != nil {
			t.Fatal(err)
		}
		if !sy.Complete {
			t.Errorf("%s: the automorphism search did not complete", name)
		}
		t.Logf("| %s | %d | %d | %s | %d | %d | %d | %d | %d | %d |", name, s.P, sy.NumAtoms(), sy.Order, len(sy.Gens), sy.NumPos, sy.NumFP, sy.NumPP, sy.NumFP+sy.NumPP, sy.FullDim())
		checkClosure(t, &s, sy)
	}
}

// samePartition reports whether two labellings define the same partition.
func samePartition(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	ab, ba := map[int]int{}, map[int]int{}
	for i := range a {
		if x, ok := ab[a[i]]; ok && x != b[i] {
			return false
		}
		if x, ok := ba[b[i]]; ok && x != a[i] {
			return false
		}
		ab[a[i]], ba[b[i]] = b[i], a[i]
	}
	return true
}

func flatFP(fp [][][]int) []int {
	var out []int
	for _, ak := range fp {
		for _, row := range ak {
			out = append(out, row...)
		}
	}
	return out
}

// checkClosure compares the structural orbits with the brute-force
// union–find closure of the verified generators.
func checkClosure(t *testing.T, s *theory.Setting, sy *Symmetry) {
	t.Helper()
	pos, fp, pp := OrbitsByClosure(s, sy.Gens)
	ppS := make([]int, len(sy.PPOrbit))
	for i, v := range sy.PPOrbit {
		ppS[i] = int(v)
	}
	if !samePartition(pos, sy.PosOrbit) || !samePartition(flatFP(fp), flatFP(sy.FPOrbit)) || !samePartition(pp, ppS) {
		t.Errorf("%s: structural orbits differ from the closure of the generators", s.Name)
	}
}

// bruteForceGroup enumerates every (σ, τ) with σ ∈ Sym(P), τ ∈ Sym(K), keeps
// those that Verify accepts, and returns the group order and orbits.
func bruteForceGroup(s *theory.Setting) (order int, pos []int, fp [][][]int, pp []int) {
	P, K := s.P, len(s.Clusters)
	var all []Generator
	perm := make([]int, P)
	for i := range perm {
		perm[i] = i
	}
	cperms := permutations(K)
	var visit func(i int)
	visit = func(i int) {
		if i == P {
			for _, tau := range cperms {
				g := identityGen(s)
				copy(g.Pos, perm)
				copy(g.Cluster, tau)
				ok := true
				for k, c := range s.Clusters {
					if s.Clusters[tau[k]].NumAreas() != c.NumAreas() {
						ok = false
						break
					}
					for p, a := range c.Areas {
						g.Area[k][a] = s.Clusters[tau[k]].Areas[perm[p]]
					}
				}
				if ok && Verify(s, g) == nil {
					all = append(all, g)
				}
			}
			return
		}
		for j := i; j < P; j++ {
			perm[i], perm[j] = perm[j], perm[i]
			visit(i + 1)
			perm[i], perm[j] = perm[j], perm[i]
		}
	}
	visit(0)
	pos, fp, pp = OrbitsByClosure(s, all)
	return len(all), pos, fp, pp
}

func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(slices.Clone(p[:i]), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

func mkSetting(t testing.TB, P int, probs []float64, areas ...[]int) theory.Setting {
	t.Helper()
	s := theory.Setting{Name: "hand", P: P, Z: theory.ZLaw{Kind: theory.ZConstant, L: 1, U: 1}, Gamma: 0.5, Eta: 1}
	for k, a := range areas {
		s.Clusters = append(s.Clusters, theory.Cluster{Areas: a, Prob: probs[k]})
	}
	if err := s.Resolve(); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSymmetryBruteForce compares FindSymmetry with the brute-force group on
// P ≤ 8: hand-made settings (three perfect matchings whose union is a
// 3-regular graph, where colour refinement alone is uninformative; an
// asymmetric one; cluster swaps) and random ones.
func TestSymmetryBruteForce(t *testing.T) {
	eq3 := []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}
	cases := []theory.Setting{
		mkSetting(t, 8, eq3, []int{0, 0, 1, 1, 2, 2, 3, 3}, []int{0, 1, 1, 2, 2, 3, 3, 0}, []int{0, 1, 2, 3, 1, 0, 3, 2}),
		mkSetting(t, 8, eq3, []int{0, 0, 1, 1, 2, 2, 3, 3}, []int{0, 1, 1, 2, 2, 3, 3, 0}, []int{0, 1, 2, 3, 0, 2, 1, 3}),
		mkSetting(t, 4, []float64{0.3, 0.3, 0.4}, []int{0, 0, 1, 1}, []int{0, 1, 1, 2}, []int{0, 0, 0, 1}),
		mkSetting(t, 6, []float64{0.5, 0.5}, []int{0, 0, 0, 1, 1, 1}, []int{0, 0, 0, 1, 1, 1}),
		mkSetting(t, 6, []float64{0.5, 0.5}, []int{0, 0, 1, 1, 2, 2}, []int{0, 1, 2, 0, 1, 2}),
	}
	rng := rand.New(rand.NewPCG(21, 22))
	for range 12 {
		s := randomSetting(t, rng, theory.MaskBernoulli, theory.KeysUnmasked, theory.LossSum, theory.ZConstant)
		if s.P <= 7 {
			cases = append(cases, s)
		}
	}
	for i, s := range cases {
		sy, err := FindSymmetry(&s)
		if err != nil {
			t.Fatal(err)
		}
		order, pos, fp, pp := bruteForceGroup(&s)
		ppS := make([]int, len(sy.PPOrbit))
		for j, v := range sy.PPOrbit {
			ppS[j] = int(v)
		}
		if !sy.Complete || sy.Order.Cmp(big.NewInt(int64(order))) != 0 {
			t.Errorf("case %d: order %v (complete %v), brute force %d", i, sy.Order, sy.Complete, order)
		}
		if !samePartition(pos, sy.PosOrbit) || !samePartition(flatFP(fp), flatFP(sy.FPOrbit)) || !samePartition(pp, ppS) {
			t.Errorf("case %d: orbits differ from the brute-force group's", i)
		}
		t.Logf("case %d: P = %d, order %d, orbits pos %d FP %d PP %d", i, s.P, order, sy.NumPos, sy.NumFP, sy.NumPP)
	}
}

// TestVerifyRejects: Verify rejects a generator that moves a position out of
// its area's image, and a cluster map between unequal probabilities.
func TestVerifyRejects(t *testing.T) {
	s := mkSetting(t, 6, []float64{0.4, 0.6}, []int{0, 0, 1, 1, 2, 2}, []int{0, 1, 2, 0, 1, 2})
	g := identityGen(&s)
	g.Pos[0], g.Pos[2] = 2, 0
	if Verify(&s, g) == nil {
		t.Error("a transposition across areas was accepted")
	}
	g = identityGen(&s)
	g.Cluster[0], g.Cluster[1] = 1, 0
	if Verify(&s, g) == nil {
		t.Error("a swap of clusters with probabilities 0.4 and 0.6 was accepted")
	}
	if err := Verify(&s, identityGen(&s)); err != nil {
		t.Errorf("identity rejected: %v", err)
	}
}

// TestSymmetryKnownOrders: one cluster of N equal areas of C has order
// N!·(C!)^N, 2 FP and 3 PP orbits.
func TestSymmetryKnownOrders(t *testing.T) {
	for _, nc := range [][2]int{{4, 4}, {4, 49}, {4, 256}, {3, 5}} {
		s := oneClusterSetting(t, nc[0], nc[1], 1)
		sy, err := FindSymmetry(&s)
		if err != nil {
			t.Fatal(err)
		}
		want := new(big.Int).MulRange(1, int64(nc[0]))
		cf := new(big.Int).MulRange(1, int64(nc[1]))
		for range nc[0] {
			want.Mul(want, cf)
		}
		// FP: own, off; PP: diagonal, same area, other area.
		if sy.Order.Cmp(want) != 0 || sy.NumFP != 2 || sy.NumPP != 3 {
			t.Errorf("%d areas of %d: order of %d bits, want N!(C!)^N of %d bits; FP %d PP %d orbits (want 2, 3)", nc[0], nc[1], sy.Order.BitLen(), want.BitLen(), sy.NumFP, sy.NumPP)
		}
	}
}

// TestSymmetryGridOrders: every position its own area (P = 64: order 64!,
// found through the generalised twin swaps), rows × columns of an 8×8 grid
// (order 2·(8!)²: permute rows, permute columns, transpose — which swaps the
// two clusters).
func TestSymmetryGridOrders(t *testing.T) {
	for _, c := range []struct {
		parts []theory.Partition
		want  *big.Int
	}{
		{[]theory.Partition{theory.Blocks(1)}, new(big.Int).MulRange(1, 64)},
		{[]theory.Partition{theory.Rows(1), theory.Columns(1)}, new(big.Int).Mul(big.NewInt(2), new(big.Int).Exp(new(big.Int).MulRange(1, 8), big.NewInt(2), nil))},
	} {
		s, err := theory.Grid(8, c.parts...)
		if err != nil {
			t.Fatal(err)
		}
		sy, err := FindSymmetry(&s)
		if err != nil {
			t.Fatal(err)
		}
		if !sy.Complete || sy.Order.Cmp(c.want) != 0 {
			t.Errorf("%s: order %v (complete %v), want %v", s.Name, sy.Order, sy.Complete, c.want)
		}
		checkClosure(t, &s, sy)
	}
}

// TestSymmetryRelabelling: permuting the positions, renaming areas and
// reordering clusters changes neither the group order nor the numbers of
// orbits (SPEC §4: invariance under relabelling).
func TestSymmetryRelabelling(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	for _, name := range []string{"grid4", "global-local", "default"} {
		s, err := theory.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		r := s.Clone()
		perm := rng.Perm(s.P)
		cperm := rng.Perm(len(s.Clusters))
		for k, cl := range s.Clusters {
			ren := rng.Perm(cl.NumAreas())
			areas := make([]int, s.P)
			for p, a := range cl.Areas {
				areas[perm[p]] = ren[a]
			}
			r.Clusters[cperm[k]] = theory.Cluster{Name: cl.Name, Areas: areas, Prob: cl.Prob}
		}
		a, err := FindSymmetry(&s)
		if err != nil {
			t.Fatal(err)
		}
		b, err := FindSymmetry(&r)
		if err != nil {
			t.Fatal(err)
		}
		if a.Order.Cmp(b.Order) != 0 || a.NumPos != b.NumPos || a.NumFP != b.NumFP || a.NumPP != b.NumPP {
			t.Errorf("%s: relabelled setting has order %v, orbits %d/%d/%d; original %v, %d/%d/%d", name, b.Order, b.NumPos, b.NumFP, b.NumPP, a.Order, a.NumPos, a.NumFP, a.NumPP)
		}
	}
}
