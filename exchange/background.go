package exchange

import "runtime"

// inBackground runs fn on an operating-system thread of its own at the
// lowest CPU priority and the lowest best-effort I/O priority, and returns
// what fn returns; a panic in fn is raised again in the caller. Backup
// streams run this way, so that mail delivery, whose commits wait on fsync
// and need a CPU the moment the disk answers, goes first while a backup
// keeps every core that delivery leaves idle. The thread is discarded when
// fn returns, so its priority never reaches other work.
func inBackground(fn func() error) error {
	type result struct {
		err   error
		panic any
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		lowerThreadPriority()
		var res result
		defer func() {
			if p := recover(); p != nil {
				res.panic = p
			}
			done <- res
		}()
		res.err = fn()
	}()
	res := <-done
	if res.panic != nil {
		panic(res.panic)
	}
	return res.err
}
