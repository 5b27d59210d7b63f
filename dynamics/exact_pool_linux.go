package dynamics

import "syscall"

// osYield gives the calling thread's core to another runnable thread, if
// any (sched_yield): a spinning helper or caller must not hold off, on an
// oversubscribed machine, the thread it waits for.
func osYield() { syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }
