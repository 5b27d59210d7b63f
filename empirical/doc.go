// Package empirical owns the full model of SPEC §1, level 0 of the hierarchy
// of SPEC §3: gradient descent (full batch or SGD) on the real d×d key–query
// matrix Q, with tokens, scores, softmax attention and loss computed
// genuinely in R^d.
//
// It owns the seeded orthonormal embedding (Embedding: position embeddings,
// features and extra directions, and the projection of Q onto the attention
// correlations A, B), the analytic gradient of the empirical loss with
// respect to Q (Model.LossGrad, derived in docs/GRADIENT.md and checked
// against finite differences in the tests), and the training loop (Train),
// which produces a theory.Trajectory with Engine "full".
//
// It deliberately does not use the (A, B) reduction formulas of SPEC §2: it
// is the independent reference that package dynamics (which does use them) is
// compared against. LossGrad is parallel over fixed-size chunks of samples
// reduced in a fixed order, so its result is bit-identical for any
// GOMAXPROCS.
package empirical
