package mtf

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// drainModes are the ways a consumer takes a DataReader's data: Read into
// a small buffer, ReadChunk, WriteTo, and Read and ReadChunk in turn, so
// that ReadChunk also hands out the rest of chunks Read began, long rests
// and short ones.
var drainModes = []string{"Read", "ReadChunk", "WriteTo", "mixed"}

// drain reads d to its end as mode says and returns the data and the
// checks' error (nil for io.EOF); every piece ReadChunk hands out must
// come with its own CRC-32C.
func drain(t *testing.T, d *DataReader, mode string, chunkSize int) ([]byte, error) {
	t.Helper()
	var out []byte
	chunk := func() error {
		p, crc, err := d.ReadChunk()
		if want := crc32.Checksum(p, castagnoli); crc != want {
			t.Fatalf("%s: a piece of %d bytes came with CRC-32C %#08x, want %#08x", mode, len(p), crc, want)
		}
		out = append(out, p...)
		return err
	}
	read := func(n int) error {
		buf := make([]byte, n)
		k, err := d.Read(buf)
		out = append(out, buf[:k]...)
		return err
	}
	var err error
	switch mode {
	case "Read":
		for err == nil {
			err = read(777)
		}
	case "ReadChunk":
		for err == nil {
			err = chunk()
		}
	case "WriteTo":
		var b bytes.Buffer
		_, err = d.WriteTo(&b)
		out = b.Bytes()
		if err == nil {
			err = io.EOF
		}
	case "mixed":
		for err == nil {
			for _, step := range []func() error{
				chunk,
				func() error { return read(5) },
				chunk, // most of a chunk: its CRC from the few bytes Read took
				func() error { return read(max(1, chunkSize-2)) },
				chunk, // the last two bytes
			} {
				if err = step(); err != nil {
					break
				}
			}
		}
	}
	if err == io.EOF {
		err = nil
	}
	return out, err
}

// Sizes of file around the chunk sizes and the 32-bit words of the CSUM.
var dataSizes = []int{0, 1, 3, 4, 5, 4<<10 + 1, 10_001}

// Chunk sizes that do and do not divide the data, and that leave chunks
// starting at every phase of a 32-bit word.
var chunkSizes = []int{1, 3, 4, 7, 1000, 4096, 1 << 20}

