package theory

import (
	yaml3 "go.yaml.in/yaml/v3"
)

// departures decodes the "departures:" mapping (docs/FORMATS.md).
func (d *decoder) departures(v *yaml3.Node) Departures {
	var dep Departures
	d.mapping(v, "departures", "{"+joinFields(departureFields)+"}", departureFields, func(key string, v *yaml3.Node) {
		f := "departures." + key
		switch key {
		case "noise":
			dep.Noise = d.number(v, f, allowNoise)
		case "feature_overlap":
			dep.FeatureOverlap = d.number(v, f, allowFeatOver)
		case "position_overlap":
			dep.PositionOverlap = d.number(v, f, allowPosOver)
		case "random_partitions":
			dep.RandomPartitions = d.boolean(v, f)
		case "batch":
			dep.Batch = d.integer(v, f, allowBatch)
		case "replacement":
			dep.Replacement = d.boolean(v, f)
		case "optimizer":
			dep.Optimizer = Optimizer(d.text(v, f, allowOptimizer))
		case "beta1":
			dep.Beta1 = d.number(v, f, allowBeta)
		case "beta2":
			dep.Beta2 = d.number(v, f, allowBeta)
		case "adam_eps":
			dep.AdamEps = d.number(v, f, allowAdamEps)
		case "weight_decay":
			dep.WeightDecay = d.number(v, f, allowDecay)
		case "train_value":
			dep.TrainValue = d.boolean(v, f)
		case "heads":
			dep.Heads = d.integer(v, f, allowHeads)
		}
	})
	return dep
}

// boolean reads a true/false field (YAML 1.2 booleans only: "yes" is a
// string, and refused).
func (d *decoder) boolean(n *yaml3.Node, field string) bool {
	if n = d.scalar(n, field, allowBool); n == nil {
		return false
	}
	switch {
	case n.ShortTag() == "!!bool" && (n.Value == "true" || n.Value == "True" || n.Value == "TRUE"):
		return true
	case n.ShortTag() == "!!bool" && (n.Value == "false" || n.Value == "False" || n.Value == "FALSE"):
		return false
	}
	d.bad(n, field, allowBool)
	return false
}

func joinFields(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += ", "
		}
		out += n
	}
	return out
}
