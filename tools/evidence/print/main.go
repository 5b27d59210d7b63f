package main

import (
	"fmt"

	"mimverify/theory"
)

func main() {
	d, k, w := theory.PhaseTimes()
	for _, e := range []theory.Expr{theory.AreaWideTime(), theory.OwnGapAt(), theory.LossEnvelope(), theory.FPGrowthSlope(), d, k, w} {
		fmt.Println(e)
	}
	for _, p := range theory.AreaWideRegime() {
		fmt.Println(p)
	}
	for _, p := range theory.PhaseRegime()[3:] {
		fmt.Println(p)
	}
}
