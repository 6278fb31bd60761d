package durable

import (
	"io"
	"os"
)

// writebackEvery is how much is written before the system is asked to start
// writing it to disk.
const writebackEvery = 8 << 20

// writeback passes writes to a file and, where the system allows, starts
// the disk writing them behind the writer, without waiting: the data is
// then mostly on disk when the closing fsync comes, instead of all of it
// waiting for that fsync. Durability is unchanged: only the fsync counts.
type writeback struct {
	f      *os.File
	off    int64 // file offset of the next byte
	kicked int64 // everything before is already asked for
}

// NewWriteback returns a writer onto f, whose next byte goes to offset off,
// that starts writeback every few MiB. Streams that end with an fsync
// (a tape set, a restored database) write through it.
func NewWriteback(f *os.File, off int64) io.Writer {
	return &writeback{f: f, off: off, kicked: off}
}

func (w *writeback) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.kicked >= writebackEvery {
		startWriteback(w.f, w.kicked, w.off-w.kicked)
		w.kicked = w.off
	}
	return n, err
}
