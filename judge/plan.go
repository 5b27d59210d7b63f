package judge

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"mimverify/engine"
	"mimverify/theory"
)

// Axis is one varied field of a sweep and its values, as the user wrote
// them (the values are applied by ApplyField).
type Axis struct {
	Field  string   `json:"field"`
	Values []string `json:"values"`
}

// SweepFields are the fields a sweep can vary: the setting's scalar fields
// and the judge's options.
var SweepFields = []string{"gamma", "eta", "z.kind", "z.L", "z.U", "keys", "loss", "mask", "extra_dim", "epsilon", "delta", "samples", "seed"}

func init() { SweepFields = append(SweepFields, theory.DepartureFields()...) }

// MaxPlanPoints bounds a plan (cells × seeds): a mistyped --vary should not
// queue a year of work.
const MaxPlanPoints = 100_000

// Plan is a sweep before it runs: a base setting and judge options, the
// axes of a grid around them, and the number of seeds per grid cell. It is
// what a results file is keyed by (Hash): a rerun with the same plan
// resumes, a different plan is refused.
type Plan struct {
	Setting theory.Setting `json:"setting"`
	Axes    []Axis         `json:"axes"`
	// Seeds is the number of seeds per cell: seed s₀, s₀+1, …, s₀+Seeds−1,
	// where s₀ is Seed (or the cell's value of a "seed" axis).
	Seeds int `json:"seeds"`
	// The judge's options, with the defaults made explicit so that two
	// plans that run the same points hash the same.
	Claims   []string `json:"claims,omitempty"`
	Seed     uint64   `json:"seed"`
	Samples  int      `json:"samples"`
	Eval     int      `json:"eval_samples"`
	MaxSteps int      `json:"max_steps"`
	Epsilon  Float    `json:"epsilon"`
	Delta    Float    `json:"delta"`
	// Engine is the main run's engine (Options.Main); omitted for exact.
	Engine engine.ID `json:"engine,omitempty"`
	// Sharp runs the sharp predictions at every point (Options.NoSharp
	// false); omitted when off, so that plans made before it hash the same.
	Sharp bool `json:"sharp,omitempty"`
	// Power is Options.Power; omitted at 1, so that plans made before it
	// hash the same.
	Power int `json:"power,omitempty"`
	// Require lists the claims every point must assert (--require); omitted
	// when empty, so that plans made before it hash the same.
	Require []string `json:"require,omitempty"`
	// UserClaims are the claims of a claims file judged at every point,
	// and UserClaimsDigest their formulas as text: a plan with other user
	// claims hashes differently (omitted without, so that plans made
	// before them hash the same).
	UserClaims       []theory.ClaimSpec `json:"-"`
	UserClaimsDigest []string           `json:"user_claims,omitempty"`
}

// NewPlan builds a plan from a base setting and options (zero options take
// the judge's defaults). It does not check the points: Points does.
func NewPlan(base theory.Setting, opt Options, axes []Axis, seeds int) *Plan {
	opt.defaults()
	// A sweep explores beyond the regimes on purpose: the base setting's
	// own required claims (a preset's) do not apply at its points, only
	// those the sweep names (opt.Require, --require).
	base = base.Clone()
	base.Require = nil
	p := &Plan{Setting: base, Axes: axes, Seeds: seeds, Claims: opt.Claims, Seed: opt.Seed, Require: opt.Require,
		Samples: opt.Samples, Eval: opt.Eval, MaxSteps: opt.MaxSteps,
		Epsilon: Float(opt.Epsilon), Delta: Float(opt.Delta), Sharp: !opt.NoSharp, Engine: opt.Main}
	if p.Engine == engine.Exact {
		p.Engine = ""
	}
	if opt.Power > 1 {
		p.Power = opt.Power
	}
	p.UserClaims = opt.UserClaims
	for _, c := range opt.UserClaims {
		p.UserClaimsDigest = append(p.UserClaimsDigest, claimDigest(&c))
	}
	return p
}

// Options returns the plan's base judge options.
func (p *Plan) Options() Options {
	return Options{Claims: slices.Clone(p.Claims), Seed: p.Seed, Samples: p.Samples, Eval: p.Eval,
		MaxSteps: p.MaxSteps, Epsilon: float64(p.Epsilon), Delta: float64(p.Delta), NoSharp: !p.Sharp, Main: p.Engine,
		Require: slices.Clone(p.Require), NoControls: true, UserClaims: p.UserClaims, Power: p.Power}
}

