package theory

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// labels returns a YAML flow list of n copies of label.
func labels(n int, label string) string {
	return "[" + strings.TrimSuffix(strings.Repeat(label+", ", n), ", ") + "]"
}

// mustFail parses text and checks that the error contains every fragment.
func mustFail(t *testing.T, text string, fragments ...string) error {
	t.Helper()
	s, err := ParseConfig([]byte(text))
	if err == nil {
		t.Fatalf("ParseConfig(%.80q) accepted it: %+v", text, s.Z)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("ParseConfig(%.80q) error\n  %v\nlacks %q", text, err, f)
		}
	}
	if strings.Contains(err.Error(), "%!") {
		t.Errorf("error has a formatting artefact: %v", err)
	}
	return err
}

func TestConfigFieldNamesAreCaseSensitive(t *testing.T) {
	cases := []struct{ text, want string }{
		{"preset: default\nGAMMA: 0.3\n", `unknown field "GAMMA": did you mean "gamma"?`},
		{"preset: default\nEta: 5\n", `unknown field "Eta": did you mean "eta"?`},
		{"preset: grid4\np: 16\n", `unknown field "p": did you mean "P"?`},
		{`{"preset": "default", "Gamma": 0.3}`, `unknown field "Gamma": did you mean "gamma"?`},
		{"preset: grid4\nclusters:\n- areas: " + labels(16, "0") + "\n  Prob: 1\n", `clusters[0]: unknown field "Prob": did you mean "prob"?`},
		{"preset: grid4\nclusters:\n- areas: " + labels(16, "0") + "\n- AREAS: " + labels(16, "0") + "\n", `clusters[1]: unknown field "AREAS": did you mean "areas"?`},
		{"preset: default\nz: {Kind: constant, L: 1}\n", `z: unknown field "Kind": did you mean "kind"?`},
		{"preset: default\nz: {kind: uniform, l: 1, U: 2}\n", `z: unknown field "l": did you mean "L"?`},
		{"preset: default\ninit: {kind: gaussian, Sigma: 0.1}\n", `init: unknown field "Sigma": did you mean "sigma"?`},
		{"preset: default\ngama: 0.3\n", `unknown field "gama": did you mean "gamma"?`},
		{"preset: default\nExtra_Dim: 3\n", `did you mean "extra_dim"?`},
	}
	for _, c := range cases {
		mustFail(t, c.text, c.want)
	}
}

func TestConfigDuplicateFieldsAreRejected(t *testing.T) {
	cases := []struct{ text, want string }{
		{"preset: default\ngamma: 0.3\neta: 1\ngamma: 0.4\n", `line 4: field "gamma" given twice (first at line 2)`},
		{`{"preset": "default", "gamma": 0.3, "gamma": 0.4}`, `field "gamma" given twice`},
		{"{\"preset\": \"default\",\n \"z\": {\"kind\": \"uniform\", \"L\": 1, \"U\": 2, \"L\": 0.5}}", `line 2: z: field "L" given twice`},
		{"preset: grid4\nclusters:\n- areas: " + labels(16, "0") + "\n- areas: " + labels(16, "0") + "\n  areas: " + labels(16, "1") + "\n", `clusters[1]: field "areas" given twice`},
		{"preset: default\npreset: grid4\n", `field "preset" given twice`},
		{"preset: default\ninit: {kind: zero, kind: gaussian}\n", `init: field "kind" given twice`},
	}
	for _, c := range cases {
		mustFail(t, c.text, c.want)
	}
}

func TestConfigIsExactlyOneDocument(t *testing.T) {
	cases := []struct{ text, want string }{
		{"preset: default\n---\ngamma: 0.3\n", "more than one document (the second starts at line 2)"},
		{"preset: default\ngamma: 0.3\n---\n", "more than one document"},
		{`{"preset": "default"} {"gamma": 0.3}`, "text after its first document"},
		{`{"preset": "default"}` + "\n" + `{"gamma": 0.3}`, "text after its first document"},
		{`{"preset": "default", "gamma": 0.3} trailing garbage`, "text after its first document"},
		{`{"preset": "default"}]`, "a config is exactly one YAML or JSON document"},
	}
	for _, c := range cases {
		mustFail(t, c.text, c.want)
	}
	// A single document with the optional markers is fine.
	if _, err := ParseConfig([]byte("---\npreset: default\n...\n")); err != nil {
		t.Errorf("a document with explicit start and end markers: %v", err)
	}
}