func randomData(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// Plain data reads back whole through every chunk size and every way of
// consuming it, each piece with its CRC-32C, the checks passing.
func TestDataChunksPlain(t *testing.T) {
	var files []testFile
	for _, n := range dataSizes {
		files = append(files, testFile{fmt.Sprintf("f%d", n), randomData(n)})
	}
	r := openBytes(t, buildTape(t, files))
	c, err := r.Scan()
	if err != nil || len(c.Sets) != 1 {
		t.Fatalf("scan: %v", err)
	}
	for i, e := range c.Sets[0].Files {
		for j, cs := range chunkSizes {
			for _, mode := range drainModes {
				d, err := r.OpenData(e.Block, e.Path(), DataOptions{Strong: j%2 == 0, ChunkSize: cs})
				if err != nil {
					t.Fatal(err)
				}
				got, err := drain(t, d, mode, cs)
				d.Close()
				if err != nil || !bytes.Equal(got, files[i].data) {
					t.Errorf("%d bytes in chunks of %d, %s: %d bytes, %v", len(files[i].data), cs, mode, len(got), err)
				}
			}
		}
	}
}

// Encrypted data reads back as its plaintext, each piece with the
// plaintext's CRC-32C; read sealed, as the bytes on tape with theirs.
func TestDataChunksEncrypted(t *testing.T) {
	key := randomData(DataKeySize)
	sizes := append(dataSizes, PayloadChunk, 3*PayloadChunk+7)
	tape, data := buildEncrypted(t, key, 4096, sizes)
	r := openBytes(t, tape)
	c, err := r.Scan()
	if err != nil || len(c.Sets) != 1 {
		t.Fatalf("scan: %v", err)
	}
	for i, e := range c.Sets[0].Files {
		on := e.Block.Data
		sealed := tape[on.Offset : on.Offset+int64(on.Header.Length)]
		for j, cs := range []int{1, PayloadChunk, 2 * PayloadChunk} {
			for _, mode := range drainModes {
				d, err := r.OpenData(e.Block, "f", DataOptions{Strong: j%2 == 0, Key: key, ChunkSize: cs})
				if err != nil {
					t.Fatal(err)
				}
				got, err := drain(t, d, mode, cs)
				d.Close()
				if err != nil || !bytes.Equal(got, data[i]) {
					t.Errorf("%d bytes in chunks of %d, %s: %d bytes, %v", sizes[i], cs, mode, len(got), err)
				}
				d, err = r.OpenData(e.Block, "f", DataOptions{Sealed: true, ChunkSize: cs})
				if err != nil {
					t.Fatal(err)
				}
				got, err = drain(t, d, mode, cs)
				d.Close()
				if err != nil || !bytes.Equal(got, sealed) {
					t.Errorf("%d bytes sealed in chunks of %d, %s: %d bytes, %v", sizes[i], cs, mode, len(got), err)
				}
			}
		}
	}
}

// drainAll reads a FILE's data every way, through every chunk size, and
// returns the error, which must be the same each time.
func drainAll(t *testing.T, r *Reader, b *Block, sizes []int, o DataOptions) error {
	t.Helper()
	var first error
	for _, cs := range sizes {
		for _, mode := range drainModes {
			o.ChunkSize = cs
			d, err := r.OpenData(b, "f", o)
			if err != nil {
				t.Fatal(err)
			}
			_, err = drain(t, d, mode, cs)
			d.Close()
			if err == nil {
				t.Fatalf("chunks of %d, %s: the damage went unseen", cs, mode)
			}
			if first == nil {
				first = err
			} else if err.Error() != first.Error() {
				t.Fatalf("chunks of %d, %s: %v, where another read gave %v", cs, mode, err, first)
			}
		}
	}
	return first
}

func xor32(b []byte) uint32 {
	var x XOR32
	x.Write(b)
	return x.Sum32()
}

// A flipped byte in the data fails the CSUM; a CSUM or an EXBH CRC-32C
// that does not match the data fails it with the same words; data changed
// so that its CSUM stays the same fails the CRC-32C.
func TestDataDamageCaught(t *testing.T) {
	data := randomData(10_001)
	tape := buildTape(t, []testFile{{"f", data}})
	r := openBytes(t, tape)
	c, err := r.Scan()
	if err != nil {
		t.Fatal(err)
	}
	b := c.Sets[0].Files[0].Block
	at := b.Data.Offset
	sum, crc := xor32(data), crc32.Checksum(data, castagnoli)
	if b.Checksum != sum || b.Hash.CRC32C != crc {
		t.Fatalf("CSUM %#08x, CRC-32C %#08x on tape", b.Checksum, b.Hash.CRC32C)
	}
	reopen := func(tape []byte) (*Reader, *Block) {
		r := openBytes(t, tape)
		b, err := r.ReadBlockAt(c.Sets[0].Files[0].Block.Offset)
		if err != nil {
			t.Fatal(err)
		}
		return r, b
	}
	check := func(name string, err error, want error, detail string) {
		t.Helper()
		var fe *FormatError
		if !errors.Is(err, want) || !errors.As(err, &fe) || fe.File != "f" || !strings.Contains(err.Error(), detail) {
			t.Errorf("%s: %v, want %q", name, err, detail)
		}
	}
	for _, strong := range []bool{false, true} {
		o := DataOptions{Strong: strong}
		// A byte of the data, at each phase of a word.
		for _, i := range []int{0, 1, 4002, 4003, 10_000} {
			bad := bytes.Clone(tape)
			bad[at+int64(i)] ^= 0x40
			r, b := reopen(bad)
			got := xor32(bad[at : at+int64(len(data))])
			err := drainAll(t, r, b, chunkSizes, o)
			check(fmt.Sprintf("data byte %d", i), err, ErrChecksum, fmt.Sprintf("CSUM %#08x, data gives %#08x", sum, got))
		}
		// The same bit of two words: the CSUM is the same, the CRC-32C
		// is not.
		bad := bytes.Clone(tape)
		bad[at+998] ^= 0x08
		bad[at+1002] ^= 0x08
		r, b := reopen(bad)
		err := drainAll(t, r, b, chunkSizes, o)
		check("two bytes", err, ErrHash, fmt.Sprintf("CRC-32C %#08x, data gives %#08x", crc, crc32.Checksum(bad[at:at+int64(len(data))], castagnoli)))
		// The CSUM stream's value.
		r, b = reopen(tape)
		b.Checksum ^= 0x100
		err = drainAll(t, r, b, chunkSizes, o)
		check("CSUM", err, ErrChecksum, fmt.Sprintf("CSUM %#08x, data gives %#08x", sum^0x100, sum))
		// The EXBH's CRC-32C.
		r, b = reopen(tape)
		b.Hash.CRC32C ^= 0x8000_0000
		err = drainAll(t, r, b, chunkSizes, o)
		check("EXBH CRC-32C", err, ErrHash, fmt.Sprintf("CRC-32C %#08x, data gives %#08x", crc^0x8000_0000, crc))
	}
	// On tape, a changed CSUM stream is caught too.
	var csum int64 = -1
	for _, s := range b.Streams {
		if s.Header.ID == StreamChecksum {
			csum = s.Offset
		}
	}
	bad := bytes.Clone(tape)
	bad[csum+1] ^= 0x01
	r, b = reopen(bad)
	check("CSUM on tape", drainAll(t, r, b, chunkSizes, DataOptions{}), ErrChecksum, fmt.Sprintf("CSUM %#08x, data gives %#08x", sum^0x100, sum))
}

// Encrypted data's CRC-32C is checked on the plaintext, its CSUM on what
// lies on tape.
func TestEncryptedDataDamageCaught(t *testing.T) {
	key := randomData(DataKeySize)
	tape, data := buildEncrypted(t, key, 4096, []int{3*PayloadChunk + 7})
	r := openBytes(t, tape)
	c, err := r.Scan()
	if err != nil {
		t.Fatal(err)
	}
	b := c.Sets[0].Files[0].Block
	crc := crc32.Checksum(data[0], castagnoli)
	sizes := []int{1, 2 * PayloadChunk}
	b.Hash.CRC32C ^= 1
	err = drainAll(t, r, b, sizes, DataOptions{Key: key})
	if want := fmt.Sprintf("CRC-32C %#08x, data gives %#08x", crc^1, crc); !errors.Is(err, ErrHash) || !strings.Contains(err.Error(), want) {
		t.Errorf("EXBH CRC-32C: %v, want %q", err, want)
	}
	b.Hash.CRC32C ^= 1
	on := b.Data
	sum := xor32(tape[on.Offset : on.Offset+int64(on.Header.Length)])
	b.Checksum ^= 1
	for _, o := range []DataOptions{{Key: key}, {Sealed: true}} {
		err = drainAll(t, r, b, sizes, o)
		if want := fmt.Sprintf("CSUM %#08x, data gives %#08x", sum^1, sum); !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), want) {
			t.Errorf("CSUM, sealed %v: %v, want %q", o.Sealed, err, want)
		}
	}
}

