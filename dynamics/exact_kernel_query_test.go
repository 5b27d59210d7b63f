package dynamics

import (
	"math"
	"math/rand/v2"
	"testing"

	"mimverify/internal/fastexp"
	"mimverify/theory"
)

// queryDirectByKey is queryDirect written key by key, as it was before the
// keys were taken group by group: the definition that TestQueryDirectBits
// holds it to.
func (ws *weightedSet) queryDirectByKey(c theory.Correlations, st *structure, z []float64, qi int, sc *scratch, weight float64, garow, gbrow []float64) float64 {
	k := int(st.k)
	n := ws.nArea[k]
	p, a := int(ws.qpos[qi]), int(ws.qarea[qi])
	kpos, karea := ws.kpos[st.k0:st.k1], ws.karea[st.k0:st.k1]
	e := make([]float64, len(kpos))
	za, S, rr := make([]float64, n+1), make([]float64, n+1), make([]float64, n+1)
	arow, brow := c.A[k][p][:n], c.B[p][:ws.P]
	for j, aj := range arow {
		za[j] = z[j] * aj
	}
	mx := math.Inf(-1)
	for i, q := range kpos {
		e[i] = za[karea[i]] + brow[q]
		mx = max(mx, e[i])
	}
	for i := range e {
		e[i] -= mx
	}
	fastexp.NonPos(e)
	sum := 0.0
	for i, j := range karea {
		S[j] += e[i]
		sum += e[i]
	}
	inv := 1 / sum
	lp, rbar := 0.0, 0.0
	for j := range S {
		S[j] *= inv
		d := S[j] * z[j]
		if j == a {
			d -= z[a]
		}
		rr[j] = z[j] * d
		lp += d * d
		rbar += S[j] * rr[j]
	}
	coef := weight * inv
	for i, q := range kpos {
		gbrow[q] += e[i] * (coef * (rr[karea[i]] - rbar))
	}
	for j := range garow[:n] {
		garow[j] += weight * z[j] * S[j] * (rr[j] - rbar)
	}
	return 0.5 * lp
}

// TestQueryDirectBits compares queryDirect with its key-by-key definition
// bit for bit — the loss and every entry of the A and B gradient rows it
// adds into — for every query of every term, on the presets and a grid in
// both key modes, at gentle and sharp states, with ±∞ and NaN entries in
// some (NaN against NaN).
func TestQueryDirectBits(t *testing.T) {
	var settings []theory.Setting
	for _, name := range []string{"grid4", "default", "vit14"} {
		s, err := theory.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		settings = append(settings, s)
	}
	g, err := theory.Grid(6, theory.Blocks(3), theory.Rows(2))
	if err != nil {
		t.Fatal(err)
	}
	g.Keys = theory.KeysAll
	settings = append(settings, g)
	rng := rand.New(rand.NewPCG(31, 32))
	queries := 0
	for _, s := range settings {
		o := mustSample(t, &s, s.Samples(7, 12))
		ws := o.ws
		sc := &ws.work[0]
		for _, sigma := range []float64{0.5, 30, 800} {
			c := randomCorr(&s, rng, sigma)
			if sigma == 800 {
				flat := c.Flat()
				for _, v := range []float64{math.Inf(1), math.Inf(-1), math.NaN()} {
					flat[rng.IntN(len(flat))] = v
				}
			}
			for ti, tm := range ws.terms {
				st := &ws.structs[tm.st]
				if st.k0 == st.k1 {
					continue
				}
				n := ws.nArea[st.k]
				z := ws.zs[tm.z0 : int(tm.z0)+n+1]
				for qi := int(st.q0); qi < int(st.q1); qi++ {
					ga, gb := make([]float64, n), make([]float64, s.P)
					ga0, gb0 := make([]float64, n), make([]float64, s.P)
					l := ws.queryDirect(c, st, z, qi, sc, 0.37, ga, gb)
					l0 := ws.queryDirectByKey(c, st, z, qi, sc, 0.37, ga0, gb0)
					got := append(append([]float64{l}, ga...), gb...)
					want := append(append([]float64{l0}, ga0...), gb0...)
					if i := firstBitDiff(got, want, true); i >= 0 {
						t.Fatalf("%s σ=%g term %d query %d: entry %d (loss, A row, B row): %v, key by key %v", s.Name, sigma, ti, qi, i, got[i], want[i])
					}
					queries++
				}
			}
		}
	}
	t.Logf("%d queries equal", queries)
}
