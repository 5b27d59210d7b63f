//go:build !mutants

package mutant

import "testing"

// In the ordinary build no mutant can be switched on.
func TestNoMutantIsOn(t *testing.T) {
	for _, m := range Catalogue {
		if On(m.Name) {
			t.Errorf("On(%s) is true in a build without the tag mutants", m.Name)
		}
	}
}
