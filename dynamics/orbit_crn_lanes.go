package dynamics

// The lane kernels of the CRN samples (orbit_crn_kernel.go, docs/ORBIT.md
// §4.2): a chunk's draws in structure-of-arrays form — row r of a table of
// K draws is tab[r·K : (r+1)·K], K a multiple of crnLanes — and the draws
// taken crnLanes = 8 at a time. Every quantity of one draw is computed by
// the same IEEE operations in the same order whatever the lane, and every
// sum over the draws is kept per lane (acc[r·8 + i mod 8]) in draw order,
// so the portable loops below (the definition, and the fallback: no
// AVX-512, build tag purego, another architecture) and the AVX-512
// assembly (orbit_crn_lanes_amd64.s) give the same bits
// (TestCRNLanesMatchGo). Products that enter a sum are rounded explicitly
// (float64 conversions: no fused multiply-add at GOAMD64=v3), as the
// assembly rounds them (no FMA instructions).

// crnLanes is the width of the lane accumulators (one AVX-512 register of
// float64).
const crnLanes = 8

// crnWork is the class work of one term for every draw of a chunk
// (crnClassWork). Tables are K wide.
type crnWork struct {
	e      []float64 // N+1 rows: e_C, then e^{−m_A}
	z      []float64 // N rows: z_C (class 0 is the query's own area)
	nb     []float64 // N rows: Σ_{g∈C} n_g eB_g
	masked []float64 // 1 row: Σ_g (S_g − n_g) eB_g (keys "all")
	T      []float64 // scratch, N rows of crnLanes (or more)
	acc    []float64 // N rows of crnLanes: the A gradients, per lane
	X      []float64 // out, N rows: X_C
	y      []float64 // out: Y
	loss   []float64 // out: ℓ
	Z      []float64 // out: the normaliser (a draw with Z < tinySum is left out of acc)
	K, N   int
	// keysAll adds the masked keys and the query to Z; grad computes acc,
	// X and y.
	keysAll, grad bool
	eSelf, wt     float64
}

// crnClassWorkGo evaluates one term of every draw of the chunk from its
// class factors and class sums (docs/ORBIT.md §4.2; term's expression per
// draw): ℓ, and
// with grad the A gradients (added into acc, for draws with Z ≥ tinySum),
// X_C = wt·e_C/Z·(z_C² t_C − [C=a] z_a² − r̄) and Y = wt·e^{−m_A}·r̄/Z. It
// returns the number of draws with Z < tinySum (or NaN), whose outputs are
// not to be used.
func crnClassWorkGo(w *crnWork) (bad int) {
	K, N := w.K, w.N
	e, z, nb, T := w.e[:(N+1)*K], w.z[:N*K], w.nb[:N*K], w.T[:N]
	for i := range K {
		Z := 0.0
		for c := range N {
			t := float64(e[c*K+i] * nb[c*K+i])
			T[c] = t
			Z += t
		}
		if w.keysAll {
			Z += float64(e[N*K+i] * float64(w.masked[i]+w.eSelf))
		}
		w.Z[i] = Z
		ok := Z >= tinySum
		if !ok {
			bad++
		}
		inv := 1 / Z
		sumQ := 0.0
		for c := range N {
			t := T[c] * inv
			T[c] = t
			zc := z[c*K+i]
			sumQ += float64(float64(float64(zc*zc)*t) * t)
		}
		za := z[i]
		za2 := float64(za * za)
		zt := float64(za2 * T[0])
		rbar := sumQ - zt
		w.loss[i] = float64(float64(0.5*sumQ)-zt) + float64(0.5*za2)
		if !w.grad {
			continue
		}
		for c := range N {
			zc, t := z[c*K+i], T[c]
			q := float64(float64(zc*zc) * t)
			a, v := float64(q*t), q
			if c == 0 {
				a, v = a-zt, v-za2
			}
			a -= float64(rbar * t)
			v -= rbar
			if ok {
				w.acc[c*crnLanes+i%crnLanes] += float64(float64(w.wt*zc) * a)
			}
			w.X[c*K+i] = float64(float64(w.wt*e[c*K+i])*inv) * v
		}
		w.y[i] = float64(float64(w.wt*e[N*K+i])*inv) * rbar
	}
	return bad
}

