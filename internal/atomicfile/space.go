package atomicfile

import (
	"math"
	"os"
	"path/filepath"
	"syscall"
)

// FreeSpace returns the bytes free for an output named by path on the file
// system that will hold it, and where that is (for messages). It returns
// +Inf where no file system limits the output: a device (such as /dev/null:
// a character device never runs out of space), a pipe or FIFO, a standard
// stream that is one of these, or a file system that cannot be asked. For
// "-" it asks about the standard output's own file (a redirection into a
// file), not the working directory; for a new or replaced regular file, the
// file system of its directory, where the temporary file is written.
func FreeSpace(path string) (free float64, where string) {
	if std := standardStream(path); std != nil {
		return fdFree(std, "the standard output")
	}
	target, info, err := resolve(path)
	switch {
	case err != nil:
		return math.Inf(1), ""
	case target == "": // a file descriptor (/dev/fd/N)
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return math.Inf(1), ""
		}
		defer f.Close()
		return fdFree(f, path)
	case info != nil && !info.Mode().IsRegular():
		return math.Inf(1), target
	}
	dir := filepath.Dir(target)
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return math.Inf(1), dir
	}
	return float64(st.Bavail) * float64(st.Bsize), dir
}

// fdFree is FreeSpace for an open file: the free space of its file system
// when it is a regular file, +Inf for anything else.
func fdFree(f *os.File, name string) (float64, string) {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return math.Inf(1), name
	}
	var st syscall.Statfs_t
	if err := syscall.Fstatfs(int(f.Fd()), &st); err != nil {
		return math.Inf(1), name
	}
	return float64(st.Bavail) * float64(st.Bsize), name
}
