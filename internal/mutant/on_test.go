//go:build mutants

package mutant

import "testing"

// Set switches exactly one mutant on, and its restore function switches
// back to the one that was on before.
func TestSetSwitchesOneMutant(t *testing.T) {
	base := Active()
	restore := Set(KappaInverted)
	for _, m := range Catalogue {
		if On(m.Name) != (m.Name == KappaInverted) {
			t.Errorf("after Set(%s): On(%s) = %v", KappaInverted, m.Name, On(m.Name))
		}
	}
	restore()
	if Active() != base {
		t.Errorf("restore left %q on, want %q", Active(), base)
	}
}
