package server

import (
	"runtime"
	"sync"
)

// inBackground runs fn on an operating-system thread of its own at the
// lowest CPU priority and the lowest best-effort I/O priority, and returns
// what fn returns; a panic in fn is raised again in the caller. Backup
// streams run this way, so that mail delivery, whose commits wait on fsync
// and need a CPU the moment the disk answers, goes first while a backup
// keeps every core that delivery leaves idle. The thread is discarded when
// fn returns, so its priority never reaches other work.
//
// The thread also brings a processor (a GOMAXPROCS slot) of its own while
// it runs. Go schedules goroutines onto those slots without regard to
// thread priority, so a background thread busy encrypting would otherwise
// hold one of the slots that delivery's goroutines need, and they would
// wait for the runtime to preempt it, priority or not. With a slot of its
// own, the kernel decides between it and delivery, and the kernel knows
// the thread's priority.
func inBackground(fn func() error) error {
	type result struct {
		err   error
		panic any
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		lowerThreadPriority()
		backgroundProcs.add(1)
		var res result
		defer func() {
			backgroundProcs.add(-1)
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

// backgroundProcs counts the background threads running and raises
// GOMAXPROCS by as many over what it was before the first of them.
var backgroundProcs procCounter

type procCounter struct {
	mu   sync.Mutex
	n    int // background threads running
	base int // GOMAXPROCS before the first of them
}

func (c *procCounter) add(delta int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		c.base = runtime.GOMAXPROCS(0)
	}
	c.n += delta
	// Setting GOMAXPROCS ends the runtime's own updates of it when the
	// cgroup's CPU quota changes; a server whose quota changes while it
	// runs keeps the count it had when its first backup began.
	runtime.GOMAXPROCS(c.base + c.n)
}
