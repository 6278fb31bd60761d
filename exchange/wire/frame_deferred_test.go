package wire

import (
	"bytes"
	"errors"
	"hash/crc32"
	"io"
	"runtime"
	"strconv"
	"testing"
	"testing/iotest"
	"time"
)

// frameDecodeDeferred reads a framed stream as durable.Stream.ReadFrom
// does: ReadDeferred into a buffer of size bytes, Settle before the buffer
// is used (here: appended to the result) and filled again.
func frameDecodeDeferred(r io.Reader, size int) ([]byte, error) {
	fr := NewFrameReader(r)
	var out []byte
	buf := make([]byte, size)
	k := 0
	for {
		n, err := fr.ReadDeferred(buf[k:])
		k += n
		if k == len(buf) || err != nil {
			if serr := fr.Settle(); serr != nil {
				return out, serr
			}
			out = append(out, buf[:k]...)
			k = 0
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// waitGoroutines waits for the goroutines started since base to end, and
// fails the test if some are still there after a long while.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	for range 500 {
		if runtime.NumGoroutine() <= base {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<16)
	t.Fatalf("%d goroutines left behind:\n%s", runtime.NumGoroutine()-base, buf[:runtime.Stack(buf, true)])
}

func TestFrameReadDeferredRoundTrip(t *testing.T) {
	for _, c := range []struct{ size, chunk, buf int }{
		{5*MaxChunk + 3, MaxChunk, 4 * MaxChunk},   // as a restored database arrives
		{5*MaxChunk + 3, MaxChunk, 3*MaxChunk - 5}, // frames across buffer ends
		{3 << 20, 100 << 10, 1 << 20},
		{1 << 20, 1000, 64 << 10}, // small frames: checked at once
		{10, MaxChunk, 4 * MaxChunk},
		{0, MaxChunk, 4 * MaxChunk},
	} {
		data := frameTestData(c.size, uint64(c.size))
		stream := frameEncode(t, data, c.chunk)
		for _, src := range []struct {
			name string
			r    func() io.Reader
		}{
			{"whole", func() io.Reader { return bytes.NewReader(stream) }},
			{"halves", func() io.Reader { return iotest.HalfReader(bytes.NewReader(stream)) }},
		} {
			got, err := frameDecodeDeferred(src.r(), c.buf)
			if err != nil {
				t.Fatalf("%d bytes in frames of %d, buffer %d, %s: %v", c.size, c.chunk, c.buf, src.name, err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("%d bytes in frames of %d, buffer %d, %s: payload differs", c.size, c.chunk, c.buf, src.name)
			}
		}
	}
}

// A frame read straight into the caller's buffer is handed out before its
// check; Settle reports its mismatch exactly as Read would have.
func TestFrameReadDeferredChecksInTheBackground(t *testing.T) {
	data := frameTestData(4*MaxChunk, 21)
	stream := frameEncode(t, data, MaxChunk)
	frame := 4 + MaxChunk + 4
	bad := bytes.Clone(stream)
	bad[2*frame+4+777] ^= 1 // in the payload of chunk 3

	_, want := frameDecode(bad)
	if want == nil || want.Error() != "chunk 3 at byte 2097152: checksum mismatch" {
		t.Fatalf("Read: %v", want)
	}

	fr := NewFrameReader(bytes.NewReader(bad))
	buf := make([]byte, 4*MaxChunk)
	k := 0
	for i := range 3 {
		n, err := fr.ReadDeferred(buf[k:])
		if n != MaxChunk || err != nil {
			t.Fatalf("ReadDeferred of chunk %d = %d, %v; want the whole frame handed out", i+1, n, err)
		}
		k += n
	}
	if v := fr.Verified(); v > 3*MaxChunk {
		t.Fatalf("Verified = %d", v)
	}
	err := fr.Settle()
	var se *StreamError
	if err == nil || err.Error() != want.Error() || !errors.As(err, &se) || se.Chunk != 3 || se.Offset != 2*MaxChunk || !errors.Is(err, ErrCorruptStream) {
		t.Fatalf("Settle = %v, want %v", err, want)
	}
	if v := fr.Verified(); v != 2*MaxChunk {
		t.Errorf("Verified after the mismatch = %d, want %d", v, 2*MaxChunk)
	}
	// Sticky, whichever way the reader is read or asked.
	if _, err := fr.ReadDeferred(buf); err == nil || err.Error() != want.Error() {
		t.Errorf("ReadDeferred after the mismatch: %v", err)
	}
	if _, err := fr.Read(buf); err == nil || err.Error() != want.Error() {
		t.Errorf("Read after the mismatch: %v", err)
	}
	if err := fr.Err(); err == nil || err.Error() != want.Error() {
		t.Errorf("Err after the mismatch: %v", err)
	}
	if fr.Done() {
		t.Error("Done after a mismatch")
	}
}

// Whatever comes after a bad frame handed out unchecked (a truncation, a
// bad small frame, the trailer, the end), the bad frame is what is
// reported, as by Read, and never a clean end.
func TestFrameReadDeferredReportsTheFirstFailure(t *testing.T) {
	data := frameTestData(3*MaxChunk+100, 22)
	stream := frameEncode(t, data, MaxChunk)
	frame := 4 + MaxChunk + 4
	flip := func(b []byte, at int) []byte { b = bytes.Clone(b); b[at] ^= 0x20; return b }
	cases := []struct {
		name   string
		stream []byte
	}{
		{"bad frame, then the end", flip(stream, 2*frame+4+5)},
		{"bad frame, then a truncation", flip(stream, 2*frame+4+5)[:3*frame+20]},
		{"bad frame, then a cut at a frame boundary", flip(stream, frame+4+5)[:2*frame]},
		{"bad frame, then a bad small frame", flip(flip(stream, frame+9), 3*frame+4+50)},
		{"bad frame, then a bad trailer", flip(flip(stream, 4+1), len(stream)-3)},
		{"two bad frames", flip(flip(stream, frame+4+9), 2*frame+4+9)},
		{"bad frame CRC", flip(stream, frame-1)},
		{"bad length", flip(stream, frame+1)},
		{"bad trailer only", flip(stream, len(stream)-3)},
		{"truncated in the trailer", stream[:len(stream)-5]},
		{"trailing byte", append(bytes.Clone(stream), 0)},
	}
	for _, c := range cases {
		_, want := frameDecode(c.stream)
		if want == nil {
			t.Fatalf("%s: Read accepted the stream", c.name)
		}
		for _, size := range []int{4 * MaxChunk, 2 * MaxChunk, 3*MaxChunk - 7} {
			base := runtime.NumGoroutine()
			_, err := frameDecodeDeferred(bytes.NewReader(c.stream), size)
			if err == nil || err.Error() != want.Error() {
				t.Errorf("%s, buffer %d: %v, want %v", c.name, size, err, want)
			}
			var se *StreamError
			if !errors.As(err, &se) || !errors.Is(err, ErrCorruptStream) {
				t.Errorf("%s, buffer %d: %v (%T) is not a StreamError", c.name, size, err, err)
			}
			waitGoroutines(t, base)
		}
	}
}

// The checker ends by itself: a reader abandoned with frames unchecked,
// one that failed, one whose source failed and one read to its end leave
// no goroutine behind.
func TestFrameReadDeferredLeavesNoGoroutine(t *testing.T) {
	data := frameTestData(8*MaxChunk, 23)
	stream := frameEncode(t, data, MaxChunk)
	base := runtime.NumGoroutine()
	buf := make([]byte, 8*MaxChunk)
	for i := range 20 {
		fr := NewFrameReader(bytes.NewReader(stream))
		for k := 0; k < i%8+1; k++ {
			if _, err := fr.ReadDeferred(buf[k*MaxChunk:]); err != nil {
				t.Fatal(err)
			}
		}
		// abandoned without Settle
	}
	waitGoroutines(t, base)

	boom := errors.New("connection reset")
	r := io.MultiReader(bytes.NewReader(stream[:5*(4+MaxChunk+4)+100]), iotest.ErrReader(boom))
	if _, err := frameDecodeDeferred(r, 4*MaxChunk); !errors.Is(err, boom) {
		t.Fatalf("source failing: %v", err)
	}
	if _, err := frameDecodeDeferred(bytes.NewReader(stream), 4*MaxChunk); err != nil {
		t.Fatal(err)
	}
	waitGoroutines(t, base)
}

// Read, WriteTo and ReadCRC settle what ReadDeferred handed out first, so
// mixing them keeps the order of the payload and of the failures.
func TestFrameReadDeferredThenRead(t *testing.T) {
	data := frameTestData(3*MaxChunk+9, 24)
	stream := frameEncode(t, data, MaxChunk)
	fr := NewFrameReader(bytes.NewReader(stream))
	buf := make([]byte, MaxChunk)
	if n, err := fr.ReadDeferred(buf); n != MaxChunk || err != nil {
		t.Fatal(n, err)
	}
	if fr.Verified() != 0 {
		t.Errorf("Verified = %d before Settle", fr.Verified())
	}
	out := bytes.Clone(buf)
	n, err := fr.Read(buf[:100])
	if err != nil {
		t.Fatal(err)
	}
	if fr.Verified() != 2*MaxChunk {
		t.Errorf("Verified = %d after Read", fr.Verified())
	}
	out = append(out, buf[:n]...)
	var rest bytes.Buffer
	if _, err := fr.WriteTo(&rest); err != nil {
		t.Fatal(err)
	}
	if out = append(out, rest.Bytes()...); !bytes.Equal(out, data) {
		t.Fatal("payload differs")
	}

	bad := bytes.Clone(stream)
	bad[4+10] ^= 1
	fr = NewFrameReader(bytes.NewReader(bad))
	if n, err := fr.ReadDeferred(buf); n != MaxChunk || err != nil {
		t.Fatal(n, err)
	}
	if _, _, err := fr.ReadCRC(buf); err == nil || err.Error() != "chunk 1 at byte 0: checksum mismatch" {
		t.Fatalf("ReadCRC after a bad deferred frame: %v", err)
	}
}

// ReadCRC gives the CRC-32C of every piece it hands out, for frames larger
// and smaller than the buffer and pieces across frames' ends.
func TestFrameReadCRC(t *testing.T) {
	for _, c := range []struct{ size, chunk int }{
		{5*MaxChunk + 3, MaxChunk},
		{300 << 10, 1000},
		{1, MaxChunk},
		{0, MaxChunk},
	} {
		data := frameTestData(c.size, uint64(c.size)+1)
		stream := frameEncode(t, data, c.chunk)
		for _, bufs := range [][]int{
			{4 * MaxChunk},
			{MaxChunk},
			{MaxChunk - 1000, MaxChunk},      // a tape writer's buffer behind its headers
			{300, 4096, MaxChunk + 1, 77777}, // every kind of split
			{1},
		} {
			what := strconv.Itoa(c.size) + " bytes in frames of " + strconv.Itoa(c.chunk) + ", buffers " + strconv.Itoa(bufs[0])
			for _, mix := range []bool{false, true} {
				fr := NewFrameReader(bytes.NewReader(stream))
				var out []byte
				for i := 0; ; i++ {
					p := make([]byte, bufs[i%len(bufs)])
					var n int
					var crc uint32
					var err error
					if mix && i%3 == 1 {
						n, err = fr.Read(p) // leaves a frame's rest with no CRC known
						crc = crc32.Checksum(p[:n], frameCRCTable)
					} else {
						n, crc, err = fr.ReadCRC(p)
					}
					if want := crc32.Checksum(p[:n], frameCRCTable); crc != want {
						t.Fatalf("%s, piece %d of %d bytes: CRC %08x, want %08x", what, i, n, crc, want)
					}
					out = append(out, p[:n]...)
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatalf("%s: %v", what, err)
					}
					if c.size > 1<<20 && bufs[0] == 1 && i > 3000 {
						// enough one-byte pieces; the rest in one go
						var rest bytes.Buffer
						if _, err := fr.WriteTo(&rest); err != nil {
							t.Fatal(err)
						}
						out = append(out, rest.Bytes()...)
						break
					}
				}
				if !bytes.Equal(out, data) {
					t.Fatalf("%s: payload differs", what)
				}
			}
		}
	}
}

func TestFrameReadCRCCorruptFrame(t *testing.T) {
	data := frameTestData(3*MaxChunk, 25)
	stream := frameEncode(t, data, MaxChunk)
	frame := 4 + MaxChunk + 4
	for _, at := range []int{frame + 4 + 3, frame + 4 + MaxChunk - 2, frame + 4 + MaxChunk + 1} {
		bad := bytes.Clone(stream)
		bad[at] ^= 4
		_, want := frameDecode(bad)
		for _, size := range []int{4 * MaxChunk, MaxChunk - 1000, 4096} {
			fr := NewFrameReader(bytes.NewReader(bad))
			p := make([]byte, size)
			var err error
			var got int
			for err == nil {
				var n int
				n, _, err = fr.ReadCRC(p)
				got += n
			}
			if err.Error() != want.Error() || err.Error() != "chunk 2 at byte 1048576: checksum mismatch" {
				t.Errorf("flip at %d, buffer %d: %v, want %v", at, size, err, want)
			}
			if got != MaxChunk {
				t.Errorf("flip at %d, buffer %d: %d bytes handed out before the bad frame, want %d", at, size, got, MaxChunk)
			}
		}
	}
}

// ReadDeferred itself never answers io.EOF, nor a later failure, while a
// bad frame it handed out is unreported: a caller that only settles once
// the stream has ended still gets the first failure.
func TestFrameReadDeferredEndsOnlyAfterTheChecks(t *testing.T) {
	data := frameTestData(3*MaxChunk, 26)
	stream := frameEncode(t, data, MaxChunk)
	frame := 4 + MaxChunk + 4
	bad := bytes.Clone(stream)
	bad[frame+4+1] ^= 1
	for _, s := range [][]byte{bad, bad[:len(bad)-2], bad[:2*frame+10]} {
		fr := NewFrameReader(bytes.NewReader(s))
		buf := make([]byte, 4*MaxChunk)
		k := 0
		var err error
		for err == nil {
			var n int
			n, err = fr.ReadDeferred(buf[k:])
			k += n
		}
		if err.Error() != "chunk 2 at byte 1048576: checksum mismatch" {
			t.Errorf("stream of %d bytes: %v", len(s), err)
		}
	}
}

// What was read after a bad frame handed out unchecked is never handed out,
// not even the verified rest of a later frame.
func TestFrameReadDeferredDropsWhatFollowsABadFrame(t *testing.T) {
	data := frameTestData(4*MaxChunk, 27)
	stream := frameEncode(t, data, MaxChunk)
	frame := 4 + MaxChunk + 4
	bad := bytes.Clone(stream)
	bad[frame+4+1] ^= 1
	fr := NewFrameReader(bytes.NewReader(bad))
	buf := make([]byte, 5*MaxChunk/2)
	k := 0
	for range 3 { // two whole frames, and half of the third
		n, err := fr.ReadDeferred(buf[k:])
		if err != nil {
			t.Fatal(err)
		}
		k += n
	}
	if k != len(buf) {
		t.Fatalf("read %d bytes", k)
	}
	if err := fr.Settle(); err == nil || err.Error() != "chunk 2 at byte 1048576: checksum mismatch" {
		t.Fatalf("Settle: %v", err)
	}
	for _, read := range []func([]byte) (int, error){fr.ReadDeferred, fr.Read} {
		if n, err := read(buf); n != 0 || err == nil {
			t.Fatalf("after the mismatch: %d bytes, %v", n, err)
		}
	}
	var w bytes.Buffer
	if n, err := fr.WriteTo(&w); n != 0 || err == nil {
		t.Fatalf("WriteTo after the mismatch: %d bytes, %v", n, err)
	}
}
