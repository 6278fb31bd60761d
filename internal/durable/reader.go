package durable

import (
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
)

// Reader reads a large file that is read once, past the page cache where
// the system allows it (direct I/O): the disk puts the data straight into
// the reader's buffer, and reading does not fill the memory with pages
// nobody reads again. Each read covers whole blocks and the asked stretch
// is copied out, so callers read at any offset and length. Where direct
// I/O is refused the reads are ordinary. It is safe for concurrent use.
type Reader struct {
	f      *os.File
	mu     sync.Mutex
	direct bool
	buf    []byte // aligned, for direct reads
}

// OpenReader opens path for reading through a Reader.
func OpenReader(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &Reader{f: f, direct: setDirect(f, true)}, nil
}

// ReadAt reads len(p) bytes at off, as io.ReaderAt does.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.direct || len(p) == 0 {
		return r.f.ReadAt(p, off)
	}
	start := off / streamAlign * streamAlign
	end := (off + int64(len(p)) + streamAlign - 1) / streamAlign * streamAlign
	if int64(cap(r.buf)) < end-start {
		r.buf = alignedBuffer(int(end - start))
	}
	b := r.buf[:end-start]
	n, err := r.f.ReadAt(b, start)
	if errors.Is(err, syscall.EINVAL) && n <= 0 {
		r.direct = setDirect(r.f, false) // refused, and nothing was read
		return r.f.ReadAt(p, off)
	}
	skip := int(off - start)
	got := max(0, min(n-skip, len(p)))
	copy(p, b[skip:skip+got])
	if got < len(p) {
		if err == nil {
			err = io.EOF // the file ends within the stretch
		}
		return got, err
	}
	return got, nil
}

// Close closes the file.
func (r *Reader) Close() error { return r.f.Close() }
