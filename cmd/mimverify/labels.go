package main

import (
	"regexp"
	"strings"
)

// The label arrays of a setting (each cluster's "areas", P numbers) are
// what a person reads and edits in a setting file, as a picture of the
// grid. The encoders write one number per line; compactLabels rewrites
// each such array as one flow sequence with one grid row per line
// (Side numbers; 16 when the setting has no grid), which YAML and JSON
// both read back as the same flat list.
var (
	yamlLabels = regexp.MustCompile(`(?m)^((?:- |\s)*)areas:\n((?:[ ]*- -?\d+\n)+)`)
	jsonLabels = regexp.MustCompile(`(?m)^([ ]*)"areas": \[\n((?:[ ]*-?\d+,?\n)+)([ ]*)\]`)
	number     = regexp.MustCompile(`-?\d+`)
)

func compactLabels(data []byte, side int, yamlForm bool) []byte {
	if side <= 0 {
		side = 16
	}
	rows := func(list string, indent string) string {
		nums := number.FindAllString(list, -1)
		var lines []string
		for i := 0; i < len(nums); i += side {
			lines = append(lines, strings.Join(nums[i:min(i+side, len(nums))], ", "))
		}
		return strings.Join(lines, ",\n"+indent)
	}
	if yamlForm {
		return yamlLabels.ReplaceAllFunc(data, func(m []byte) []byte {
			sub := yamlLabels.FindSubmatch(m)
			prefix := string(sub[1])
			// Continuation lines of a flow sequence must be indented more
			// than its key.
			indent := strings.Repeat(" ", len(prefix)+2)
			return []byte(prefix + "areas: [" + rows(string(sub[2]), indent) + "]\n")
		})
	}
	return jsonLabels.ReplaceAllFunc(data, func(m []byte) []byte {
		sub := jsonLabels.FindSubmatch(m)
		indent := string(sub[1]) + "  "
		return []byte(string(sub[1]) + "\"areas\": [\n" + indent + rows(string(sub[2]), indent) + "\n" + string(sub[3]) + "]")
	})
}
