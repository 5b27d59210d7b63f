package atomicfile

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// CleanupOnSignal installs a handler for the signals that end a command from
// outside (Signals: SIGINT, SIGTERM, SIGHUP when the terminal closes, SIGQUIT
// from Ctrl-\) that removes the temporary files of every output not yet
// committed (see Cleanup) and exits with status 128 + the signal number: 130
// for SIGINT, 143 for SIGTERM, 129 for SIGHUP, 131 for SIGQUIT. Handling
// SIGQUIT replaces the Go runtime's goroutine dump, which is a debugging aid
// for a developer, not for a user. A command calls it once at start-up; the
// returned function uninstalls it.
func CleanupOnSignal() (stop func()) {
	ch := make(chan os.Signal, 1)
	done := make(chan struct{})
	signal.Notify(ch, Signals...)
	go func() {
		select {
		case sig := <-ch:
			Cleanup()
			code := 128 + 2
			if s, ok := sig.(syscall.Signal); ok {
				code = 128 + int(s)
			}
			exit(code)
		case <-done:
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
		})
	}
}

// Signals are the signals CleanupOnSignal handles.
var Signals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// exit is os.Exit, replaceable in tests.
var exit = os.Exit
