package theory

import (
	"os"
	"strings"
	"testing"
)

// A config without a preset that leaves out a field without a default is
// told "FIELD: required", one line per field, and nothing else: not the
// out-of-range zero the field would otherwise be validated as, nor the
// errors that zero causes in the fields compared with it (issue 26).
func TestConfigMissingFieldsAreRequired(t *testing.T) {
	_, err := ParseConfig([]byte("clusters:\n  - {areas: [0, 0, 1, 1], prob: 1}\ngamma: 0.5\n"))
	if err == nil {
		t.Fatal("a config without P, z and eta was accepted")
	}
	want := []string{
		"P: required (an integer in [2, 4096])",
		"z: required (a z law {kind, L, U})",
		"eta: required (a step size in [1e-09, 1e+06])",
	}
	if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant exactly:\n%s", err, strings.Join(want, "\n"))
	}
}

// A bad P is reported on one line: the side, the labels and the fixed
// mask's count, which are compared with P, are not reported against it.
func TestConfigBadPIsOneLine(t *testing.T) {
	for _, p := range []string{"0", "1", "-3", "5000"} {
		text := "P: " + p + "\nside: 3\nmask: fixed\nclusters:\n  - {areas: [0, 0, 1, 1], prob: 1}\n  - {areas: [0, 1, 1, 7], prob: 0}\nz: {kind: constant, L: 1}\ngamma: 0.5\neta: 1\n"
		_, err := ParseConfig([]byte(text))
		if err == nil {
			t.Fatalf("P = %s accepted", p)
		}
		want := "P = " + p + ": must be an integer in [2, 4096]"
		if err.Error() != want {
			t.Errorf("P = %s: errors\n%s\nwant exactly %q", p, err, want)
		}
	}
}

// An application tag is named as an unknown tag, wherever it is, not
// reported as a value out of range.
func TestConfigUnknownTag(t *testing.T) {
	cases := []struct{ text, want string }{
		{"preset: default\ngamma: !foo 0.5\n", "line 2: gamma: unknown YAML tag !foo"},
		{"preset: default\nz: !bar {kind: constant, L: 1}\n", "line 2: z: unknown YAML tag !bar"},
		{"preset: grid4\nclusters: !baz []\n", "line 2: clusters: unknown YAML tag !baz"},
		{"preset: grid4\nclusters: [{areas: !q [0]}]\n", "line 2: clusters[0].areas: unknown YAML tag !q"},
	}
	for _, c := range cases {
		_, err := ParseConfig([]byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "must be") {
			t.Errorf("%q: error %v, want %q alone", c.text, err, c.want)
		}
	}
	// The standard tags stay accepted.
	if _, err := ParseConfig([]byte("preset: default\ngamma: !!float 0.5\n")); err != nil {
		t.Errorf("!!float refused: %v", err)
	}
}

// ReadConfig reads a config from an open file that is not a regular one
// (the standard input of --config -, here a pipe).
func TestReadConfigFromPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		w.WriteString("preset: grid4\ngamma: 0.4\n")
		w.Close()
	}()
	s, err := ReadConfig(r, "stdin")
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if s.Gamma != 0.4 || s.P != 16 {
		t.Errorf("read P = %d, γ = %g; want the grid4 preset's P = 16 with γ = 0.4", s.P, s.Gamma)
	}
}

// Validate refuses a subnormal or tiny η whose quarter (C8's agreement
// run) would round to 0, and accepts the bounds.
func TestEtaRange(t *testing.T) {
	s := mustPreset(t, "grid4")
	for eta, ok := range map[float64]bool{5e-324: false, 1e-300: false, MinEta / 2: false, MinEta: true, MaxEta: true, MaxEta * 1.0001: false} {
		s.Eta = eta
		if err := s.Validate(); (err == nil) != ok {
			t.Errorf("η = %g: Validate %v, want ok = %v", eta, err, ok)
		}
		if ok && !(s.Eta/4 > 0) {
			t.Errorf("η = %g accepted but η/4 = %g", eta, s.Eta/4)
		}
	}
}
