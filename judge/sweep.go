package judge

import "mimverify/theory"

// SweepFormat is the format tag of a sweep (docs/FORMATS.md).
const SweepFormat = "mimverify.sweep/v1"

// Sweep is the outcome of 'mimverify sweep': the claims evaluated at every
// point of a grid of settings around a base setting.
type Sweep struct {
	Format  string         `json:"format"` // SweepFormat
	Setting theory.Setting `json:"setting"`
	// Axes are the varied fields, in the order of the grid.
	Axes   []string     `json:"axes"`
	Points []SweepPoint `json:"points"`
}

// SweepPoint is one setting of a sweep and its claims' results.
type SweepPoint struct {
	// Values gives each axis its value at this point, as the user wrote it.
	Values  map[string]string `json:"values"`
	Steps   int               `json:"steps"`
	Seconds Float             `json:"seconds"`
	Results []ClaimResult     `json:"results"`
	// Error is set (and Results empty) when a run failed at this point.
	Error string `json:"error,omitempty"`
}