func TestConfigOverrideReplacesClusters(t *testing.T) {
	// default has three named clusters with prob 1/3; two clusters without
	// prob get ½ each and no name.
	text := "preset: default\nclusters:\n- areas: " + labels(64, "0") + "\n- name: mine\n  areas: [" +
		strings.TrimSuffix(strings.Repeat("0, 1, ", 32), ", ") + "]\n"
	s, err := ParseConfig([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Clusters) != 2 {
		t.Fatalf("%d clusters, want the file's 2", len(s.Clusters))
	}
	for k, c := range s.Clusters {
		if c.Prob != 0.5 {
			t.Errorf("clusters[%d].prob = %g, want the uniform ½ (the preset's prob must not be kept)", k, c.Prob)
		}
	}
	if s.Clusters[0].Name != "" || s.Clusters[1].Name != "mine" {
		t.Errorf("cluster names %q, %q; want \"\" and \"mine\" (the preset's names must not be kept)", s.Clusters[0].Name, s.Clusters[1].Name)
	}
}

func TestConfigOverrideReplacesNestedObjects(t *testing.T) {
	s, err := ParseConfig([]byte("preset: default\nz: {kind: constant, L: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Z != (ZLaw{ZConstant, 1, 1}) {
		t.Errorf("z = %+v, want {constant 1 1}: U is derived from L again", s.Z)
	}
	s, err = ParseConfig([]byte("preset: default\nz: {kind: two-point, L: 2, U: 3}\n"))
	if err != nil || s.Z != (ZLaw{ZTwoPoint, 2, 3}) {
		t.Errorf("z = %+v, %v; want {two-point 2 3}", s.Z, err)
	}
	// An init override starts from the zero init, not the preset's.
	s, err = ParseConfig([]byte("preset: default\ninit: {kind: gaussian, sigma: 0.1}\n"))
	if err != nil || s.Init != (Init{InitGaussian, 0.1}) {
		t.Errorf("init = %+v, %v", s.Init, err)
	}
	// A new P without a side drops the preset's grid side; a matching side is kept.
	s, err = ParseConfig([]byte("preset: grid4\nP: 4\nclusters: [{areas: [0, 0, 1, 1]}]\n"))
	if err != nil || s.Side != 0 {
		t.Errorf("side = %d, %v; want 0 once P no longer matches the preset's grid", s.Side, err)
	}
	s, err = ParseConfig([]byte("preset: grid4\nP: 4\nside: 2\nclusters: [{areas: [0, 0, 1, 1]}]\n"))
	if err != nil || s.Side != 2 {
		t.Errorf("side = %d, %v; want the given 2", s.Side, err)
	}
}

func TestConfigMessagesNameFieldAndRange(t *testing.T) {
	two := "preset: grid4\nclusters:\n- areas: " + labels(16, "0") + "\n  prob: 0.5\n- areas: " + labels(16, "0") + "\n"
	cases := []struct {
		text string
		want []string
	}{
		{"preset: default\neta: .nan\n", []string{"eta = NaN", "[1e-09, 1e+06]"}},
		{"preset: default\neta: 1e400\n", []string{"eta = 1e400 (out of range)", "[1e-09, 1e+06]"}},
		{"preset: default\ngamma: -1e999\n", []string{"gamma = -1e999 (out of range)", "(0, 1)"}},
		{"preset: default\nz: uniform\n", []string{`z = "uniform": must be a mapping {kind, L, U}`}},
		{"preset: default\ninit: zero\n", []string{`init = "zero": must be a mapping {kind, sigma}`}},
		{"preset: default\nclusters: {areas: [0]}\n", []string{fmt.Sprintf("clusters = (a mapping): must be a list of 1 to %d clusters", maxClusters)}},
		{two + "  prob: high\n", []string{`clusters[1].prob = "high": must be a probability in [0, 1]`}},
		{two + "  prob: 0.7\n", []string{"clusters[*].prob"}},
		{"preset: grid4\nclusters:\n- areas: " + strings.Replace(labels(16, "0"), "0]", "x]", 1) + "\n", []string{`clusters[0].areas[15] = "x": must be an area label`}},
		{"preset: default\nP: four\n", []string{`P = "four": must be an integer in [2, 4096]`}},
		{"preset: default\nP: 4.5\n", []string{"P = 4.5: must be an integer in [2, 4096]"}},
		{"preset: default\nP: 99999999999999999999\n", []string{"P = 99999999999999999999 (out of range): must be an integer"}},
		{"preset: default\ngamma:\n", []string{"gamma = null: must be a masking probability"}},
		{"preset: default\neta: '5'\n", []string{`eta = "5": must be a step size`}},
		{"preset: default\n~: 1\n", []string{`a null key ("~") is not a field name`}},
		{"preset: default\nnull: 1\n", []string{`a null key ("null") is not a field name`}},
		{"preset: default\n? [a, b]\n: 1\n", []string{"a key must be a field name, not (a list of 2 items)"}},
		{"preset: default\nmask: [fixed]\n", []string{"mask = (a list of 1 items): must be one of bernoulli, fixed"}},
		{"preset: default\nkeys: 3\n", []string{`keys = "3": must be one of unmasked, all`}},
		{"preset: [default]\n", []string{"preset = (a list of 1 items): must be the name of a preset"}},
		{"preset: default\n<<: {gamma: 0.2}\n", []string{"merge keys (<<) are not supported"}},
	}
	for _, c := range cases {
		err := mustFail(t, c.text, c.want...)
		if strings.Contains(err.Error(), "neither valid YAML") {
			t.Errorf("%q: the error blames the syntax: %v", c.text, err)
		}
	}
}

func TestConfigErrorCountIsBounded(t *testing.T) {
	// 4096 out-of-range labels: one line per listed problem, then a count.
	text := fmt.Sprintf("P: %d\nclusters: [{areas: %s}]\nz: {kind: uniform, L: 1, U: 2}\ngamma: 0.5\neta: 1\n", maxP, labels(maxP, "9999"))
	err := mustFail(t, text, "clusters[0].areas[0] = 9999", fmt.Sprintf("… and %d more problems", maxP-maxReportedErrors))
	if n := strings.Count(err.Error(), "\n") + 1; n > maxReportedErrors+1 {
		t.Errorf("the error has %d lines, want at most %d", n, maxReportedErrors+1)
	}
	// The same through the parser's own type errors.
	text = strings.Replace(text, labels(maxP, "9999"), labels(maxP, "x"), 1)
	err = mustFail(t, text, fmt.Sprintf("… and %d more problems", maxP-maxReportedErrors))
	if n := strings.Count(err.Error(), "\n") + 1; n > maxReportedErrors+1 {
		t.Errorf("the error has %d lines, want at most %d", n, maxReportedErrors+1)
	}
}

// The two inputs of the issue: 6 MB of out-of-range labels, and 60 MB with
// 1.4 M clusters. Both must be refused in a short message, quickly.
func TestConfigParseCostIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("P: 4\nz: {kind: uniform, L: 1, U: 2}\ngamma: 0.5\neta: 1\nclusters:\n- areas: ")
	b.WriteString(labels(1_000_000, "9999"))
	b.WriteString("\n")
	start := time.Now()
	err := mustFail(t, b.String(), "config holds too many values")
	elapsed := time.Since(start)
	t.Logf("%.1f MB of out-of-range labels: refused in %v", float64(b.Len())/1e6, elapsed)
	if elapsed > 5*time.Second {
		t.Errorf("refusing took %v", elapsed)
	}
	if n := strings.Count(err.Error(), "\n") + 1; n > maxReportedErrors+1 {
		t.Errorf("the error has %d lines", n)
	}

	b.Reset()
	b.WriteString(`{"P": 4, "z": {"kind": "uniform", "L": 1, "U": 2}, "gamma": 0.5, "eta": 1, "clusters": [`)
	for k := 0; k < 1_400_000; k++ {
		fmt.Fprintf(&b, "{\"areas\": [0, 0, 1, 1], \"name\": \"c%07d\"},\n", k)
	}
	b.WriteString(`{"areas": [0, 0, 1, 1]}]}`)
	start = time.Now()
	mustFail(t, b.String(), "too many values")
	elapsed = time.Since(start)
	t.Logf("%.0f MB config with 1.4 M clusters: ParseConfig refused it in %v", float64(b.Len())/1e6, elapsed)
	if elapsed > 5*time.Second {
		t.Errorf("refusing took %v", elapsed)
	}
	path := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	_, err = LoadConfig(path)
	elapsed = time.Since(start)
	t.Logf("the same from a file: LoadConfig refused it in %v", elapsed)
	if err == nil || !strings.Contains(err.Error(), "too many values") || elapsed > 5*time.Second {
		t.Errorf("LoadConfig: %v after %v", err, elapsed)
	}
}

func TestConfigClusterAndLabelCaps(t *testing.T) {
	var b strings.Builder
	b.WriteString("P: 2\nz: {kind: uniform, L: 1, U: 2}\ngamma: 0.5\neta: 1\nclusters:\n")
	for k := 0; k <= maxClusters; k++ {
		b.WriteString("- areas: [0, 1]\n")
	}
	mustFail(t, b.String(), fmt.Sprintf("clusters = (a list of %d items): must be a list of 1 to %d clusters", maxClusters+1, maxClusters))
	ok := strings.Replace(b.String(), "- areas: [0, 1]\n", "", 1)
	if s, err := ParseConfig([]byte(ok)); err != nil || len(s.Clusters) != maxClusters {
		t.Errorf("%d clusters: %v", maxClusters, err)
	}
	mustFail(t, "preset: default\nclusters: [{areas: "+labels(maxP+1, "0")+"}]\n", "clusters[0].areas = (a list of 4097 items): must be a list of exactly P area labels (P ≤ 4096)")
	// The longest list the separator count lets through is refused by length.
	mustFail(t, "preset: default\nclusters: [{areas: "+labels(maxConfigItems-100, "9")+"}]\n", fmt.Sprintf("clusters[0].areas = (a list of %d items)", maxConfigItems-100))
	// Validate enforces the same cap on a setting built in Go.
	s := validBase()
	for len(s.Clusters) <= maxClusters {
		s.Clusters = append(s.Clusters, s.Clusters[0])
	}
	if err := s.Validate(); !hasFieldError(err, "clusters", fmt.Sprintf("1 to %d", maxClusters)) {
		t.Errorf("Validate with %d clusters: %v", len(s.Clusters), err)
	}
}

func TestConfigAliasesAreBounded(t *testing.T) {
	// A billion laughs: each level doubles the previous ten times.
	var b strings.Builder
	b.WriteString("preset: grid4\nclusters:\n- areas: &l0 [0, 0]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "  name: &l%d [", i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]\n")
	}
	start := time.Now()
	_, err := ParseConfig([]byte(b.String()))
	if err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("alias bomb: %v after %v", err, time.Since(start))
	}
	// A plain alias, within bounds, works.
	text := "preset: grid4\nclusters:\n- areas: &a " + labels(16, "0") + "\n  prob: 0.5\n- areas: *a\n  prob: 0.5\n"
	if _, err := ParseConfig([]byte(text)); err != nil {
		t.Errorf("a reused list of labels: %v", err)
	}
}

func TestLoadConfigRefusesLargeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, make([]byte, maxConfigBytes+10), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := LoadConfig(path)
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a %d-byte file: %v", maxConfigBytes+10, err)
	}
	t.Logf("a %d-byte file: refused in %v", maxConfigBytes+10, time.Since(start))
}

func TestConfigNumbersAreRead(t *testing.T) {
	s, err := ParseConfig([]byte("preset: default\neta: 1_000\ngamma: 0.25\nextra_dim: 0x10\nz: {kind: uniform, L: 1, U: 2.5e0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Eta != 1000 || s.Gamma != 0.25 || s.ExtraDim != 16 || s.Z.U != 2.5 {
		t.Errorf("numbers misread: eta %g gamma %g extra_dim %d U %g", s.Eta, s.Gamma, s.ExtraDim, s.Z.U)
	}
	if _, err := ParseConfig([]byte("preset: default\neta: .inf\n")); err == nil || !strings.Contains(err.Error(), "eta = +Inf") {
		t.Errorf(".inf: %v", err)
	}
}

// The largest valid setting, as MarshalConfig writes it (JSON and YAML), is
// read back: the separator count must not refuse it.
func TestLargestSettingIsAccepted(t *testing.T) {
	if testing.Short() {
		t.Skip("reads about 10 MB of config")
	}
	s := mustPreset(t, "default")
	s.P, s.Side = maxP, 64
	s.Clusters = nil
	for k := 0; k < maxClusters; k++ {
		areas := make([]int, maxP)
		for p := range areas {
			areas[p] = (p + k) % maxP
		}
		s.Clusters = append(s.Clusters, Cluster{Name: fmt.Sprintf("c-%d", k), Areas: areas, Prob: 1.0 / maxClusters})
	}
	if err := s.Resolve(); err != nil {
		t.Fatal(err)
	}
	for _, yamlForm := range []bool{false, true} {
		data, err := MarshalConfig(s, yamlForm)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		back, err := ParseConfig(data)
		if err != nil {
			t.Fatalf("yaml=%v, %.1f MB, %d separators: %v", yamlForm, float64(len(data))/1e6, countSeparators(data), err)
		}
		t.Logf("yaml=%v: %.1f MB, %d separators (limit %d), read in %v", yamlForm, float64(len(data))/1e6, countSeparators(data), maxConfigItems, time.Since(start))
		if len(back.Clusters) != maxClusters || back.Clusters[maxClusters-1].Areas[0] != maxClusters-1 {
			t.Errorf("yaml=%v: read back wrongly", yamlForm)
		}
	}
}

// Valid JSON is a valid config even where YAML's double-quoted strings
// differ from JSON's: \/ and surrogate pairs.
func TestConfigJSONEscapes(t *testing.T) {
	s, err := ParseConfig([]byte(`{"preset": "default", "name": "a\/b \ud83d\ude00 \u00e9 \ud800"}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "a/b 😀 é \uFFFD"; s.Name != want {
		t.Errorf("name = %q, want %q", s.Name, want)
	}
	mustFail(t, "{\"preset\": \"default\",\n\"name\": \"a\\/b\",\n\"Gamma\": 0.3}", `line 3: unknown field "Gamma"`)
}
