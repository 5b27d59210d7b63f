//go:build amd64 && !purego

package dynamics

import (
	"testing"

	"golang.org/x/sys/cpu"
)

// TestRowLoopVariants checks every assembly variant of the row loops that
// the CPU supports against the portable loops.
func TestRowLoopVariants(t *testing.T) {
	old := rowLoops
	defer func() { rowLoops = old }()
	for level, ok := range []bool{true, cpu.X86.HasAVX2, cpu.X86.HasAVX512F} {
		if !ok {
			t.Logf("level %d not supported by this CPU", level)
			continue
		}
		rowLoops = level
		checkRowLoops(t)
	}
}
