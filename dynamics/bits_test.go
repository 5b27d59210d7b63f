package dynamics

import "math"

// firstBitDiff returns the first index at which a and b (of equal length)
// differ in their bits, or −1. With anyNaN, two NaNs match whatever their
// payloads (kernels that may produce a different NaN than their Go
// definition).
func firstBitDiff(a, b []float64, anyNaN bool) int {
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) && !(anyNaN && math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return i
		}
	}
	return -1
}
