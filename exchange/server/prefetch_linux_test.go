package server

import (
	"os"
	"runtime"
	"testing"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// evict drops the file's pages from the page cache, as a restore's direct
// writes leave it.
func evict(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
}

// threadMajorFaults runs fn on one locked thread and answers the major
// page faults (reads from the disk) it took there.
func threadMajorFaults(t *testing.T, fn func()) int64 {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var before, after unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &before); err != nil {
		t.Fatal(err)
	}
	fn()
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &after); err != nil {
		t.Fatal(err)
	}
	return after.Majflt - before.Majflt
}

// Opening a cold file faults its freelist in through bbolt's mmap one page
// at a time; after the prefetch the open reads nothing from the disk.
func TestOpenAfterPrefetchTakesNoFaults(t *testing.T) {
	path := freedDB(t)
	open := func() {
		db, err := bolt.Open(path, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType})
		if err != nil {
			t.Error(err)
			return
		}
		db.Close()
	}
	evict(t, path)
	cold := threadMajorFaults(t, open)
	if cold == 0 {
		t.Skip("opening a file just evicted from the page cache took no major fault: this file system keeps files in memory, so it cannot show the prefetch")
	}
	evict(t, path)
	warmed := threadMajorFaults(t, func() {
		prefetchFreelist(path)
		open()
	})
	if warmed != 0 {
		t.Fatalf("open after the prefetch took %d major faults (%d without it)", warmed, cold)
	}
}
