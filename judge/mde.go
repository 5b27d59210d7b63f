package judge

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"mimverify/engine"
	"mimverify/theory"
)

// The minimum detectable effect (docs/JUDGE.md §Power): with Options.MDE,
// check runs, beside the main run, the model with its learning rate scaled
// by 1 ± r and with its data's mask rate scaled by 1 ± r (the samples drawn
// at γ·(1 ± r)), for r on the grid mdeGrid, each run to the end and judged
// against the main run's sharp predictions as the controls are
// (controls.go). A claim's minimum detectable effect for a parameter is
// the smallest r of the grid at which it rejects both ×(1 + r) and
// ×(1 − r). It costs up to 4·len(mdeGrid) main runs, so it is an option
// (`check --mde`), reported, never gated.

// mdeGrid are the relative changes r the search tries, ascending.
var mdeGrid = []float64{0.02, 0.05, 0.1, 0.2, 0.3, 0.5}

// Param names a parameter the minimum-detectable-effect search perturbs.
type Param string

// The perturbed parameters.
const (
	// ParamEta is the learning rate η.
	ParamEta Param = "η"
	// ParamGamma is the mask rate γ of the data (the samples' law; the
	// predictions keep the setting's γ).
	ParamGamma Param = "γ"
)

// Detectable is a claim's minimum detectable effect for one parameter.
type Detectable struct {
	Claim string `json:"claim"`
	Param Param  `json:"param"`
	// Up and Down are the smallest r of the grid at which the claim
	// rejects the parameter × (1 + r), × (1 − r); null (NaN) when it
	// rejects no r of the grid.
	Up   Float `json:"up"`
	Down Float `json:"down"`
	// MDE is max(Up, Down): the smallest relative error of either sign the
	// claim detects on this grid (null when one side is never rejected).
	MDE Float `json:"mde"`
	// Grid is the grid of r searched.
	Grid []Float `json:"grid"`
}

// Line says the claim's minimum detectable effect in a sentence.
func (d Detectable) Line() string {
	side := func(x Float) string {
		if math.IsNaN(float64(x)) {
			return "none"
		}
		return fmt.Sprintf("%g", float64(x))
	}
	mde := fmt.Sprintf("not detected on the grid, up to r = %g", float64(d.Grid[len(d.Grid)-1]))
	if !math.IsNaN(float64(d.MDE)) {
		mde = fmt.Sprintf("minimum detectable r = %g", float64(d.MDE))
	}
	return fmt.Sprintf("%s, %s × (1 ± r): %s (r₊ %s, r₋ %s)", d.Claim, d.Param, mde, side(d.Up), side(d.Down))
}

// mdeControl is the control that scales param by f.
func mdeControl(param Param, f float64) control {
	c := control{kind: PositiveControl, name: fmt.Sprintf("%s × %g", param, f), full: true}
	if param == ParamEta {
		c.change = scaleEta(f)
		return c
	}
	c.change = func(s *theory.Setting, p *engine.Problem, opt *Options, held *[]theory.Sample) {
		g := s.Clone()
		g.Gamma *= f
		p.Samples = g.Samples(opt.Seed, len(p.Samples))
		*held = g.Samples(opt.Seed+1<<32, len(*held))
	}
	return c
}

// mdeSide is one of the four searches: a parameter and the sign of r.
type mdeSide struct {
	param Param
	sign  float64
}

// detectable runs the minimum-detectable-effect search: four ascending
// searches over mdeGrid (η and γ, up and down) run concurrently, each
// stopping once every judged claim has rejected.
func (r *run) detectable(exact engine.Engine, results []ClaimResult) []Detectable {
	judged := bandedClaims(results)
	r.stage("minimum detectable effects: η and γ × (1 ± r), r in %v, up to %d runs", mdeGrid, 4*len(mdeGrid))
	sides := []mdeSide{{ParamEta, 1}, {ParamEta, -1}, {ParamGamma, 1}, {ParamGamma, -1}}
	first := make([]map[string]float64, len(sides)) // claim → smallest rejected r
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for i, sd := range sides {
		first[i] = map[string]float64{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, rate := range mdeGrid {
				f := 1 + sd.sign*rate
				if sd.param == ParamGamma && !(r.s.Gamma*f > 0 && r.s.Gamma*f < 1) {
					return
				}
				sem <- struct{}{}
				res := r.runControl(exact, mdeControl(sd.param, f), judged)
				<-sem
				for _, id := range res.Rejected {
					if _, ok := first[i][id]; !ok {
						first[i][id] = rate
					}
				}
				if len(first[i]) == len(judged) || res.Error != "" {
					return
				}
			}
		}()
	}
	wg.Wait()
	return collectDetectable(judged, sides, first)
}

// collectDetectable turns the four searches' first rejections into one
// Detectable per claim and parameter.
func collectDetectable(judged []string, sides []mdeSide, first []map[string]float64) []Detectable {
	at := func(m map[string]float64, id string) Float {
		if x, ok := m[id]; ok {
			return Float(x)
		}
		return Float(math.NaN())
	}
	var out []Detectable
	for _, id := range judged {
		for _, param := range []Param{ParamEta, ParamGamma} {
			d := Detectable{Claim: id, Param: param, Up: Float(math.NaN()), Down: Float(math.NaN()), Grid: Floats(mdeGrid)}
			for i, sd := range sides {
				if sd.param != param {
					continue
				}
				if sd.sign > 0 {
					d.Up = at(first[i], id)
				} else {
					d.Down = at(first[i], id)
				}
			}
			d.MDE = Float(math.Max(float64(d.Up), float64(d.Down))) // NaN when either is
			out = append(out, d)
		}
	}
	return out
}
