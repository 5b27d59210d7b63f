package judge

import (
	"testing"

	"mimverify/theory"
)

// TestSettledWaitsForEveryEvent: the main run may stop only once the
// δ-quantile of own-area mass has reached 1 − ε and, with a global area,
// the local queries' own mass too, and four times the later of the two has
// passed. A run where the local queries are area-wide but the δ-quantile is
// not (a two-point z law on global-local does this) must go on.
func TestSettledWaitsForEveryEvent(t *testing.T) {
	s, err := theory.Preset("global-local")
	if err != nil {
		t.Fatal(err)
	}
	g, _ := s.GlobalArea()
	r := &run{s: &s, opt: Options{Epsilon: 0.1, Delta: 0.1}}
	n := s.Clusters[0].NumAreas()
	measure := func(step int, quantile, localOwn float64) Measure {
		m := Measure{Step: step}
		m.Attention.OwnQuantile = quantile
		m.Attention.MassByArea = [][][]float64{make([][]float64, n)}
		for j := range n {
			row := make([]float64, n)
			row[g] = 1 - localOwn
			if j != g {
				row[j] = localOwn
			}
			m.Attention.MassByArea[0][j] = row
		}
		return m
	}
	cases := []struct {
		name string
		ms   []Measure
		want bool
	}{
		{"local area-wide, δ-quantile not", []Measure{measure(10, 0.5, 0.95), measure(1000, 0.8, 0.99)}, false},
		{"both, but not 4× later", []Measure{measure(100, 0.95, 0.95), measure(300, 0.95, 0.99)}, false},
		{"both, 4× later", []Measure{measure(100, 0.95, 0.95), measure(400, 0.95, 0.99)}, true},
		{"δ-quantile, local not", []Measure{measure(100, 0.95, 0.5), measure(1000, 0.95, 0.6)}, false},
		{"before the minimum length", []Measure{measure(10, 0.95, 0.95), measure(100, 0.95, 0.99)}, false},
	}
	for _, c := range cases {
		if got := r.settled(c.ms); got != c.want {
			t.Errorf("%s: settled = %v, want %v", c.name, got, c.want)
		}
	}
}

// A C8 whose flow check ran out of its integrator budget is not asserted,
// with the reason, rather than failing the whole check.
func TestStiffAgreementIsNotAsserted(t *testing.T) {
	c := claimByID("C8")
	s, _ := theory.Preset("grid4")
	ev := &Evidence{Setting: &s, Env: s.Env(), AgreementNote: (&stiffFlowError{"stiff"}).Error()}
	r := Evaluate(&c, ev)
	if r.Verdict != NotAsserted || r.Detail != "agreement stage (C8): stiff" {
		t.Errorf("C8 with a stiff flow: %s, %q", r.Verdict, r.Detail)
	}
}
