package durable

import (
	"errors"
	"os"
	"syscall"
	"unsafe"
)

// Sizes of a Stream: its two buffers, and the alignment direct I/O needs of
// buffers, offsets and lengths.
const (
	streamBuffer = 4 << 20
	streamAlign  = 4096
)

// Stream writes a new file from its first byte to its last, for files of
// any size that are written once and then fsynced (a restored database).
// Where the system allows it writes past the page cache (direct I/O): the
// disk takes the data straight from the stream's buffers, so the copy into
// the page cache and the work of finding pages for it disappear, and the
// closing fsync has little left to do. Where it does not, the writes are
// ordinary and start their writeback early. Either way one buffer fills
// while the other is written, so the writer seldom waits for the disk.
// Durability is unchanged: only the fsync after Close counts.
type Stream struct {
	f        *os.File
	direct   bool
	buf      [2][]byte
	cur      int   // buffer being filled
	n        int   // bytes in it
	limit    int   // size at which it is written: the first one ends on a block boundary
	off      int64 // file offset of buf[cur][0]
	inflight chan error
	err      error
	kicked   int64 // buffered mode: writeback asked for everything before
}

// NewStream returns a Stream onto f, a new empty file opened for writing.
func NewStream(f *os.File) *Stream { return NewStreamAt(f, 0) }

// NewStreamAt returns a Stream onto f that writes from offset off on,
// where f ends. The first stretch up to a block boundary goes through the
// page cache; the rest is aligned for direct I/O.
func NewStreamAt(f *os.File, off int64) *Stream {
	s := &Stream{f: f, direct: setDirect(f, true), off: off, kicked: off,
		limit: streamBuffer - int(off%streamAlign)}
	for i := range s.buf {
		s.buf[i] = alignedBuffer(streamBuffer)
	}
	return s
}

func alignedBuffer(n int) []byte {
	raw := make([]byte, n+streamAlign)
	skip := (streamAlign - int(uintptr(unsafe.Pointer(&raw[0]))%streamAlign)) % streamAlign
	return raw[skip : skip+n : skip+n]
}

// Write copies p into the buffers, handing each full one to the disk.
func (s *Stream) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if s.err != nil {
			return written, s.err
		}
		c := copy(s.buf[s.cur][s.n:s.limit], p)
		s.n += c
		written += c
		p = p[c:]
		if s.n == s.limit {
			s.flush()
		}
	}
	return written, s.err
}

// flush starts writing the current buffer (the previous write must end
// first) and moves on to the other buffer.
func (s *Stream) flush() {
	if s.err = s.wait(); s.err != nil {
		return
	}
	b, off := s.buf[s.cur][:s.n], s.off
	done := make(chan error, 1)
	s.inflight = done
	go func() { done <- s.writeAt(b, off) }()
	s.off += int64(s.n)
	s.cur, s.n, s.limit = 1-s.cur, 0, streamBuffer
}

func (s *Stream) wait() error {
	if s.inflight == nil {
		return nil
	}
	err := <-s.inflight
	s.inflight = nil
	return err
}

// writeAt writes b at off: directly when b is whole blocks at a block
// boundary and direct I/O is on; otherwise, or when the file system
// refuses direct I/O, through the page cache.
func (s *Stream) writeAt(b []byte, off int64) error {
	aligned := off%streamAlign == 0 && len(b)%streamAlign == 0
	if s.direct && aligned {
		_, err := s.f.WriteAt(b, off)
		if !errors.Is(err, syscall.EINVAL) {
			return err
		}
		s.direct = setDirect(s.f, false) // refused, and nothing was written
	}
	if s.direct { // a piece that is not whole blocks
		setDirect(s.f, false)
		defer setDirect(s.f, true)
	}
	if _, err := s.f.WriteAt(b, off); err != nil {
		return err
	}
	if end := off + int64(len(b)); end-s.kicked >= writebackEvery {
		startWriteback(s.f, s.kicked, end-s.kicked)
		s.kicked = end
	}
	return nil
}

// Close writes what is left and waits until every write has returned. It
// does not fsync and does not close the file.
func (s *Stream) Close() error {
	if s.err != nil {
		s.wait()
		return s.err
	}
	if s.err = s.wait(); s.err != nil {
		return s.err
	}
	b, off := s.buf[s.cur][:s.n], s.off
	whole := len(b) / streamAlign * streamAlign
	if off%streamAlign != 0 {
		whole = 0 // the stream never reached a block boundary
	}
	if whole > 0 {
		if s.err = s.writeAt(b[:whole], off); s.err != nil {
			return s.err
		}
	}
	if whole < len(b) {
		s.err = s.writeAt(b[whole:], off+int64(whole))
	}
	s.off += int64(s.n)
	s.n = 0
	return s.err
}
