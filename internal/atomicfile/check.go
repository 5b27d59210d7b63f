package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
)

// Check reports whether Create(path) can be expected to succeed, without
// writing anything: the standard output and existing devices and pipes are
// fine; otherwise the path must not be a directory and its directory must
// exist and be writable (a temporary file is created there and removed).
// Call it before a long computation, so that a mistyped output path is found
// at once. The error names the path.
func Check(path string) error {
	if path == "" {
		return errors.New("no output path given")
	}
	if std := standardStream(path); std != nil {
		if std == os.Stdout && StdoutClosed() {
			return fmt.Errorf("%s: the standard output is closed", path)
		}
		return nil
	}
	target, info, err := resolve(path)
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w", path, err)
	case target == "":
		return nil // a file descriptor
	case info != nil && info.IsDir():
		return fmt.Errorf("%s is a directory: give a file name", path)
	case info != nil && !info.Mode().IsRegular():
		return nil // written through
	}
	dir := filepath.Dir(target)
	dinfo, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: directory %s does not exist", path, dir)
	case err != nil:
		return fmt.Errorf("%s: directory %s: %w", path, dir, bare(err))
	case !dinfo.IsDir():
		return fmt.Errorf("%s: %s is not a directory", path, dir)
	}
	f, tmp, err := createTemp(dir, 0o600)
	if err != nil {
		return fmt.Errorf("%s: directory %s is not writable: %w", path, dir, bare(err))
	}
	f.Close()
	os.Remove(tmp)
	return nil
}

// CheckOutputs checks the outputs of one command before it computes
// anything. outputs and inputs map a flag name (as it should appear in the
// message, such as "--out") to its path; empty paths are skipped. It reports
// every output that Check refuses, every output that is the same file as an
// input (comparing through symbolic links and hard links), and every two
// outputs that are the same file or both the standard output. Devices such as
// /dev/null may be shared. The error names the flags and paths.
func CheckOutputs(outputs, inputs map[string]string) error {
	return CheckOutputsAndDirs(outputs, nil, inputs)
}

// CheckOutputsAndDirs is CheckOutputs for a command that also writes into
// output directories (such as --figures): each is checked by CheckDir, and a
// directory that is the same path as an output file, an input or another
// output directory is refused with the others, so that every problem is
// reported at once, before computing.
func CheckOutputsAndDirs(outputs, dirs, inputs map[string]string) error {
	errs := checkDirs(dirs, outputs, inputs)
	outFlags := sortedFlags(outputs)
	inFlags := sortedFlags(inputs)
	ids := map[string]identity{}
	for _, flag := range append(append([]string(nil), outFlags...), inFlags...) {
		if _, ok := ids[flag]; !ok {
			if path := outputs[flag]; path != "" {
				ids[flag] = identify(path)
			} else if path := inputs[flag]; path == Stdout {
				ids[flag] = identity{stdin: true} // "-" as an input is the standard input
			} else {
				ids[flag] = identify(path)
			}
		}
	}
	for i, out := range outFlags {
		path := outputs[out]
		if err := Check(path); err != nil {
			errs = append(errs, fmt.Errorf("%s %w", out, err))
		}
		for _, in := range inFlags {
			if out != in && ids[out].same(ids[in]) {
				errs = append(errs, fmt.Errorf("%s %s is the same file as %s %s: refusing to overwrite an input", out, path, in, inputs[in]))
			}
		}
		for _, other := range outFlags[i+1:] {
			if ids[out].same(ids[other]) {
				errs = append(errs, fmt.Errorf("%s %s and %s %s are the same output: give each its own file", out, path, other, outputs[other]))
			}
		}
	}
	return errors.Join(errs...)
}

// CheckDir reports whether an output directory can be created or written:
// an existing directory must be writable (a temporary file is created there
// and removed); a missing one is created with its parents, so the first
// existing ancestor must be a writable directory. Nothing on the way may be
// a file. The error names the path.
func CheckDir(path string) error {
	if path == "" {
		return errors.New("no output directory given")
	}
	dir := filepath.Clean(path)
	for {
		info, err := os.Stat(dir)
		switch {
		case err == nil && !info.IsDir() && dir == filepath.Clean(path):
			return fmt.Errorf("%s is a file, not a directory: give a directory (it is created if missing)", path)
		case err == nil && !info.IsDir():
			return fmt.Errorf("%s: %s is a file, not a directory", path, dir)
		case err == nil:
			f, tmp, err := createTemp(dir, 0o600)
			if err != nil {
				return fmt.Errorf("%s: directory %s is not writable: %w", path, dir, bare(err))
			}
			f.Close()
			os.Remove(tmp)
			return nil
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			return fmt.Errorf("%s: %s: %w", path, dir, bare(err))
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return fmt.Errorf("%s: no existing directory above it", path)
		}
		dir = parent
	}
}

// checkDirs checks the output directories and refuses one that is the same
// path as an output file, an input or another directory.
func checkDirs(dirs, outputs, inputs map[string]string) []error {
	var errs []error
	dirFlags := sortedFlags(dirs)
	for i, d := range dirFlags {
		path := dirs[d]
		if err := CheckDir(path); err != nil {
			errs = append(errs, fmt.Errorf("%s %w", d, err))
		}
		id := identify(path)
		for _, m := range []map[string]string{outputs, inputs} {
			for _, f := range sortedFlags(m) {
				if id.same(identify(m[f])) {
					errs = append(errs, fmt.Errorf("%s %s and %s %s are the same path: give each its own", d, path, f, m[f]))
				}
			}
		}
		for _, other := range dirFlags[i+1:] {
			if id.same(identify(dirs[other])) {
				errs = append(errs, fmt.Errorf("%s %s and %s %s are the same directory: give each its own", d, path, other, dirs[other]))
			}
		}
	}
	return errs
}

func sortedFlags(m map[string]string) []string {
	var flags []string
	for flag, path := range m {
		if path != "" {
			flags = append(flags, flag)
		}
	}
	sort.Strings(flags)
	return flags
}

// identity is what makes two paths the same file: the standard input or
// output, or
// the destination's absolute path (links followed) and, when it exists, its
// file information.
type identity struct {
	stdin  bool
	stdout bool
	abs    string
	info   fs.FileInfo
}

func identify(path string) identity {
	if standardStream(path) == os.Stdout {
		return identity{stdout: true}
	}
	target, info, err := resolve(path)
	if err != nil || target == "" {
		target = path
	}
	if info == nil {
		// Not there yet: resolve the links of its directory.
		if dir, err := filepath.EvalSymlinks(filepath.Dir(target)); err == nil {
			target = filepath.Join(dir, filepath.Base(target))
		}
	}
	abs, err := filepath.Abs(target)
	if err != nil {
		abs = filepath.Clean(target)
	}
	return identity{abs: abs, info: info}
}

// same reports whether two identities name one file that cannot be shared:
// devices (such as /dev/null) can.
func (a identity) same(b identity) bool {
	if a.stdin || b.stdin {
		return false
	}
	if a.stdout || b.stdout {
		return a.stdout && b.stdout
	}
	if a.info != nil && b.info != nil {
		if a.info.Mode()&fs.ModeDevice != 0 {
			return false
		}
		return os.SameFile(a.info, b.info)
	}
	return a.abs == b.abs
}
