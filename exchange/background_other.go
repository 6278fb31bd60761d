//go:build !linux

package exchange

// lowerThreadPriority does nothing where threads have no priority of their
// own that a process may set.
func lowerThreadPriority() {}
