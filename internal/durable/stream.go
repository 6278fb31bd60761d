package durable

import (
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// Sizes of a Stream: its two buffers, and the alignment direct I/O needs of
// buffers, offsets and lengths.
const (
	streamBuffer = 4 << 20
	streamAlign  = 4096
)

// Stream writes a file from a starting offset to its end, for files of any
// size that are written once and then fsynced (a tape set, a restored
// database).
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
	start    int   // its first byte to write: only the first buffer skips some
	n        int   // its end
	off      int64 // file offset of buf[cur][0], on a block boundary
	inflight chan error
	err      error
	closed   bool  // the buffers went back to the pool
	kicked   int64 // writes through the page cache: writeback asked for everything before
	copied   int64 // bytes Write copied into the buffers
}

// NewStream returns a Stream onto f, a new empty file opened for writing.
func NewStream(f *os.File) *Stream { return NewStreamAt(f, 0) }

// NewStreamAt returns a Stream onto f that writes from offset off on,
// where f ends. Each byte sits in the buffers at the same distance from a
// block boundary as in the file, so that whatever the starting offset only
// the stretch before the first boundary and the one after the last go
// through the page cache.
func NewStreamAt(f *os.File, off int64) *Stream {
	skip := int(off % streamAlign)
	s := &Stream{f: f, direct: setDirect(f, true), off: off - int64(skip), start: skip, n: skip, kicked: off}
	s.buf[0] = getBuffer()
	return s
}

// buffers keeps the buffers of closed Streams for the next ones: a backup
// or a restore opens one Stream a file, and each would otherwise leave
// 8 MiB behind for the collector, which the heap then grows to hold. Idle,
// the pool empties itself over two collections.
var buffers = sync.Pool{New: func() any { b := alignedBuffer(streamBuffer); return &b }}

func getBuffer() []byte { return *buffers.Get().(*[]byte) }

func putBuffer(b []byte) {
	if cap(b) == streamBuffer {
		b = b[:streamBuffer]
		buffers.Put(&b)
	}
}

// release gives the buffers back once no write uses them any more.
func (s *Stream) release() {
	for i, b := range s.buf {
		if b != nil {
			putBuffer(b)
			s.buf[i] = nil
		}
	}
	s.closed = true
}

func alignedBuffer(n int) []byte {
	raw := make([]byte, n+streamAlign)
	skip := (streamAlign - int(uintptr(unsafe.Pointer(&raw[0]))%streamAlign)) % streamAlign
	return raw[skip : skip+n : skip+n]
}

// Write copies p into the buffers, handing each full one to the disk.
func (s *Stream) Write(p []byte) (int, error) {
	written := 0
	if s.closed && len(p) > 0 {
		return 0, errors.New("durable: write to a closed stream")
	}
	for len(p) > 0 {
		if s.err != nil {
			return written, s.err
		}
		c := copy(s.buf[s.cur][s.n:], p)
		s.n += c
		s.copied += int64(c)
		written += c
		p = p[c:]
		if s.n == streamBuffer {
			s.flush()
		}
	}
	return written, s.err
}

// ReadFrom reads r to its end straight into the buffers, handing each
// full one to the disk as Write does: the copy through io.Copy's own
// buffer disappears. A reader whose Read fills what it is given (a framed
// stream, a TLS connection) then copies each byte once. It returns r's
// error, or the first write's.
//
// A CheckingReader is read with ReadDeferred, and settled before each
// buffer goes to the disk and before ReadFrom returns: no byte reaches the
// file before it was found good, and a buffer is written and filled again
// only once no check reads it. When the checks fail, the stream fails
// with their error and writes nothing more.
func (s *Stream) ReadFrom(r io.Reader) (int64, error) {
	if s.closed {
		return 0, errors.New("durable: write to a closed stream")
	}
	read, settle := r.Read, func() error { return nil }
	if cr, ok := r.(CheckingReader); ok {
		read, settle = cr.ReadDeferred, cr.Settle
	}
	var total int64
	for {
		if s.err != nil {
			settle()
			return total, s.err
		}
		n, err := read(s.buf[s.cur][s.n:])
		s.n += n
		total += int64(n)
		if s.n == streamBuffer || err != nil {
			if serr := settle(); serr != nil {
				s.err = serr
				return total, serr
			}
		}
		if s.n == streamBuffer {
			s.flush()
		}
		if err == io.EOF {
			return total, s.err
		}
		if err != nil {
			return total, err
		}
	}
}

// CheckingReader is a source that checks what it reads on another
// goroutine, such as a framed stream checking its frames' CRCs while the
// next ones arrive. ReadDeferred is Read, except that what it puts in p is
// known good only once Settle has returned nil, and p must not change
// before; Settle waits until every byte ReadDeferred handed out has been
// checked and returns the first failure.
type CheckingReader interface {
	ReadDeferred(p []byte) (int, error)
	Settle() error
}

