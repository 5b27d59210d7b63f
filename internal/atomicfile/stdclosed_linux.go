package atomicfile

import "syscall"

// StdoutClosed reports whether the process was started with its standard
// output closed (`>&-`). The Go runtime then opens /dev/null read-write on
// descriptor 1 before main runs (runtime.checkfds), so the closed output
// would swallow everything silently; a shell redirection to /dev/null opens
// it write-only, which tells the two apart.
func StdoutClosed() bool {
	var st syscall.Stat_t
	if err := syscall.Fstat(1, &st); err != nil {
		return true
	}
	const nullDev = 1<<8 | 3 // major 1, minor 3: /dev/null
	if st.Mode&syscall.S_IFMT != syscall.S_IFCHR || st.Rdev != nullDev {
		return false
	}
	flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, 1, syscall.F_GETFL, 0)
	return errno == 0 && flags&syscall.O_ACCMODE == syscall.O_RDWR
}
