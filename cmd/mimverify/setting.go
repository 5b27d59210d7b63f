package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"mimverify/internal/atomicfile"
	"mimverify/theory"
)

// settingFlags selects a setting by preset name or config file.
type settingFlags struct {
	preset, config string
}

func (f *settingFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.preset, "preset", "", "built-in setting to use (see 'mimverify presets'); default: default")
	fs.StringVar(&f.config, "config", "", "YAML or JSON setting file, - for the standard input (may start from a preset with 'preset: NAME')")
}

func (f *settingFlags) load() (theory.Setting, error) {
	if f.preset != "" && f.config != "" {
		return theory.Setting{}, badInput("give --preset or --config, not both")
	}
	if f.config != "" {
		var s theory.Setting
		var err error
		if f.config == atomicfile.Stdout {
			// "-" is the standard input, as it is the standard output
			// for --out.
			s, err = theory.ReadConfig(os.Stdin, "stdin")
		} else {
			s, err = theory.LoadConfig(f.config)
		}
		if err != nil {
			return theory.Setting{}, usageError{fmt.Errorf("--config: %w", err)}
		}
		return s, nil
	}
	name := f.preset
	if name == "" {
		name = "default"
	}
	s, err := theory.Preset(name)
	if err != nil {
		return theory.Setting{}, usageError{fmt.Errorf("--preset: %w", err)}
	}
	return s, nil
}

func presetsCommand(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("presets", "presets", stdout)
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	for _, name := range theory.PresetNames() {
		doc, requires := theory.PresetInfo(name)
		fmt.Fprintf(stdout, "%-15s %s Requires %s.\n", name, doc, strings.Join(requires, ", "))
	}
	return nil
}

func settingCommand(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("setting", "setting [--preset NAME | --config FILE] [--format yaml|json] [--out FILE]", stdout)
	var sf settingFlags
	sf.register(fs)
	format := fs.String("format", "", "yaml or json (default: from the --out extension, else yaml)")
	out := fs.String("out", "", "file to write (default: standard output)")
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	if err := checkOutputs(map[string]string{"--out": *out}, &sf, nil); err != nil {
		return err
	}
	s, err := sf.load()
	if err != nil {
		return err
	}
	f, err := formatFor(*format, *out, "yaml", map[string]string{".json": "json", ".yaml": "yaml", ".yml": "yaml"}, "yaml", "json")
	if err != nil {
		return err
	}
	data, err := theory.MarshalConfig(s, f == "yaml")
	if err != nil {
		return err
	}
	data = compactLabels(data, s.Side, f == "yaml")
	return emit(stdout, *out, data)
}

// checkOutputs refuses, before any work, an output path that cannot be
// written (a missing or unwritable directory, a directory, a closed standard
// output) or that names an input or another output of the same command: bad
// input, exit status 2. The outputs named by dirFlags ("--figures") are
// directories: an existing file there, or one that cannot be created or
// written, is refused with the rest, all problems at once.
func checkOutputs(outputs map[string]string, sf *settingFlags, inputs map[string]string) error {
	if inputs == nil {
		inputs = map[string]string{}
	}
	inputs["--config"] = sf.config
	files, dirs := map[string]string{}, map[string]string{}
	for flag, path := range outputs {
		if slices.Contains(dirFlags, flag) {
			dirs[flag] = path
		} else {
			files[flag] = path
		}
	}
	if err := atomicfile.CheckOutputsAndDirs(files, dirs, inputs); err != nil {
		return usageError{err}
	}
	return nil
}

// dirFlags are the output flags that name a directory.
var dirFlags = []string{"--figures"}

// emit writes a command's output to the file path atomically, or to stdout
// when path is empty.
func emit(stdout io.Writer, path string, data []byte) error {
	if path == "" {
		_, err := stdout.Write(data)
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error { _, err := w.Write(data); return err })
}
