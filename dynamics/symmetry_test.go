package dynamics

import (
	"testing"

	"mimverify/theory"
)

func TestSymmetryPresetsTable(t *testing.T) {
	for _, name := range theory.PresetNames() {
		s, err := theory.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		sy, err := FindSymmetry(&s)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-15s P=%4d atoms=%3d order=%v complete=%v gens=%d pos=%d FP=%d PP=%d dim=%d/%d", name, s.P, sy.NumAtoms(), sy.Order, sy.Complete, len(sy.Gens), sy.NumPos, sy.NumFP, sy.NumPP, sy.NumFP+sy.NumPP, sy.FullDim())
	}
}
