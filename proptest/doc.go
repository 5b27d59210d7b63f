// Package proptest holds the property-based tests (pgregory.net/rapid) that
// the engines agree with each other within the bounds the theory predicts:
// the full model and the exact (A, B) recursion on the same samples (SPEC §3
// level 0 ≡ level 1), the finite-sample recursion and the population one
// (level 1 → 2, an O(n^{-1/2}) bound), gradient descent and the gradient flow
// (level 2 → 3, an O(η) bound), and the two ways of computing the population
// expectation (enumeration and common random numbers).
//
// The generators of settings live here, exported, so that users' own tests
// can draw settings with rapid. A failing property prints the seed to replay
// it (go test -run NAME -rapid.seed=SEED) and shrinks to a small setting.
// A plain 'go test' uses a fixed seed (main_test.go), so that CI checks the
// same generated settings every time; 'make proptest-long' draws 1000 fresh
// settings per property from a new seed.
//
// The bounds are derived in docs/AGREEMENT.md.
package proptest
