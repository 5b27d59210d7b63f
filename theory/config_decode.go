package theory

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	yaml3 "go.yaml.in/yaml/v3"
)

// The decoder of setting files: a walk over the YAML node tree (JSON is
// YAML) that matches field names exactly, rejects duplicates and unknown
// fields with a suggestion, and names every problem with its path and the
// allowed range (docs/FORMATS.md, "Parsing rules and limits").

// lineError is a problem at a line of the config file.
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %v", e.line, e.err) }
func (e *lineError) Unwrap() error { return e.err }

// decoder turns the YAML node tree into a Setting, collecting every problem.
type decoder struct {
	errs errorList
	// budget is the number of nodes still allowed to be visited: it bounds
	// the expansion of YAML aliases.
	budget    int
	exhausted bool
}

func (d *decoder) fail(n *yaml3.Node, err error) {
	if d.errs.full() {
		d.errs.more++
		return
	}
	d.errs.add(&lineError{line: n.Line, err: err})
}

func (d *decoder) failf(n *yaml3.Node, format string, args ...any) {
	d.fail(n, fmt.Errorf(format, args...))
}

// bad records a value of the wrong type or out of range for a field.
func (d *decoder) bad(n *yaml3.Node, field, allowed string) {
	d.fail(n, &FieldError{Field: field, Value: show(n), Allowed: allowed})
}

// node follows aliases and documents to the node holding a value, charging
// the budget; it returns nil once the budget is spent.
func (d *decoder) node(n *yaml3.Node) *yaml3.Node {
	for hops := 0; n != nil; hops++ {
		if d.budget--; d.budget < 0 || hops > 1000 {
			if !d.exhausted {
				d.exhausted = true
				d.failf(n, "config expands (through YAML aliases) to more than %d values: more than any valid setting", maxConfigItems)
			}
			return nil
		}
		switch n.Kind {
		case yaml3.AliasNode:
			n = n.Alias
		case yaml3.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		default:
			return n
		}
	}
	return nil
}

// show renders a value found in the config for an error message.
func show(n *yaml3.Node) string {
	switch {
	case n.Kind == yaml3.SequenceNode:
		return fmt.Sprintf("(a list of %d items)", len(n.Content))
	case n.Kind == yaml3.MappingNode:
		return "(a mapping)"
	case n.Kind == yaml3.AliasNode:
		return "*" + n.Value
	case n.ShortTag() == "!!null":
		return "null"
	}
	v := n.Value
	if len(v) > 60 {
		v = v[:57] + "..."
	}
	if n.ShortTag() == "!!str" {
		return fmt.Sprintf("%q", v)
	}
	return v
}

// mapping checks that n is a mapping whose keys are among names, none
// repeated, and calls f for each field. path is the mapping's own path ("" at
// the top); what describes the mapping for an error ("{kind, L, U}").
func (d *decoder) mapping(n *yaml3.Node, path, what string, names []string, f func(key string, v *yaml3.Node)) {
	if n = d.node(n); n == nil {
		return
	}
	if path != "" && d.foreignTag(n, path) {
		return
	}
	if n.Kind != yaml3.MappingNode {
		if path == "" {
			d.failf(n, "%s", mappingHint)
		} else {
			d.bad(n, path, "a mapping "+what)
		}
		return
	}
	at := ""
	if path != "" {
		at = path + ": "
	}
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.node(n.Content[i]), n.Content[i+1]
		if k == nil {
			return
		}
		key, ok := d.key(k, at, names)
		if !ok {
			continue
		}
		if line, dup := seen[key]; dup {
			d.failf(k, "%sfield %q given twice (first at line %d): each field may appear once", at, key, line)
			continue
		}
		seen[key] = k.Line
		f(key, v)
	}
}

