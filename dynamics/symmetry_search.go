package dynamics

import (
	"encoding/binary"
	"math"
	"math/big"
	"slices"
	"sort"

	"mimverify/theory"
)

// incidence is the coloured graph whose automorphisms are the group H of
// docs/ORBIT.md §2: vertices are the atoms (coloured by size), the areas
// (k, j) and the clusters (coloured by π_k and N_k); an atom is joined to
// the area of each cluster containing it, an area to its cluster.
type incidence struct {
	nA, nV  int
	areaOff []int // vertex of area (k, j) = nA + areaOff[k] + j
	clOff   int   // vertex of cluster k = clOff + k
	adj     [][]int
	col0    []int // initial colours
}

func newIncidence(s *theory.Setting, atoms [][]int) *incidence {
	K := len(s.Clusters)
	g := &incidence{nA: len(atoms), areaOff: make([]int, K+1)}
	for k, c := range s.Clusters {
		g.areaOff[k+1] = g.areaOff[k] + c.NumAreas()
	}
	g.clOff = g.nA + g.areaOff[K]
	g.nV = g.clOff + K
	g.adj = make([][]int, g.nV)
	link := func(u, v int) {
		g.adj[u] = append(g.adj[u], v)
		g.adj[v] = append(g.adj[v], u)
	}
	for a, at := range atoms {
		for k, c := range s.Clusters {
			link(a, g.nA+g.areaOff[k]+c.Areas[at[0]])
		}
	}
	for k, c := range s.Clusters {
		for j := range c.NumAreas() {
			link(g.nA+g.areaOff[k]+j, g.clOff+k)
		}
	}
	for v := range g.adj {
		sort.Ints(g.adj[v])
	}
	// Initial colours: atoms by size, areas alike, clusters by (π, N).
	type key struct {
		kind int
		a    int
		b    uint64
	}
	keys := make([]key, g.nV)
	for a, at := range atoms {
		keys[a] = key{0, len(at), 0}
	}
	for v := g.nA; v < g.clOff; v++ {
		keys[v] = key{1, 0, 0}
	}
	for k, c := range s.Clusters {
		keys[g.clOff+k] = key{2, c.NumAreas(), math.Float64bits(c.Prob)}
	}
	distinct := slices.Clone(keys)
	slices.SortFunc(distinct, func(x, y key) int {
		if x.kind != y.kind {
			return x.kind - y.kind
		}
		if x.a != y.a {
			return x.a - y.a
		}
		switch {
		case x.b < y.b:
			return -1
		case x.b > y.b:
			return 1
		}
		return 0
	})
	distinct = slices.Compact(distinct)
	g.col0 = make([]int, g.nV)
	for v, kv := range keys {
		g.col0[v] = slices.Index(distinct, kv)
	}
	return g
}

// refine refines the colourings cs (one per side) jointly towards their
// coarsest equitable refinement, colour ids shared and canonical (ranks of
// sorted signatures). A vertex's signature is a 64-bit hash of its colour
// and the multiset of its neighbours' colours (a sum of mixed values, so no
// sorting): a function of isomorphism-invariant data, so the colouring stays
// invariant; a hash collision could only leave it coarser, which costs
// search but never correctness (every automorphism is checked). It returns
// false as soon as the sides' colour class sizes differ (no isomorphism
// maps one onto the other).
func (g *incidence) refine(cs ...[]int) bool {
	prev := -1
	sig := make([]uint64, len(cs)*g.nV)
	for {
		for i, c := range cs {
			for v := range g.nV {
				h := mix64(uint64(c[v]) + 0x51ed2701)
				var nb uint64
				for _, u := range g.adj[v] {
					nb += mix64(uint64(c[u]))
				}
				sig[i*g.nV+v] = mix64(h ^ mix64(nb))
			}
		}
		distinct := slices.Clone(sig)
		slices.Sort(distinct)
		distinct = slices.Compact(distinct)
		counts := make([]int, len(cs)*len(distinct))
		for i, c := range cs {
			for v := range g.nV {
				r, _ := slices.BinarySearch(distinct, sig[i*g.nV+v])
				c[v] = r
				counts[i*len(distinct)+r]++
			}
		}
		for i := 1; i < len(cs); i++ {
			if !slices.Equal(counts[:len(distinct)], counts[i*len(distinct):(i+1)*len(distinct)]) {
				return false
			}
		}
		if len(distinct) == prev {
			return true
		}
		prev = len(distinct)
	}
}

// mix64 is the splitmix64 finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// firstCell returns the members of the non-singleton colour class of c with
// the smallest colour, or nil when c is discrete.
func firstCell(c []int) []int {
	count := map[int]int{}
	for _, x := range c {
		count[x]++
	}
	best := -1
	for x, n := range count {
		if n > 1 && (best < 0 || x < best) {
			best = x
		}
	}
	if best < 0 {
		return nil
	}
	var cell []int
	for v, x := range c {
		if x == best {
			cell = append(cell, v)
		}
	}
	return cell
}

func individualise(c []int, v int) []int {
	d := slices.Clone(c)
	d[v] = len(c) + 1 // larger than any colour id (ids are ranks < nV·sides)
	return d
}

