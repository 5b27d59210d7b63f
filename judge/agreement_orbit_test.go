package judge

import (
	"strings"
	"testing"

	"mimverify/dynamics"
	"mimverify/engine"
	"mimverify/theory"
)

// TestOrbitAgreementHasPower: the reduced ODE's gradient agrees with the
// population engine's on grid4 (orbit enumeration against population
// CRN) and on default (CRN against CRN) within the check's bound, and
// the same check rejects a population engine run at a mask rate 10 %
// off (γ = 0.55 against the orbit's 0.5) — a fault of the size the
// judge's positive controls use, in the prediction source alone.
func TestOrbitAgreementHasPower(t *testing.T) {
	for _, name := range []string{"grid4", "default"} {
		s, err := theory.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		p := engine.NewProblem(&s, s.Samples(1, 64), 1)
		for _, gamma := range []float64{s.Gamma, 1.1 * s.Gamma} {
			off := s
			off.Gamma = gamma
			pop, err := dynamics.NewPopulationObjective(&off, dynamics.PopulationOptions{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			c, why, err := orbitAgreement(&s, p, pop)
			if err != nil || why != "" {
				t.Fatalf("%s: %v %s", name, err, why)
			}
			holds := c.Measured <= c.Predicted()
			if holds != (gamma == s.Gamma) {
				t.Errorf("%s, population at γ = %g: %s = %.3g against %.3g (%s)", name, gamma, c.Quantity, c.Measured, c.Predicted(), c.Name)
			}
			t.Logf("%s, population at γ = %g: %.3g against %.3g", name, gamma, c.Measured, c.Predicted())
		}
	}
}

// TestOrbitAgreementSkippedIsSaid: on a Gaussian start the reduced ODE
// does not apply; C8's other checks run, and the skipped one is named with
// why in the claim's detail — not a silent pass.
func TestOrbitAgreementSkippedIsSaid(t *testing.T) {
	s, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	s.Init = theory.Init{Kind: theory.InitGaussian, Sigma: 0.01}
	p := engine.NewProblem(&s, s.Samples(1, 64), 1)
	checks, skipped, err := agreementChecks(&s, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 3 || !strings.Contains(skipped, "Gaussian start") {
		t.Fatalf("%d checks, skipped %q: want the other three and the reduced ODE's named as skipped", len(checks), skipped)
	}
	ev := &Evidence{Agreement: checks, AgreementSkipped: skipped}
	if _, detail := measureC8(ev, nil); !strings.Contains(detail, "not run: reduced ODE vs population") {
		t.Errorf("C8's detail does not say the reduced ODE's check was not run: %s", detail)
	}
}
