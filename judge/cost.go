package judge

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"

	"mimverify/engine"
	"mimverify/theory"
)

// Cost is an engine run's estimated peak memory and time, computed from
// the setting and the options before anything is allocated, so that a run
// the machine cannot hold is refused with the estimate instead of dying of
// "out of memory" (docs/PERFORMANCE.md §Limits states the constants).
type Cost struct {
	Bytes   float64
	Seconds float64
}

// Throughputs behind the time estimates, per core, from the benchmarks of
// docs/PERFORMANCE.md rounded down (a pessimistic estimate refuses early
// rather than late): the exact kernel does about 1e8 (query, key) pairs
// per second, the full model about 5e9 flop per second.
const (
	pairsPerSecond = 1e8
	flopsPerSecond = 5e9
)

// EstimateCost estimates a run of steps steps of an engine on n training
// samples (n is ignored by engines that do not train on samples).
func EstimateCost(id engine.ID, s *theory.Setting, o EngineOptions, n, steps int) (Cost, error) {
	P, F := float64(s.P), float64(s.NumFeatures())
	state := 8 * (P*F + P*P)
	cores := float64(runtime.GOMAXPROCS(0))
	pairs := P * P / 4 // masked queries × keys per image, at γ = ½
	switch id {
	case engine.Full:
		d := float64(s.Dim())
		if o.SGD {
			n = o.Batch
		}
		// Q, its gradient, the basis and its coordinates (d×d each), and
		// per worker a handful of P×d blocks (empirical/model.go).
		bytes := 8*(6*d*d) + cores*8*(6*P*d) + float64(n)*(16*P)
		// Per sample, scores, softmax backward and the gradient rows are
		// each about P·P·d multiply-adds over the masked queries.
		flops := float64(n)*6*P*P*d + 2*d*d
		if s.Departs() { // judge/departures.go
			return departedFullCost(s, n, steps, cores, bytes), nil
		}
		return Cost{bytes, float64(steps+1) * flops / (flopsPerSecond * cores)}, nil
	case engine.Exact:
		return sampleCost(state, P, float64(n), pairs, float64(steps), cores), nil
	case engine.Population, engine.Flow:
		terms := float64(n)
		if id == engine.Population || o.OnPopulation {
			_, _, t, err := o.Population.Resolve(s)
			if err != nil {
				return Cost{}, err
			}
			terms = float64(t)
		}
		c := sampleCost(state, P, terms, pairs, float64(steps), cores)
		if id == engine.Flow {
			// DOPRI5 keeps nine states; a step costs six gradients, and the
			// adaptive steps are about as many as the GD steps at the
			// presets' η (docs/FLOW.md).
			c.Bytes += 9 * state
			c.Seconds *= 6
		}
		return c, nil
	case engine.Orbit, engine.MeanField:
		// The reduced state is small, and its expectation is enumerated
		// within a term budget (docs/ORBIT.md §4); what a run holds is the
		// lifted (A, B) of the record being written and a few states. The
		// time is bounded by the budget: about 1e6 terms per step of
		// 1e-7 s each at most.
		return Cost{8 * state, float64(steps+1) * 0.1 / cores}, nil
	}
	return Cost{}, fmt.Errorf("no cost model for engine %q", id)
}

// sampleCost is the cost of the (A, B) kernel on terms weighted terms: the
// index lists (16 bytes per position per term), the per-chunk gradient
// buffers (at most 64 states) and a few states besides.
func sampleCost(state, P, terms, pairs, steps, cores float64) Cost {
	chunks := math.Min(64, math.Ceil(terms/32))
	bytes := terms*(16*P+64) + (chunks+6)*state
	return Cost{bytes, (steps + 1) * terms * pairs / (pairsPerSecond * cores)}
}

// AvailableMemory returns the memory a run may use: 80 % of MemTotal in
// /proc/meminfo, or 16 GiB when it cannot be read.
func AvailableMemory() float64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 16 << 30
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			if kb, err := strconv.ParseFloat(fields[1], 64); err == nil {
				return 0.8 * kb * 1024
			}
		}
	}
	return 16 << 30
}
