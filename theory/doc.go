// Package theory owns the paper's setting and the shared vocabulary of the
// engines.
//
// It holds the data model of SPEC §1 (Setting: positions, clusters with their
// partitions into areas, the z law, the mask scheme, the key mode, the loss
// normalisation, the step size and the initialisation), its validation and its
// file formats (YAML and JSON), the named presets usable from the command line,
// the seeded sampler of (cluster, z, mask) triples that every engine shares, and
// the Trajectory type that every engine produces.
//
// The claims of SPEC §4, their regimes and predicted bounds also live here, so
// that the engines (packages empirical and dynamics) and the judge (package
// proptest and the CLI) depend on theory and never on each other.
package theory