// search looks for an automorphism φ with c1 ∘ φ⁻¹ = c2, by joint refinement
// and backtracking over the first non-singleton cell; budget counts search
// nodes and an exhausted budget returns nil with *budget < 0.
func (g *incidence) search(c1, c2 []int, budget *int) []int {
	*budget--
	if *budget < 0 {
		return nil
	}
	c1, c2 = slices.Clone(c1), slices.Clone(c2)
	if !g.refine(c1, c2) {
		return nil
	}
	cell := firstCell(c1)
	if cell == nil {
		phi := make([]int, g.nV)
		where := make(map[int]int, g.nV)
		for w, x := range c2 {
			where[x] = w
		}
		for v, x := range c1 {
			phi[v] = where[x]
		}
		if g.isAutomorphism(phi) {
			return phi
		}
		return nil
	}
	v := cell[0]
	for w, x := range c2 {
		if x != c1[v] {
			continue
		}
		if phi := g.search(individualise(c1, v), individualise(c2, w), budget); phi != nil {
			return phi
		}
		if *budget < 0 {
			return nil
		}
	}
	return nil
}

func (g *incidence) isAutomorphism(phi []int) bool {
	if !isPerm(phi) {
		return false
	}
	for v := range g.nV {
		if g.col0[v] != g.col0[phi[v]] || len(g.adj[v]) != len(g.adj[phi[v]]) {
			return false
		}
		for _, u := range g.adj[v] {
			if _, ok := slices.BinarySearch(g.adj[phi[v]], phi[u]); !ok {
				return false
			}
		}
	}
	return true
}

// automorphisms returns generators of the automorphism group H of the
// incidence graph (as vertex permutations), its order by the orbit–
// stabiliser theorem along a base (|H| = Π_i |orbit of b_i under the
// stabiliser of b_1..b_{i−1}|), and whether the search completed within
// budget search nodes. Orbits at each level are joined with every known
// generator that fixes the base so far (the generalised twin swaps of
// twinSwaps and those found at earlier levels), and searched only for the
// pairs not yet joined.
func (g *incidence) automorphisms(budget int) (gens [][]int, order *big.Int, complete bool) {
	order = big.NewInt(1)
	c := slices.Clone(g.col0)
	g.refine(c)
	gens = g.twinSwaps(c)
	var base []int
	for {
		cell := firstCell(c)
		if cell == nil {
			return gens, order, true
		}
		v := cell[0]
		uf := newUnionFind(g.nV)
		join := func(phi []int) {
			for u := range g.nV {
				uf.union(u, phi[u])
			}
		}
		for _, phi := range gens {
			if fixes(phi, base) {
				join(phi)
			}
		}
		cv := individualise(c, v)
		for _, w := range cell[1:] {
			if uf.find(w) == uf.find(v) {
				continue
			}
			phi := g.search(cv, individualise(c, w), &budget)
			if budget < 0 {
				return gens, nil, false
			}
			if phi != nil {
				gens = append(gens, phi)
				join(phi)
			}
		}
		n := int64(0)
		for _, w := range cell {
			if uf.find(w) == uf.find(v) {
				n++
			}
		}
		order.Mul(order, big.NewInt(n))
		base = append(base, v)
		c = cv
		g.refine(c)
	}
}

func fixes(phi, base []int) bool {
	for _, b := range base {
		if phi[b] != b {
			return false
		}
	}
	return true
}

// twinSwaps returns the generalised twin transpositions: atoms α, β of the
// same colour (in the refined colouring c) whose area in every cluster is
// either the same or private (containing that atom only) are swapped
// together with their private areas. Within each class of such atoms (by
// index) the swaps of consecutive members are returned, each checked to be
// an automorphism; consecutive transpositions generate the symmetric group
// of the class, and those beyond the first i members fix them, so they
// serve every level of the base (the base takes the first member of the
// first non-singleton cell).
func (g *incidence) twinSwaps(c []int) [][]int {
	// Signature of an atom: its colour and, per neighbour area, the area's
	// vertex or −1 when the area holds this atom only.
	classes := map[string][]int{}
	var order []string
	for a := range g.nA {
		key := binary.AppendUvarint(nil, uint64(c[a]))
		for _, u := range g.adj[a] {
			x := u + 1
			if len(g.adj[u]) == 2 { // one atom and the cluster: private
				x = 0
			}
			key = binary.AppendUvarint(key, uint64(x))
		}
		k := string(key)
		if _, ok := classes[k]; !ok {
			order = append(order, k)
		}
		classes[k] = append(classes[k], a)
	}
	var out [][]int
	for _, k := range order {
		m := classes[k]
		for i := 0; i+1 < len(m); i++ {
			phi := make([]int, g.nV)
			for v := range phi {
				phi[v] = v
			}
			a, b := m[i], m[i+1]
			phi[a], phi[b] = b, a
			for x, u := range g.adj[a] {
				if w := g.adj[b][x]; w != u {
					phi[u], phi[w] = w, u
				}
			}
			if g.isAutomorphism(phi) {
				out = append(out, phi)
			}
		}
	}
	return out
}

// lift turns a vertex automorphism into a Generator on positions (atom a's
// i-th position to atom φ(a)'s i-th position) with its cluster and area maps.
func (g *incidence) lift(s *theory.Setting, phi []int, atoms [][]int) Generator {
	gen := identityGen(s)
	for a, at := range atoms {
		b := phi[a]
		for i, p := range at {
			gen.Pos[p] = atoms[b][i]
		}
	}
	for k := range s.Clusters {
		k2 := phi[g.clOff+k] - g.clOff
		gen.Cluster[k] = k2
		for j := range gen.Area[k] {
			gen.Area[k][j] = phi[g.nA+g.areaOff[k]+j] - g.nA - g.areaOff[k2]
		}
	}
	return gen
}
