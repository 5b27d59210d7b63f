package dynamics

import (
	"math"
	"testing"

	"mimverify/theory"
)

func TestMeanFieldExplore(t *testing.T) {
	for _, C := range []int{4, 8, 16, 32, 64, 128, 256} {
		s := oneClusterSetting(t, 4, C, 1)
		orb, err := NewOrbit(&s, OrbitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		mf, err := NewOrbit(&s, OrbitOptions{MeanField: true})
		if err != nil {
			t.Fatal(err)
		}
		// fixed state: α=1, β=-1/3, b1, b2 from conservation
		c := theory.NewCorrelations(&s)
		for p := range s.P {
			for j := range 4 {
				if j == p/C {
					c.A[0][p][j] = 1
				} else {
					c.A[0][p][j] = -1.0 / 3
				}
			}
		}
		x := make([]float64, orb.Dim())
		orb.Project(c, x)
		g1 := make([]float64, orb.Dim())
		g2 := make([]float64, orb.Dim())
		orb.LossGrad(x, g1)
		mf.LossGrad(x, g2)
		e := 0.0
		for i := range g1 {
			e = math.Max(e, math.Abs(g1[i]-g2[i])/math.Abs(g1[0]))
		}
		steps := 1000
		to, _ := DescendOrbit(orb, DescendOptions{Steps: steps, RecordEvery: steps})
		tm, _ := DescendOrbit(mf, DescendOptions{Steps: steps, RecordEvery: steps})
		ao, am := to.Final().Correlations.A[0][0][0], tm.Final().Correlations.A[0][0][0]
		t.Logf("C=%4d terms=%6d grad rel err %.4g  alpha orbit %.5f mf %.5f rel %.4g  loss %.5f %.5f", C, orb.NumTerms(), e, ao, am, (am-ao)/ao, to.Final().Loss, tm.Final().Loss)
	}
}
