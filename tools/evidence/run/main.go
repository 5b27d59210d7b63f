// Evidence program for docs/THEORY.md: measures C3/C4/C7 quantities on exact-engine GD trajectories.
// go run ./tools/evidence/run -preset default -eta 10 -steps 4000
package main

import (
	"flag"
	"fmt"
	"math"

	"mimverify/dynamics"
	"mimverify/theory"
)

func main() {
	preset := flag.String("preset", "default", "")
	eta := flag.Float64("eta", 0, "step size (0 = preset)")
	gamma := flag.Float64("gamma", 0, "")
	zk := flag.String("z", "", "z kind")
	L := flag.Float64("L", 0, "")
	U := flag.Float64("U", 0, "")
	loss := flag.String("loss", "", "")
	keys := flag.String("keys", "", "")
	steps := flag.Int("steps", 2000, "")
	n := flag.Int("n", 256, "train samples")
	delta := flag.Float64("delta", 0.1, "")
	pop := flag.Bool("pop", false, "population objective")
	verbose := flag.Bool("v", false, "print table")
	flag.Parse()
	s, err := theory.Preset(*preset)
	if err != nil {
		panic(err)
	}
	if *eta > 0 {
		s.Eta = *eta
	}
	if *gamma > 0 {
		s.Gamma = *gamma
	}
	if *zk != "" {
		s.Z.Kind = theory.ZKind(*zk)
	}
	if *L > 0 {
		s.Z.L = *L
	}
	if *U > 0 {
		s.Z.U = *U
	}
	if *loss != "" {
		s.Loss = theory.LossNorm(*loss)
	}
	if *keys != "" {
		s.Keys = theory.KeyMode(*keys)
	}
	if err := s.Resolve(); err != nil {
		panic(err)
	}
	var obj dynamics.Objective
	if *pop {
		obj, err = dynamics.NewPopulationObjective(&s, dynamics.PopulationOptions{})
	} else {
		obj, err = dynamics.NewSampleObjective(&s, theory.Samples(&s, 1, *n))
	}
	if err != nil {
		panic(err)
	}
	eval := theory.Samples(&s, 99, 256)
	env := theory.RateEnv(&s)
	eps := []float64{0.5, 0.2, 0.1, 0.05, 0.02}
	first := make([]int, len(eps))
	for i := range first {
		first[i] = -1
	}
	c := theory.InitialCorrelations(&s, 1)
	t := 0
	next := func(t int) int {
		if t < 20 {
			return t + 1
		}
		return int(math.Ceil(float64(t) * 1.05))
	}
	// PP classes: pairs sharing an area in every cluster vs conflict pairs.
	always := func(p, q int) bool {
		for _, cl := range s.Clusters {
			if cl.Areas[p] != cl.Areas[q] {
				return false
			}
		}
		return true
	}
	var lastA float64
	var lastT int
	for {
		at := theory.MeasureAttention(&s, c, eval, 0.1, *delta, false)
		fp := theory.SummarizeFP(&s, c)
		bAlways, bConf := 0.0, 0.0
		for p := range c.B {
			for q, b := range c.B[p] {
				if p == q {
					continue
				}
				if always(p, q) {
					bAlways = math.Max(bAlways, math.Abs(b))
				} else {
					bConf = math.Max(bConf, math.Abs(b))
				}
			}
		}
		for i, e := range eps {
			if first[i] < 0 && at.OwnQuantile >= 1-e {
				first[i] = t
			}
		}
		if *verbose && (t == 0 || t == *steps || (t >= 10 && isRound(t))) {
			env["t"] = float64(max(t, 1))
			g := 1 - at.OwnMean
			slope := math.NaN()
			if lastT > 0 {
				slope = (fp.OwnMean - lastA) / math.Log(float64(t)/float64(lastT))
			}
			fmt.Printf("t=%6d recl=%.3e irr=%.3e gap=%.4e q=%.4f gap√t=%.3f pred=%.3f recl·t=%.3f env=%.3f Aown=%.3f Aoff=%.3f dA/dlnt=%.3f pred=%.3f B∀=%.3f Bconf=%.3f\n",
				t, at.ReconstructableLoss, at.IrreducibleLoss, g, at.OwnQuantile, g*math.Sqrt(float64(t)), theory.OwnGapAt().MustEval(env)*math.Sqrt(float64(t)),
				at.ReconstructableLoss*float64(t), theory.LossEnvelope().MustEval(env)*float64(t), fp.OwnMean, fp.OffMean, slope, theory.FPGrowthSlope().MustEval(env), bAlways, bConf)
			lastA, lastT = fp.OwnMean, t
		}
		if t >= *steps {
			break
		}
		nt := min(next(t), *steps)
		tr, err := dynamics.Descend(&s, obj, dynamics.DescendOptions{Steps: nt - t, RecordEvery: nt - t, Init: c, Engine: "exact"})
		if err != nil {
			panic(err)
		}
		c = tr.Final().Correlations.Clone()
		t = nt
	}
	fmt.Printf("%s γ=%.2f η=%g z=%s[%g,%g] loss=%s keys=%s δ=%g\n", s.Name, s.Gamma, s.Eta, s.Z.Kind, s.Z.L, s.Z.U, s.Loss, s.Keys, *delta)
	for i, e := range eps {
		env["ε"], env["δ"] = e, *delta
		pred := theory.AreaWideTime().MustEval(env)
		fmt.Printf("  ε=%.2f T=%6d T*=%9.1f ratio=%.3f\n", e, first[i], pred, float64(first[i])/pred)
	}
}

var rounds = map[int]bool{}

func isRound(t int) bool {
	for _, b := range []int{10, 20, 50, 100, 200, 500, 1000, 2000, 4000, 5000, 8000, 10000, 16000, 20000} {
		rounds[b] = true
	}
	return rounds[t] || (t > 50 && isNearRound(t))
}

func isNearRound(t int) bool {
	for b := range rounds {
		if t >= b && float64(t) < float64(b)*1.05 {
			return true
		}
	}
	return false
}
