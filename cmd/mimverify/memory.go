package main

import (
	"flag"
	"fmt"
	"strconv"

	"mimverify/dynamics"
	"mimverify/engine"
	"mimverify/judge"
	"mimverify/theory"
)

// memoryFlag is --max-memory of reduce, check and sweep (run has its own,
// runConfig.maxMemory, with the same default and message): the memory a
// command may use, checked against its estimate (judge/cost_commands.go)
// before it allocates.
type memoryFlag struct {
	bytes float64
	from  string // what sets it, for the refusal
}

func (m *memoryFlag) register(fs *flag.FlagSet) {
	lim := judge.DefaultMemoryLimit()
	m.bytes, m.from = lim.Bytes, "the default, "+lim.From
	fs.Func("max-memory", fmt.Sprintf("refuse a command estimated to need more memory than this, in GB (default %.3g: the least of 80%% of this machine's, RLIMIT_AS and the cgroup limit; here %s)", m.bytes/1e9, lim.From), func(v string) error {
		gb, err := strconv.ParseFloat(v, 64)
		if err != nil || !(gb > 0 && gb <= 1e6) {
			return fmt.Errorf("must be a number of GB in (0, 1e6]")
		}
		m.bytes, m.from = gb*1e9, "given"
		return nil
	})
}

// check refuses, as bad input, what is estimated to need more than
// --max-memory, naming the estimate, the limit and the cheaper way.
func (m *memoryFlag) check(what string, c judge.Cost, err error) error {
	if err != nil {
		return usageError{err}
	}
	if c.Bytes > m.bytes {
		return badInput("%s needs about %.3g GB; --max-memory allows %.3g GB (%s): %s, or raise --max-memory",
			what, c.Bytes/1e9, m.bytes/1e9, m.from, c.Cheaper)
	}
	return nil
}

// refuseAsymmetricStart refuses, as bad input, a reduced engine (orbit,
// meanfield) on a setting whose start is off the symmetric subspace, in
// run and sweep alike, naming the engine that runs it instead; reduce
// prints the same reason beside the reduced system (reduce.go).
func refuseAsymmetricStart(id engine.ID, s *theory.Setting, instead string) error {
	if id != engine.Orbit && id != engine.MeanField {
		return nil
	}
	if why := dynamics.AsymmetricStart(s); why != "" {
		return badInput("--engine %s: %s; start from init.kind = zero, or use --engine %s", id, why, instead)
	}
	return nil
}
