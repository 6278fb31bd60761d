package server

import (
	"syscall"
	"time"
	"unsafe"
)

// Linux gives each thread its own nice value and I/O priority.
const (
	backgroundNice   = 19 // the lowest CPU priority
	ioprioWhoProcess = 1  // IOPRIO_WHO_PROCESS: a thread id
	ioprioBELowest   = 2<<13 | 7
)

// lowerThreadPriority lowers the calling thread's CPU priority to nice 19
// and its I/O priority to the lowest best-effort level. Lowering needs no
// privilege; a failure leaves the normal priority, which is only slower
// for mail, never wrong.
func lowerThreadPriority() {
	tid := syscall.Gettid()
	syscall.Setpriority(syscall.PRIO_PROCESS, tid, backgroundNice)
	syscall.Syscall(syscall.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), ioprioBELowest)
}

// threadCPU answers the CPU time the calling thread has used, or false
// where the system cannot tell.
func threadCPU() (time.Duration, bool) {
	var ts syscall.Timespec
	const clockThreadCPUTime = 3 // CLOCK_THREAD_CPUTIME_ID
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