// crnExpArgsGo sets the exponents of the class factors of every draw of the
// chunk: e_C = z_C·a_C − m_A (z: N rows, a: the classes' A variables) and
// e_N = −m_A, with m_A the largest of 0 and the z_C·a_C, taken in class
// order by m ← (m > v ? m : v) — the AVX-512 maximum's rule, which keeps
// the later operand on ties and NaN.
func crnExpArgsGo(z []float64, K int, a, e []float64) {
	N := len(a)
	mA := e[N*K : (N+1)*K]
	clear(mA)
	for c, ac := range a {
		row, zr := e[c*K:(c+1)*K], z[c*K:(c+1)*K]
		for i, zi := range zr {
			v := zi * ac
			row[i] = v
			if !(mA[i] > v) {
				mA[i] = v
			}
		}
	}
	for c := range N {
		row := e[c*K : (c+1)*K]
		for i, m := range mA {
			row[i] -= m
		}
	}
	for i, m := range mA {
		mA[i] = -m
	}
}

// crnClassSumsGo sets, for every draw of the chunk, nb_C = Σ_{g∈C} n_g eB_g
// (class c's groups are gb[c] ≤ g < gb[c+1]; counts cnt, G rows) and, with
// keysAll, masked = Σ_g (S_g − n_g) eB_g, each summed from +0 in group order.
func crnClassSumsGo(cnt []float32, K int, gb []int, eB, S []float64, keysAll bool, nb, masked []float64) {
	for c := range len(gb) - 1 {
		row := nb[c*K : (c+1)*K]
		clear(row)
		for g := gb[c]; g < gb[c+1]; g++ {
			eg, cr := eB[g], cnt[g*K:(g+1)*K]
			for i := range row {
				row[i] += float64(float64(cr[i]) * eg)
			}
		}
	}
	if !keysAll {
		return
	}
	masked = masked[:K]
	clear(masked)
	for g, eg := range eB {
		cr, sg := cnt[g*K:(g+1)*K], S[g]
		for i := range masked {
			masked[i] += float64((sg - float64(cr[i])) * eg)
		}
	}
}

// crnGroupAccGo adds, per lane, n_g·X_C of every draw of the chunk into
// accN (G rows of crnLanes; gcls the class of each group), with keysAll
// (S_g − n_g)·Y into accNy, and Y into accY (one row).
func crnGroupAccGo(cnt []float32, K int, gcls []int, X, y, S []float64, keysAll bool, accN, accNy, accY []float64) {
	for g, c := range gcls {
		cr, xr, an := cnt[g*K:(g+1)*K], X[c*K:(c+1)*K], accN[g*crnLanes:(g+1)*crnLanes]
		for i, n := range cr {
			an[i%crnLanes] += float64(float64(n) * xr[i])
		}
		if keysAll {
			sg, ay := S[g], accNy[g*crnLanes:(g+1)*crnLanes]
			for i, n := range cr {
				ay[i%crnLanes] += float64((sg - float64(n)) * y[i])
			}
		}
	}
	crnLaneSumGo(y, K, 1, accY)
}

// crnLaneSumGo adds, per lane, every draw's entry of each of the rows of
// src (K wide) into acc (rows of crnLanes).
func crnLaneSumGo(src []float64, K, rows int, acc []float64) {
	for r := range rows {
		a := acc[r*crnLanes : (r+1)*crnLanes]
		for i, v := range src[r*K : (r+1)*K] {
			a[i%crnLanes] += v
		}
	}
}

// roundLanes rounds a draw count up to a whole number of lanes.
func roundLanes(n int) int { return (n + crnLanes - 1) / crnLanes * crnLanes }

// laneTotal returns the sum of a row of lane accumulators, in lane order.
func laneTotal(a []float64) float64 {
	s := 0.0
	for _, v := range a[:crnLanes] {
		s += v
	}
	return s
}
