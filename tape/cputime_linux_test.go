//go:build linux

package tape

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// cpuTime returns the processor time the process has used, user and
// system: what a benchmark costs whatever else shares the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// threadTime returns the processor time the calling thread has used: a
// goroutine's own, when it is locked to its thread.
func threadTime() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