// failingSource fails the read at one offset at once, after a short read,
// while the reads before it take their time, so that the failure is known
// before the chunks that come first have arrived.
type failingSource struct {
	r     io.ReaderAt
	at    int64 // where the failing read starts
	short int   // how many bytes it gives
	err   error
	reads atomic.Int32
}

func (f *failingSource) ReadAt(p []byte, off int64) (int, error) {
	f.reads.Add(1)
	if off == f.at {
		n, _ := f.r.ReadAt(p[:f.short], off)
		return n, f.err
	}
	if off < f.at {
		time.Sleep(2 * time.Millisecond)
	}
	return f.r.ReadAt(p, off)
}

// A failed read of chunk N surfaces after chunks 0 to N-1, whole and with
// their CRC-32Cs, naming the byte where it failed; a read that ends early
// is a truncation there. Later calls repeat the error.
func TestDataReadErrorInOrder(t *testing.T) {
	data := randomData(10_001)
	tape := buildTape(t, []testFile{{"f", data}})
	r := openBytes(t, tape)
	c, err := r.Scan()
	if err != nil {
		t.Fatal(err)
	}
	b := c.Sets[0].Files[0].Block
	gone := errors.New("the disk went away")
	const cs, n = 1000, 6
	for _, f := range []struct {
		short int
		err   error
		want  error
	}{
		{0, gone, gone},
		{123, gone, gone},
		{123, io.EOF, ErrTruncated},
		{123, nil, ErrTruncated},
	} {
		src := &failingSource{r: bytes.NewReader(tape), at: b.Data.Offset + n*cs, short: f.short, err: f.err}
		d, err := r.OpenData(b, "f", DataOptions{Strong: true, ChunkSize: cs, Source: src})
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			p, crc, err := d.ReadChunk()
			if err != nil || !bytes.Equal(p, data[i*cs:(i+1)*cs]) || crc != crc32.Checksum(p, castagnoli) {
				t.Fatalf("chunk %d: %d bytes, CRC-32C %#08x, %v", i, len(p), crc, err)
			}
		}
		_, _, err = d.ReadChunk()
		where := fmt.Sprintf("reading data at byte %d: ", b.Data.Offset+n*cs+int64(f.short))
		var fe *FormatError
		if !errors.Is(err, f.want) || !errors.As(err, &fe) || fe.File != "f" || !strings.Contains(err.Error(), where) {
			t.Errorf("short %d, %v: %v, want %q and %v", f.short, f.err, err, where, f.want)
		}
		if _, _, again := d.ReadChunk(); again != err {
			t.Errorf("the next call gave %v", again)
		}
		if _, again := d.Read(make([]byte, 10)); again != err {
			t.Errorf("the next Read gave %v", again)
		}
		d.Close()
	}
}

