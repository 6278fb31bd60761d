//go:build linux

package mtf

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadTime returns the processor time the calling thread has used: a
// goroutine's own, when it is locked to its thread.
func threadTime() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
