// Command mimverify turns the theory of Huang, Wen, Chi and Liang
// (arXiv:2403.02233) on masked-reconstruction training of one-layer softmax
// transformers into runs and checks.
//
// Usage:
//
//	mimverify check    [--preset NAME | --config FILE] [--claims C3,C4] [--format F] [--out FILE]
//	                                                                          evaluate the claims (exit 1 if one fails)
//	mimverify run      [--preset NAME | --config FILE] [--engine E] [flags]   train and record a trajectory
//	mimverify sweep    [--preset NAME | --config FILE] --vary FIELD=V1,V2,… [--claims …]
//	                                                                          the claims over a grid of settings
//	mimverify merge    [--format F] [--out FILE] RESULTS.jsonl…              combine a sharded sweep's results files
//	mimverify presets                                                         list the built-in settings
//	mimverify setting  [--preset NAME | --config FILE] [--out FILE]           print a resolved setting
//	mimverify reduce   [--preset NAME | --config FILE] [--meanfield] [--format text|markdown|json] [--out FILE]
//	                                                                          print the symmetry-reduced system
//
// Run "mimverify COMMAND --help" for the flags of a command. Exit status: 0 on
// success, 1 when a run fails (for example a NaN met during training), 2 on bad
// input (flags, config files).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"

	"mimverify/internal/atomicfile"
	"mimverify/judge"
)

// usageError marks bad input: the command exits with status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func badInput(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) error
}

var commands []command

func init() {
	commands = []command{
		{"check", "evaluate the paper's claims C1–C8 on a setting; exit 1 if any asserted claim fails", checkCommand},
		{"sweep", "evaluate the claims over a grid of settings (where the theory holds and where it breaks)", sweepCommand},
		{"merge", "combine the results files of a sharded sweep into one sweep", mergeCommand},
		{"run", "train one engine on a setting and write its trajectory as JSON or npz", runCommand},
		{"presets", "list the built-in settings", presetsCommand},
		{"setting", "print a resolved setting (every default made explicit) as YAML or JSON", settingCommand},
		{"falsify", "search each claim's regime for a counterexample, shrink it, write it as a setting; exit 1 if one is found", falsifyCommand},
		{"reduce", "print the symmetry-reduced system: variables, conservation laws, right-hand side", reduceCommand},
	}
}

// printVersion prints the tool's version from the binary's build
// information: module version, VCS revision and whether the work tree was
// modified (not recorded by 'go run'), and the Go version.
func printVersion(w io.Writer) {
	v, rev, modified := judge.BuildVersion()
	switch {
	case rev == "":
		rev = "revision not recorded (built without VCS information, e.g. by go run)"
	case modified:
		rev = "revision " + rev + " (modified work tree)"
	default:
		rev = "revision " + rev
	}
	fmt.Fprintf(w, "mimverify %s, %s, %s\n", v, rev, runtime.Version())
}

