package atomicfile

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// CleanupOnSignal installs a handler for SIGINT and SIGTERM that removes the
// temporary files of every output not yet committed (see Cleanup) and exits
// with status 128 + the signal number: 130 for SIGINT, 143 for SIGTERM. A
// command calls it once at start-up; the returned function uninstalls it.
func CleanupOnSignal() (stop func()) {
	ch := make(chan os.Signal, 1)
	done := make(chan struct{})
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
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

// exit is os.Exit, replaceable in tests.
var exit = os.Exit
