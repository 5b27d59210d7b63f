package judge

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"mimverify/dynamics"
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
	// Cheaper names what to change for a cheaper run, for the refusal.
	Cheaper string
}

// flopsPerSecond is the full model's throughput behind its time estimates,
// per core, from the benchmarks of docs/PERFORMANCE.md rounded down (a
// pessimistic estimate refuses early rather than late). The (A, B) kernel's
// is dynamics.ExactStepSeconds, which knows the kernel path this CPU takes.
const flopsPerSecond = 5e9

// baseBytes is the resident memory of the process before an engine
// allocates: the runtime, the binary, the setting, the output buffers
// (12.2–13.7 MB measured for the smallest runs, docs/PERFORMANCE.md §Limits).
const baseBytes = 14e6

// EstimateCost estimates a run of steps steps of an engine on n training
// samples (n is ignored by engines that do not train on samples): its peak
// resident memory, process included, within [0.8, 1.5]× the measured one on
// the grid of TestCostEstimatesHold, its time, and the cheaper alternative to
// name when it is refused.
func EstimateCost(id engine.ID, s *theory.Setting, o EngineOptions, n, steps int) (Cost, error) {
	P, F := float64(s.P), float64(s.NumFeatures())
	state := 8 * (P*F + P*P)
	cores := float64(runtime.GOMAXPROCS(0))
	pairs := s.Gamma * (1 - s.Gamma) * P * P // masked queries × keys per image
	if s.Keys == theory.KeysAll {
		pairs = s.Gamma * P * P
	}
	var c Cost
	switch id {
	case engine.Full:
		d := float64(s.Dim())
		if o.SGD {
			n = o.Batch
		}
		// Q, its gradient, the basis and its coordinates (d×d each), and
		// per worker a handful of P×d blocks (empirical/model.go).
		c.Bytes = 8*(6*d*d) + cores*8*(6*P*d) + float64(n)*(16*P)
		// Per sample, scores, softmax backward and the gradient rows are
		// each about P·P·d multiply-adds over the masked queries.
		flops := float64(n)*6*P*P*d + 2*d*d
		c.Seconds = float64(steps+1) * flops / (flopsPerSecond * cores)
		c.Cheaper = "use --engine exact (the same dynamics on (A, B), without the d×d matrix), or lower P, extra_dim or --samples"
		if s.Departs() { // judge/departures.go; only the full model runs it
			c = departedFullCost(s, n, steps, cores, c.Bytes)
			c.Cheaper = "lower P, extra_dim, --samples, departures.batch or departures.heads"
		}
	case engine.Exact:
		c = sampleCost(state, P, float64(n), pairs, float64(steps), cores)
		c.Cheaper = "lower --samples or P, or use --engine orbit (the population dynamics without a sample set)"
	case engine.Population, engine.Flow:
		terms := float64(n)
		c.Cheaper = "lower --samples or P"
		if id == engine.Population || o.OnPopulation {
			_, _, t, err := o.Population.Resolve(s)
			if err != nil {
				return Cost{}, err
			}
			terms = float64(t)
			c.Cheaper = "use --population crn (common random numbers, not every mask) or fewer --quad-nodes, or --engine orbit"
		}
		cheaper := c.Cheaper
		c = sampleCost(state, P, terms, pairs, float64(steps), cores)
		c.Cheaper = cheaper
		if id == engine.Flow {
			// DOPRI5 keeps nine states and each of its six stages a
			// gradient with its buffers: 14 states more than a GD step,
			// measured (P = 1024, 8 samples: 216 MB); a step costs six
			// gradients, and the adaptive steps are about as many as the
			// GD steps at the presets' η (docs/FLOW.md).
			c.Bytes += 14 * state
			c.Seconds *= 6
		}
	case engine.Orbit, engine.MeanField:
		var err error
		if c, err = orbitCost(s, o, id == engine.MeanField, state, steps, cores); err != nil {
			return Cost{}, err
		}
	default:
		return Cost{}, fmt.Errorf("no cost model for engine %q", id)
	}
	c.Bytes += baseBytes
	return c, nil
}

