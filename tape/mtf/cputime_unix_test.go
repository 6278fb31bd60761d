//go:build unix

package mtf

import (
	"syscall"
	"time"
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
