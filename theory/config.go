package theory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	yaml3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// maxConfigBytes bounds the size of a config file.
const maxConfigBytes = 64 << 20

// maxConfigItems bounds the number of separators (',', '-', ':', '[', '{',
// '?' and line breaks) a config may hold, counted before it is parsed. Every
// YAML or JSON value needs at least one of them, so this bounds the parser's
// work; the largest valid setting (maxClusters clusters of maxP labels,
// written one label per line) needs about 2·maxClusters·maxP of them.
const maxConfigItems = 2*maxClusters*maxP + 1<<16

// The field names of each object of a config file, in the order of the docs.
var (
	topFields     = []string{"preset", "name", "P", "side", "clusters", "z", "gamma", "mask", "keys", "loss", "eta", "init", "extra_dim"}
	clusterFields = []string{"name", "areas", "prob"}
	zFields       = []string{"kind", "L", "U"}
	initFields    = []string{"kind", "sigma"}
)

// ParseConfig reads a setting from YAML or JSON bytes (JSON is YAML, so one
// parser serves both). A field "preset: NAME" starts from that preset and lets
// the other fields override it: a field given replaces the preset's value
// whole (a list of clusters, a z law or an init replaces the preset's, and
// the defaults of what it leaves out are derived again). Without a preset
// every required field must be given.
//
// The input is read strictly: exactly one document; field names match
// exactly (case included); unknown and repeated fields are errors; every
// value must have its field's type. Errors name the field with its path and
// index (clusters[1].prob) and the allowed range; at most maxReportedErrors
// problems are listed. The result is resolved and validated.
func ParseConfig(data []byte) (Setting, error) {
	if len(data) > maxConfigBytes {
		return Setting{}, fmt.Errorf("config is %d bytes, larger than the %d allowed", len(data), maxConfigBytes)
	}
	if n := countSeparators(data); n > maxConfigItems {
		return Setting{}, tooManyValues(fmt.Sprint(n))
	}
	root, err := parseDocument(data)
	if err != nil {
		return Setting{}, err
	}
	d := &decoder{budget: maxConfigItems}
	s := d.setting(root)
	if err := d.errs.err(); err != nil {
		return Setting{}, err
	}
	if err := s.Resolve(); err != nil {
		return Setting{}, err
	}
	return s, nil
}

func tooManyValues(count string) error {
	return fmt.Errorf("config holds too many values: %s separators (, - : [ { ? and line breaks), more than the %d a setting may use (at most %d clusters of at most P = %d area labels)", count, maxConfigItems, maxClusters, maxP)
}

// countSeparators returns an upper bound on the work of parsing data.
func countSeparators(data []byte) int {
	n := 0
	for _, c := range []byte{',', '-', ':', '[', '{', '?', '\n'} {
		n += bytes.Count(data, []byte{c})
	}
	return n
}

const mappingHint = "a config must be a mapping of fields (P, clusters, z, gamma, eta, …), optionally with preset: NAME"

// parseDocument parses the one YAML (or JSON) document of data, refusing a
// second document or anything after the first.
func parseDocument(data []byte) (*yaml3.Node, error) {
	dec := yaml3.NewDecoder(bytes.NewReader(data))
	var doc yaml3.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("config is empty: " + mappingHint)
		}
		if json.Valid(data) {
			if yamlSafe := jsonForYAML(data); !bytes.Equal(yamlSafe, data) {
				return parseDocument(yamlSafe)
			}
		}
		return nil, fmt.Errorf("config is neither valid YAML nor valid JSON: %v", err)
	}
	var next yaml3.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
		return &doc, nil
	case err != nil:
		return nil, fmt.Errorf("config has text after its first document (%v): a config is exactly one YAML or JSON document", err)
	default:
		return nil, fmt.Errorf("config holds more than one document (the second starts at line %d): a config is exactly one YAML or JSON document", next.Line)
	}
}