// flush starts writing the current buffer (the previous write must end
// first) and moves on to the other buffer.
func (s *Stream) flush() {
	if s.err = s.wait(); s.err != nil {
		return
	}
	b, off := s.buf[s.cur][s.start:s.n], s.off+int64(s.start)
	done := make(chan error, 1)
	s.inflight = done
	go func() { done <- s.writeAt(b, off) }()
	s.off += int64(s.n)
	s.cur, s.start, s.n = 1-s.cur, 0, 0
	if s.buf[s.cur] == nil {
		s.buf[s.cur] = getBuffer() // a file under one buffer never needs the second
	}
}

func (s *Stream) wait() error {
	if s.inflight == nil {
		return nil
	}
	err := <-s.inflight
	s.inflight = nil
	return err
}

// writeAt writes b at off, where b lies in a buffer as off lies in the
// file: the whole blocks directly when direct I/O is on, the pieces before
// and after them (and everything, when the file system refuses direct I/O)
// through the page cache.
func (s *Stream) writeAt(b []byte, off int64) error {
	if !s.direct {
		return s.cached(b, off)
	}
	head := min(len(b), int((streamAlign-off%streamAlign)%streamAlign))
	body := (len(b) - head) / streamAlign * streamAlign
	if head > 0 {
		if err := s.cached(b[:head], off); err != nil {
			return err
		}
	}
	if body > 0 {
		_, err := writeBlocks(s.f, b[head:head+body], off+int64(head))
		if errors.Is(err, syscall.EINVAL) {
			s.direct = setDirect(s.f, false) // refused, and nothing was written
			err = s.cached(b[head:head+body], off+int64(head))
		}
		if err != nil {
			return err
		}
	}
	if rest := head + body; rest < len(b) {
		return s.cached(b[rest:], off+int64(rest))
	}
	return nil
}

// writeBlocks writes whole blocks with direct I/O; tests have it refuse.
var writeBlocks = (*os.File).WriteAt

// cached writes b at off through the page cache, and starts writing the
// cached data to disk every few MiB.
func (s *Stream) cached(b []byte, off int64) error {
	if s.direct {
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
	if s.closed {
		return s.err
	}
	defer s.release()
	if s.err != nil {
		s.wait()
		return s.err
	}
	if s.err = s.wait(); s.err != nil {
		return s.err
	}
	b, off := s.buf[s.cur][s.start:s.n], s.off+int64(s.start)
	if len(b) > 0 {
		s.err = s.writeAt(b, off)
	}
	s.start = s.n // written: a second Close has nothing to write
	return s.err
}

// Alignment is the block size direct I/O needs: memory laid out as the
// file at this alignment lets WriteDirect skip its copy.
const Alignment = streamAlign

// AlignedBuffer returns n bytes of memory starting on an Alignment
// boundary.
func AlignedBuffer(n int) []byte { return alignedBuffer(n) }

// WriteDirect writes p as Write does, but without copying what it can
// write straight from p: when direct I/O is on and p lies in memory as it
// will in the file, p[0] as far past an Alignment boundary as its offset
// is past a block boundary, the whole blocks of p go to the disk from p
// itself. The write in flight, if any, and the bytes buffered before p
// (with those of p up to the first block boundary) are written out first;
// the bytes after the last whole block are buffered as Write buffers them.
// WriteDirect returns once p's blocks are written, so p may be reused at
// once; a caller that wants to go on meanwhile fills another buffer. A p
// laid out otherwise is copied, as by Write. Nothing is durable before
// the fsync after Close, as with Write.
func (s *Stream) WriteDirect(p []byte) (int, error) {
	if s.closed && len(p) > 0 {
		return 0, errors.New("durable: write to a closed stream")
	}
	if s.err != nil {
		return 0, s.err
	}
	at := s.off + int64(s.n) // where p[0] goes
	head := int((streamAlign - at%streamAlign) % streamAlign)
	if len(p) < head+streamAlign || int64(uintptr(unsafe.Pointer(&p[0]))%streamAlign) != at%streamAlign {
		return s.Write(p)
	}
	// The write in flight may turn direct I/O off: it ends first.
	if s.err = s.wait(); s.err != nil {
		return 0, s.err
	}
	if !s.direct {
		return s.Write(p)
	}
	// p[:head] completes the buffer's last block; the buffer then ends on
	// a block boundary, or went to the disk, full.
	written, err := s.Write(p[:head])
	if err != nil {
		return written, err
	}
	if s.err = s.wait(); s.err != nil {
		return written, s.err
	}
	if s.n > s.start {
		if s.err = s.writeAt(s.buf[s.cur][s.start:s.n], s.off+int64(s.start)); s.err != nil {
			return written, s.err
		}
	}
	s.off += int64(s.n)
	s.start, s.n = 0, 0
	body := (len(p) - head) / streamAlign * streamAlign
	if s.err = s.writeAt(p[head:head+body], s.off); s.err != nil {
		return written, s.err
	}
	s.off += int64(body)
	written += body
	n, err := s.Write(p[head+body:])
	return written + n, err
}

// Copied returns how many of the bytes given to Write and WriteDirect were
// copied into the stream's buffers rather than written from the caller's.
func (s *Stream) Copied() int64 { return s.copied }
