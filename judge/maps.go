package judge

import (
	"math"

	"mimverify/theory"
)

// AttentionMap is the paper's picture: the attention of one masked query
// patch over the positions, for an image of one cluster, at one recorded
// step of the main run.
type AttentionMap struct {
	Cluster int `json:"cluster"`
	// Query is the query's position and Area its area in the cluster.
	Query int `json:"query"`
	Area  int `json:"area"`
	Step  int `json:"step"`
	// Weights[q] is the attention on position q: P entries summing to 1,
	// rounded to 1e-4 (the map is a picture; the claims use the exact
	// values). The query's own entry is 0 unless the keys are "all".
	Weights []Float `json:"weights"`
}

// mapQueries and mapSteps bound the maps of a report: per cluster, one query
// in each of its first mapQueries areas, at mapSteps recorded steps.
const (
	mapQueries = 4
	mapSteps   = 3
)

// attentionMaps draws the attention maps from the main run's records. The
// image is the typical one of its cluster: every z at the middle of [L, U]
// (z = L for a constant law) and the query the only masked patch, so that
// what is drawn is the learnt correlations, not one mask's accident. Each
// query is the middle member of its area; the steps are the records nearest
// to 1 % and 10 % of the run, and its end.
func attentionMaps(s *theory.Setting, tr *theory.Trajectory) []AttentionMap {
	if tr == nil || len(tr.Records) == 0 {
		return nil
	}
	z := (s.Z.L + s.Z.U) / 2
	if s.Z.Kind == theory.ZConstant {
		z = s.Z.L
	}
	var maps []AttentionMap
	for _, ri := range mapRecords(tr) {
		rec := tr.Records[ri]
		for k, c := range s.Clusters {
			members := c.Members()
			for a := 0; a < len(members) && a < mapQueries; a++ {
				if len(members[a]) == 0 {
					continue
				}
				p := members[a][len(members[a])/2]
				maps = append(maps, AttentionMap{Cluster: k, Query: p, Area: a, Step: rec.Step,
					Weights: queryAttention(s, rec.Correlations, k, p, z)})
			}
		}
	}
	return maps
}

// mapRecords picks the records nearest to 1 % and 10 % of the run and the
// last, without repeats, in order.
func mapRecords(tr *theory.Trajectory) []int {
	last := len(tr.Records) - 1
	end := float64(tr.Records[last].Step)
	var out []int
	for _, frac := range []float64{0.01, 0.1} {
		best := 0
		for i, r := range tr.Records {
			if math.Abs(float64(r.Step)-frac*end) < math.Abs(float64(tr.Records[best].Step)-frac*end) {
				best = i
			}
		}
		if len(out) == 0 || out[len(out)-1] != best {
			out = append(out, best)
		}
	}
	if out[len(out)-1] != last {
		out = append(out, last)
	}
	return out[:min(len(out), mapSteps)]
}

// queryAttention is the attention of the query p of cluster k over the
// keys, rounded to 10⁻⁴, on the image where p alone is masked and every
// area has the value z: the measurement's own softmax (attend), so the
// maps show what the claims measure.
func queryAttention(s *theory.Setting, c theory.Correlations, k, p int, z float64) []Float {
	smp := theory.Sample{Cluster: k, Z: make([]float64, s.Clusters[k].NumAreas()), Mask: make([]bool, s.P)}
	for j := range smp.Z {
		smp.Z[j] = z
	}
	smp.Mask[p] = true
	pi := make([]float64, s.P)
	attend(s, c, smp, p, pi)
	w := make([]Float, s.P)
	for q, v := range pi {
		w[q] = Float(math.Round(v*1e4) / 1e4)
	}
	return w
}