// key returns the field name of a mapping key, or reports why it is not one.
func (d *decoder) key(k *yaml3.Node, at string, names []string) (string, bool) {
	list := strings.Join(names, ", ")
	switch {
	case k.Kind != yaml3.ScalarNode:
		d.failf(k, "%sa key must be a field name, not %s (the fields are %s)", at, show(k), list)
		return "", false
	case k.ShortTag() == "!!null":
		d.failf(k, "%sa null key (%q) is not a field name (the fields are %s)", at, k.Value, list)
		return "", false
	case k.ShortTag() == "!!merge":
		d.failf(k, "%sYAML merge keys (<<) are not supported (the fields are %s)", at, list)
		return "", false
	}
	for _, name := range names {
		if k.Value == name {
			return name, true
		}
	}
	hint := ""
	if s := suggest(k.Value, names); s != "" {
		hint = fmt.Sprintf(": did you mean %q? (names are case-sensitive)", s)
	}
	d.failf(k, "%sunknown field %s%s; the fields are %s", at, show(k), hint, list)
	return "", false
}

// suggest returns the field name closest to an unknown key: equal but for
// case, or within two edits; "" when none is close.
func suggest(key string, names []string) string {
	for _, name := range names {
		if strings.EqualFold(key, name) {
			return name
		}
	}
	if len(key) > 32 {
		return ""
	}
	best, bestDist := "", 3
	for _, name := range names {
		if dist := editDistance(strings.ToLower(key), strings.ToLower(name)); dist < bestDist && 2*dist < len(key) {
			best, bestDist = name, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// scalar returns the node of a non-null scalar value, or reports a value of
// the wrong kind for field.
func (d *decoder) scalar(n *yaml3.Node, field, allowed string) *yaml3.Node {
	if n = d.node(n); n == nil {
		return nil
	}
	if d.foreignTag(n, field) {
		return nil
	}
	if n.Kind != yaml3.ScalarNode || n.ShortTag() == "!!null" {
		d.bad(n, field, allowed)
		return nil
	}
	return n
}

// integer reads an integer field.
func (d *decoder) integer(n *yaml3.Node, field, allowed string) int {
	if n = d.scalar(n, field, allowed); n == nil {
		return 0
	}
	v, err := parseInt(n)
	if err != nil {
		d.fail(n, &FieldError{Field: field, Value: show(n) + err.Error(), Allowed: allowed})
	}
	return v
}

// number reads a real-valued field; .nan and .inf are read as such and left
// to Validate, which names the allowed range.
func (d *decoder) number(n *yaml3.Node, field, allowed string) float64 {
	if n = d.scalar(n, field, allowed); n == nil {
		return 0
	}
	v, err := parseFloat(n)
	if err != nil {
		shown := show(n)
		if errors.Is(err, errRange) {
			shown = n.Value // a plain number, not a string
		}
		d.fail(n, &FieldError{Field: field, Value: shown + err.Error(), Allowed: allowed})
	}
	return v
}

// text reads a string field: a quoted or plain scalar (a plain 2024 is the
// string "2024").
func (d *decoder) text(n *yaml3.Node, field, allowed string) string {
	if n = d.scalar(n, field, allowed); n == nil {
		return ""
	}
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float", "!!bool", "!!timestamp":
		return n.Value
	}
	d.bad(n, field, allowed)
	return ""
}

var (
	errNotNumber = errors.New("")
	errRange     = errors.New(" (out of range)")
)

func parseInt(n *yaml3.Node) (int, error) {
	if n.ShortTag() != "!!int" {
		f, err := parseFloat(n)
		if errors.Is(err, errRange) || (err == nil && f == math.Trunc(f) && math.Abs(f) > 1<<62) {
			return 0, errRange
		}
		return 0, errNotNumber
	}
	v, err := strconv.ParseInt(n.Value, 0, 0)
	if err != nil {
		return 0, errRange
	}
	return int(v), nil
}

func parseFloat(n *yaml3.Node) (float64, error) {
	switch n.ShortTag() {
	case "!!int":
		if v, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return float64(v), nil
		}
	case "!!float":
		switch strings.ToLower(n.Value) {
		case ".nan":
			return math.NaN(), nil
		case ".inf", "+.inf":
			return math.Inf(1), nil
		case "-.inf":
			return math.Inf(-1), nil
		}
	case "!!str":
		// A plain 1e400 is a string to YAML because it overflows a float64.
		_, err := strconv.ParseFloat(n.Value, 64)
		if n.Style&(yaml3.DoubleQuotedStyle|yaml3.SingleQuotedStyle) == 0 && errors.Is(err, strconv.ErrRange) {
			return 0, errRange
		}
		return 0, errNotNumber
	default:
		return 0, errNotNumber
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, errRange
		}
		return 0, errNotNumber
	}
	return v, nil
}

