//go:build !linux

package atomicfile

// StdoutClosed reports whether the process was started with its standard
// output closed; only Linux can tell (see stdclosed_linux.go).
func StdoutClosed() bool { return false }
