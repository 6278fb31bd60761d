package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"exbackup/exchange"
)

// frameTestData returns n reproducible pseudo-random bytes.
func frameTestData(n int, seed uint64) []byte {
	b := make([]byte, n)
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	rand.NewChaCha8(key).Read(b)
	return b
}

// frameEncode frames data with the given chunk size.
func frameEncode(t testing.TB, data []byte, chunk int) []byte {
	t.Helper()
	var buf bytes.Buffer
	fw := newFrameWriterSize(&buf, chunk)
	if _, err := fw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// frameDecode reads a framed stream to its end with io.ReadAll (small
// reads, so frames are buffered).
func frameDecode(b []byte) ([]byte, error) {
	return io.ReadAll(NewFrameReader(bytes.NewReader(b)))
}

func TestFrameRoundTrip(t *testing.T) {
	sizes := []int{0, 1, MaxChunk - 1, MaxChunk, MaxChunk + 1, 5 * MaxChunk}
	for _, size := range sizes {
		data := frameTestData(size, uint64(size))
		writers := map[string]func(*FrameWriter) error{
			"one write": func(fw *FrameWriter) error { _, err := fw.Write(data); return err },
			"small writes": func(fw *FrameWriter) error {
				for p := data; len(p) > 0; {
					n := min(len(p), 7777)
					if _, err := fw.Write(p[:n]); err != nil {
						return err
					}
					p = p[n:]
				}
				return nil
			},
			"ReadFrom": func(fw *FrameWriter) error {
				_, err := io.Copy(fw, iotest.HalfReader(bytes.NewReader(data)))
				return err
			},
		}
		readers := map[string]func(io.Reader) ([]byte, error){
			"ReadAll": io.ReadAll,
			"big reads": func(r io.Reader) ([]byte, error) {
				var out []byte
				buf := make([]byte, 3*MaxChunk)
				for {
					n, err := r.Read(buf)
					out = append(out, buf[:n]...)
					if err == io.EOF {
						return out, nil
					}
					if err != nil {
						return out, err
					}
				}
			},
			"one-byte reads": func(r io.Reader) ([]byte, error) {
				// One byte at a time through a whole chunk is slow under
				// the race detector; an odd size crosses every boundary too.
				if size > 1<<16 {
					return io.ReadAll(iotest.HalfReader(r))
				}
				return io.ReadAll(iotest.OneByteReader(r))
			},
			"WriteTo": func(r io.Reader) ([]byte, error) {
				var out bytes.Buffer
				_, err := r.(io.WriterTo).WriteTo(&out)
				return out.Bytes(), err
			},
		}
		for wname, write := range writers {
			var stream bytes.Buffer
			fw := NewFrameWriter(&stream)
			if err := write(fw); err != nil {
				t.Fatalf("size %d, %s: %v", size, wname, err)
			}
			if err := fw.Close(); err != nil {
				t.Fatalf("size %d, %s: close: %v", size, wname, err)
			}
			if got := fw.Written(); got != int64(size) {
				t.Errorf("size %d, %s: Written = %d", size, wname, got)
			}
			frames := (size + MaxChunk - 1) / MaxChunk
			if want := size + 8*frames + 4 + sumSize + 8; stream.Len() != want {
				t.Errorf("size %d, %s: stream of %d bytes, want %d", size, wname, stream.Len(), want)
			}
			for rname, read := range readers {
				got, err := read(NewFrameReader(bytes.NewReader(stream.Bytes())))
				if err != nil {
					t.Fatalf("size %d, %s, %s: %v", size, wname, rname, err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("size %d, %s, %s: payload differs (%d bytes, want %d)", size, wname, rname, len(got), len(data))
				}
			}
		}
	}
}

func TestFrameReaderDoneOnlyAfterTrailer(t *testing.T) {
	stream := frameEncode(t, []byte("hello"), MaxChunk)
	fr := NewFrameReader(bytes.NewReader(stream))
	buf := make([]byte, 5)
	if n, err := fr.Read(buf); n != 5 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	if fr.Done() {
		t.Fatal("Done before the trailer was read")
	}
	if n, err := fr.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("Read at end = %d, %v; want 0, EOF", n, err)
	}
	if !fr.Done() || fr.Verified() != 5 {
		t.Fatalf("Done = %v, Verified = %d", fr.Done(), fr.Verified())
	}
	if n, err := fr.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("Read after end = %d, %v; want 0, EOF", n, err)
	}
}

// frameMustFail checks that a damaged stream gives a *StreamError and never
// a clean end.
func frameMustFail(t *testing.T, what string, stream []byte) {
	t.Helper()
	for _, rd := range []struct {
		name string
		read func([]byte) ([]byte, error)
	}{
		{"Read", frameDecode},
		{"WriteTo", func(b []byte) ([]byte, error) {
			var out bytes.Buffer
			_, err := NewFrameReader(bytes.NewReader(b)).WriteTo(&out)
			return out.Bytes(), err
		}},
		{"ReadDeferred", func(b []byte) ([]byte, error) { return frameDecodeDeferred(bytes.NewReader(b), 3*MaxChunk-5) }},
	} {
		_, err := rd.read(stream)
		if err == nil {
			t.Fatalf("%s (%s): damaged stream read cleanly", what, rd.name)
		}
		var se *StreamError
		if !errors.As(err, &se) || !errors.Is(err, ErrCorruptStream) || !errors.Is(err, exchange.ErrInternal) {
			t.Fatalf("%s (%s): error %v (%T) is not a StreamError matching ErrCorruptStream and ErrInternal", what, rd.name, err, err)
		}
	}
}

