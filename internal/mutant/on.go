//go:build mutants

package mutant

import (
	"fmt"
	"os"
	"sync/atomic"
)

// active is the mutant switched on ("" for none).
var active atomic.Value

// EnvVar names the environment variable that switches a mutant on for a
// whole test binary built with the tag, e.g.
//
//	MIMVERIFY_MUTANT=quantile-side go test -tags mutants ./judge/
//
// so that any test can be shown to fail under a mutant.
const EnvVar = "MIMVERIFY_MUTANT"

func init() {
	n := Name(os.Getenv(EnvVar))
	if n != "" {
		if _, ok := Lookup(n); !ok {
			panic(fmt.Sprintf("mutant: %s=%q is not in the catalogue", EnvVar, n))
		}
	}
	active.Store(n)
}

// On reports whether mutant n is switched on.
func On(n Name) bool { return active.Load().(Name) == n }

// Active returns the mutant switched on, "" for none.
func Active() Name { return active.Load().(Name) }

// Set switches mutant n on (n = "" switches every mutant off) and returns
// the function that restores the previous one. Not safe to call while code
// that reads On runs; tests call it between runs.
func Set(n Name) (restore func()) {
	if n != "" {
		if _, ok := Lookup(n); !ok {
			panic(fmt.Sprintf("mutant: %q is not in the catalogue", n))
		}
	}
	prev := active.Load().(Name)
	active.Store(n)
	return func() { active.Store(prev) }
}
