// Package mutant is the catalogue of plausible wrong models that the
// mutation gate (judge/mutation_test.go, `make mutants`) switches on one at a
// time to show which of them `mimverify check` catches (docs/JUDGE.md).
//
// Each mutant is a one-line fault in code that several engines share — the
// sampler, the loss normalisation, the update rule, the measurements, the
// rates — guarded at its site by `if mutant.On(mutant.X) {…}`. In the
// ordinary build On is the constant false (off.go), so the compiler removes
// the hooks and no binary can switch a mutant on; only a build with the tag
// `mutants` (on.go) can, and only tests do.
package mutant

// Name identifies one mutant of the catalogue.
type Name string

// The mutants. Where and what each changes is in Catalogue.
const (
	MaskRate       Name = "mask-rate"        // Bernoulli mask probability 0.8·γ
	MaskComplement Name = "mask-complement"  // Bernoulli mask probability 1 − γ
	MaskLeak       Name = "mask-leak"        // a masked position unmasked in a quarter of the images
	ZPerImage      Name = "z-per-image"      // uniform law: one z per image, not per area
	ClusterUniform Name = "cluster-uniform"  // cluster probabilities ignored (uniform choice)
	ClusterNoLast  Name = "cluster-no-last"  // the last cluster is never drawn
	LossPerP       Name = "loss-per-p"       // the sum loss also divided by P
	LearningRate   Name = "learning-rate"    // exact, population, flow and full step at 0.7·η; orbit and meanfield keep η
	AreaShift      Name = "area-shift"       // measurement: mass of area j credited to area j+1
	QuantileSide   Name = "quantile-side"    // measurement: δ-quantile taken at 1 − δ
	C3WrongSide    Name = "c3-wrong-side"    // C3: first step below 1 − ε instead of at or above
	SoftmaxNoShift Name = "softmax-no-shift" // measurement: softmax without the max shift
	KappaInverted  Name = "kappa-inverted"   // rates: κ → 1/κ
	SupportSwapped Name = "support-swapped"  // rates: L and U swapped
	BandInflated   Name = "band-inflated"    // judge: the measured side's standard error × √n in the sharp bands
	HeldOutIsTrain Name = "heldout-is-train" // judge: the held-out samples drawn with the training seed
	EarlyStopMin   Name = "early-stop-min"   // judge: the main run stops at the minimum of its two conditions
	SEDoubled      Name = "se-doubled"       // measurement: the ratio estimators' standard errors × 2
	QuantileRound  Name = "quantile-round"   // measurement: the quantile's index rounded up instead of down
	ZAtMean        Name = "z-at-mean"        // sampler: every z at the law's mean (L + U)/2
	LossPerGamma   Name = "loss-per-gamma"   // loss scaled by 1/γ (engines, measurement and rates)
	OrbitZSpread   Name = "orbit-z-spread"   // orbit engine: the z law's spread about its mean halved
	PhaseLostStep  Name = "phase-lost-step"  // exact kernel: a phase loses row block 0's first step
)

// Mutant describes one entry of the catalogue: where the fault is and what
// it does.
type Mutant struct {
	Name  Name
	Where string
	What  string
}

