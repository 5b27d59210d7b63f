package theory

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// A setting without departures has the JSON form it had before departures
// existed (no "departures" key), so presets' hashes are unchanged.
func TestDeparturesOmittedWhenOff(t *testing.T) {
	for _, name := range PresetNames() {
		s, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(&s)
		if strings.Contains(string(b), "departures") {
			t.Errorf("%s: JSON has a departures key: %s", name, b)
		}
		if s.Departs() {
			t.Errorf("%s departs: %v", name, s.Broken())
		}
	}
}

func TestDeparturesDecode(t *testing.T) {
	s, err := ParseConfig([]byte("preset: grid4\ndepartures:\n  noise: 0.1\n  feature_overlap: 0.3\n  optimizer: adam\n  batch: 8\n  replacement: true\n  heads: 2\n  train_value: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := s.Departures
	want := Departures{Noise: 0.1, FeatureOverlap: 0.3, Optimizer: OptAdam, Beta1: DefaultBeta1, Beta2: DefaultBeta2,
		AdamEps: DefaultAdamEps, Batch: 8, Replacement: true, Heads: 2, TrainValue: true}
	if d != want {
		t.Fatalf("decoded %+v, want %+v", d, want)
	}
	if got := s.BrokenSummary(); !strings.Contains(got, "feature overlap 0.3: the (A, B) reduction needs orthonormal features, SPEC §2") {
		t.Errorf("Broken = %q", got)
	}
	// Round trip through the JSON form.
	b, err := MarshalConfig(s, false)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseConfig(b)
	if err != nil || back.Departures != d {
		t.Fatalf("round trip: %+v, %v", back.Departures, err)
	}
}

func TestDeparturesRefused(t *testing.T) {
	for _, tc := range []struct{ yaml, field string }{
		{"noise: -1", "departures.noise"},
		{"noise: .nan", "departures.noise"},
		{"feature_overlap: 1", "departures.feature_overlap"},
		{"position_overlap: -0.1", "departures.position_overlap"},
		{"batch: -3", "departures.batch"},
		{"replacement: true", "departures.replacement"},
		{"optimizer: sgd", "departures.optimizer"},
		{"beta1: 0.5", "departures.beta1"},
		{"optimizer: adam\n  beta2: 1", "departures.beta2"},
		{"weight_decay: -1", "departures.weight_decay"},
		{"heads: 17", "departures.heads"},
		{"train_value: yes", "departures.train_value"},
		{"nois: 0.1", "departures: unknown field"},
	} {
		_, err := ParseConfig([]byte("preset: grid4\ndepartures:\n  " + tc.yaml + "\n"))
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%q: error %v, want one naming %s", tc.yaml, err, tc.field)
		}
		var fe *FieldError
		if err != nil && tc.field != "departures: unknown field" && !errors.As(err, &fe) {
			t.Errorf("%q: %v is not a *FieldError", tc.yaml, err)
		}
	}
}

// Without departures the sampler's stream is unchanged; with them, the
// partition drawn is a permutation of the cluster's labels.
func TestDeparturesSampler(t *testing.T) {
	s, _ := Preset("grid4")
	base := s.Samples(3, 20)
	d := s.Clone()
	d.Departures = Departures{RandomPartitions: true, Noise: 0.1}
	got := d.Samples(3, 20)
	if got[0].Cluster != base[0].Cluster || got[0].Z[0] != base[0].Z[0] {
		t.Fatalf("first sample differs: %+v vs %+v", got[0], base[0])
	}
	for i, smp := range got {
		if err := d.CheckSample(smp); err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
		if smp.NoiseSeed == 0 {
			t.Fatalf("sample %d: no noise seed", i)
		}
	}
	if err := s.CheckSample(got[0]); err == nil {
		t.Error("a sample with its own partition passed a setting without random partitions")
	}
}