// Hash identifies the plan: the SHA-256 of its JSON form (struct fields in
// declaration order, so the same plan always hashes the same), in hex.
func (p *Plan) Hash() string { return jsonHash(p) }

// Cells returns the number of grid cells (the product of the axes' sizes).
func (p *Plan) Cells() int {
	n := 1
	for _, ax := range p.Axes {
		n *= len(ax.Values)
	}
	return n
}

// Point is one run of a plan: a grid cell and a seed, with the setting and
// options that run it.
type Point struct {
	// Index is the point's place in the plan: Cell·Seeds plus the rank of
	// its seed. Results, shards and merges are keyed by it.
	Index, Cell int
	// Values are the axes' values at the cell, in the order of Plan.Axes.
	Values  []string
	Setting theory.Setting
	Options Options
}

// ValueMap returns the point's axis values by field.
func (p *Plan) ValueMap(values []string) map[string]string {
	m := make(map[string]string, len(values))
	for i, ax := range p.Axes {
		m[ax.Field] = values[i]
	}
	return m
}

// Points returns every point of the plan in plan order — the first axis
// varies slowest, the seed fastest — after checking each one, so that bad
// input fails before anything runs. The error names the axis or the
// setting's field and the point.
func (p *Plan) Points() ([]Point, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	cells := p.Cells()
	points := make([]Point, 0, cells*p.Seeds)
	values := make([]string, len(p.Axes))
	for cell := range cells {
		// Mixed radix, last axis fastest.
		rest := cell
		for i := len(p.Axes) - 1; i >= 0; i-- {
			n := len(p.Axes[i].Values)
			values[i] = p.Axes[i].Values[rest%n]
			rest /= n
		}
		s, opt := p.Setting.Clone(), p.Options()
		for i, ax := range p.Axes {
			if err := ApplyField(&s, &opt, ax.Field, values[i]); err != nil {
				return nil, err
			}
		}
		if s.Z.Kind == theory.ZConstant {
			s.Z.U = s.Z.L // a constant law is z = L, whatever order the axes came in
		}
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("point %s: %w", p.label(values), err)
		}
		base := opt.Seed
		for rep := range p.Seeds {
			if base > math.MaxUint64-uint64(rep) {
				return nil, fmt.Errorf("point %s: seed %d + %d overflows", p.label(values), base, rep)
			}
			opt.Seed = base + uint64(rep)
			points = append(points, Point{Index: cell*p.Seeds + rep, Cell: cell,
				Values: slices.Clone(values), Setting: s.Clone(), Options: opt})
		}
	}
	return points, nil
}

func (p *Plan) check() error {
	if len(p.Axes) == 0 {
		return fmt.Errorf("axes: give at least one")
	}
	if p.Seeds < 1 {
		return fmt.Errorf("seeds = %d: must be ≥ 1", p.Seeds)
	}
	n := p.Seeds
	for i, ax := range p.Axes {
		if !slices.Contains(SweepFields, ax.Field) {
			return fmt.Errorf("axis %s: unknown field; the fields are %s", ax.Field, strings.Join(SweepFields, ", "))
		}
		if len(ax.Values) == 0 {
			return fmt.Errorf("axis %s: no values", ax.Field)
		}
		for _, other := range p.Axes[:i] {
			if other.Field == ax.Field {
				return fmt.Errorf("axis %s: given twice", ax.Field)
			}
		}
		if n > MaxPlanPoints/len(ax.Values) {
			return fmt.Errorf("axes × seeds: more than %d points", MaxPlanPoints)
		}
		n *= len(ax.Values)
	}
	return nil
}

func (p *Plan) label(values []string) string {
	parts := make([]string, len(values))
	for i, ax := range p.Axes {
		parts[i] = ax.Field + "=" + values[i]
	}
	return strings.Join(parts, " ")
}

