package dynamics

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"mimverify/theory"
)

// singletonAreas is issue 24's campaign setting with singleton areas:
// P = 16 on a 4×4 grid, 16 areas of one position, z of the law given.
func singletonAreas(t *testing.T, z string) theory.Setting {
	labels := make([]string, 16)
	for p := range labels {
		labels[p] = fmt.Sprint(p)
	}
	s, err := theory.ParseConfig([]byte("P: 16\nside: 4\nclusters: [{areas: [" + strings.Join(labels, ",") + "]}]\nz: " + z + "\ngamma: 0.5\neta: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// PredictOrbit counts the terms NewOrbit builds without building them:
// equal to NumTerms in every mode — the mean field, the enumeration, CRN
// with and without the control variate — on the presets and on settings
// with many areas, and the mode is the one NewOrbit resolves.
func TestPredictOrbitCountsTerms(t *testing.T) {
	var settings []theory.Setting
	for _, name := range []string{"default", "grid4", "global-local"} {
		s, err := theory.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		settings = append(settings, s)
	}
	settings = append(settings, singletonAreas(t, "{kind: uniform, L: 0.5, U: 1.5}"), singletonAreas(t, "{kind: two-point, L: 0.5, U: 1.5}"))
	for _, s := range settings {
		for _, opt := range []OrbitOptions{{}, {MeanField: true, QuadNodes: 2}, {Mode: OrbitCRN, CRNSamples: 256}, {Mode: OrbitCRN, QuadNodes: 2}} {
			size, err := PredictOrbit(&s, opt)
			if err != nil {
				t.Fatalf("%s %+v: %v", s.Name, opt, err)
			}
			o, err := NewOrbit(&s, opt)
			if err != nil {
				t.Fatalf("%s %+v: %v", s.Name, opt, err)
			}
			if size.Terms != float64(o.NumTerms()) || size.Mode != o.Mode() || size.Dim != o.Dim() {
				t.Errorf("%s %+v: predicted %v, built %d terms in mode %s (dim %d)", s.Name, opt, size, o.NumTerms(), o.Mode(), o.Dim())
			}
		}
	}
}

// The mean field of the singleton areas with uniform z at the default 4
// nodes per area has 4¹⁶ terms: NewOrbit and PredictOrbit refuse it with
// ErrTooManyTerms (at once: the refusal comes before the table), and the
// orbit level on the same setting resolves to CRN, whose control variate
// is left out (its tensor rule would have 4¹⁶ nodes) — 4096 terms.
func TestOrbitRefusesTooManyTerms(t *testing.T) {
	s := singletonAreas(t, "{kind: uniform, L: 0.5, U: 1.5}")
	size, err := PredictOrbit(&s, OrbitOptions{MeanField: true})
	if !errors.Is(err, ErrTooManyTerms) || size.Terms != 1<<32 {
		t.Errorf("PredictOrbit: %v terms, error %v; want 2³² and ErrTooManyTerms", size.Terms, err)
	}
	if _, err := NewOrbit(&s, OrbitOptions{MeanField: true}); !errors.Is(err, ErrTooManyTerms) {
		t.Errorf("NewOrbit: %v; want ErrTooManyTerms", err)
	}
	o, err := NewOrbit(&s, OrbitOptions{})
	if err != nil || o.Mode() != OrbitCRN || o.NumTerms() != DefaultCRNSamples {
		t.Fatalf("orbit level: %v; want CRN with %d terms", err, DefaultCRNSamples)
	}
}
