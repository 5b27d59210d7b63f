package dynamics

import "mimverify/internal/fastexp"

// expNonPosSlice sets every entry v ≤ 0 of x to e^v (internal/fastexp: within
// 4.4u relative, the same bits on every CPU).
func expNonPosSlice(x []float64) { fastexp.NonPos(x) }
