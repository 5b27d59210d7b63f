package dynamics

import (
	"errors"
	"fmt"
	"math/big"
	"slices"

	"mimverify/theory"
)

// This file finds the symmetry group of a setting (docs/ORBIT.md §1–2): the
// position permutations σ, with a cluster permutation τ and area bijections
// ρ_k, such that every position p in area j of cluster k goes to area ρ_k(j)
// of cluster τ(k), and π_{τ(k)} = π_k. The z law is the same for every area,
// so it is always preserved.
//
// Structure used: positions with the same area in every cluster ("atoms",
// the cells of the common refinement of all partitions) are interchangeable,
// so the group is Sym(atom_1) × … × Sym(atom_r) extended by the group H of
// permutations of atoms, areas and clusters preserving incidence, atom sizes
// and cluster probabilities. H is found by individualisation–refinement
// search on the incidence graph; every generator is lifted to positions and
// verified against the setting before it is used.

// Generator is one element of the symmetry group: position p goes to
// Pos[p], cluster k to Cluster[k], and area j of cluster k to area Area[k][j]
// of cluster Cluster[k].
type Generator struct {
	Pos     []int
	Cluster []int
	Area    [][]int
}

// Symmetry is a verified symmetry group of a setting and its orbits on
// positions, FP entries (k, p, j) and PP pairs (p, q).
type Symmetry struct {
	P        int
	NumAreas []int // N_k
	// Gens are the generators, each verified by Verify.
	Gens []Generator
	// Order is the group order; Complete is false when the automorphism
	// search hit its budget, in which case the group is a verified subgroup
	// of the full group (its orbits are finer, the reduction still exact)
	// and Order is nil.
	Order    *big.Int
	Complete bool

	atoms  [][]int
	atomOf []int

	PosOrbit []int     // orbit id per position
	FPOrbit  [][][]int // [k][p][j] → FP orbit id
	PPOrbit  []int32   // flat P×P → PP orbit id
	NumPos   int
	NumFP    int
	NumPP    int
}

// FullDim returns K·P·N + P² counted exactly: Σ_k P·N_k + P².
func (sy *Symmetry) FullDim() int {
	n := sy.P * sy.P
	for _, nk := range sy.NumAreas {
		n += sy.P * nk
	}
	return n
}

// NumAtoms returns the number of atoms (cells of the common refinement).
func (sy *Symmetry) NumAtoms() int { return len(sy.atoms) }

// Verify reports whether g maps the setting onto itself.
func Verify(s *theory.Setting, g Generator) error {
	P, K := s.P, len(s.Clusters)
	if len(g.Pos) != P || len(g.Cluster) != K || len(g.Area) != K {
		return errors.New("generator has the wrong shape")
	}
	if !isPerm(g.Pos) || !isPerm(g.Cluster) {
		return errors.New("generator is not a permutation")
	}
	for k, cl := range s.Clusters {
		k2 := g.Cluster[k]
		c2 := s.Clusters[k2]
		if c2.Prob != cl.Prob || c2.NumAreas() != cl.NumAreas() {
			return fmt.Errorf("cluster %d ↦ %d changes the probability or the number of areas", k, k2)
		}
		if len(g.Area[k]) != cl.NumAreas() || !isPerm(g.Area[k]) {
			return fmt.Errorf("area map of cluster %d is not a bijection", k)
		}
		for p, a := range cl.Areas {
			if c2.Areas[g.Pos[p]] != g.Area[k][a] {
				return fmt.Errorf("position %d (area %d of cluster %d) ↦ %d is not in area %d of cluster %d", p, a, k, g.Pos[p], g.Area[k][a], k2)
			}
		}
	}
	return nil
}

func isPerm(v []int) bool {
	seen := make([]bool, len(v))
	for _, x := range v {
		if x < 0 || x >= len(v) || seen[x] {
			return false
		}
		seen[x] = true
	}
	return true
}

// TrivialSymmetry returns the group {identity}: every orbit a singleton.
func TrivialSymmetry(s *theory.Setting) *Symmetry {
	sy := newSymmetryBase(s)
	// Atoms as singletons so that no twin symmetry is used.
	sy.atoms = make([][]int, s.P)
	for p := range sy.atomOf {
		sy.atoms[p] = []int{p}
		sy.atomOf[p] = p
	}
	sy.Order, sy.Complete = big.NewInt(1), true
	sy.buildOrbits(s, nil)
	return sy
}

func newSymmetryBase(s *theory.Setting) *Symmetry {
	sy := &Symmetry{P: s.P, atomOf: make([]int, s.P)}
	for _, c := range s.Clusters {
		sy.NumAreas = append(sy.NumAreas, c.NumAreas())
	}
	return sy
}