// setting decodes the top-level mapping: the preset first, then every other
// field over it.
func (d *decoder) setting(root *yaml3.Node) Setting {
	n := d.node(root)
	if n == nil {
		d.fail(root, errors.New("config is empty: "+mappingHint))
		return Setting{}
	}
	var s Setting
	fromPreset := false
	if n.Kind == yaml3.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Kind == yaml3.ScalarNode && k.Value == "preset" && k.ShortTag() == "!!str" {
				s, fromPreset = d.preset(n.Content[i+1]), true
				break
			}
		}
	}
	given := map[string]bool{}
	d.mapping(n, "", "", topFields, func(key string, v *yaml3.Node) {
		given[key] = true
		switch key {
		case "name":
			s.Name = d.text(v, key, "a string")
		case "P":
			s.P = d.integer(v, key, allowP)
		case "side":
			s.Side = d.integer(v, key, allowSide)
		case "clusters":
			s.Clusters = d.clusters(v)
		case "z":
			s.Z = d.zLaw(v)
		case "gamma":
			s.Gamma = d.number(v, key, allowGamma)
		case "mask":
			s.Mask = MaskScheme(d.text(v, key, allowMask))
		case "keys":
			s.Keys = KeyMode(d.text(v, key, allowKeys))
		case "loss":
			s.Loss = LossNorm(d.text(v, key, allowLoss))
		case "eta":
			s.Eta = d.number(v, key, allowEta)
		case "init":
			s.Init = d.init(v)
		case "extra_dim":
			s.ExtraDim = d.integer(v, key, allowExtraDim)
		case "require":
			s.Require = d.claimIDs(v, key)
		case "departures":
			s.Departures = d.departures(v)
		}
	})
	// A preset's grid side describes its own P.
	if given["P"] && !given["side"] && s.Side*s.Side != s.P {
		s.Side = 0
	}
	if !fromPreset && n.Kind == yaml3.MappingNode {
		d.required(given)
	}
	return s
}

// claimIDs reads a list of claim ids (require: [C2, C3]); an empty list
// requires nothing, overriding a preset's list.
func (d *decoder) claimIDs(v *yaml3.Node, field string) []string {
	n := d.node(v)
	if n == nil {
		return []string{}
	}
	if n.Kind != yaml3.SequenceNode || len(n.Content) > len(ClaimIDs()) {
		d.bad(n, field, allowRequire)
		return nil
	}
	ids := []string{}
	for i, item := range n.Content {
		ids = append(ids, d.text(item, fmt.Sprintf("%s[%d]", field, i), allowRequire))
	}
	return ids
}

// requiredFields are the fields without a default, with their ranges.
var requiredFields = []struct{ name, allowed string }{
	{"P", allowP}, {"clusters", allowClusters}, {"z", "a z law {kind, L, U}"}, {"gamma", allowGamma}, {"eta", allowEta},
}

// required reports each field without a default that a config without a
// preset leaves out, as "required" — not as the out-of-range zero it would
// otherwise be validated as, with every error that zero would cause.
func (d *decoder) required(given map[string]bool) {
	for _, f := range requiredFields {
		if !given[f.name] {
			d.errs.add(&RequiredError{Field: f.name, Allowed: f.allowed})
		}
	}
}

