package durable

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"testing/iotest"
	"unsafe"
)

// Every size around the block and buffer boundaries arrives whole, written
// in uneven pieces from offsets on and off block boundaries, with direct
// I/O and without.
func TestStreamWritesEveryByte(t *testing.T) {
	sizes := []int{0, 1, streamAlign - 1, streamAlign, streamAlign + 1, streamBuffer - 1, streamBuffer,
		streamBuffer + 1, 2 * streamBuffer, 3*streamBuffer + 12345}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, mode := range []string{"direct", "buffered", "ReadFrom"} {
		buffered := mode == "buffered"
		for i, size := range sizes {
			start := []int64{0, 1, 1000, streamAlign, streamAlign + 512}[i%5]
			data := make([]byte, size)
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			path := filepath.Join(t.TempDir(), "db")
			f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			prefix := bytes.Repeat([]byte{0xee}, int(start))
			if _, err := f.Write(prefix); err != nil {
				t.Fatal(err)
			}
			s := NewStreamAt(f, start)
			if buffered {
				s.direct = setDirect(f, false)
			}
			if mode == "ReadFrom" {
				r := &unevenReader{data: data, rng: rng}
				if n, err := s.ReadFrom(r); err != nil || n != int64(size) {
					t.Fatalf("size %d: ReadFrom = %d, %v", size, n, err)
				}
			}
			for p := data; len(p) > 0 && mode != "ReadFrom"; {
				n := min(len(p), 1+rng.IntN(streamBuffer/3))
				if w, err := s.Write(p[:n]); err != nil || w != n {
					t.Fatalf("size %d: Write = %d, %v", size, w, err)
				}
				p = p[n:]
			}
			if err := s.Close(); err != nil {
				t.Fatalf("size %d: Close: %v", size, err)
			}
			// Whatever the starting offset, the whole blocks went out
			// directly: no write was refused for its alignment.
			if !buffered && directWorks(t) && !s.direct {
				t.Errorf("size %d from byte %d: direct I/O was dropped", size, start)
			}
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
			f.Close()
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, append(prefix, data...)) {
				t.Errorf("%s, size %d: the file differs (%d bytes)", mode, size, len(got))
			}
		}
	}
}

// unevenReader hands out data in pieces of any size up to what is asked,
// as a network connection does, and io.EOF with the last one.
type unevenReader struct {
	data []byte
	rng  *rand.Rand
}

func (r *unevenReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 1+r.rng.IntN(streamBuffer/3))], r.data)
	r.data = r.data[n:]
	if len(r.data) == 0 {
		return n, io.EOF
	}
	return n, nil
}

// ReadFrom gives back its reader's error, and a write's.
func TestStreamReadFromReportsErrors(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := NewStream(f)
	broken := errors.New("connection reset by peer")
	if n, err := s.ReadFrom(io.MultiReader(bytes.NewReader(make([]byte, streamBuffer+10)), iotest.ErrReader(broken))); !errors.Is(err, broken) || n != streamBuffer+10 {
		t.Fatalf("ReadFrom = %d, %v", n, err)
	}
	s.Close()

	g, err := os.Create(filepath.Join(t.TempDir(), "db2"))
	if err != nil {
		t.Fatal(err)
	}
	s = NewStream(g)
	g.Close() // every write now fails
	_, rerr := s.ReadFrom(bytes.NewReader(make([]byte, 3*streamBuffer)))
	if cerr := s.Close(); rerr == nil && cerr == nil {
		t.Fatal("ReadFrom onto a closed file succeeded")
	}
}

// directWorks reports whether the test's temporary folder takes direct I/O.
func directWorks(t *testing.T) bool {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "probe"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return setDirect(f, true)
}

// A write that fails is reported, by Write or at the latest by Close.
func TestStreamReportsWriteErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	s := NewStream(f)
	f.Close() // every write now fails
	_, werr := s.Write(make([]byte, 2*streamBuffer+1))
	if cerr := s.Close(); werr == nil && cerr == nil {
		t.Fatal("writes to a closed file succeeded")
	}
}

// A closed Stream hands its buffers to the next one and refuses further
// writes, which would land in that next Stream's buffer; a second Close
// says what the first did.
func TestStreamClosedGivesBuffersBack(t *testing.T) {
	dir := t.TempDir()
	open := func(name string) *os.File {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	a := NewStream(open("a"))
	if _, err := a.Write(bytes.Repeat([]byte{1}, streamBuffer+10)); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if a.buf[0] != nil || a.buf[1] != nil {
		t.Error("a closed stream keeps its buffers")
	}
	if _, err := a.Write([]byte("late")); err == nil {
		t.Error("a write after Close was taken")
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	b := NewStream(open("b"))
	if _, err := b.Write([]byte("small")); err != nil || b.Close() != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "b")); string(got) != "small" {
		t.Errorf("b holds %q", got)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "a")); len(got) != streamBuffer+10 || got[len(got)-1] != 1 {
		t.Errorf("a holds %d bytes", len(got))
	}
}

