// Evidence program for docs/THEORY.md: C6 phase events on a global+local layout.
// go run ./tools/evidence/phase -g 10 -l 3,3 -eta 2 -steps 4000
package main

import (
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"

	"mimverify/dynamics"
	"mimverify/theory"
)

func main() {
	g := flag.Int("g", 10, "global size")
	ls := flag.String("l", "3,3", "local sizes")
	eta := flag.Float64("eta", 2, "")
	zk := flag.String("z", "uniform", "")
	L := flag.Float64("L", 0.5, "")
	U := flag.Float64("U", 1.5, "")
	steps := flag.Int("steps", 4000, "")
	eps := flag.Float64("eps", 0.1, "")
	v := flag.Bool("v", false, "")
	flag.Parse()
	var locals []int
	for _, f := range strings.Split(*ls, ",") {
		n, _ := strconv.Atoi(f)
		locals = append(locals, n)
	}
	s, err := theory.GlobalLocal(*g, locals...)
	if err != nil {
		panic(err)
	}
	s.Eta = *eta
	s.Z = theory.ZLaw{Kind: theory.ZKind(*zk), L: *L, U: *U}
	if err := s.Resolve(); err != nil {
		panic(err)
	}
	obj, _ := dynamics.NewSampleObjective(&s, theory.Samples(&s, 1, 512))
	eval := theory.Samples(&s, 99, 512)
	c := theory.NewCorrelations(&s)
	t := 0
	ev := map[string]int{"Ag falls": -1, "Sg<Sown": -1, "Sown>1/2": -1, "Sown>1-ε": -1}
	first := func(name string, cond bool) {
		if ev[name] < 0 && cond {
			ev[name] = t
		}
	}
	prevAg := 0.0
	n := s.Clusters[0].NumAreas()
	for {
		at := theory.MeasureAttention(&s, c, eval, 0.1, 0.1, false)
		// local queries: areas 1..n-1
		sg, so, cnt := 0.0, 0.0, 0.0
		for j := 1; j < n; j++ {
			m := at.MassByArea[0][j]
			if math.IsNaN(m[0]) {
				continue
			}
			sg += m[0]
			so += m[j]
			cnt++
		}
		sg /= cnt
		so /= cnt
		ag, ao := 0.0, 0.0
		np := 0.0
		for p, a := range s.Clusters[0].Areas {
			if a == 0 {
				continue
			}
			ag += c.A[0][p][0]
			ao += c.A[0][p][a]
			np++
		}
		ag /= np
		ao /= np
		if t > 0 {
			first("Ag falls", ag < prevAg)
		}
		prevAg = ag
		first("Sg<Sown", sg < so)
		first("Sown>1/2", so > 0.5)
		first("Sown>1-ε", so > 1-*eps)
		if *v && (t < 10 || t%50 == 0 || t == *steps) {
			_, mb := c.MaxAbs()
			fmt.Printf("t=%5d Sown=%.4f Sg=%.4f Aown=%.3f Ag=%.3f max|B|=%.3f\n", t, so, sg, ao, ag, mb)
		}
		if t >= *steps {
			break
		}
		dt := 1
		if t >= 100 {
			dt = 5
		}
		tr, err := dynamics.Descend(&s, obj, dynamics.DescendOptions{Steps: dt, RecordEvery: dt, Init: c})
		if err != nil {
			panic(err)
		}
		c = tr.Final().Correlations.Clone()
		t += dt
	}
	env := theory.RateEnv(&s)
	env["ε"] = *eps
	dec, take, wide := theory.PhaseTimes()
	fmt.Printf("global=%d locals=%v η=%g z=%s[%g,%g]\n", *g, locals, *eta, *zk, *L, *U)
	fmt.Printf("  events: Ag falls %d, Sg<Sown %d (pred %.1f), Sown>1/2 %d (pred %.1f), Sown>1-ε %d (pred %.1f)\n",
		ev["Ag falls"], ev["Sg<Sown"], dec.MustEval(env), ev["Sown>1/2"], take.MustEval(env), ev["Sown>1-ε"], wide.MustEval(env))
}
