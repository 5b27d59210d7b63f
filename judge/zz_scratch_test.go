//go:build mutants

package judge_test

import (
	"fmt"
	"testing"

	"mimverify/judge"
	"mimverify/theory"
)

func TestScratchMut(t *testing.T) {
	s, _ := theory.Preset("default")
	rep, err := judge.Check(s, judge.Options{Samples: 128, Eval: 128, Claims: []string{"C2", "C3", "C7"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		fmt.Println(r.ID, r.Verdict, r.Measured, r.Sharp.Predicted, r.Sharp.Low, r.Sharp.High, r.Sharp.Band, r.Detail[:min(80, len(r.Detail))])
	}
}
