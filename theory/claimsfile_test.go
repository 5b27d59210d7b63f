package theory

import (
	"strings"
	"testing"

	"mimverify/theory/expr"
)

var testVocab = ClaimVocabulary{
	Observables: []ObservableSig{
		{ID: "own_mass_deficit", PerRecord: true},
		{ID: "own_mass_quantile", Params: []string{"delta"}, PerRecord: true},
		{ID: "area_wide_step", Params: []string{"eps", "delta"}},
		{ID: "slope", OfObservable: true},
	},
	Symbols: []string{"L", "U", "c", "t", "γ", "δ"},
}

// The example reads, with ASCII spellings of γ and the relation.
func TestParseClaimsExample(t *testing.T) {
	specs, err := ParseClaims([]byte(`claims:
- id: R1
  statement: own-area deficit decays like t^-0.6
  provenance: conjecture
  observable: own_mass_deficit
  at: every
  from: 100
  relation: "<="
  predicted: "2.5 * (c*L^4*t)^(-0.6)"
  regime: ["gamma <= 0.6", {if: "c*U^4 <= 10", why: "small steps"}]
  require: true
- id: R2
  statement: a quantile at another δ, and a fitted exponent
  observable: own_mass_quantile(0.05)
  relation: ">="
  predicted: "0.5"
- id: R3
  statement: exponent
  observable: slope(own_mass_deficit)
  window: [100, 1000]
  relation: "<"
  predicted: "-0.4"
`), testVocab)
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 3 {
		t.Fatalf("%d claims, want 3", len(specs))
	}
	r1 := specs[0]
	if r1.ID != "R1" || r1.Provenance != Conjecture || r1.At != AtEvery || r1.From != 100 || r1.Relation != expr.LE || !r1.Require || r1.Line != 2 {
		t.Errorf("R1 = %+v", r1)
	}
	if got := r1.Predicted.String(); got != "2.5·(c·L⁴·t)^(-0.6)" {
		t.Errorf("predicted prints %q", got)
	}
	if len(r1.Regime) != 2 || r1.Regime[0].String() != "γ ≤ 0.6" || r1.Regime[1].Why != "small steps" {
		t.Errorf("regime = %v", r1.Regime)
	}
	if s := specs[1].Observable.String(); s != "own_mass_quantile(0.05)" {
		t.Errorf("R2 observable %q", s)
	}
	if o := specs[2].Observable; o.ID != "slope" || o.Of == nil || o.Of.ID != "own_mass_deficit" || specs[2].Window[1] != 1000 {
		t.Errorf("R3 = %+v", specs[2])
	}
}

// Every error names the line, the name and the known ones.
func TestParseClaimsErrors(t *testing.T) {
	claim := func(extra string) string {
		return "claims:\n- id: R1\n  statement: s\n  observable: own_mass_deficit\n  relation: \"<=\"\n  predicted: \"1\"\n" + extra
	}
	for _, c := range []struct{ text, want string }{
		{claim("  colour: red\n"), `line 7: claims[0]: unknown field "colour"`},
		{claim("  requir: true\n"), `did you mean "require"`},
		{strings.Replace(claim(""), "own_mass_deficit", "own_mass", 1), `line 4: claims[0].observable: unknown observable "own_mass" (known: own_mass_deficit, own_mass_quantile, area_wide_step, slope)`},
		{strings.Replace(claim(""), `"<="`, `"=<"`, 1), `line 5: claims[0].relation: unknown relation "=<" (known: < <= ≤ > >= ≥ = ==)`},
		{strings.Replace(claim(""), `"1"`, `"2*foo"`, 1), "line 6: claims[0].predicted: \"2*foo\" at character 3: unknown symbol foo (known: L U c t γ δ)"},
		{claim("  regime: [\"gamma <= \"]\n"), "line 7: claims[0].regime[0]"},
		{claim("  regime: [\"beta <= 1\"]\n"), "unknown symbol beta"},
		{claim("  provenance: rumour\n"), "claims[0].provenance = \"rumour\": must be paper, derived or conjecture"},
		{claim("  at: first\n"), "must be last or every"},
		{claim("  window: [10, 1]\n"), "window"},
		{claim("  require: yes please\n"), "must be true or false"},
		{"claims:\n- id: R1\n  statement: s\n", "field observable is required"},
		{claim("") + "- id: R1\n  statement: s\n  observable: own_mass_deficit\n  relation: \"<\"\n  predicted: \"1\"\n", `claim id "R1" given twice (first at line 2)`},
		{strings.Replace(claim(""), "R1", "C3", 1), "is a built-in claim's"},
		{strings.Replace(claim(""), "own_mass_deficit", "area_wide_step(0.1, 0.1, 3)", 1), "area_wide_step takes 2 arguments"},
		{strings.Replace(claim("  at: every\n"), "own_mass_deficit", "area_wide_step", 1), "one number per run"},
		{strings.Replace(claim(""), "own_mass_deficit", "slope(area_wide_step)", 1), "needs an observable with a value at every record"},
		{strings.Replace(claim(""), "own_mass_deficit", "slope(slope(own_mass_deficit))", 1), "needs an observable with a value at every record"},
		{strings.Replace(claim(""), "own_mass_deficit", "slope", 1), "slope needs an observable"},
		{"claim: []\n", `unknown field "claim"`},
		{"- id: R1\n", "a claims file is a mapping"},
	} {
		_, err := ParseClaims([]byte(c.text), testVocab)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseClaims(%q) = %v, want an error containing %q", c.text, err, c.want)
		}
	}
}
