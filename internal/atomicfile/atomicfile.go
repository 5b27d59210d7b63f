// Package atomicfile writes output files so that a reader never sees a
// half-written one: the content goes to a temporary file in the same
// directory, which is renamed over the destination only when complete.
//
// What is not a regular file is written through instead of replaced: "-"
// (standard output), devices such as /dev/null, pipes and FIFOs. A symbolic
// link is followed: its target is replaced atomically and the link kept. A
// replaced file keeps its mode; a new file gets 0666 minus the umask.
//
// A command uses it in three steps: CleanupOnSignal once at start-up, so that
// an interrupt removes the temporary files; CheckOutputs after parsing its
// flags and before computing, so that a bad output path costs nothing; then
// Write (whole content) or Create / Commit (streamed) for each output.
package atomicfile

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// Stdout is the path that names the standard output.
const Stdout = "-"

// File is an output being written: a temporary file that Commit renames over
// the destination, or, for a destination that is not a regular file, the
// destination itself. It buffers its writes.
type File struct {
	path     string // as the user gave it, for messages
	target   string // the destination, symbolic links followed
	tmp      string // the temporary file, "" when writing through
	f        *os.File
	w        *bufio.Writer
	mode     fs.FileMode // the mode to give the temporary file when keepMode
	keepMode bool
	done     bool
	err      error // the first write error
}

// Create starts writing the output named by path ("-" for the standard
// output). Call Commit when the content is complete, and Abort (for instance
// deferred) to give up; Abort after Commit does nothing.
func Create(path string) (*File, error) {
	if std := standardStream(path); std != nil {
		return &File{path: path, f: std, w: bufio.NewWriterSize(std, 1<<16)}, nil
	}
	target, info, err := resolve(path)
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	if target == "" { // through a file descriptor (/dev/fd/N)
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("writing %s: %w", path, bare(err))
		}
		return &File{path: path, target: path, f: f, w: bufio.NewWriterSize(f, 1<<16)}, nil
	}
	if info != nil && info.IsDir() {
		return nil, fmt.Errorf("writing %s: is a directory", path)
	}
	if info != nil && !info.Mode().IsRegular() {
		f, err := os.OpenFile(target, os.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("writing %s: %w", path, bare(err))
		}
		return &File{path: path, target: target, f: f, w: bufio.NewWriterSize(f, 1<<16)}, nil
	}
	perm := fs.FileMode(0o666) // the umask applies
	if info != nil {
		perm = 0o600 // until Commit gives it the replaced file's mode
	}
	f, tmp, err := createTemp(filepath.Dir(target), perm)
	if err != nil {
		return nil, fmt.Errorf("writing %s: cannot create a temporary file in %s: %w", path, filepath.Dir(target), bare(err))
	}
	af := &File{path: path, target: target, tmp: tmp, f: f, w: bufio.NewWriterSize(f, 1<<16)}
	if info != nil {
		af.mode, af.keepMode = info.Mode().Perm(), true
	}
	if !register(af) {
		af.Abort()
		return nil, fmt.Errorf("writing %s: interrupted", path)
	}
	if info != nil {
		keepOwner(f, info)
	}
	return af, nil
}

// Name returns the path the output was created with.
func (f *File) Name() string { return f.path }

// Write writes to the buffer; errors name the destination.
func (f *File) Write(p []byte) (int, error) {
	if f.done {
		return 0, fmt.Errorf("writing %s: already committed or aborted", f.path)
	}
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.w.Write(p)
	if err != nil {
		f.err = fmt.Errorf("writing %s: %w", f.path, bare(err))
		return n, f.err
	}
	return n, nil
}

// Commit flushes the content and, for a temporary file, syncs it, gives it
// its mode and renames it over the destination. On error the destination is
// untouched (for a regular file) and the temporary file removed.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("writing %s: already committed or aborted", f.path)
	}
	err := f.err
	if err == nil {
		if err = f.w.Flush(); err != nil {
			err = fmt.Errorf("writing %s: %w", f.path, bare(err))
		}
	}
	if f.tmp == "" {
		f.done = true
		if !isStd(f.f) {
			if cerr := f.f.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("writing %s: %w", f.path, bare(cerr))
			}
		}
		return err
	}
	if err == nil {
		err = f.finish()
	}
	if err != nil {
		f.Abort()
		return err
	}
	return nil
}

// finish syncs, closes and renames the temporary file.
func (f *File) finish() error {
	if f.keepMode {
		if err := f.f.Chmod(f.mode); err != nil {
			return fmt.Errorf("writing %s: keeping its mode %v: %w", f.path, f.mode, bare(err))
		}
	}
	if err := f.f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", f.path, bare(err))
	}
	if err := f.f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", f.path, bare(err))
	}
	if err := renameLive(f); err != nil {
		return fmt.Errorf("writing %s: %w", f.path, bare(err))
	}
	f.done = true
	if d, err := os.Open(filepath.Dir(f.target)); err == nil {
		d.Sync() // best effort: make the rename durable
		d.Close()
	}
	return nil
}

