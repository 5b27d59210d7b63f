package judge

import (
	"math"

	"mimverify/theory"
)

// SweepFormat is the format tag of a sweep (docs/FORMATS.md). v2 added the
// plan, seeds, point indices and the per-cell summaries.
const SweepFormat = "mimverify.sweep/v2"

// Sweep is the outcome of 'mimverify sweep' (or of 'mimverify merge'): the
// claims evaluated at every point of a grid of settings around a base
// setting, each cell repeated over seeds.
type Sweep struct {
	Format string `json:"format"` // SweepFormat
	// Status, Reasons and Total are the sweep's outcome under its policy
	// FailOn (Sweep.Decide): what the exit status and the closing total
	// line say.
	Status     Status         `json:"status,omitempty"`
	FailOn     FailOn         `json:"fail_on,omitempty"`
	Reasons    []Reason       `json:"reasons,omitempty"`
	Total      *SweepTotal    `json:"total,omitempty"`
	Provenance *Provenance    `json:"provenance,omitempty"`
	Setting    theory.Setting `json:"setting"`
	// Axes are the varied fields, in the order of the grid.
	Axes []string `json:"axes"`
	// Plan is the plan the sweep ran and PlanHash its hash (Plan.Hash).
	Plan     *Plan  `json:"plan,omitempty"`
	PlanHash string `json:"plan_hash,omitempty"`
	// Shard is "i/n" when the sweep holds one shard of its plan only.
	Shard string `json:"shard,omitempty"`
	// Points are in plan order (by Index).
	Points []SweepPoint `json:"points"`
	// Cells summarise the points of each grid cell over its seeds.
	Cells []SweepCell `json:"cells,omitempty"`
}

// SweepPoint is one setting of a sweep, at one seed, and its claims'
// results.
type SweepPoint struct {
	// Index is the point's place in the plan, Cell·Seeds + the seed's rank.
	Index int    `json:"index"`
	Cell  int    `json:"cell"`
	Seed  uint64 `json:"seed"`
	// Values gives each axis its value at this point, as the user wrote it.
	Values map[string]string `json:"values"`
	Steps  int               `json:"steps"`
	// Seconds is the only field that differs between two runs of a plan.
	Seconds Float         `json:"seconds"`
	Results []ClaimResult `json:"results"`
	// Error is set (and Results empty) when a run failed at this point.
	Error string `json:"error,omitempty"`
}

// SweepCell summarises one grid cell over its seeds.
type SweepCell struct {
	Cell   int               `json:"cell"`
	Values map[string]string `json:"values"`
	Claims []CellClaim       `json:"claims"`
}

// CellClaim is one claim over the seeds of a cell: how often the measured
// value met the prediction, with a 95 % Wilson score interval — the
// empirical counterpart of "with probability ≥ 1 − δ".
type CellClaim struct {
	ID string `json:"id"`
	// Seeds counts the seeds at which the claim was measured; Holds those
	// at which the measurement met the prediction (a verdict Holds inside
	// the regime, "holds empirically" outside it); InRegime those at which
	// the claim was asserted.
	Seeds    int   `json:"seeds"`
	Holds    int   `json:"holds"`
	InRegime int   `json:"in_regime"`
	Fraction Float `json:"fraction"`
	Low      Float `json:"wilson_low"`
	High     Float `json:"wilson_high"`
	// Ratio is the mean of measured/predicted over the seeds where both
	// are finite and the prediction is not 0 (NaN when there is none), and
	// RatioMin, RatioMax their range: the colour and bands of the figures.
	Ratio    Float `json:"ratio"`
	RatioMin Float `json:"ratio_min"`
	RatioMax Float `json:"ratio_max"`
}

// Wilson returns the 95 % Wilson score interval of a binomial proportion
// with k successes in n trials (Wilson 1927): unlike the normal
// approximation it stays inside [0, 1] and is not empty at k = 0 or k = n.
// n = 0 gives the uninformative [0, 1].
func Wilson(k, n int) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	const z = 1.959963984540054 // the 0.975 quantile of the standard normal
	nf, p := float64(n), float64(k)/float64(n)
	den := 1 + z*z/nf
	mid := (p + z*z/(2*nf)) / den
	half := z / den * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf))
	return max(0, mid-half), min(1, mid+half)
}

// Met reports whether a claim's measurement met its prediction: holds
// inside the regime, or holds empirically outside it.
func (c *ClaimResult) Met() bool {
	return c.Verdict == Holds || (c.Verdict == NotAsserted && c.Empirical == Holds)
}

// WasMeasured reports whether the claim was measured against its prediction
// (inside or outside its regime).
func (c *ClaimResult) WasMeasured() bool {
	return c.Verdict == Holds || c.Verdict == Fails || c.Empirical != ""
}

// Summarize fills Cells from Points (which must be in plan order).
func (sw *Sweep) Summarize() {
	sw.Cells = nil
	for i := 0; i < len(sw.Points); {
		j := i
		for j < len(sw.Points) && sw.Points[j].Cell == sw.Points[i].Cell {
			j++
		}
		sw.Cells = append(sw.Cells, summarizeCell(sw.Points[i:j]))
		i = j
	}
}

func summarizeCell(pts []SweepPoint) SweepCell {
	c := SweepCell{Cell: pts[0].Cell, Values: pts[0].Values}
	index := map[string]int{}
	sums := []float64{}
	counts := []int{}
	for _, p := range pts {
		for _, r := range p.Results {
			i, ok := index[r.ID]
			if !ok {
				i = len(c.Claims)
				index[r.ID] = i
				c.Claims = append(c.Claims, CellClaim{ID: r.ID, RatioMin: Float(math.NaN()), RatioMax: Float(math.NaN())})
				sums, counts = append(sums, 0), append(counts, 0)
			}
			cc := &c.Claims[i]
			if r.Verdict != NotAsserted {
				cc.InRegime++
			}
			if !r.WasMeasured() {
				continue
			}
			cc.Seeds++
			if r.Met() {
				cc.Holds++
			}
			ratio := float64(r.Measured) / float64(r.Predicted)
			if !math.IsNaN(ratio) && !math.IsInf(ratio, 0) {
				sums[i] += ratio
				counts[i]++
				if counts[i] == 1 || ratio < float64(cc.RatioMin) {
					cc.RatioMin = Float(ratio)
				}
				if counts[i] == 1 || ratio > float64(cc.RatioMax) {
					cc.RatioMax = Float(ratio)
				}
			}
		}
	}
	for i := range c.Claims {
		cc := &c.Claims[i]
		cc.Fraction = Float(math.NaN())
		if cc.Seeds > 0 {
			cc.Fraction = Float(float64(cc.Holds) / float64(cc.Seeds))
		}
		lo, hi := Wilson(cc.Holds, cc.Seeds)
		cc.Low, cc.High = Float(lo), Float(hi)
		cc.Ratio = Float(math.NaN())
		if counts[i] > 0 {
			cc.Ratio = Float(sums[i] / float64(counts[i]))
		}
	}
	return c
}
