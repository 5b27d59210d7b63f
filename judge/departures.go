package judge

import (
	"fmt"
	"strconv"

	"mimverify/theory"
)

// applyDeparture sets one field of a setting's departures (a sweep axis
// named as in "departures:", e.g. noise=0,0.1); ok is false when field is
// not a departure. Ranges are checked by Setting.Validate once every axis is
// applied.
func applyDeparture(d *theory.Departures, field, value string) (ok bool, err error) {
	bad := func(allowed string) error { return fmt.Errorf("axis %s=%s: must be %s", field, value, allowed) }
	num := func(dst *float64) error {
		x, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return bad("a number")
		}
		*dst = x
		return nil
	}
	integer := func(dst *int) error {
		x, err := strconv.Atoi(value)
		if err != nil {
			return bad("an integer")
		}
		*dst = x
		return nil
	}
	boolean := func(dst *bool) error {
		x, err := strconv.ParseBool(value)
		if err != nil {
			return bad("true or false")
		}
		*dst = x
		return nil
	}
	switch field {
	case "noise":
		return true, num(&d.Noise)
	case "feature_overlap":
		return true, num(&d.FeatureOverlap)
	case "position_overlap":
		return true, num(&d.PositionOverlap)
	case "random_partitions":
		return true, boolean(&d.RandomPartitions)
	case "batch":
		return true, integer(&d.Batch)
	case "replacement":
		return true, boolean(&d.Replacement)
	case "optimizer":
		d.Optimizer = theory.Optimizer(value)
		if d.Adam() { // the usual parameters unless another axis sets them
			d.Beta1 = cmpOr(d.Beta1, theory.DefaultBeta1)
			d.Beta2 = cmpOr(d.Beta2, theory.DefaultBeta2)
			d.AdamEps = cmpOr(d.AdamEps, theory.DefaultAdamEps)
		}
		return true, nil
	case "beta1":
		return true, num(&d.Beta1)
	case "beta2":
		return true, num(&d.Beta2)
	case "adam_eps":
		return true, num(&d.AdamEps)
	case "weight_decay":
		return true, num(&d.WeightDecay)
	case "train_value":
		return true, boolean(&d.TrainValue)
	case "heads":
		return true, integer(&d.Heads)
	}
	return false, nil
}

func cmpOr(x, def float64) float64 {
	if x == 0 {
		return def
	}
	return x
}
