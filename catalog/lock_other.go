//go:build !unix

package catalog

import (
	"os"
	"time"
)

// lockShared does nothing where flock is missing: bbolt's own lock still
// keeps a second exbackup out once the file is open.
func lockShared(*os.File, time.Duration) error { return nil }

func syncDir(string) {}