// orbitCost is the cost of the reduced engines: the lifted (A, B) of the
// record being written and a few states (8 in all), and about 300 bytes
// per term of the reduced expectation (the count vectors, their weights
// and z nodes, the CRN draws, and the garbage of building them), plus each
// z node's vector of one z per area. Measured on the mimverify binary
// itself (TestCostEstimatesHold): 2 to 172 800 terms. The term count is
// dynamics.PredictOrbit's, counted before any term is built (the symmetry
// and the problems are built, and small); a setting over
// dynamics.MaxOrbitTerms gets its size as the estimate, to be refused by
// it. The time is bounded by the enumeration budget: about 1e6 terms per
// step of 1e-7 s each at most.
func orbitCost(s *theory.Setting, o EngineOptions, meanField bool, state float64, steps int, cores float64) (Cost, error) {
	c, _, err := orbitMemory(s, dynamics.OrbitOptions{MeanField: meanField, QuadNodes: o.Population.QuadNodes}, state)
	if err != nil {
		return Cost{}, err
	}
	c.Seconds = float64(steps+1) * 0.1 / cores
	return c, nil
}

// orbitMemory is orbitCost's memory for the orbit options opt, without
// the process (baseBytes), and the size behind it.
func orbitMemory(s *theory.Setting, opt dynamics.OrbitOptions, state float64) (Cost, dynamics.OrbitSize, error) {
	size, err := dynamics.PredictOrbit(s, opt)
	if err != nil && !errors.Is(err, dynamics.ErrTooManyTerms) {
		return Cost{}, size, err
	}
	perTerm := size.Terms
	if size.Mode == dynamics.OrbitEnumerate {
		// The enumeration's terms are its z nodes × its count vectors,
		// kept once (Stored) or generated chunk by chunk.
		perTerm = size.Blocks
	}
	// Eight states, and half a state for the orbit of every entry
	// (Orbit.Project's int32 table).
	c := Cost{Bytes: 8.5*state + 300*perTerm + size.Stored + 8*float64(size.Areas)*size.Blocks}
	if size.Mode == dynamics.OrbitCRN {
		// Each draw's kernel scratch: about 38 bytes per area class
		// beyond the first eight (measured on singleton areas, where every
		// area is a class: 1.1, 2.9 and 11.7 kB a draw at 16, 64 and 256
		// areas with the scalar kernel, 45 bytes a class; the lane
		// kernels of the AVX-512 pass keep less, and a 256-area run's
		// peak moves between 53 and 65 MB with the collector's timing, so
		// 38 puts the estimate 1.1–1.4× above it), and 3 MB. The presets'
		// few classes are within the 300 bytes.
		c.Bytes += 3e6 + 38*math.Max(0, size.ClassTerms-8*size.Terms)
	}
	c.Cheaper = "use fewer --quad-nodes, or --engine meanfield (the counts at their means)"
	if opt.MeanField {
		c.Cheaper = "use fewer --quad-nodes (with z i.i.d. over the areas the mean field has nodes^areas terms), or --engine orbit (its CRN mode draws z)"
	}
	return c, size, nil
}

// sampleCost is the cost of the (A, B) kernel on terms weighted terms: the
// index lists (16 bytes per position per term, and with AVX-512 about 10
// more: the keys' table offsets and the per-key lists of coefficient rows,
// since issue 27 2 bytes each per key plus the lists' padding, 1 % at P =
// 196: dynamics' exact_kernel_keysums.go — the 10 is kept, a slight
// overestimate), 112 bytes per term (its entry, z vector and, with
// AVX-512, its 48-byte descriptor), the per-chunk gradient buffers (at most 64
// states) and a few states besides (five: the kernel's P×P e^B table, a
// sixth, went with issue 23's fused row-block tasks; at P = 2048 with 16
// samples the estimate was then 1.64× the measured peak). The descent's
// phases (dynamics/exact_phase.go) keep one more, their snapshot of
// (A, B), which the five cover: the estimate is 1.42× the measured peak of
// a run without phases at P = 2048 (TestCostEstimatesHold). Its time is
// dynamics.ExactStepSeconds over the terms' pairs and (term, row block)
// evaluations, shared by the cores.
func sampleCost(state, P, terms, pairs, steps, cores float64) Cost {
	chunks := math.Min(64, math.Ceil(terms/32))
	bytes := terms*(26*P+112) + (chunks+5)*state
	blocks := math.Ceil(P / 16) // the kernel's row blocks
	step := dynamics.ExactStepSeconds(terms*pairs, terms*blocks)
	return Cost{Bytes: bytes, Seconds: (steps + 1) * step / cores}
}

