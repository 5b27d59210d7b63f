package report

import (
	"math"
	"strconv"

	"gonum.org/v1/plot"
)

// linearTicks marks a linear axis at round numbers (1, 2 or 5 times a power
// of ten), about five of them labelled, with unlabelled ticks between.
// Labels are the shortest decimal form ("250", not "250.00").
type linearTicks struct{}

// Ticks implements plot.Ticker.
func (linearTicks) Ticks(lo, hi float64) []plot.Tick {
	if !finite(lo) || !finite(hi) || hi <= lo {
		return nil
	}
	raw := (hi - lo) / 5
	mag := math.Pow10(int(math.Floor(math.Log10(raw))))
	step, minor := mag, mag/5
	switch f := raw / mag; {
	case f >= 7:
		step, minor = 10*mag, 2*mag
	case f >= 3:
		step, minor = 5*mag, mag
	case f >= 1.5:
		step, minor = 2*mag, mag/2
	}
	var ticks []plot.Tick
	for k := math.Ceil(lo/minor - 1e-9); k*minor <= hi*(1+1e-12)+1e-300; k++ {
		v := k * minor
		t := plot.Tick{Value: v}
		if r := v / step; math.Abs(r-math.Round(r)) < 1e-6 {
			v = math.Round(r) * step
			if math.Abs(v) < step*1e-9 {
				v = 0
			}
			t.Value = v
			t.Label = strconv.FormatFloat(v, 'g', 6, 64)
		}
		ticks = append(ticks, t)
		if len(ticks) > 200 {
			break
		}
	}
	return ticks
}

// logTicks marks a logarithmic axis at the powers of ten (labelled, every
// one or every few when the range spans many decades) and, over a few
// decades, at their multiples 2…9 (unlabelled). It replaces plot.LogTicks,
// which truncates log10 towards zero and so misses the lowest decade of
// ranges such as [1e-4, 1] or [0.1, 10].
type logTicks struct{}

// Ticks implements plot.Ticker.
func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi >= lo) || !finite(hi) {
		return nil
	}
	e0 := int(math.Floor(math.Log10(lo) + 1e-9))
	e1 := int(math.Ceil(math.Log10(hi) - 1e-9))
	if e1 <= e0 {
		e1 = e0 + 1
	}
	decades := e1 - e0
	stride := 1 + (decades-1)/8
	var ticks []plot.Tick
	for e := e0; e <= e1; e++ {
		v := math.Pow10(e)
		t := plot.Tick{Value: v}
		if (e-e0)%stride == 0 {
			t.Label = strconv.FormatFloat(v, 'g', -1, 64)
		}
		ticks = append(ticks, t)
		if decades <= 6 && e < e1 {
			for m := 2; m <= 9; m++ {
				ticks = append(ticks, plot.Tick{Value: float64(m) * v})
			}
		}
	}
	var in []plot.Tick
	for _, t := range ticks {
		if t.Value >= lo*(1-1e-12) && t.Value <= hi*(1+1e-12) {
			in = append(in, t)
		}
	}
	return in
}