// jsonForYAML rewrites the two string escapes of valid JSON that YAML lacks,
// keeping every line where it is: \/ becomes /, and a UTF-16 surrogate pair
// \uD83D\uDE00 becomes \U0001F600 (a lone surrogate becomes \uFFFD, as
// encoding/json reads it).
func jsonForYAML(data []byte) []byte {
	out := make([]byte, 0, len(data))
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case !inString:
			inString = c == '"'
		case c == '"':
			inString = false
		case c == '\\' && i+1 < len(data):
			switch data[i+1] {
			case '/':
				out = append(out, '/')
				i++
				continue
			case 'u':
				if r, n := surrogate(data[i:]); n > 0 {
					out = fmt.Appendf(out, "\\U%08X", r)
					i += n - 1
					continue
				}
			}
			out = append(out, c, data[i+1])
			i++
			continue
		}
		out = append(out, c)
	}
	return out
}

// surrogate reads a \uXXXX escape at the start of b that is a UTF-16
// surrogate: with its pair it returns the code point, alone U+FFFD, and the
// bytes read; 0 bytes when it is not a surrogate.
func surrogate(b []byte) (rune, int) {
	hex4 := func(b []byte) (rune, bool) {
		if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(string(b[2:6]), 16, 32)
		return rune(v), err == nil
	}
	hi, ok := hex4(b)
	if !ok || !utf16.IsSurrogate(hi) {
		return 0, 0
	}
	if lo, ok := hex4(b[6:]); ok && hi < 0xDC00 && lo >= 0xDC00 && lo <= 0xDFFF {
		return utf16.DecodeRune(hi, lo), 12
	}
	return utf8.RuneError, 6
}

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
	if n.Kind == yaml3.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Kind == yaml3.ScalarNode && k.Value == "preset" && k.ShortTag() == "!!str" {
				s = d.preset(n.Content[i+1])
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
		}
	})
	// A preset's grid side describes its own P.
	if given["P"] && !given["side"] && s.Side*s.Side != s.P {
		s.Side = 0
	}
	return s
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

// LoadConfig reads a setting from a YAML or JSON file (see ParseConfig).
func LoadConfig(path string) (Setting, error) {
	f, err := os.Open(path)
	if err != nil {
		return Setting{}, err
	}
	defer f.Close()
	data, err := readConfig(f)
	if err != nil {
		return Setting{}, fmt.Errorf("%s: %w", path, err)
	}
	s, err := ParseConfig(data)
	if err != nil {
		return Setting{}, fmt.Errorf("%s: %w", path, err)
	}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	return s, nil
}

// readConfig reads a config, refusing it as soon as it is known to be too
// large: by its size, or by the separators of its first megabytes.
func readConfig(f *os.File) ([]byte, error) {
	var buf bytes.Buffer
	if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
		if info.Size() > maxConfigBytes {
			return nil, fmt.Errorf("config is %d bytes, larger than the %d allowed", info.Size(), maxConfigBytes)
		}
	}
	chunk := make([]byte, 1<<20)
	seps := 0
	for {
		n, err := f.Read(chunk)
		buf.Write(chunk[:n])
		if seps += countSeparators(chunk[:n]); seps > maxConfigItems {
			return nil, tooManyValues(fmt.Sprintf("at least %d", seps))
		}
		if buf.Len() > maxConfigBytes {
			return nil, fmt.Errorf("config is larger than the %d bytes allowed", maxConfigBytes)
		}
		if errors.Is(err, io.EOF) {
			return buf.Bytes(), nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading: %w", err)
		}
	}
}

// MarshalConfig writes a setting in full (every default made explicit) as
// indented JSON, or as YAML when yamlForm is true. ParseConfig of the result
// gives back an equal setting.
func MarshalConfig(s Setting, yamlForm bool) ([]byte, error) {
	js, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	if !yamlForm {
		return append(js, '\n'), nil
	}
	return yaml.JSONToYAML(js)
}
