package proptest

import (
	"flag"
	"os"
	"testing"
)

// ciSeed is the rapid seed of a plain 'go test': the properties are checked
// on the same 100 generated settings each time, so that CI is reproducible
// (a failure replays with the same command). 'make proptest-long' passes a
// fresh seed (printed by rapid) and 1000 checks to explore new settings.
const ciSeed = "20261125"

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "rapid.seed" })
	if !set {
		if err := flag.Set("rapid.seed", ciSeed); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}
