package mtf

import (
	"hash"
	"io"
)

// source is a buffered sequential cursor over a tape file that can jump
// forward without reading (to step over file data). It never reads past
// size and never buffers more than its fixed buffer.
type source struct {
	ra    io.ReaderAt
	size  int64
	buf   []byte
	start int64 // tape offset of buf[0]
	r, w  int   // read index and end of valid bytes in buf
	meta  hash.Hash
}

func newSource(ra io.ReaderAt, size int64, bufSize int) *source {
	return &source{ra: ra, size: size, buf: make([]byte, bufSize)}
}

func (s *source) pos() int64 { return s.start + int64(s.r) }

func (s *source) remaining() int64 { return s.size - s.pos() }

func (s *source) seek(off int64) {
	if off >= s.start && off <= s.start+int64(s.w) {
		s.r = int(off - s.start)
		return
	}
	s.start, s.r, s.w = off, 0, 0
}

// fill makes n bytes at the cursor available (n <= len(buf)); it fails with
// ErrTruncated when the file ends first.
func (s *source) fill(n int) error {
	if s.w-s.r >= n {
		return nil
	}
	if s.remaining() < int64(n) {
		return detail(ErrTruncated, "need %d bytes at byte %d, the file ends at %d", n, s.pos(), s.size)
	}
	if n > len(s.buf) {
		return detail(ErrBounds, "%d bytes at byte %d do not fit the %d-byte read buffer", n, s.pos(), len(s.buf))
	}
	copy(s.buf, s.buf[s.r:s.w])
	s.start += int64(s.r)
	s.w -= s.r
	s.r = 0
	want := int(min(int64(len(s.buf)), s.size-s.start))
	for s.w < n {
		k, err := s.ra.ReadAt(s.buf[s.w:want], s.start+int64(s.w))
		s.w += k
		if s.w >= n {
			break
		}
		if err != nil || k == 0 {
			if err == io.EOF || err == nil {
				return detail(ErrTruncated, "file ends at byte %d", s.start+int64(s.w))
			}
			return err
		}
	}
	return nil
}

// peek returns the next n bytes without consuming them.
func (s *source) peek(n int) ([]byte, error) {
	if err := s.fill(n); err != nil {
		return nil, err
	}
	return s.buf[s.r : s.r+n], nil
}

// next consumes n bytes (feeding the digest when on); the slice is valid
// until the next call.
func (s *source) next(n int) ([]byte, error) {
	b, err := s.peek(n)
	if err != nil {
		return nil, err
	}
	s.r += n
	if s.meta != nil {
		s.meta.Write(b)
	}
	return b, nil
}

// skip consumes n bytes: read through the digest when it is on and hashed
// is true, otherwise jumped over.
func (s *source) skip(n int64, hashed bool) error {
	if n > s.remaining() {
		return detail(ErrTruncated, "need %d bytes at byte %d, the file ends at %d", n, s.pos(), s.size)
	}
	if s.meta == nil || !hashed {
		s.seek(s.pos() + n)
		return nil
	}
	for n > 0 {
		k := int(min(n, int64(len(s.buf))))
		if _, err := s.next(k); err != nil {
			return err
		}
		n -= int64(k)
	}
	return nil
}