// slowSource delays every read, so that reads are in flight when the
// reader is closed.
type slowSource struct{ r io.ReaderAt }

func (s slowSource) ReadAt(p []byte, off int64) (int, error) {
	time.Sleep(time.Millisecond)
	return s.r.ReadAt(p, off)
}

// Closing a DataReader in the middle of a file, with reads in flight, a
// chunk held by the consumer or the digest still to compute, stops every
// goroutine it started.
func TestDataCloseMidFileLeaksNothing(t *testing.T) {
	key := randomData(DataKeySize)
	plain := buildTape(t, []testFile{{"f", randomData(100_000)}})
	enc, _ := buildEncrypted(t, key, 4096, []int{5 * PayloadChunk})
	before := runtime.NumGoroutine()
	for _, c := range []struct {
		tape []byte
		o    DataOptions
	}{
		{plain, DataOptions{ChunkSize: 1000}},
		{plain, DataOptions{ChunkSize: 1001, Strong: true}},
		{enc, DataOptions{ChunkSize: PayloadChunk, Key: key, Strong: true}},
		{enc, DataOptions{ChunkSize: PayloadChunk, Sealed: true}},
	} {
		r := openBytes(t, c.tape)
		s, err := r.Scan()
		if err != nil {
			t.Fatal(err)
		}
		b := s.Sets[0].Files[0].Block
		for _, taken := range []int{0, 1, 3} {
			o := c.o
			o.Source = slowSource{bytes.NewReader(c.tape)}
			d, err := r.OpenData(b, "f", o)
			if err != nil {
				t.Fatal(err)
			}
			for range taken {
				if _, _, err := d.ReadChunk(); err != nil {
					t.Fatal(err)
				}
			}
			if taken == 3 {
				d.Read(make([]byte, 10)) // a chunk begun
			}
			d.Close()
		}
	}
	// Close waits for its goroutines; give them the moment they take to
	// return once done.
	for range 500 {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<16)
	t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
}

// alignSource records where each read lands, in the file and in memory.
type alignSource struct {
	r     io.ReaderAt
	mu    sync.Mutex
	reads []alignedRead
}

type alignedRead struct {
	off int64 // the read's offset
	mem int64 // its buffer's address, modulo the alignment
	n   int
}

func (s *alignSource) ReadAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	s.reads = append(s.reads, alignedRead{off: off, mem: int64(uintptr(unsafe.Pointer(&p[0])) % 4096), n: len(p)})
	s.mu.Unlock()
	return s.r.ReadAt(p, off)
}

// With Align, plain data is read into aligned buffers and every read after
// the first starts on an Align boundary of the tape, so that a source past
// the page cache fills it in place; the data and its checks are as
// without. An alignment that is not a power of two is refused.
func TestDataReadsAligned(t *testing.T) {
	data := randomData(5<<20 + 777)
	tape := buildTape(t, []testFile{{"f", data}})
	r := openBytes(t, tape)
	c, err := r.Scan()
	if err != nil || len(c.Sets) != 1 {
		t.Fatalf("scan: %v", err)
	}
	b := c.Sets[0].Files[0].Block
	if b.Data.Offset%4096 == 0 {
		t.Fatalf("the data starts on a block boundary (%d): nothing to align", b.Data.Offset)
	}
	for _, mode := range drainModes {
		src := &alignSource{r: bytes.NewReader(tape)}
		d, err := r.OpenData(b, "f", DataOptions{Strong: true, Source: src, Align: 4096})
		if err != nil {
			t.Fatal(err)
		}
		got, err := drain(t, d, mode, DefaultBufferSize)
		d.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: %d of %d bytes, %v", mode, len(got), len(data), err)
		}
		if len(src.reads) < 6 {
			t.Fatalf("%s: %d reads for %d bytes in chunks of 1 MiB", mode, len(src.reads), len(data))
		}
		for _, rd := range src.reads {
			if rd.mem != 0 || rd.off != b.Data.Offset && rd.off%4096 != 0 {
				t.Errorf("%s: a read of %d bytes at byte %d, into memory %d bytes past a boundary", mode, rd.n, rd.off, rd.mem)
			}
		}
	}
	if _, err := r.OpenData(b, "f", DataOptions{Align: 3000}); err == nil || !strings.Contains(err.Error(), "not a power of two") {
		t.Errorf("alignment 3000: %v", err)
	}
}