// DefaultSymmetryBudget bounds the number of search nodes of FindSymmetry.
const DefaultSymmetryBudget = 20000

// FindSymmetry returns the symmetry group of the valid setting s, its
// generators verified, and its orbits (docs/ORBIT.md §2).
func FindSymmetry(s *theory.Setting) (*Symmetry, error) {
	return findSymmetry(s, DefaultSymmetryBudget)
}

func findSymmetry(s *theory.Setting, budget int) (*Symmetry, error) {
	if s == nil {
		return nil, errors.New("dynamics: symmetry: nil setting")
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("dynamics: symmetry: invalid setting: %w", err)
	}
	sy := newSymmetryBase(s)
	sy.findAtoms(s)
	g := newIncidence(s, sy.atoms)
	hgens, horder, complete := g.automorphisms(budget)
	sy.Complete = complete
	// Twin generators: a transposition and a full cycle per atom generate
	// Sym(atom).
	id := func() Generator { return identityGen(s) }
	for _, at := range sy.atoms {
		if len(at) < 2 {
			continue
		}
		t := id()
		t.Pos[at[0]], t.Pos[at[1]] = at[1], at[0]
		sy.Gens = append(sy.Gens, t)
		if len(at) > 2 {
			c := id()
			for i, p := range at {
				c.Pos[p] = at[(i+1)%len(at)]
			}
			sy.Gens = append(sy.Gens, c)
		}
	}
	for _, h := range hgens {
		sy.Gens = append(sy.Gens, g.lift(s, h, sy.atoms))
	}
	for i, gen := range sy.Gens {
		if err := Verify(s, gen); err != nil {
			return nil, fmt.Errorf("dynamics: symmetry: generator %d fails verification (a bug): %w", i, err)
		}
	}
	if complete {
		sy.Order = new(big.Int).Set(horder)
		for _, at := range sy.atoms {
			sy.Order.Mul(sy.Order, new(big.Int).MulRange(1, int64(len(at))))
		}
	}
	sy.buildOrbits(s, sy.Gens[len(sy.Gens)-len(hgens):])
	return sy, nil
}

func identityGen(s *theory.Setting) Generator {
	g := Generator{Pos: make([]int, s.P), Cluster: make([]int, len(s.Clusters)), Area: make([][]int, len(s.Clusters))}
	for p := range g.Pos {
		g.Pos[p] = p
	}
	for k, c := range s.Clusters {
		g.Cluster[k] = k
		g.Area[k] = make([]int, c.NumAreas())
		for j := range g.Area[k] {
			g.Area[k][j] = j
		}
	}
	return g
}

// findAtoms groups the positions by their vector of area labels over the
// clusters, atoms numbered by their smallest position.
func (sy *Symmetry) findAtoms(s *theory.Setting) {
	key := make(map[string]int)
	buf := make([]byte, 0, 8*len(s.Clusters))
	for p := 0; p < s.P; p++ {
		buf = buf[:0]
		for _, c := range s.Clusters {
			buf = fmt.Appendf(buf, "%d,", c.Areas[p])
		}
		a, ok := key[string(buf)]
		if !ok {
			a = len(sy.atoms)
			key[string(buf)] = a
			sy.atoms = append(sy.atoms, nil)
		}
		sy.atoms[a] = append(sy.atoms[a], p)
		sy.atomOf[p] = a
	}
}

