package dynamics

import (
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"

	"mimverify/engine"
	"mimverify/theory"
)

// TestOrbitDeterministic: the same options give bit-identical results at
// any GOMAXPROCS (a seeded CRN stream; the problems, computed concurrently
// on large settings, are folded in a fixed order — TestOrbitParallelBits).
func TestOrbitDeterministic(t *testing.T) {
	d, err := theory.Preset("default")
	if err != nil {
		t.Fatal(err)
	}
	run := func(procs int) []float64 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		e := &OrbitEngine{Options: OrbitOptions{CRNSamples: 256}}
		tr, err := e.Run(engine.Problem{Setting: &d, Seed: 9}, engine.Every(3, 3), engine.Observer{})
		if err != nil {
			t.Fatal(err)
		}
		return append(tr.Final().Correlations.Flat(), tr.Final().Loss)
	}
	a, b := run(1), run(4)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("entry %d differs: %v vs %v", i, a[i], b[i])
		}
	}
}

// TestOrbitEngineErrors: a NaN in the initial state stops the run with a
// *theory.NonFiniteError at step 0; an asymmetric initial state (a Gaussian
// Q(0)) is refused; a non-finite orbit variable is named by a
// representative entry.
func TestOrbitEngineErrors(t *testing.T) {
	s := oneClusterSetting(t, 3, 3, 1)
	init := s.Shape().New()
	init.A[0][0][0] = math.NaN()
	e := &OrbitEngine{}
	_, err := e.Run(engine.Problem{Setting: &s, Init: init}, engine.Every(5, 1), engine.Observer{})
	var nf *theory.NonFiniteError
	if !errors.As(err, &nf) || nf.Step != 0 {
		t.Fatalf("got %v, want a NonFiniteError at step 0", err)
	}
	s.Init = theory.Init{Kind: theory.InitGaussian, Sigma: 0.1}
	_, err = e.Run(engine.NewProblem(&s, nil, 1), engine.Every(5, 1), engine.Observer{})
	if err == nil || !strings.Contains(err.Error(), "not symmetric") {
		t.Fatalf("Gaussian initial state: got %v, want a refusal", err)
	}
	o, err := NewOrbit(&s, OrbitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float64, o.Dim())
	v[1] = math.Inf(1)
	err = o.nonFinite(engine.Orbit, 7, "gradient of ", v)
	if !errors.As(err, &nf) || nf.Step != 7 || !strings.Contains(nf.Quantity, "gradient of orbit variable 1 (A[0][0][1]") {
		t.Fatalf("got %v", err)
	}
}

// TestOrbitOptionErrors: bad options are rejected with the option's name.
func TestOrbitOptionErrors(t *testing.T) {
	s := oneClusterSetting(t, 4, 4, 1)
	for _, opt := range []OrbitOptions{{Mode: "bogus"}, {QuadNodes: -1}, {CRNSamples: 1}, {Mode: OrbitEnumerate, MaxTerms: 10}} {
		if _, err := NewOrbit(&s, opt); err == nil {
			t.Errorf("%+v accepted", opt)
		}
	}
	g4, err := theory.Preset("grid4")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewOrbit(&s, OrbitOptions{Symmetry: TrivialSymmetry(&g4)}); err == nil {
		t.Error("a symmetry of another setting's shape was accepted")
	}
}