func TestFrameFlippedByteDetected(t *testing.T) {
	// Many small frames, so every part of a frame gets its turn.
	data := frameTestData(100, 1)
	stream := frameEncode(t, data, 16)
	for i := range stream {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			bad := bytes.Clone(stream)
			bad[i] ^= mask
			frameMustFail(t, "flip at byte "+strconv.Itoa(i), bad)
		}
	}
	// Full-size frames: the headers, the middle of a payload, the CRCs and
	// the trailer.
	big := frameTestData(2*MaxChunk+10, 2)
	stream = frameEncode(t, big, MaxChunk)
	frame := 4 + MaxChunk + 4
	for _, i := range []int{0, 3, 4, MaxChunk / 2, 4 + MaxChunk, 4 + MaxChunk + 3, frame, frame + 2, frame + 4 + 77, 2*frame + 1, len(stream) - 16, len(stream) - 12, len(stream) - 6, len(stream) - 1} {
		bad := bytes.Clone(stream)
		bad[i] ^= 0x10
		frameMustFail(t, "flip at byte "+strconv.Itoa(i)+" of a big stream", bad)
	}
}

func TestFrameTruncationDetected(t *testing.T) {
	data := frameTestData(100, 3)
	stream := frameEncode(t, data, 16)
	for n := 0; n < len(stream); n++ {
		frameMustFail(t, "truncated to "+strconv.Itoa(n)+" bytes", stream[:n])
	}
	// Every frame boundary of full-size frames.
	big := frameTestData(3*MaxChunk, 4)
	stream = frameEncode(t, big, MaxChunk)
	frame := 4 + MaxChunk + 4
	for _, n := range []int{0, frame, 2 * frame, 3 * frame, 3*frame + 4, len(stream) - 1} {
		frameMustFail(t, "truncated to "+strconv.Itoa(n)+" bytes", stream[:n])
	}
	_, err := frameDecode(stream[:2*frame])
	if !strings.Contains(err.Error(), "stream truncated after 2097152 bytes") {
		t.Errorf("truncation message: %v", err)
	}
}

func TestFrameTrailingDataRejected(t *testing.T) {
	stream := frameEncode(t, []byte("payload"), MaxChunk)
	frameMustFail(t, "trailing byte", append(bytes.Clone(stream), 0))
	frameMustFail(t, "a second stream", append(bytes.Clone(stream), stream...))
}

func TestFrameMessages(t *testing.T) {
	data := frameTestData(40, 5)
	stream := frameEncode(t, data, 16)
	bad := bytes.Clone(stream)
	bad[4+16+4+4+3] ^= 1 // in the payload of chunk 2
	_, err := frameDecode(bad)
	if err == nil || err.Error() != "chunk 2 at byte 16: checksum mismatch" {
		t.Errorf("flipped payload: %v", err)
	}
	_, err = frameDecode(stream[:4+16+4])
	if err == nil || err.Error() != "stream truncated after 16 bytes" {
		t.Errorf("truncated: %v", err)
	}
}

func TestFrameHugeLengthRejectedWithoutAllocation(t *testing.T) {
	for _, length := range []uint32{MaxChunk + 1, 1 << 31, 0xffffffff} {
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], length)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := frameDecode(hdr[:])
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), "exceeds the limit") {
			t.Fatalf("length %d: %v", length, err)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 256<<10 {
			t.Errorf("length %d: %d bytes allocated", length, grew)
		}
	}
	// A length within the limit but with little behind it costs little.
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], MaxChunk)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := io.ReadAll(NewFrameReader(io.MultiReader(bytes.NewReader(hdr[:]), strings.NewReader("short"))))
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("short frame read cleanly")
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 512<<10 {
		t.Errorf("short frame claiming 1 MiB: %d bytes allocated", grew)
	}
}

func TestFrameWrongTrailer(t *testing.T) {
	data := []byte("some payload")
	stream := frameEncode(t, data, MaxChunk)
	// A trailer with a correct hash but a wrong total.
	bad := bytes.Clone(stream)
	binary.BigEndian.PutUint64(bad[len(bad)-8:], 99)
	frameMustFail(t, "wrong total", bad)
	// A stream that ends with a trailer for other data.
	other := [4]byte{1, 2, 3, 4}
	bad = bytes.Clone(stream)
	copy(bad[len(bad)-12:], other[:])
	frameMustFail(t, "wrong hash", bad)
}