// buildOrbits computes the orbits from the atom structure and the lifted H
// generators hg (an H generator maps atoms onto atoms): the positions of an
// atom are interchangeable (the twin generators), so an FP entry's orbit is
// that of (k, atom, j) under H, and a PP pair's that of (atom, atom', p = q).
func (sy *Symmetry) buildOrbits(s *theory.Setting, hg []Generator) {
	nA, K := len(sy.atoms), len(s.Clusters)
	atomImg := func(g Generator, a int) int { return sy.atomOf[g.Pos[sy.atoms[a][0]]] }
	// Positions: atoms under H.
	ua := newUnionFind(nA)
	for _, g := range hg {
		for a := range nA {
			ua.union(a, atomImg(g, a))
		}
	}
	sy.PosOrbit, sy.NumPos = relabel(s.P, func(p int) int { return ua.find(sy.atomOf[p]) })
	// FP entries (k, atom, j) under H.
	off := make([]int, K+1)
	for k, nk := range sy.NumAreas {
		off[k+1] = off[k] + nA*nk
	}
	fpIdx := func(k, a, j int) int { return off[k] + a*sy.NumAreas[k] + j }
	uf := newUnionFind(off[K])
	for _, g := range hg {
		for k, nk := range sy.NumAreas {
			for a := range nA {
				for j := range nk {
					uf.union(fpIdx(k, a, j), fpIdx(g.Cluster[k], atomImg(g, a), g.Area[k][j]))
				}
			}
		}
	}
	ids := newLabeler(off[K])
	sy.FPOrbit = make([][][]int, K)
	for k, nk := range sy.NumAreas {
		sy.FPOrbit[k] = make([][]int, s.P)
		for p := range s.P {
			row := make([]int, nk)
			for j := range row {
				row[j] = ids.of(uf.find(fpIdx(k, sy.atomOf[p], j)))
			}
			sy.FPOrbit[k][p] = row
		}
	}
	sy.NumFP = ids.n
	// PP pairs (a, b, same) under H: index (a·nA + b)·2 + d, d = 1 for the
	// diagonal p = q.
	up := newUnionFind(nA * nA * 2)
	for _, g := range hg {
		for a := range nA {
			ga := atomImg(g, a)
			for b := range nA {
				gb := atomImg(g, b)
				for d := range 2 {
					up.union((a*nA+b)*2+d, (ga*nA+gb)*2+d)
				}
			}
		}
	}
	P := s.P
	sy.PPOrbit = make([]int32, P*P)
	ids = newLabeler(nA * nA * 2)
	for p := range P {
		for q := range P {
			d := 0
			if p == q {
				d = 1
			}
			sy.PPOrbit[p*P+q] = int32(ids.of(up.find((sy.atomOf[p]*nA+sy.atomOf[q])*2 + d)))
		}
	}
	sy.NumPP = ids.n
}

// labeler numbers class representatives in [0, size) by first occurrence.
type labeler struct {
	id []int
	n  int
}

func newLabeler(size int) *labeler {
	l := &labeler{id: make([]int, size)}
	for i := range l.id {
		l.id[i] = -1
	}
	return l
}

func (l *labeler) of(r int) int {
	if l.id[r] < 0 {
		l.id[r] = l.n
		l.n++
	}
	return l.id[r]
}

// relabel numbers the classes f(p) ∈ [0, n) by first occurrence.
func relabel(n int, f func(int) int) ([]int, int) {
	out := make([]int, n)
	ids := newLabeler(n)
	for p := range n {
		out[p] = ids.of(f(p))
	}
	return out, ids.n
}

type unionFind []int

func newUnionFind(n int) unionFind {
	u := make(unionFind, n)
	for i := range u {
		u[i] = i
	}
	return u
}

func (u unionFind) find(i int) int {
	for u[i] != i {
		u[i] = u[u[i]]
		i = u[i]
	}
	return i
}

// union joins the classes of i and j, keeping the smaller root.
func (u unionFind) union(i, j int) bool {
	a, b := u.find(i), u.find(j)
	if a == b {
		return false
	}
	if a > b {
		a, b = b, a
	}
	u[b] = a
	return true
}

// OrbitsByClosure returns the orbits of the group generated by gens on
// positions, FP entries and PP pairs by brute-force union–find over every
// entry (cost O(|gens|·(K·P·N + P²))): the independent check of the
// structural orbits of Symmetry, for tests.
func OrbitsByClosure(s *theory.Setting, gens []Generator) (pos []int, fp [][][]int, pp []int) {
	P, K := s.P, len(s.Clusters)
	up := newUnionFind(P)
	off := make([]int, K+1)
	for k, c := range s.Clusters {
		off[k+1] = off[k] + P*c.NumAreas()
	}
	n := func(k int) int { return s.Clusters[k].NumAreas() }
	uf := newUnionFind(off[K])
	upp := newUnionFind(P * P)
	for _, g := range gens {
		for p := range P {
			up.union(p, g.Pos[p])
			for q := range P {
				upp.union(p*P+q, g.Pos[p]*P+g.Pos[q])
			}
			for k := range K {
				for j := range n(k) {
					uf.union(off[k]+p*n(k)+j, off[g.Cluster[k]]+g.Pos[p]*n(k)+g.Area[k][j])
				}
			}
		}
	}
	pos, _ = relabel(P, up.find)
	flat, _ := relabel(off[K], uf.find)
	fp = make([][][]int, K)
	for k := range K {
		fp[k] = make([][]int, P)
		for p := range P {
			fp[k][p] = slices.Clone(flat[off[k]+p*n(k) : off[k]+(p+1)*n(k)])
		}
	}
	pp, _ = relabel(P*P, upp.find)
	return pos, fp, pp
}