// checkingSource is a CheckingReader over data, in uneven pieces. It fails
// the test when a buffer it handed out is given to it again before Settle,
// and its Settle fails once more than failAt bytes were handed out.
type checkingSource struct {
	t       *testing.T
	data    []byte
	rng     *rand.Rand
	err     error // after the data, instead of io.EOF
	failAt  int   // 0: never
	handed  int
	settled int // bytes handed out before the last Settle
	open    [][]byte
	settles int
}

var errSettle = errors.New("chunk 3 at byte 8388608: checksum mismatch")

func (c *checkingSource) Read([]byte) (int, error) {
	c.t.Fatal("a CheckingReader was read with Read")
	return 0, nil
}

func (c *checkingSource) ReadDeferred(p []byte) (int, error) {
	for _, q := range c.open {
		if overlaps(p, q) {
			c.t.Fatal("a buffer was filled again before it was settled")
		}
	}
	if len(c.data) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 1+c.rng.IntN(streamBuffer/3))], c.data)
	c.data = c.data[n:]
	c.open = append(c.open, p[:n])
	c.handed += n
	return n, nil
}

// overlaps reports whether a and b share memory.
func overlaps(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	a0, b0 := uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&b[0]))
	return a0 < b0+uintptr(len(b)) && b0 < a0+uintptr(len(a))
}

func (c *checkingSource) Settle() error {
	c.settles++
	if c.failAt > 0 && c.handed > c.failAt {
		return errSettle
	}
	c.open, c.settled = nil, c.handed
	return nil
}

// A CheckingReader is settled before each buffer goes to the disk and
// before ReadFrom returns; a buffer is filled again only after; and when
// Settle fails, nothing it covered reaches the file.
func TestStreamReadFromSettlesBeforeWriting(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	mk := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	broken := errors.New("connection reset by peer")
	cases := []struct {
		name    string
		size    int
		err     error
		failAt  int
		wantErr error
		kept    int // bytes in the file after Close
	}{
		{"whole", 3*streamBuffer + 12345, nil, 0, nil, 3*streamBuffer + 12345},
		{"fails in the second buffer", 3*streamBuffer + 12345, nil, streamBuffer + 100, errSettle, streamBuffer},
		{"fails at the end", streamBuffer + 5000, nil, streamBuffer + 100, errSettle, streamBuffer},
		{"source fails", 2*streamBuffer + 7, broken, 0, broken, 2*streamBuffer + 7},
	}
	for _, c := range cases {
		data := mk(c.size)
		path := filepath.Join(t.TempDir(), "db")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		src := &checkingSource{t: t, data: data, rng: rng, err: c.err, failAt: c.failAt}
		s := NewStream(f)
		n, rerr := s.ReadFrom(src)
		if !errors.Is(rerr, c.wantErr) || (c.wantErr == nil) != (rerr == nil) {
			t.Fatalf("%s: ReadFrom = %d, %v; want %v", c.name, n, rerr, c.wantErr)
		}
		if c.failAt == 0 && src.settled != src.handed {
			t.Errorf("%s: ReadFrom returned with %d bytes unsettled", c.name, src.handed-src.settled)
		}
		if min := c.size / streamBuffer; c.failAt == 0 && src.settles < min+1 {
			t.Errorf("%s: %d settles for %d bytes", c.name, src.settles, c.size)
		}
		cerr := s.Close()
		if c.wantErr == errSettle && !errors.Is(cerr, errSettle) {
			t.Errorf("%s: Close after a failed Settle: %v", c.name, cerr)
		}
		if c.wantErr != errSettle && cerr != nil {
			t.Errorf("%s: Close: %v", c.name, cerr)
		}
		f.Close()
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data[:c.kept]) {
			t.Errorf("%s: the file holds %d bytes, want the first %d", c.name, len(got), c.kept)
		}
	}

	// A write that fails: ReadFrom settles before it gives up.
	g, err := os.Create(filepath.Join(t.TempDir(), "db2"))
	if err != nil {
		t.Fatal(err)
	}
	s := NewStream(g)
	g.Close()
	src := &checkingSource{t: t, data: mk(3 * streamBuffer), rng: rng}
	if _, err := s.ReadFrom(src); err == nil {
		t.Fatal("ReadFrom onto a closed file succeeded")
	}
	if src.settled != src.handed {
		t.Errorf("a failed write left %d bytes unsettled", src.handed-src.settled)
	}
	s.Close()
}

// laidOut returns a copy of p in memory laid out as at in the file: p[0]
// as far past an Alignment boundary as at is past a block boundary, or,
// with off, one byte further.
func laidOut(p []byte, at int64, off bool) []byte {
	k := int(at % streamAlign)
	if off {
		k = (k + 1) % streamAlign
	}
	b := AlignedBuffer(len(p) + streamAlign)[k : k+len(p)]
	copy(b, p)
	return b
}

