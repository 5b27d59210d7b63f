package theory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// maxConfigBytes bounds the size of a config file.
const maxConfigBytes = 64 << 20

// fileForm is the on-disk form of a setting: the setting's own fields, plus an
// optional "preset" naming the setting that the file's fields override.
type fileForm struct {
	Preset string `json:"preset,omitempty"`
	*Setting
}

// ParseConfig reads a setting from YAML or JSON bytes (JSON is YAML, so one
// parser serves both). A field "preset: NAME" starts from that preset and lets
// the other fields override it; without it every required field must be given.
// Unknown fields are errors. The result is resolved and validated.
func ParseConfig(data []byte) (Setting, error) {
	if len(data) > maxConfigBytes {
		return Setting{}, fmt.Errorf("config is %d bytes, larger than the %d allowed", len(data), maxConfigBytes)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return Setting{}, fmt.Errorf("config is neither valid YAML nor JSON: %w", err)
	}
	if t := bytes.TrimSpace(js); len(t) == 0 || t[0] != '{' {
		return Setting{}, errors.New("config must be a mapping of fields (P, clusters, z, gamma, eta, …), optionally with preset: NAME")
	}
	var head struct {
		Preset string `json:"preset"`
	}
	if err := json.Unmarshal(js, &head); err != nil {
		return Setting{}, decodeError(err)
	}
	base := Setting{}
	if head.Preset != "" {
		base, err = Preset(head.Preset)
		if err != nil {
			return Setting{}, fmt.Errorf("preset: %w", err)
		}
	}
	form := fileForm{Setting: &base}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&form); err != nil {
		return Setting{}, decodeError(err)
	}
	if dec.More() {
		return Setting{}, errors.New("config holds more than one document")
	}
	if err := base.Resolve(); err != nil {
		return Setting{}, err
	}
	return base, nil
}

func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := strings.TrimPrefix(te.Field, "Setting.")
		return &FieldError{Field: field, Value: "(a JSON " + te.Value + ")", Allowed: "of type " + friendlyType(te.Type.String())}
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		return fmt.Errorf("unknown field %s: the fields are preset, name, P, side, clusters (name, areas, prob), z (kind, L, U), gamma, mask, keys, loss, eta, init (kind, sigma), extra_dim", strings.TrimPrefix(msg, "json: unknown field "))
	}
	return fmt.Errorf("config: %w", err)
}

func friendlyType(t string) string {
	switch t {
	case "int":
		return "integer"
	case "float64":
		return "number"
	case "[]int":
		return "list of integers"
	case "[]theory.Cluster":
		return "list of clusters"
	}
	if strings.HasPrefix(t, "theory.") {
		return "string"
	}
	return t
}

// LoadConfig reads a setting from a YAML or JSON file (see ParseConfig).
func LoadConfig(path string) (Setting, error) {
	f, err := os.Open(path)
	if err != nil {
		return Setting{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return Setting{}, fmt.Errorf("reading %s: %w", path, err)
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
