package main

import (
	"bytes"
	"encoding/json"
	"os"

	"mimverify/theory"
)

// readSampleFile reads a sample dump (mimverify.samples/v1, docs/FORMATS.md
// "Sample dump") for run --samples-file and check --samples-file alike:
// strictly (an unknown field is an error), with its format, at least one
// sample and, when s is not nil, every sample of s's shape. Every problem is
// bad input naming the file and, for a sample, its index.
func readSampleFile(path string, s *theory.Setting) (*sampleDump, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, badInput("--samples-file: %v", err)
	}
	var dump sampleDump
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&dump); err != nil {
		return nil, badInput("--samples-file %s: %v", path, err)
	}
	if dump.Format != samplesFormat {
		return nil, badInput("--samples-file %s: format = %q: must be %q", path, dump.Format, samplesFormat)
	}
	if len(dump.Samples) == 0 {
		return nil, badInput("--samples-file %s: samples: must hold at least one sample", path)
	}
	if s != nil {
		for i, smp := range dump.Samples {
			if err := s.CheckSample(smp); err != nil {
				return nil, badInput("--samples-file %s: samples[%d].%v", path, i, err)
			}
		}
	}
	return &dump, nil
}