// AvailableMemory returns the memory a run may use: the least of 80 % of
// MemTotal in /proc/meminfo (16 GiB when it cannot be read), the address
// space RLIMIT_AS leaves the process (`ulimit -v`: the limit less what is
// mapped already) and the memory limit of the process's cgroup and its
// ancestors (v2 memory.max, v1 memory.limit_in_bytes: a container's, or a
// Slurm job's --mem). A run estimated above it is refused before it starts
// instead of dying of "out of memory" once it is under way.
func AvailableMemory() float64 { return DefaultMemoryLimit().Bytes }

// DefaultMemoryLimit is AvailableMemory with what sets it.
func DefaultMemoryLimit() Limit {
	return MemoryLimit(MemorySources{Meminfo: "/proc/meminfo", ProcCgroup: "/proc/self/cgroup", CgroupRoot: "/sys/fs/cgroup", Status: "/proc/self/status"})
}

// MemorySources are the files MemoryLimit reads (tests point them at
// fixtures); an empty or unreadable one imposes no limit.
type MemorySources struct {
	Meminfo, ProcCgroup, CgroupRoot, Status string
	// RlimitAS overrides the process's RLIMIT_AS when not zero.
	RlimitAS uint64
}

// Limit is a memory limit and what sets it, for messages.
type Limit struct {
	Bytes float64
	From  string
}

// MemoryLimit is AvailableMemory from the given sources, with the source
// of the least limit.
func MemoryLimit(src MemorySources) Limit {
	best := Limit{16 << 30, "a default of 16 GiB (no /proc/meminfo)"}
	if kb, ok := procField(src.Meminfo, "MemTotal:"); ok {
		best = Limit{0.8 * kb * 1024, "80% of MemTotal"}
	}
	consider := func(bytes float64, from string) {
		if bytes > 0 && bytes < best.Bytes {
			best = Limit{bytes, from}
		}
	}
	rl := src.RlimitAS
	if rl == 0 {
		var r syscall.Rlimit
		if syscall.Getrlimit(syscall.RLIMIT_AS, &r) == nil {
			rl = r.Cur
		}
	}
	if rl != 0 && rl != math.MaxUint64 {
		mapped, _ := procField(src.Status, "VmSize:")
		consider(float64(rl)-mapped*1024, "RLIMIT_AS (ulimit -v) less what is mapped")
	}
	if b, from := cgroupLimit(src.ProcCgroup, src.CgroupRoot); b > 0 {
		consider(b, from)
	}
	return best
}

// procField reads the number after key in a /proc file of "key value"
// lines (in kB for meminfo and status).
func procField(path, key string) (float64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == key {
			v, err := strconv.ParseFloat(fields[1], 64)
			return v, err == nil
		}
	}
	return 0, false
}

// cgroupLimit returns the least memory limit of the process's cgroup and
// its ancestors, v2 (the "0::" line of /proc/self/cgroup, memory.max) or
// v1 (the "memory" controller's line, memory.limit_in_bytes), and the file
// that sets it; 0 when there is none ("max", or v1's near-2⁶³ "unlimited").
func cgroupLimit(procCgroup, root string) (float64, string) {
	data, err := os.ReadFile(procCgroup)
	if err != nil {
		return 0, ""
	}
	least, from := 0.0, ""
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var dir, file string
		switch {
		case parts[0] == "0" && parts[1] == "":
			dir, file = filepath.Join(root, parts[2]), "memory.max"
		case slices.Contains(strings.Split(parts[1], ","), "memory"):
			dir, file = filepath.Join(root, "memory", parts[2]), "memory.limit_in_bytes"
		default:
			continue
		}
		for d := dir; strings.HasPrefix(d, root); d = filepath.Dir(d) {
			b, err := os.ReadFile(filepath.Join(d, file))
			v, perr := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
			if err == nil && perr == nil && v > 0 && v < 1<<62 && (least == 0 || v < least) {
				least, from = v, "the cgroup limit "+filepath.Join(d, file)
			}
			if d == root {
				break
			}
		}
	}
	return least, from
}