// ApplyField sets one field of the setting or of the judge's options to a
// value as the user wrote it. Numbers must parse whole (integers for integer
// fields). The judge's options are range-checked here because the judge
// reads 0 as "the default", which a value the user wrote must never
// silently become; the setting's fields are checked by Setting.Validate
// once every axis is applied.
func ApplyField(s *theory.Setting, opt *Options, field, value string) error {
	v := axisValue{field, value}
	bad, num := v.bad, v.number
	integer := func(lo, hi int) (int, error) {
		var x int
		if err := v.integer(&x); err != nil || x < lo || x > hi {
			return 0, bad(fmt.Sprintf("an integer in [%d, %d]", lo, hi))
		}
		return x, nil
	}
	var err error
	switch field {
	case "gamma":
		return num(&s.Gamma)
	case "eta":
		return num(&s.Eta)
	case "z.L":
		return num(&s.Z.L)
	case "z.U":
		return num(&s.Z.U)
	case "z.kind":
		s.Z.Kind = theory.ZKind(value)
	case "keys":
		s.Keys = theory.KeyMode(value)
	case "loss":
		s.Loss = theory.LossNorm(value)
	case "mask":
		s.Mask = theory.MaskScheme(value)
	case "extra_dim":
		s.ExtraDim, err = integer(0, 4096)
	case "epsilon":
		if err = num(&opt.Epsilon); err == nil && !(opt.Epsilon > 0 && opt.Epsilon < 0.5) {
			err = bad("in (0, 0.5)")
		}
	case "delta":
		if err = num(&opt.Delta); err == nil && !ValidDelta(opt.Delta) {
			err = bad("in " + DeltaRange)
		}
	case "samples":
		opt.Samples, err = integer(1, 1<<20)
	case "seed":
		var x int
		x, err = integer(0, math.MaxInt)
		opt.Seed = uint64(x)
	default:
		if ok, err := applyDeparture(&s.Departures, field, value); ok {
			return err
		}
		return fmt.Errorf("axis %s: unknown field; the fields are %s", field, strings.Join(SweepFields, ", "))
	}
	return err
}

// axisValue is one value of a sweep axis, parsed into a field's type with
// an error that names the axis and what it must be.
type axisValue struct{ field, value string }

func (v axisValue) bad(allowed string) error {
	return fmt.Errorf("axis %s=%s: must be %s", v.field, v.value, allowed)
}

func (v axisValue) number(dst *float64) error {
	x, err := strconv.ParseFloat(v.value, 64)
	if err != nil {
		return v.bad("a number")
	}
	*dst = x
	return nil
}

func (v axisValue) integer(dst *int) error {
	x, err := strconv.Atoi(v.value)
	if err != nil {
		return v.bad("an integer")
	}
	*dst = x
	return nil
}

func (v axisValue) boolean(dst *bool) error {
	x, err := strconv.ParseBool(v.value)
	if err != nil {
		return v.bad("true or false")
	}
	*dst = x
	return nil
}

// Shard selects a deterministic slice of a plan: the points whose index is
// I modulo N (0 ≤ I < N). Dealing the points round-robin rather than in
// blocks spreads the slow corners of a grid over every shard.
type Shard struct{ I, N int }

// ParseShard reads "i/n".
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("%q: must be i/n with integers 0 ≤ i < n", s)
	}
	return Shard{i, n}, nil
}

func (sh Shard) String() string { return fmt.Sprintf("%d/%d", sh.I, max(sh.N, 1)) }

// Has reports whether the point of the given index is in the shard (the
// zero Shard holds every point).
func (sh Shard) Has(index int) bool { return sh.N <= 1 || index%sh.N == sh.I }

// newSweep returns the sweep of the plan without its points: the format,
// the setting, the plan with its hash and the axes' fields.
func (p *Plan) newSweep() *Sweep {
	sw := &Sweep{Format: SweepFormat, Setting: p.Setting, Plan: p, PlanHash: p.Hash()}
	for _, ax := range p.Axes {
		sw.Axes = append(sw.Axes, ax.Field)
	}
	return sw
}

// claimDigest prints what a user claim asserts, for the plan's hash.
func claimDigest(c *theory.ClaimSpec) string {
	var regime []string
	for _, p := range c.Regime {
		regime = append(regime, p.Left.LaTeX()+string(p.Op)+p.Right.LaTeX())
	}
	return fmt.Sprintf("%s: %s at %s from %g window %v %s %s = %s; regime %s; require %v",
		c.ID, c.Observable, c.At, c.From, c.Window, c.Relation, c.PredictedName, c.Predicted.LaTeX(), strings.Join(regime, ", "), c.Require)
}