func TestFrameUnderlyingErrorKept(t *testing.T) {
	boom := errors.New("link down")
	stream := frameEncode(t, frameTestData(100, 6), 16)
	r := io.MultiReader(bytes.NewReader(stream[:30]), iotest.ErrReader(boom))
	_, err := io.ReadAll(NewFrameReader(r))
	if !errors.Is(err, boom) || !errors.Is(err, ErrCorruptStream) {
		t.Fatalf("error %v does not keep the underlying error", err)
	}
}

func TestFrameWriterErrors(t *testing.T) {
	boom := errors.New("disk full")
	fw := NewFrameWriter(&frameFailingWriter{after: 10, err: boom})
	if _, err := fw.Write(make([]byte, MaxChunk)); !errors.Is(err, boom) {
		t.Fatalf("Write: %v", err)
	}
	if _, err := fw.Write([]byte("x")); !errors.Is(err, boom) {
		t.Fatalf("Write after failure: %v", err)
	}
	if err := fw.Close(); !errors.Is(err, boom) {
		t.Fatalf("Close after failure: %v", err)
	}

	var buf bytes.Buffer
	fw = NewFrameWriter(&buf)
	fw.Write([]byte("abc"))
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := fw.Write([]byte("more")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
	if got, err := frameDecode(buf.Bytes()); err != nil || string(got) != "abc" {
		t.Fatalf("after double Close: %q, %v", got, err)
	}
}

func TestFrameWriterFlush(t *testing.T) {
	var buf bytes.Buffer
	fw := NewFrameWriter(&buf)
	fw.Write([]byte("abc"))
	if buf.Len() != 0 {
		t.Fatal("a partial frame went out before Flush")
	}
	if err := fw.Flush(); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 4+3+4 {
		t.Fatalf("after Flush: %d bytes", buf.Len())
	}
}

type frameFailingWriter struct {
	after int
	err   error
}

func (w *frameFailingWriter) Write(p []byte) (int, error) {
	if len(p) > w.after {
		n := w.after
		w.after = 0
		return n, w.err
	}
	w.after -= len(p)
	return len(p), nil
}

// BenchmarkFrameCodec measures writing and reading a framed stream; -bench
// reports MB/s of payload.
func BenchmarkFrameCodec(b *testing.B) {
	for _, size := range []int{64 << 10, 16 << 20} {
		data := frameTestData(size, 7)
		b.Run("write/"+strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				fw := NewFrameWriter(io.Discard)
				fw.Write(data)
				fw.Close()
			}
		})
		stream := frameEncode(b, data, MaxChunk)
		b.Run("read/"+strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, err := io.Copy(io.Discard, NewFrameReader(bytes.NewReader(stream))); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("pipe/"+strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				pr, pw := io.Pipe()
				go func() {
					fw := NewFrameWriter(pw)
					fw.ReadFrom(bytes.NewReader(data))
					pw.CloseWithError(fw.Close())
				}()
				if _, err := io.Copy(io.Discard, NewFrameReader(pr)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// chunkSource hands out data in pieces with their CRCs, as a tape does.
type chunkSource struct {
	pieces [][]byte
	lie    bool // report a wrong CRC for the first piece
	err    error
}

func (c *chunkSource) Read([]byte) (int, error) { panic("a ChunkReader was read byte-wise") }

func (c *chunkSource) ReadChunk() ([]byte, uint32, error) {
	if len(c.pieces) == 0 {
		if c.err != nil {
			return nil, 0, c.err
		}
		return nil, 0, io.EOF
	}
	p := c.pieces[0]
	c.pieces = c.pieces[1:]
	crc := crc32Of(p)
	if c.lie {
		crc ^= 1
		c.lie = false
	}
	return p, crc, nil
}

func crc32Of(p []byte) uint32 { return crc32.Checksum(p, frameCRCTable) }

// A ChunkReader's pieces go out with the CRCs it gave, whatever their
// sizes; the reader checks them as any others.
func TestFrameWriterReusesChunkCRCs(t *testing.T) {
	data := frameTestData(3*MaxChunk+12345, 7)
	pieces := [][]byte{data[:100], data[100 : 100+2*MaxChunk+5], data[100+2*MaxChunk+5:]}
	var buf bytes.Buffer
	fw := NewFrameWriter(&buf)
	if n, err := fw.ReadFrom(&chunkSource{pieces: pieces}); err != nil || n != int64(len(data)) {
		t.Fatalf("ReadFrom = %d, %v", n, err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(NewFrameReader(&buf))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("round trip: %d bytes, %v", len(got), err)
	}

	// The source's CRC is what travels: a wrong one is caught.
	buf.Reset()
	fw = NewFrameWriter(&buf)
	fw.ReadFrom(&chunkSource{pieces: [][]byte{data[:1000]}, lie: true})
	fw.Close()
	if _, err := io.ReadAll(NewFrameReader(&buf)); !errors.Is(err, ErrCorruptStream) {
		t.Fatalf("a wrong chunk CRC: %v", err)
	}
	// A source that fails at its end stops the stream before the trailer.
	fw = NewFrameWriter(io.Discard)
	bad := errors.New("CSUM mismatch")
	if _, err := fw.ReadFrom(&chunkSource{pieces: [][]byte{data[:10]}, err: bad}); !errors.Is(err, bad) {
		t.Fatalf("source failure: %v", err)
	}
}
