//go:build !amd64 || purego

package dynamics

func crnClassWork(w *crnWork) int { return crnClassWorkGo(w) }

func crnClassSums(cnt []float32, K int, gb []int, eB, S []float64, keysAll bool, nb, masked []float64) {
	crnClassSumsGo(cnt, K, gb, eB, S, keysAll, nb, masked)
}

func crnGroupAcc(cnt []float32, K int, gcls []int, X, y, S []float64, keysAll bool, accN, accNy, accY []float64) {
	crnGroupAccGo(cnt, K, gcls, X, y, S, keysAll, accN, accNy, accY)
}

func crnLaneSum(src []float64, K, rows int, acc []float64) { crnLaneSumGo(src, K, rows, acc) }

func crnExpArgs(z []float64, K int, a, e []float64) { crnExpArgsGo(z, K, a, e) }

func ctrlMoments(ex, pre []float64, nz int, mom [][numMom]float64) { ctrlMomentsGo(ex, pre, nz, mom) }
