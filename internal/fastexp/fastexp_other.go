//go:build !amd64 || purego

package fastexp

// NonPos is nonPosGo where there is no assembly.
func NonPos(x []float64) { nonPosGo(x) }
