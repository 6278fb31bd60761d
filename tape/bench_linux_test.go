//go:build linux

package tape

import (
	"os"
	"syscall"
	"time"
)

// settle lets the disk finish the writes behind the setup before timing.
func settle() {
	syscall.Sync()
	time.Sleep(3 * time.Second)
}

// dropCaches empties the page cache when allowed (root on Linux), so the
// read benchmarks read from the disk as a restore does; it reports whether
// it could.
func dropCaches() bool {
	syscall.Sync()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0) == nil
}
