package engine

import (
	"fmt"
	"math"
	"slices"
)

// MaxSteps bounds the steps of a schedule.
const MaxSteps = 1 << 30

// Schedule is how long a run lasts and which steps it records: Steps
// gradient steps (for a flow, the time τ = η·Steps), recorded at the
// strictly increasing steps of Record, which always include 0 and Steps.
// Build one with Every or LogSpaced.
type Schedule struct {
	Steps  int
	Record []int
}

// Every records every k-th step, plus step 0 and the last step; k ≤ 0
// records only those two.
func Every(steps, k int) Schedule {
	rec := []int{0}
	if k > 0 {
		for t := k; t < steps; t += k {
			rec = append(rec, t)
		}
	}
	if steps > 0 {
		rec = append(rec, steps)
	}
	return Schedule{Steps: steps, Record: rec}
}

// LogSpaced records about n steps in [0, steps] spaced evenly in log t, with
// every step up to 10 included: the schedule that resolves early phase
// events and late asymptotic rates with the same number of records.
func LogSpaced(steps, n int) Schedule {
	rec := []int{0}
	for t := 1; t <= min(10, steps); t++ {
		rec = append(rec, t)
	}
	if steps <= 10 {
		return Schedule{Steps: steps, Record: rec}
	}
	ratio := math.Pow(float64(steps)/10, 1/float64(max(1, n-10)))
	x := 10.0
	for {
		x *= ratio
		t := int(math.Round(x))
		if t >= steps {
			break
		}
		if t > rec[len(rec)-1] {
			rec = append(rec, t)
		}
	}
	return Schedule{Steps: steps, Record: append(rec, steps)}
}

// Validate checks Steps ∈ [0, MaxSteps] and that Record is strictly
// increasing from 0 to Steps.
func (s Schedule) Validate() error {
	if s.Steps < 0 || s.Steps > MaxSteps {
		return fmt.Errorf("schedule: steps = %d: must be in [0, %d]", s.Steps, MaxSteps)
	}
	if len(s.Record) == 0 || s.Record[0] != 0 || s.Record[len(s.Record)-1] != s.Steps {
		return fmt.Errorf("schedule: record steps must start at 0 and end at steps = %d", s.Steps)
	}
	for i := 1; i < len(s.Record); i++ {
		if s.Record[i] <= s.Record[i-1] {
			return fmt.Errorf("schedule: record[%d] = %d: must be > record[%d] = %d", i, s.Record[i], i-1, s.Record[i-1])
		}
	}
	return nil
}

// Has reports whether step t is recorded.
func (s Schedule) Has(t int) bool {
	_, ok := slices.BinarySearch(s.Record, t)
	return ok
}
