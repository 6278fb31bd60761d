package server

import "syscall"

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
