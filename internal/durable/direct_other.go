//go:build !linux

package durable

import "os"

// setDirect reports direct I/O as off: only Linux turns it on for an open
// file.
func setDirect(*os.File, bool) bool { return false }