// WriteDirect writes the whole blocks of memory laid out as the file
// straight from it, and copies only what lies before the first block
// boundary and after the last; memory laid out otherwise, a file without
// direct I/O and one that refuses it are written by copying, as by Write.
// The file holds every byte either way.
func TestStreamWriteDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	data := make([]byte, 3<<20+12345)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	direct := directWorks(t)
	const mib = 1 << 20
	for _, c := range []struct {
		name     string
		start    int64
		pieces   []int // lengths; the rest of data comes last
		skewed   bool  // memory one byte off the file's layout
		buffered bool  // direct I/O off from the start
		refuse   bool  // the first direct write is refused
		copied   int64 // with direct I/O
	}{
		{name: "aligned", start: 0, pieces: []int{mib, mib, mib}, copied: int64(len(data) % streamAlign)},
		{name: "set after the tape header", start: 2048, pieces: []int{mib - 2048, mib, mib},
			copied: streamAlign - 2048 + int64((len(data)+2048)%streamAlign)},
		{name: "unaligned address", start: 0, pieces: []int{mib, mib}, skewed: true, copied: int64(len(data))},
		{name: "unaligned offset", start: 1024, pieces: []int{mib, mib}, skewed: true, copied: int64(len(data))},
		{name: "small pieces", start: 512, pieces: []int{100, streamAlign - 612, 3 * streamAlign, 1, streamAlign - 1, streamAlign + 5},
			copied: 100 + streamAlign - 612 + 1 + streamAlign - 1 + 5 + streamAlign - 5 + int64((len(data)+512)%streamAlign)},
		{name: "buffered", start: 0, pieces: []int{mib}, buffered: true, copied: int64(len(data))},
		{name: "refused", start: 0, pieces: []int{mib, mib}, refuse: true, copied: int64(len(data) - mib)},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tape.bkf")
			prefix := bytes.Repeat([]byte{0xee}, int(c.start))
			if err := os.WriteFile(path, prefix, 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			s := NewStreamAt(f, c.start)
			if c.buffered {
				s.direct = setDirect(f, false)
			}
			refused := 0
			if c.refuse {
				writeBlocks = func(f *os.File, b []byte, off int64) (int, error) {
					refused++
					return 0, syscall.EINVAL
				}
				defer func() { writeBlocks = (*os.File).WriteAt }()
			}
			at, p := c.start, data
			for i := 0; len(p) > 0; i++ {
				n := len(p)
				if i < len(c.pieces) {
					n = c.pieces[i]
				}
				if w, err := s.WriteDirect(laidOut(p[:n], at, c.skewed)); err != nil || w != n {
					t.Fatalf("WriteDirect of %d bytes at %d = %d, %v", n, at, w, err)
				}
				at += int64(n)
				p = p[n:]
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, append(prefix, data...)) {
				t.Fatalf("the file differs (%d bytes)", len(got))
			}
			want := c.copied
			if !direct {
				want = int64(len(data))
			}
			if c.refuse && (refused != 1 || s.direct) {
				t.Errorf("refused %d writes, direct I/O still %v", refused, s.direct)
			}
			if s.Copied() != want {
				t.Errorf("%d bytes copied, want %d", s.Copied(), want)
			}
		})
	}
}

// Write and WriteDirect may alternate, with memory laid out as the file or
// not, in pieces of any size: the file holds every byte.
func TestStreamWriteDirectMixed(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for round := range 8 {
		data := make([]byte, 1+rng.IntN(3*streamBuffer))
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		start := int64(rng.IntN(3)) * 512
		path := filepath.Join(t.TempDir(), "db")
		if err := os.WriteFile(path, make([]byte, start), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		s := NewStreamAt(f, start)
		at := start
		for p := data; len(p) > 0; {
			n := min(len(p), 1+rng.IntN(streamBuffer/2))
			var w int
			switch rng.IntN(3) {
			case 0:
				w, err = s.Write(p[:n])
			case 1:
				w, err = s.WriteDirect(laidOut(p[:n], at, false))
			default:
				w, err = s.WriteDirect(laidOut(p[:n], at, true))
			}
			if err != nil || w != n {
				t.Fatalf("round %d: write of %d bytes at %d = %d, %v", round, n, at, w, err)
			}
			at += int64(n)
			p = p[n:]
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, append(make([]byte, start), data...)) {
			t.Fatalf("round %d: the file differs (%d bytes of %d)", round, len(got), int(start)+len(data))
		}
	}
}

// A direct write that fails is reported, and so is every later one.
func TestStreamWriteDirectReportsErrors(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	s := NewStream(f)
	f.Close() // every write now fails
	if _, err := s.WriteDirect(laidOut(make([]byte, 2*streamAlign), 0, false)); err == nil {
		t.Fatal("a direct write to a closed file succeeded")
	}
	if _, err := s.WriteDirect(laidOut(make([]byte, 2*streamAlign), 2*streamAlign, false)); err == nil {
		t.Fatal("a write after a failed one succeeded")
	}
	if err := s.Close(); err == nil {
		t.Fatal("Close after a failed write succeeded")
	}
	if _, err := s.WriteDirect(laidOut(make([]byte, streamAlign), 0, false)); err == nil {
		t.Fatal("a direct write after Close was taken")
	}
}
