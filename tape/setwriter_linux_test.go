package tape

import (
	"context"
	"path/filepath"
	"testing"
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
