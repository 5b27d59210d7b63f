package dynamics

import "mimverify/theory"

// Objective is a loss on the attention correlations under one expectation
// operator (a sample set, or the population).
type Objective interface {
	// LossGrad returns the loss at c and writes its gradient with respect to
	// A and B into grad, which has c's shape and is overwritten. stderr is the
	// standard error of the loss when it is a Monte Carlo estimate and 0 when
	// it is exact.
	LossGrad(c, grad theory.Correlations) (loss, stderr float64)
}
