package theory

import (
	_ "embed"
	"fmt"
	"slices"
	"sync"
)

// builtinClaimsYAML states the envelope claims C2, C3, C5 and C7 as a
// claims file (docs/CLAIMS.md), the same language a user's claims use. The
// Go forms of their formulas (rates.go) are the reference a test compares
// the file with: the same printed formula and the same value, bit for bit.
//
//go:embed builtin_claims.yaml
var builtinClaimsYAML []byte

// builtinVocabulary is what the built-in claims file may name: the
// observables the judge measures for C2, C3, C5 and C7, and every symbol
// of Setting.Env with the judge's ε, δ, t, T₁ and step budget.
func builtinVocabulary() ClaimVocabulary {
	v := ClaimVocabulary{Observables: []ObservableSig{
		{ID: "reconstructable_loss", PerRecord: true},
		{ID: "area_wide_step", Params: []string{"eps", "delta"}},
		{ID: "tv_quantile", Params: []string{"delta"}, PerRecord: true},
		{ID: "own_mass_deficit", PerRecord: true},
	}}
	s, err := Preset("default")
	if err != nil {
		panic("theory: the default preset: " + err.Error())
	}
	for name := range s.Env() {
		v.Symbols = append(v.Symbols, name)
	}
	v.Symbols = append(v.Symbols, "ε", "δ", "t", "T₁", "step budget")
	slices.Sort(v.Symbols)
	return v
}

// builtinSpecs parses the embedded file once.
var builtinSpecs = sync.OnceValue(func() []ClaimSpec {
	specs, err := parseClaims(builtinClaimsYAML, builtinVocabulary(), true)
	if err != nil {
		panic("theory: the embedded builtin_claims.yaml: " + err.Error())
	}
	return specs
})

// BuiltinSpecs returns the built-in claims stated in the embedded claims
// file, with their observables.
func BuiltinSpecs() []ClaimSpec {
	specs := slices.Clone(builtinSpecs())
	for i := range specs {
		specs[i].Regime = slices.Clone(specs[i].Regime)
	}
	return specs
}

// builtinClaim returns the claim id of the embedded file.
func builtinClaim(id string) Claim {
	for _, s := range BuiltinSpecs() {
		if s.ID == id {
			return s.Claim
		}
	}
	panic(fmt.Sprintf("theory: no claim %s in builtin_claims.yaml", id))
}
