package wire

import "syscall"

// threadCPU returns the CPU time the calling thread has used, in
// nanoseconds: with the goroutine locked to its thread, the work of that
// goroutine alone, whatever else the machine runs.
func threadCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
