package durable

import (
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Reader reads a large file that is read once, past the page cache where
// the system allows it (direct I/O): the disk puts the data straight into
// the reader's buffer, and reading does not fill the memory with pages
// nobody reads again. Each read covers whole blocks and the asked stretch
// is copied out, so callers read at any offset and length. Where direct
// I/O is refused the reads are ordinary. Reads may run concurrently, and
// should: the system reads nothing ahead for a direct reader. A read into
// memory that lies on block boundaries, at a block boundary, for whole
// blocks (AlignedBuffer) goes straight into the caller's memory.
type Reader struct {
	f      *os.File
	direct atomic.Bool
	bufs   sync.Pool    // *[]byte, aligned
	copied atomic.Int64 // bytes read through bufs and copied out
}

// OpenReader opens path for reading through a Reader.
func OpenReader(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r := &Reader{f: f}
	r.direct.Store(setDirect(f, true))
	return r, nil
}

// ReadAt reads len(p) bytes at off, as io.ReaderAt does.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if !r.direct.Load() || len(p) == 0 {
		return r.f.ReadAt(p, off)
	}
	if aligned(p, off) {
		// The disk can put the data straight into p: no bounce buffer,
		// no copy.
		n, err := r.f.ReadAt(p, off)
		if errors.Is(err, syscall.EINVAL) && n <= 0 {
			r.direct.Store(setDirect(r.f, false)) // refused, and nothing was read
			return r.f.ReadAt(p, off)
		}
		return n, err
	}
	start := off / streamAlign * streamAlign
	end := (off + int64(len(p)) + streamAlign - 1) / streamAlign * streamAlign
	bp, _ := r.bufs.Get().(*[]byte)
	if bp == nil || int64(len(*bp)) < end-start {
		b := alignedBuffer(int(end - start))
		bp = &b
	}
	defer r.bufs.Put(bp)
	b := (*bp)[:end-start]
	n, err := r.f.ReadAt(b, start)
	if errors.Is(err, syscall.EINVAL) && n <= 0 {
		r.direct.Store(setDirect(r.f, false)) // refused, and nothing was read
		return r.f.ReadAt(p, off)
	}
	skip := int(off - start)
	got := max(0, min(n-skip, len(p)))
	copy(p, b[skip:skip+got])
	r.copied.Add(int64(got))
	if got < len(p) {
		if err == nil {
			err = io.EOF // the file ends within the stretch
		}
		return got, err
	}
	return got, nil
}

// aligned reports whether a direct read can fill p at off as it is: its
// memory, the offset and the length all on block boundaries.
func aligned(p []byte, off int64) bool {
	return off%streamAlign == 0 && len(p)%streamAlign == 0 && uintptr(unsafe.Pointer(&p[0]))%streamAlign == 0
}

// Copied returns how many bytes reads have copied out of the Reader's
// own buffers: those of reads that could not go straight into the
// caller's memory.
func (r *Reader) Copied() int64 { return r.copied.Load() }

// Close closes the file.
func (r *Reader) Close() error { return r.f.Close() }
