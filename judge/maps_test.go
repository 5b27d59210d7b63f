package judge

import (
	"math"
	"testing"

	"mimverify/theory"
)

// The attention maps of a check are distributions over the positions, the
// query never attends to itself with unmasked keys, and once the area-wide
// claim holds each query's largest area mass is on its own area: the
// picture the report draws says what C3 measures.
func TestAttentionMapsAreLocal(t *testing.T) {
	s, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Check(s, Options{Claims: []string{"C3"}, Samples: 32, Eval: 16})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Results[0].Verdict != Holds {
		t.Fatalf("C3 is %q on grid4: the maps test needs it to hold", rep.Results[0].Verdict)
	}
	last := rep.Run.Steps
	finals := 0
	for _, m := range rep.Maps {
		sum := 0.0
		for _, w := range m.Weights {
			sum += float64(w)
		}
		// Each weight is rounded to 1e-4: the sum is 1 within P·5e-5.
		if math.Abs(sum-1) > float64(s.P)*5e-5 || len(m.Weights) != s.P {
			t.Errorf("map %+v: %d weights summing to %v", m, len(m.Weights), sum)
		}
		if m.Weights[m.Query] != 0 {
			t.Errorf("cluster %d query %d attends to itself (%v) with unmasked keys", m.Cluster, m.Query, m.Weights[m.Query])
		}
		if s.Clusters[m.Cluster].Areas[m.Query] != m.Area {
			t.Errorf("query %d: area %d, the setting says %d", m.Query, m.Area, s.Clusters[m.Cluster].Areas[m.Query])
		}
		if m.Step != last {
			continue
		}
		finals++
		mass := make([]float64, s.Clusters[m.Cluster].NumAreas())
		for q, w := range m.Weights {
			mass[s.Clusters[m.Cluster].Areas[q]] += float64(w)
		}
		for a, x := range mass {
			if a != m.Area && x >= mass[m.Area] {
				t.Errorf("cluster %d query %d (area %d) at step %d: area %d has mass %.3f ≥ own %.3f", m.Cluster, m.Query, m.Area, last, a, x, mass[m.Area])
			}
		}
	}
	// grid4: two clusters of 4 and 2 areas, a query per area, at 3 steps.
	if finals != 6 || len(rep.Maps) != 18 {
		t.Errorf("%d maps, %d at the last step; want 18 and 6", len(rep.Maps), finals)
	}
}
