// Package dynamics owns the reduced engines of SPEC §3: gradient descent
// directly on the attention correlations (A, B) instead of the d×d matrix Q.
//
// An Objective evaluates the loss and its gradient with respect to (A, B)
// under some expectation operator: over a fixed sample set (level 1, exactly
// the full model's empirical loss), or over the population (level 2, by exact
// enumeration of masks or by common random numbers). Descend runs gradient
// descent on an Objective; Flow integrates the gradient-flow ODE (level 3).
// All produce a theory.Trajectory.
//
// The gradient formulas are derived in docs/DYNAMICS.md.
package dynamics
