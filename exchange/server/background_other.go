//go:build !linux

package server

import "time"

// lowerThreadPriority does nothing where threads have no priority of their
// own that a process may set.
func lowerThreadPriority() {}

// threadCPU cannot tell a thread's CPU time here: callers fall back to
// the time that passed.
func threadCPU() (time.Duration, bool) { return 0, false }
