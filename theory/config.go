package theory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	topFields     = []string{"preset", "name", "P", "side", "clusters", "z", "gamma", "mask", "keys", "loss", "eta", "init", "extra_dim", "require", "departures"}
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

// LoadConfig reads a setting from a YAML or JSON file (see ParseConfig).
func LoadConfig(path string) (Setting, error) {
	f, err := os.Open(path)
	if err != nil {
		return Setting{}, err
	}
	defer f.Close()
	return ReadConfig(f, path)
}

// ReadConfig reads a setting from an open file — the standard input for
// --config - — with the limits of LoadConfig; path names it in errors, and
// its base name is the setting's name when the config gives none.
func ReadConfig(f *os.File, path string) (Setting, error) {
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
