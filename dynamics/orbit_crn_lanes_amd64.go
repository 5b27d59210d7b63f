//go:build amd64 && !purego

package dynamics

import "unsafe"

// The lane kernels in AVX-512 (orbit_crn_lanes_amd64.s) when the CPU has it
// (rowLoops == 2), else the portable loops: the same bits
// (TestCRNLanesMatchGo). The wrappers check the tables' lengths: the
// assembly does none.

// crnWorkArgs is crnWork for the assembly: the tables' first entries, and
// the flags as 0 or 1 (the offsets are in the .s file).
type crnWorkArgs struct {
	e, z, nb, masked, T, acc, X, y, loss, Z *float64
	K, N, keysAll, grad                     int
	eSelf, wt                               float64
}

//go:noescape
func crnClassWorkAVX512(a *crnWorkArgs) int

//go:noescape
func crnClassSumsAVX512(cnt *float32, K int, gb *int, N int, eB, S *float64, keysAll int, nb, masked *float64)

//go:noescape
func crnGroupAccAVX512(cnt *float32, K int, gcls *int, G int, X, y, S *float64, keysAll int, accN, accNy, accY *float64)

//go:noescape
func crnExpArgsAVX512(z *float64, K, N int, a, e *float64)

//go:noescape
func ctrlMomentsAVX512(ex, pre *float64, N, nz int, mom *[numMom]float64)

//go:noescape
func crnLaneSumAVX512(src *float64, K, rows int, acc *float64)

// crnClassWork is crnClassWorkGo.
func crnClassWork(w *crnWork) int {
	K, N := w.K, w.N
	if rowLoops != 2 || K%crnLanes != 0 || N < 1 {
		return crnClassWorkGo(w)
	}
	_ = w.e[(N+1)*K-1]
	_, _ = w.z[N*K-1], w.nb[N*K-1]
	_, _, _ = w.T[N*crnLanes-1], w.loss[K-1], w.Z[K-1]
	// Field by field, as vecQueries builds its arguments (a composite
	// literal is copied with 16-byte moves that stall store forwarding).
	var a crnWorkArgs
	a.e, a.z, a.nb, a.T, a.loss, a.Z = &w.e[0], &w.z[0], &w.nb[0], &w.T[0], &w.loss[0], &w.Z[0]
	a.K, a.N, a.keysAll, a.grad, a.eSelf, a.wt = K, N, b2i(w.keysAll), b2i(w.grad), w.eSelf, w.wt
	if w.keysAll {
		_ = w.masked[K-1]
		a.masked = &w.masked[0]
	}
	if w.grad {
		_, _, _ = w.acc[N*crnLanes-1], w.X[N*K-1], w.y[K-1]
		a.acc, a.X, a.y = &w.acc[0], &w.X[0], &w.y[0]
	}
	return crnClassWorkAVX512(&a)
}

// crnClassSums is crnClassSumsGo.
func crnClassSums(cnt []float32, K int, gb []int, eB, S []float64, keysAll bool, nb, masked []float64) {
	N := len(gb) - 1
	G := len(eB)
	if rowLoops != 2 || K%crnLanes != 0 || N < 1 || K == 0 || gb[0] != 0 || gb[N] != G || len(S) < G || len(cnt) < G*K || len(nb) < N*K || (keysAll && len(masked) < K) {
		crnClassSumsGo(cnt, K, gb, eB, S, keysAll, nb, masked)
		return
	}
	for c := range N {
		if gb[c] > gb[c+1] {
			crnClassSumsGo(cnt, K, gb, eB, S, keysAll, nb, masked)
			return
		}
	}
	crnClassSumsAVX512(unsafe.SliceData(cnt), K, &gb[0], N, unsafe.SliceData(eB), unsafe.SliceData(S), b2i(keysAll), &nb[0], unsafe.SliceData(masked))
}

// crnGroupAcc is crnGroupAccGo.
func crnGroupAcc(cnt []float32, K int, gcls []int, X, y, S []float64, keysAll bool, accN, accNy, accY []float64) {
	G := len(gcls)
	ok := rowLoops == 2 && K%crnLanes == 0 && K > 0 && len(cnt) >= G*K && len(S) >= G && len(y) >= K &&
		len(accN) >= G*crnLanes && len(accNy) >= G*crnLanes && len(accY) >= crnLanes
	for _, c := range gcls {
		ok = ok && c >= 0 && len(X) >= (c+1)*K
	}
	if !ok {
		crnGroupAccGo(cnt, K, gcls, X, y, S, keysAll, accN, accNy, accY)
		return
	}
	crnGroupAccAVX512(unsafe.SliceData(cnt), K, unsafe.SliceData(gcls), G, unsafe.SliceData(X), &y[0], unsafe.SliceData(S), b2i(keysAll),
		unsafe.SliceData(accN), unsafe.SliceData(accNy), &accY[0])
}

// crnLaneSum is crnLaneSumGo.
func crnLaneSum(src []float64, K, rows int, acc []float64) {
	if rowLoops != 2 || K%crnLanes != 0 || K == 0 || rows < 1 || len(src) < rows*K || len(acc) < rows*crnLanes {
		crnLaneSumGo(src, K, rows, acc)
		return
	}
	crnLaneSumAVX512(&src[0], K, rows, &acc[0])
}

// crnExpArgs is crnExpArgsGo.
func crnExpArgs(z []float64, K int, a, e []float64) {
	N := len(a)
	if rowLoops != 2 || K%crnLanes != 0 || K == 0 || N < 1 || len(z) < N*K || len(e) < (N+1)*K {
		crnExpArgsGo(z, K, a, e)
		return
	}
	crnExpArgsAVX512(&z[0], K, N, &a[0], &e[0])
}

// ctrlMoments is ctrlMomentsGo (orbit_control.go).
func ctrlMoments(ex, pre []float64, nz int, mom [][numMom]float64) {
	N := len(mom)
	if rowLoops != 2 || N == 0 || nz < 1 || len(ex) < N*nz || len(pre) < N*nz*numMom {
		ctrlMomentsGo(ex, pre, nz, mom)
		return
	}
	ctrlMomentsAVX512(&ex[0], &pre[0], N, nz, &mom[0])
}