func usage(w io.Writer) {
	fmt.Fprintf(w, `mimverify checks the predictions of "How Transformers Learn Diverse Attention
Correlations in Masked Vision Pretraining" (arXiv:2403.02233) numerically.

Usage: mimverify COMMAND [flags]

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "  %-9s %s\n", "version", "print the version (also --version)")
	fmt.Fprintf(w, "\nRun 'mimverify COMMAND --help' for a command's flags.\n")
}

func main() { os.Exit(processMain()) }

// processMain is main without the exit, for the tests' child processes.
func processMain() int {
	// An interrupt removes the temporary files of outputs being written.
	stop := atomicfile.CleanupOnSignal()
	defer stop()
	if path := os.Getenv("MIMVERIFY_HWM_FILE"); path != "" {
		// Diagnostics for the memory tests (cost_test.go): the peak
		// resident memory, which a parent cannot read reliably (wait4's
		// max RSS carries the parent's own across a vfork and exec).
		defer writePeak(path)
	}
	if path := os.Getenv("MIMVERIFY_MEMPROFILE"); path != "" {
		// The allocations of the whole command (go tool pprof
		// -sample_index=alloc_space), written at exit.
		defer writeHeapProfile(path)
	}
	if path := os.Getenv("MIMVERIFY_CPUPROFILE"); path != "" {
		// Diagnostics for performance work (docs/PERFORMANCE.md): a CPU
		// profile of the whole command, for go tool pprof.
		if stop, err := startCPUProfile(path); err == nil {
			defer stop()
		} else {
			fmt.Fprintf(os.Stderr, "mimverify: MIMVERIFY_CPUPROFILE: %v\n", err)
			return 2
		}
	}
	// The garbage collector works to stay under the memory a run may use
	// (judge.AvailableMemory: RLIMIT_AS and the cgroup limit included),
	// unless the user set GOMEMLIMIT.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(judge.AvailableMemory()))
	}
	var stdout io.Writer = os.Stdout
	if atomicfile.StdoutClosed() {
		stdout = closedWriter{}
	}
	return mainWithStatus(os.Args[1:], stdout, os.Stderr)
}

// writePeak writes the process's peak resident memory (VmHWM, in kB) to
// path.
func writePeak(path string) {
	data, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			os.WriteFile(path, []byte(f[1]), 0o644)
		}
	}
}

// startCPUProfile starts a CPU profile written to path; the returned
// function stops it and closes the file.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// writeHeapProfile writes the heap profile (allocations since the start
// included) to path.
func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mimverify: MIMVERIFY_MEMPROFILE: %v\n", err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		fmt.Fprintf(os.Stderr, "mimverify: MIMVERIFY_MEMPROFILE: %v\n", err)
	}
}

// commandLine is the command line being run, program name first, as the
// reports' provenance records it.
var commandLine []string

// mainWithStatus runs the CLI and returns its exit status; tests call it
// directly.
func mainWithStatus(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	commandLine = append([]string{"mimverify"}, args...)
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return 0
	case "-version", "--version", "version":
		printVersion(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		out := &checkedWriter{w: stdout}
		err := c.run(args[1:], out, stderr)
		if err == nil && out.err != nil {
			err = fmt.Errorf("writing the standard output: %w", out.err)
		}
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errClaimsFailed):
			return 1
		case errors.As(err, new(usageError)):
			fmt.Fprintf(stderr, "mimverify %s: %v\n", c.name, err)
			return 2
		default:
			fmt.Fprintf(stderr, "mimverify %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "mimverify: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// newFlagSet returns a flag set whose parse errors are usage errors and whose
// --help prints the command's synopsis and flags to stdout, once. (The flag
// package calls Usage on every parse error too; parseFlags shows it only
// for --help, so that an error message is not buried under the flag list.)
func newFlagSet(name, synopsis string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: mimverify %s\n\nFlags:\n", synopsis)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parseFlags parses args into fs; --help shows the usage and returns
// flag.ErrHelp, a bad flag is a usage error. Positional arguments are left
// in fs.Args() when positional is set, and refused otherwise.
func parseFlags(fs *flag.FlagSet, args []string, positional bool) error {
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return err
		}
		return usageError{err}
	}
	if !positional && fs.NArg() > 0 {
		return badInput("unexpected argument %q (flags start with --)", fs.Arg(0))
	}
	return nil
}

// checkedWriter keeps the first write error on the standard output, so that
// output lost to a full disk or a closed descriptor fails the command (exit
// 1) even where a command prints with fmt.Fprintf and ignores the error.
type checkedWriter struct {
	w   io.Writer
	err error
}

func (c *checkedWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.err = err
	return n, err
}

// closedWriter stands for a standard output that was closed when the
// process started (atomicfile.StdoutClosed).
type closedWriter struct{}

func (closedWriter) Write([]byte) (int, error) {
	return 0, errors.New("the standard output is closed")
}