// Abort gives up the output: the temporary file is removed and the
// destination left as it was. Output already written through to a device,
// pipe or the standard output cannot be taken back; what is still buffered is
// dropped. Abort after Commit or Abort does nothing.
func (f *File) Abort() error {
	if f.done {
		return nil
	}
	f.done = true
	if f.tmp == "" {
		if !isStd(f.f) {
			return f.f.Close()
		}
		return nil
	}
	f.f.Close()
	unregister(f)
	if err := os.Remove(f.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Write calls fill with a buffered writer on the output named by path (see
// Create) and commits it when fill succeeds. On any error the destination is
// left untouched and the temporary file removed.
func Write(path string, fill func(w io.Writer) error) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := fill(f); err != nil {
		if f.err != nil && errors.Is(err, f.err) {
			return err // already names the path
		}
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Commit()
}

// createTemp creates a new file with a short random name in dir: ".mv-" and
// 16 hex digits and ".tmp", so that it fits whatever name the destination
// has.
func createTemp(dir string, perm fs.FileMode) (*os.File, string, error) {
	for try := 0; ; try++ {
		var b [8]byte
		rand.Read(b[:])
		name := filepath.Join(dir, ".mv-"+hex.EncodeToString(b[:])+".tmp")
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if err == nil || !errors.Is(err, fs.ErrExist) || try > 100 {
			return f, name, err
		}
	}
}

// standardStream returns os.Stdout for "-", /dev/stdout and the like, and
// os.Stderr for /dev/stderr and the like; nil for any other path.
func standardStream(path string) *os.File {
	switch filepath.Clean(path) {
	case Stdout, "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1":
		return os.Stdout
	case "/dev/stderr", "/dev/fd/2", "/proc/self/fd/2":
		return os.Stderr
	}
	return nil
}

func isStd(f *os.File) bool { return f == os.Stdout || f == os.Stderr }

// throughDescriptor reports whether a link target names an open file
// descriptor, which must be written through, never replaced.
func throughDescriptor(path string) bool {
	if strings.HasPrefix(path, "/dev/fd/") {
		return true
	}
	rest, ok := strings.CutPrefix(path, "/proc/")
	if !ok {
		return false
	}
	_, fd, ok := strings.Cut(rest, "/")
	return ok && strings.HasPrefix(fd, "fd/")
}

// resolve follows symbolic links from path to the destination to write, and
// returns it with its file information, or nil when it does not exist yet
// (for instance the target of a dangling link). The destination is "" when
// the path leads through a file descriptor (/dev/fd/N, /proc/self/fd/N).
func resolve(path string) (string, fs.FileInfo, error) {
	target := path
	for hops := 0; ; hops++ {
		if throughDescriptor(target) {
			return "", nil, nil
		}
		info, err := os.Lstat(target)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return target, nil, nil
		}
		if err != nil {
			return "", nil, bare(err)
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			return target, info, nil
		}
		if hops >= 40 {
			return "", nil, errors.New("too many levels of symbolic links")
		}
		link, err := os.Readlink(target)
		if err != nil {
			return "", nil, bare(err)
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(target), link)
		}
		target = link
	}
}

// bare strips the file name from an *os.PathError or *os.LinkError, whose
// name may be the hidden temporary file; messages name the user's path.
func bare(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// The live temporary files, removed by Cleanup.
var live struct {
	sync.Mutex
	files   map[*File]bool
	stopped bool // after Cleanup: no new file, no commit
}

func register(f *File) bool {
	live.Lock()
	defer live.Unlock()
	if live.stopped {
		return false
	}
	if live.files == nil {
		live.files = map[*File]bool{}
	}
	live.files[f] = true
	return true
}

func unregister(f *File) {
	live.Lock()
	delete(live.files, f)
	live.Unlock()
}

// renameLive renames f's temporary file over its destination unless Cleanup
// has run.
func renameLive(f *File) error {
	live.Lock()
	defer live.Unlock()
	if live.stopped {
		return errors.New("interrupted")
	}
	delete(live.files, f)
	return os.Rename(f.tmp, f.target)
}

// Cleanup removes every temporary file not yet committed or aborted, and
// makes later Create and Commit calls fail, so that nothing is renamed into
// place after an interrupt. It returns the number of files removed.
func Cleanup() int {
	live.Lock()
	defer live.Unlock()
	live.stopped = true
	n := 0
	for f := range live.files {
		if os.Remove(f.tmp) == nil {
			n++
		}
		delete(live.files, f)
	}
	return n
}
