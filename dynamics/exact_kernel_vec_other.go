//go:build !amd64 || purego

package dynamics

// vecOn says whether runBlock uses the vector path: never in this build
// (runBlock takes the portable queryExps and blockCoefs).
func vecOn() bool { return false }

func vecQueries(ws *weightedSet, sc *scratch, d *vecDesc, mask uint64, p0 int, ql []float64) int {
	panic("dynamics: vecQueries without the vector path")
}

func keySums(cT, tab []float64, gOff, gKey []int32, ent []uint16, zero uint16) {
	keySumsGo(cT, tab, gOff, gKey, ent)
}

func initVecArgs(ws *weightedSet, sc *scratch) {}

// vecArgs has no fields without the vector path.
type vecArgs struct{}
