package dynamics

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestCRNLanesMatchGo checks that the lane kernels in use (AVX-512 when the
// CPU has it) give the bits of their portable definitions on random chunks:
// widths 8 to 64, 1 to 13 classes (some without groups), keys "all" or
// not, with and without the gradient, scores over many magnitudes, and
// draws whose normaliser is 0 (class factors 0, as the padding's) or
// underflows. Under purego (or without AVX-512) both sides are the
// portable loops.
func TestCRNLanesMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 1))
	same := func(a, b []float64) int { return firstBitDiff(a, b, true) }
	for trial := range 300 {
		K := crnLanes * (1 + rng.IntN(8))
		N := 1 + rng.IntN(13)
		gb := make([]int, N+1)
		for c := range N {
			gb[c+1] = gb[c] + rng.IntN(6)*min(1, rng.IntN(5))
		}
		G := gb[N]
		gcls := make([]int, G)
		for c := range N {
			for g := gb[c]; g < gb[c+1]; g++ {
				gcls[g] = c
			}
		}
		keysAll, grad := rng.IntN(2) == 0, rng.IntN(4) > 0
		S, eB := make([]float64, G), make([]float64, G)
		cnt := make([]float32, G*K)
		for g := range G {
			S[g] = float64(1 + rng.IntN(60))
			eB[g] = math.Exp(-rng.ExpFloat64() * 3)
			for i := range K {
				cnt[g*K+i] = float32(rng.IntN(int(S[g]) + 1))
			}
		}
		z, a := make([]float64, N*K), make([]float64, N)
		for i := range z {
			z[i] = rng.Float64() * 2
		}
		scale := math.Pow(10, rng.Float64()*3-1)
		for c := range a {
			a[c] = rng.NormFloat64() * scale
		}
		e1, e2 := make([]float64, (N+1)*K), make([]float64, (N+1)*K)
		crnExpArgs(z, K, a, e1)
		crnExpArgsGo(z, K, a, e2)
		if i := same(e1, e2); i >= 0 {
			t.Fatalf("trial %d: exponent %d: %v, Go %v", trial, i, e1[i], e2[i])
		}
		// The maximum's rule on ties, NaN and infinities (which operand
		// is kept) decides the bits: the same arguments with negative z,
		// ±0, ±Inf and NaN among the scores, checked alone (the kernels
		// downstream assume finite arguments).
		if trial%3 == 0 {
			z2, a2 := append([]float64(nil), z...), append([]float64(nil), a...)
			for i := range z2 {
				z2[i] = []float64{-z2[i], z2[i], 0, math.Copysign(0, -1)}[rng.IntN(4)]
			}
			for c := range a2 {
				a2[c] = []float64{a2[c], a2[c], math.Inf(1), math.Inf(-1), math.NaN(), math.Copysign(0, -1)}[rng.IntN(6)]
			}
			f1, f2 := make([]float64, (N+1)*K), make([]float64, (N+1)*K)
			crnExpArgs(z2, K, a2, f1)
			crnExpArgsGo(z2, K, a2, f2)
			if i := same(f1, f2); i >= 0 {
				t.Fatalf("trial %d, special values: exponent %d: %v, Go %v (z %v, a %v)", trial, i, f1[i], f2[i], z2, a2)
			}
		}
		expNonPosSlice(e1)
		for i := range K { // dead and underflowing draws
			switch rng.IntN(10) {
			case 0:
				for r := range N + 1 {
					e1[r*K+i] = 0
				}
			case 1:
				for r := range N + 1 {
					e1[r*K+i] *= 1e-300
				}
			}
		}
		nb1, nb2 := make([]float64, N*K), make([]float64, N*K)
		m1, m2 := make([]float64, K), make([]float64, K)
		crnClassSums(cnt, K, gb, eB, S, keysAll, nb1, m1)
		crnClassSumsGo(cnt, K, gb, eB, S, keysAll, nb2, m2)
		if i := same(append(nb1, m1...), append(nb2, m2...)); i >= 0 {
			t.Fatalf("trial %d: class sums (%d classes of %d draws, then masked) entry %d differ", trial, N, K, i)
		}
		var out [2][]float64
		for v := range 2 {
			w := crnWork{e: e1, z: z, nb: nb1, masked: m1, T: make([]float64, N*crnLanes), acc: make([]float64, N*crnLanes),
				X: make([]float64, N*K), y: make([]float64, K), loss: make([]float64, K), Z: make([]float64, K),
				K: K, N: N, keysAll: keysAll, grad: grad, eSelf: rng.Float64(), wt: 1 / 512.0}
			for i := range w.acc {
				w.acc[i] = float64(i)
			}
			if v == 1 {
				w.eSelf = out[0][0]
			}
			var bad int
			if v == 0 {
				bad = crnClassWork(&w)
			} else {
				bad = crnClassWorkGo(&w)
			}
			accN, accNy, accY := make([]float64, G*crnLanes), make([]float64, G*crnLanes), make([]float64, crnLanes)
			if grad {
				for i := range K { // as sampleFallback does
					if !(w.Z[i] >= tinySum) {
						for c := range N {
							w.X[c*K+i] = 0
						}
						w.y[i] = 0
					}
				}
				if v == 0 {
					crnGroupAcc(cnt, K, gcls, w.X, w.y, S, keysAll, accN, accNy, accY)
					crnLaneSum(w.X, K, N, w.acc)
				} else {
					crnGroupAccGo(cnt, K, gcls, w.X, w.y, S, keysAll, accN, accNy, accY)
					crnLaneSumGo(w.X, K, N, w.acc)
				}
			}
			out[v] = append([]float64{w.eSelf, float64(bad)}, w.loss...)
			for _, r := range [][]float64{w.Z, w.acc, w.X, w.y, accN, accNy, accY} {
				out[v] = append(out[v], r...)
			}
		}
		if i := same(out[0], out[1]); i >= 0 {
			t.Fatalf("trial %d (K %d, N %d, G %d, keys all %v, grad %v): output %d (eSelf, bad, loss, Z, acc, X, y, accN, accNy, accY) is %v, Go %v",
				trial, K, N, G, keysAll, grad, i, out[0][i], out[1][i])
		}
	}
}

// TestCtrlMomentsMatchGo checks the factored control's moment loop in use
// (AVX-512 when the CPU has it) against its portable definition, bit for
// bit, on random tables of 1 to 9 classes of 1 to 6 z nodes (the last
// entry ending the table, as the assembly's masked loads must respect).
func TestCtrlMomentsMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 2))
	for trial := range 200 {
		N, nz := 1+rng.IntN(9), 1+rng.IntN(6)
		ex, pre := make([]float64, N*nz), make([]float64, N*nz*numMom)
		for i := range ex {
			ex[i] = math.Exp(-rng.ExpFloat64() * 5)
		}
		for i := range pre {
			pre[i] = rng.NormFloat64() * math.Exp(rng.NormFloat64()*4)
		}
		m1, m2 := make([][numMom]float64, N), make([][numMom]float64, N)
		ctrlMoments(ex, pre, nz, m1)
		ctrlMomentsGo(ex, pre, nz, m2)
		for c := range m1 {
			if k := firstBitDiff(m1[c][:], m2[c][:], false); k >= 0 {
				t.Fatalf("trial %d (%d classes, %d nodes): class %d moment %d is %v, Go %v", trial, N, nz, c, k, m1[c][k], m2[c][k])
			}
		}
	}
}