// Catalogue lists every mutant, in the order of docs/JUDGE.md's table.
var Catalogue = []Mutant{
	{MaskRate, "theory/sample.go (Draw, bernoulli mask)", "each position is masked with probability 0.8·γ instead of γ"},
	{MaskComplement, "theory/sample.go (Draw, bernoulli mask)", "each position is masked with probability 1 − γ (γ and 1 − γ confused)"},
	{MaskLeak, "theory/sample.go (Draw, after the mask)", "in a quarter of the images the first masked position is left unmasked: its content leaks into the keys"},
	{ZPerImage, "theory/sample.go (Draw, uniform z law)", "one z is drawn per image and shared by all its areas, instead of one per area"},
	{ClusterUniform, "theory/sample.go (Draw, cluster choice)", "the cluster probabilities π_k are ignored: every cluster is drawn with probability 1/K"},
	{ClusterNoLast, "theory/sample.go (Draw, cluster choice)", "the last cluster is never drawn (its probability is given to the others)"},
	{LossPerP, "theory/setting.go (LossScale)", "the sum loss is divided by P as if it were the mean loss (engines, measurement and rates all see λ = 1/P)"},
	{LearningRate, "dynamics/descend.go, empirical/train.go, dynamics/flow.go (the update of every engine)", "every engine but the reduced ones learns at 0.7 times the step size: GD on (A, B) (exact, population) and on Q (full) steps by 0.7·η, the flow's right-hand side is scaled by 0.7; the orbit and meanfield engines keep η"},
	{AreaShift, "judge/measure.go (attend), judge/measure_factored.go (factoredB.attend)", "the attention mass on area j is credited to area j+1 (mod N_k)"},
	{QuantileSide, "judge/measure.go (finish)", "the δ-quantile of the own-area mass is taken at 1 − δ"},
	{C3WrongSide, "judge/claims.go (measureC3)", "C3's time is the first step whose δ-quantile is below 1 − ε instead of at or above it"},
	{SoftmaxNoShift, "judge/measure.go (attend), judge/measure_factored.go (factoredB.attend)", "the measurement's softmax exponentiates the scores without subtracting their maximum (overflows at large scores)"},
	{KappaInverted, "theory/rates.go (addRateSymbols)", "the asymptotic rate factor κ is inverted"},
	{SupportSwapped, "theory/rates.go (Env)", "the support symbols L and U are swapped in the rates' environment"},
	{BandInflated, "judge/sharp.go (curveBand, crossingBand)", "the judge weakened: the measured side's standard error in the sharp bands is multiplied by √n (the per-image spread taken for the error of the mean), so every band widens about √n-fold"},
	{HeldOutIsTrain, "judge/check.go (newRun)", "the judge weakened: the held-out samples are drawn with the training seed, so \"held-out\" is the training set"},
	{EarlyStopMin, "judge/check.go (settled)", "the judge weakened: the main run stops once the δ-quantile has reached 1 − ε and the run is past min(200, 4·t) steps, the minimum of its two conditions instead of the maximum"},
	{SEDoubled, "judge/measure.go (ratioSE)", "the judge weakened: the standard errors of the measured means (the loss, the own-area mass, the FP share) are doubled, so the sharp bands widen twofold"},
	{QuantileRound, "judge/measure.go (quantileIndex)", "the equal-weight quantile's index ⌊q·n⌋ rounded up, ⌈q·n⌉: one order statistic too high"},
	{ZAtMean, "theory/sample.go (drawZ)", "every z is (L + U)/2, the law's mean, whatever the law: the z law collapsed to its mean"},
	{OrbitZSpread, "dynamics/orbit.go (zNodes1), dynamics/orbit_terms.go (sampleCRN)", "the reduced ODE's own fault: the orbit engine takes z at μ + ½(z − μ), μ = (L + U)/2 — the z law's variance a quarter of the setting's — in its quadrature nodes and its CRN draws, while the sampler, the exact and the full engines keep the right law"},
	{LossPerGamma, "theory/setting.go (LossScale)", "the loss is divided by γ (a normalisation by the masked count's mean γP in place of P): engines, measurement and rates all see λ/γ"},
	{PhaseLostStep, "dynamics/exact_phase.go (phaseWorker)", "an engine fault the single steps do not have: in every phase of the exact and population descents, row block 0's first step is counted but not taken, so its rows lag one step per phase while every other block is right"},
}

// Lookup returns the catalogue entry of a name.
func Lookup(n Name) (Mutant, bool) {
	for _, m := range Catalogue {
		if m.Name == n {
			return m, true
		}
	}
	return Mutant{}, false
}