// RequiredError reports a field without a default that a config leaves out.
type RequiredError struct {
	Field   string
	Allowed string
}

func (e *RequiredError) Error() string {
	return fmt.Sprintf("%s: required (%s)", e.Field, e.Allowed)
}

// foreignTag reports a node carrying an application tag (!foo): YAML gives
// it no meaning a setting could use, so it is named as such rather than
// read as a value that is out of range.
func (d *decoder) foreignTag(n *yaml3.Node, field string) bool {
	tag := n.ShortTag()
	if strings.HasPrefix(tag, "!!") {
		return false
	}
	d.failf(n, "%s: unknown YAML tag %s (a setting uses plain values: remove the tag)", field, tag)
	return true
}

func (d *decoder) preset(v *yaml3.Node) Setting {
	allowed := "the name of a preset: one of " + strings.Join(PresetNames(), ", ")
	name := d.text(v, "preset", allowed)
	if name == "" {
		return Setting{}
	}
	s, err := Preset(name)
	if err != nil {
		d.fail(v, fmt.Errorf("preset: %w", err))
	}
	return s
}

func (d *decoder) clusters(v *yaml3.Node) []Cluster {
	n := d.node(v)
	if n == nil {
		return nil
	}
	if d.foreignTag(n, "clusters") {
		return nil
	}
	if n.Kind != yaml3.SequenceNode || len(n.Content) > maxClusters {
		d.bad(n, "clusters", allowClusters)
		return nil
	}
	cs := make([]Cluster, len(n.Content))
	for k, item := range n.Content {
		path := fmt.Sprintf("clusters[%d]", k)
		c := &cs[k]
		d.mapping(item, path, "{name, areas, prob}", clusterFields, func(key string, v *yaml3.Node) {
			switch key {
			case "name":
				c.Name = d.text(v, path+".name", "a string")
			case "areas":
				c.Areas = d.areas(v, path+".areas")
			case "prob":
				c.Prob = d.number(v, path+".prob", allowProb)
			}
		})
	}
	return cs
}

// areas reads a list of area labels; the fast path avoids formatting a path
// per label.
func (d *decoder) areas(v *yaml3.Node, path string) []int {
	n := d.node(v)
	if n == nil {
		return nil
	}
	if d.foreignTag(n, path) {
		return nil
	}
	if n.Kind != yaml3.SequenceNode || len(n.Content) > maxP {
		d.bad(n, path, allowAreas)
		return nil
	}
	labels := make([]int, len(n.Content))
	for p, item := range n.Content {
		if item.Kind == yaml3.ScalarNode && item.Tag == "!!int" {
			if d.budget--; d.budget >= 0 {
				if a, err := parseInt(item); err == nil {
					labels[p] = a
					continue
				}
			}
		}
		if d.errs.full() && !d.exhausted {
			d.errs.more++
			continue
		}
		labels[p] = d.integer(item, fmt.Sprintf("%s[%d]", path, p), allowLabel)
	}
	return labels
}

func (d *decoder) zLaw(v *yaml3.Node) ZLaw {
	var z ZLaw
	d.mapping(v, "z", "{kind, L, U}", zFields, func(key string, v *yaml3.Node) {
		switch key {
		case "kind":
			z.Kind = ZKind(d.text(v, "z.kind", allowZKind))
		case "L":
			z.L = d.number(v, "z.L", allowZ)
		case "U":
			z.U = d.number(v, "z.U", allowZ)
		}
	})
	return z
}

func (d *decoder) init(v *yaml3.Node) Init {
	var in Init
	d.mapping(v, "init", "{kind, sigma}", initFields, func(key string, v *yaml3.Node) {
		switch key {
		case "kind":
			in.Kind = InitKind(d.text(v, "init.kind", allowInitKind))
		case "sigma":
			in.Sigma = d.number(v, "init.sigma", allowSigma)
		}
	})
	return in
}
