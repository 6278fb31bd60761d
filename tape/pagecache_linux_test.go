package tape

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"
)

// directIO reports whether the file system under dir takes direct I/O.
func directIO(t *testing.T, dir string) bool {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "probe"), os.O_CREATE|os.O_WRONLY|syscall.O_DIRECT, 0o600)
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}

// cachedPages counts the pages of path that are in the page cache.
func cachedPages(t *testing.T, path string) (cached, total int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (len(m)+page-1)/page)
	if _, _, e := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatal(e)
	}
	for _, v := range vec {
		cached += int(v & 1)
	}
	return cached, len(vec)
}

// A set goes to the tape past the page cache, as to a drive, and its files
// are read back the same way: a backup, a verify or a restore does not fill
// the memory with data that is seldom read again, at the cost of what the
// server (on the same machine, often) keeps cached.
func TestSetsBypassThePageCache(t *testing.T) {
	l := newLibrary(t)
	if !directIO(t, l.Dir()) {
		t.Skip("the file system of the test's temporary folder does not take direct I/O")
	}
	tp, err := l.Create("cache", CreateOptions{Created: when})
	if err != nil {
		t.Fatal(err)
	}
	big := randomBytes(7, 24<<20)
	writeSet(t, tp, SetOptions{Created: when}, "Microsoft Information Store", []file{{"priv.edb", big}})
	cached, total := cachedPages(t, tp.Path())
	if total < len(big)/os.Getpagesize() {
		t.Fatalf("the tape has %d pages for %d bytes of data", total, len(big))
	}
	// The header, the set's first blocks up to a block boundary and its
	// last, unaligned stretch may go through the cache.
	if cached > total/8 {
		t.Errorf("%d of the tape's %d pages are in the page cache after the backup", cached, total)
	}
	// Listing reads the blocks' headers; a verify and a read of the file
	// read the data, past the cache.
	sets, err := tp.Sets()
	if err != nil || len(sets) != 1 {
		t.Fatalf("Sets = %v, %v", sets, err)
	}
	if rep, err := tp.Verify(context.Background(), 1, VerifyOptions{}); err != nil || rep.Files != 1 {
		t.Fatalf("Verify = %+v, %v", rep, err)
	}
	got, err := readEntry(t, tp, sets[0].Entries[0], ReadOptions{})
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("reading the file back: %v", err)
	}
	if cached, _ := cachedPages(t, tp.Path()); cached > total/8 {
		t.Errorf("%d of the tape's %d pages are in the page cache after reading the set back", cached, total)
	}
}

// Extracting files reads the tape past the page cache too.
func TestExtractBypassesThePageCache(t *testing.T) {
	l := newLibrary(t)
	if !directIO(t, l.Dir()) {
		t.Skip("the file system of the test's temporary folder does not take direct I/O")
	}
	tp, err := l.Create("cache", CreateOptions{Created: when})
	if err != nil {
		t.Fatal(err)
	}
	big := randomBytes(8, 24<<20)
	writeSet(t, tp, SetOptions{Created: when}, "Microsoft Information Store", []file{{"priv.edb", big}})
	_, total := cachedPages(t, tp.Path())
	dest := t.TempDir()
	res, err := tp.Extract(context.Background(), 1, dest, nil, ExtractOptions{})
	if err != nil || res.Files != 1 {
		t.Fatalf("extract: %v %+v", err, res)
	}
	if cached, _ := cachedPages(t, tp.Path()); cached > total/8 {
		t.Errorf("%d of the tape's %d pages are in the page cache after extracting the set", cached, total)
	}
}
