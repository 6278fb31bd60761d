package tape

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"exbackup/tape/mtf"
)

// The set writer's buffers reach the disk without a copy of their own:
// only the bytes of the set before its first 4096-byte boundary and after
// its last are copied, whatever the size of the set.
func TestSetWriterDoesNotCopy(t *testing.T) {
	l := newLibrary(t)
	tp, err := l.Create("direct", CreateOptions{Created: when})
	if err != nil {
		t.Fatal(err)
	}
	for n, size := range []int{9<<20 + 1234, 1 << 20} {
		w, err := tp.AppendSet(SetOptions{Created: when})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.BeginVolume(`\\SERVER\Microsoft Information Store`, "SERVER"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.AddFile("priv.edb", int64(size), when, newPatternReader(int64(size))); err != nil {
			t.Fatal(err)
		}
		disk := w.disk
		s, err := w.End()
		if err != nil {
			t.Fatal(err)
		}
		if !directIO(t, filepath.Dir(tp.Path())) {
			continue // the folder takes no direct I/O: everything is copied
		}
		if disk.Copied() >= 2*4096 {
			t.Errorf("set %d of %d bytes from byte %d: %d bytes copied into the stream", n+1, size, s.Offset, disk.Copied())
		}
	}
	if _, err := tp.Verify(context.Background(), 2, VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
}

// An entry's data is read from the disk straight into the read-ahead's
// buffers: only the first chunk, which starts where the stream header
// ends, and the last, which ends where the data does, go through the
// reader's own buffer and a copy.
func TestOpenEntryDoesNotCopy(t *testing.T) {
	l := newLibrary(t)
	tp, err := l.Create("direct", CreateOptions{Created: when})
	if err != nil {
		t.Fatal(err)
	}
	if !directIO(t, filepath.Dir(tp.Path())) {
		t.Skip("the folder takes no direct I/O: every read is copied")
	}
	const size = 9<<20 + 1234
	w, err := tp.AppendSet(SetOptions{Created: when})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.BeginVolume(`\\SERVER\Microsoft Information Store`, "SERVER"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddFile("priv.edb", size, when, newPatternReader(size)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.End(); err != nil {
		t.Fatal(err)
	}
	s, err := tp.Set(1)
	if err != nil || len(s.Entries) != 1 {
		t.Fatalf("set 1: %v", err)
	}
	r, err := tp.OpenEntry(s.Entries[0], ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n, err := io.Copy(io.Discard, r)
	if err != nil || n != size {
		t.Fatalf("read %d of %d bytes: %v", n, size, err)
	}
	if c := r.src.Copied(); c > 2*mtf.DefaultBufferSize {
		t.Errorf("%d of %d bytes were copied out of the reader's buffer", c, size)
	}
}
