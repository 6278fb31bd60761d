package mtf

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/zeebo/blake3"

	"exbackup/internal/crc32c"
)

// checksumFiles are sizes around the writer's buffer (1 MiB) and the
// smallest segment whose checksums the hasher computes beside the digest.
func checksumFiles() []testFile {
	rng := rand.New(rand.NewPCG(9, 10))
	var files []testFile
	for i, size := range []int{0, 1, 3, besideMin - 1, besideMin + 3, DefaultBufferSize - 5000, DefaultBufferSize + 7, 3*DefaultBufferSize + 333} {
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		files = append(files, testFile{name: "file" + string(rune('a'+i)), data: data})
	}
	return files
}

// vouchingReader reads data in frames of frame bytes, as the API's framed
// stream does, and gives with each read the CRC-32C of what it read, or
// crc of its own.
type vouchingReader struct {
	r     *bytes.Reader
	frame int
	lie   func(p []byte) uint32 // nil: the true CRC
	calls int
	given uint32 // the CRC-32C of the whole, combined from those given
}

func (v *vouchingReader) Read(p []byte) (int, error) {
	return 0, errors.New("Read called on a source with ReadCRC")
}

func (v *vouchingReader) ReadCRC(p []byte) (int, uint32, error) {
	v.calls++
	n, err := v.r.Read(p[:min(len(p), v.frame)])
	crc := crc32.Checksum(p[:n], castagnoli)
	if v.lie != nil {
		crc = v.lie(p[:n])
	}
	v.given = crc32c.Combine(v.given, crc, uint64(n))
	return n, crc, err
}

// writeChecksumTape writes files into one set, each read from the reader
// src gives, with the writer's options o.
func writeChecksumTape(t *testing.T, o WriterOptions, files []testFile, src func([]byte) io.Reader) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, 0, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteTape(&TapeHeader{MediaFamilyID: 0xCAFE, MediaName: "Tape created on 11/25/2026", SoftwareName: "exbackup", MediaDate: when}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.BeginSet(&StartSet{Attributes: SetNormal, Number: 1, Name: "checksums", WriteDate: when}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteBlock(&Volume{Device: `\\EXCH01\Microsoft Information Store`, WriteDate: when}); err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		_, _, err := w.WriteFile(&File{ID: uint32(i + 1), Name: f.name, Modified: when}, int64(len(f.data)), src(f.data))
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.EndSet(&EndSet{WriteDate: when}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// naiveCSUM is MTF's CSUM by the letter: the XOR of the data's
// little-endian 32-bit words, the last one padded with zeros.
func naiveCSUM(p []byte) uint32 {
	var x uint32
	for i := 0; i < len(p); i += 4 {
		var w [4]byte
		copy(w[:], p[i:])
		x ^= binary.LittleEndian.Uint32(w[:])
	}
	return x
}

// The CSUM, CRC-32C and digest computed off the reading goroutine, or the
// CRC-32C taken from the source, make the same tape, byte for byte, as the
// writer made when it computed them all while copying: the SHA-256 of
// the tapes are those of tapes written by that writer. Each file's CSUM
// and EXBH hold what an independent computation over its data gives.
func TestWriterChecksumsGolden(t *testing.T) {
	files := checksumFiles()
	plainSource := func(p []byte) io.Reader { return bytes.NewReader(p) }
	for _, c := range []struct {
		name   string
		o      WriterOptions
		golden string
	}{
		{"exbackup", WriterOptions{}, "aefa01f4f42229abf37af15d9c97881be56f8582a398ee64f4b89dd8dc054cdd"},
		{"plain", WriterOptions{Plain: true}, "bb3da37ac947c56ac0db2ee4b0cd20d647a7b4f94fb0b9f8fce82fb75b8bd1dd"},
		{"SHA-256", WriterOptions{FileHash: HashSHA256}, "205fa4097131aa6da6322af223ca59d95cfc0eaea926fbed48993d094c33cae9"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tape := writeChecksumTape(t, c.o, files, plainSource)
			sum := sha256.Sum256(tape)
			if got := hex.EncodeToString(sum[:]); got != c.golden {
				t.Errorf("tape SHA-256 %s, want %s", got, c.golden)
			}
			for _, frame := range []int{1000, 16 << 10, 1 << 20} {
				vouched := writeChecksumTape(t, c.o, files, func(p []byte) io.Reader {
					return &vouchingReader{r: bytes.NewReader(p), frame: frame}
				})
				if !bytes.Equal(vouched, tape) {
					t.Errorf("frames of %d bytes with ReadCRC: the tape differs", frame)
				}
			}
			aligned := c.o
			aligned.Align = 4096
			if got := writeChecksumTape(t, aligned, files, plainSource); !bytes.Equal(got, tape) {
				t.Error("buffers aligned to 4096 bytes: the tape differs")
			}
			s, err := openBytes(t, tape).Scan()
			if err != nil || len(s.Sets) != 1 || len(s.Sets[0].Files) != len(files) {
				t.Fatalf("scan: %v", err)
			}
			for i, e := range s.Sets[0].Files {
				f := files[i]
				if !e.Block.HasChecksum || e.Block.Checksum != naiveCSUM(f.data) {
					t.Errorf("%s: CSUM %#08x, data gives %#08x", f.name, e.Block.Checksum, naiveCSUM(f.data))
				}
				if c.o.Plain {
					continue
				}
				h := e.Block.Hash
				var digest [32]byte
				if c.o.FileHash == HashSHA256 {
					digest = sha256.Sum256(f.data)
				} else {
					digest = blake3.Sum256(f.data)
				}
				if h == nil || h.Size != uint64(len(f.data)) || h.CRC32C != crc32.Checksum(f.data, castagnoli) || h.Sum != digest {
					t.Errorf("%s: EXBH %+v does not match the data", f.name, h)
				}
			}
		})
	}
}

// A source's CRC-32C goes into the EXBH as the source gives it: the
// source vouches for it, and the writer does not compute it again. One
// that does not match the data is caught by the first read of the file,
// which computes it from the tape.
func TestWriterTakesSourceCRC(t *testing.T) {
	data := checksumFiles()[6].data // more than a buffer
	src := &vouchingReader{r: bytes.NewReader(data), frame: 64 << 10, lie: func(p []byte) uint32 {
		return crc32.Checksum(p, castagnoli) ^ 1
	}}
	tape := writeChecksumTape(t, WriterOptions{}, []testFile{{"priv.edb", data}}, func([]byte) io.Reader { return src })
	if src.calls < 2 {
		t.Fatalf("ReadCRC called %d times", src.calls)
	}
	r := openBytes(t, tape)
	s, err := r.Scan()
	if err != nil || len(s.Sets) != 1 || len(s.Sets[0].Files) != 1 {
		t.Fatalf("scan: %v", err)
	}
	e := s.Sets[0].Files[0]
	if truth := crc32.Checksum(data, castagnoli); e.Block.Hash == nil || e.Block.Hash.CRC32C != src.given || src.given == truth {
		t.Fatalf("EXBH %+v; the source gave CRC-32C %#08x, the data's is %#08x", e.Block.Hash, src.given, truth)
	}
	d, err := r.OpenData(e.Block, e.Path(), DataOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, d)
	d.Close()
	if !errors.Is(err, ErrHash) {
		t.Fatalf("reading the file back: %v, want a CRC-32C mismatch", err)
	}
}

// layoutWriter records where each buffer it is handed lies, in memory and
// on the tape.
type layoutWriter struct {
	at     int64
	writes [][2]int64 // memory address and tape offset of each write's first byte
	bytes.Buffer
}

func (l *layoutWriter) Write(p []byte) (int, error) {
	l.writes = append(l.writes, [2]int64{int64(uintptr(unsafe.Pointer(&p[0]))), l.at})
	l.at += int64(len(p))
	return l.Buffer.Write(p)
}

// With Align, each buffer the writer hands on lies in memory as on the
// tape, and every one after the first starts on a boundary, whatever the
// offset the writer starts at: a writer below takes its whole blocks
// without copying them.
func TestWriterAlignsBuffers(t *testing.T) {
	files := checksumFiles()
	for _, start := range []int64{0, 1024, 2048 + 512, 4096} {
		lw := &layoutWriter{at: start}
		w, err := NewWriter(lw, start, WriterOptions{Align: 4096, FLBSize: 512})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.BeginSet(&StartSet{Attributes: SetNormal, Number: 1, WriteDate: when}, nil); err != nil {
			t.Fatal(err)
		}
		w.WriteBlock(&Volume{Device: "EXCH01", WriteDate: when})
		for i, f := range files {
			if _, _, err := w.WriteFile(&File{ID: uint32(i + 1), Name: f.name}, int64(len(f.data)), bytes.NewReader(f.data)); err != nil {
				t.Fatal(err)
			}
			if i == 2 {
				w.Flush() // a buffer cut short: the next one starts off a boundary
			}
		}
		if _, err := w.EndSet(&EndSet{WriteDate: when}); err != nil {
			t.Fatal(err)
		}
		if len(lw.writes) < 5 {
			t.Fatalf("from byte %d: %d writes", start, len(lw.writes))
		}
		for i, wr := range lw.writes {
			if wr[0]%4096 != wr[1]%4096 {
				t.Errorf("from byte %d: write %d at tape byte %d lies %d bytes past a boundary in memory", start, i, wr[1], wr[0]%4096)
			}
		}
	}
	if _, err := NewWriter(io.Discard, 0, WriterOptions{Align: 3000}); err == nil {
		t.Error("an alignment of 3000 bytes was taken")
	}
	if _, err := NewWriter(io.Discard, 0, WriterOptions{Align: 4096, BufferSize: 2048}); err == nil {
		t.Error("an alignment past the buffer size was taken")
	}
}

// writeEncryptedTape writes data as the one file of an encrypted set,
// read from r.
func writeEncryptedTape(t *testing.T, key []byte, data []byte, r io.Reader) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := NewWriter(&out, 0, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.WriteTape(&TapeHeader{MediaName: "enc", MediaDate: when})
	w.BeginSet(&StartSet{Attributes: SetNormal | SetEncryption, Number: 1, WriteDate: when}, &SetInfo{},
		Stream{ID: StreamKeys, Data: (&KeyHeader{Age: []byte("age-encryption.org/v1\n-> X25519 x\nbody\n--- mac\n")}).Encode()})
	w.WriteBlock(&Volume{Device: "V", WriteDate: when})
	if _, _, err := w.WriteEncryptedFile(&File{ID: 1, Name: "priv.edb"}, "priv.edb", int64(len(data)), r, key); err != nil {
		t.Fatal(err)
	}
	if _, err := w.EndSet(&EndSet{WriteDate: when}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// An encrypted file takes its CRC-32C from a source that vouches for it
// too: the same tape as when it is computed, and a lie recorded as told
// and caught on reading.
func TestEncryptedFileTakesSourceCRC(t *testing.T) {
	key := bytes.Repeat([]byte{7}, DataKeySize)
	data := checksumFiles()[7].data
	tape := writeEncryptedTape(t, key, data, bytes.NewReader(data))
	for _, frame := range []int{1000, 64 << 10} {
		src := &vouchingReader{r: bytes.NewReader(data), frame: frame}
		if got := writeEncryptedTape(t, key, data, src); !bytes.Equal(got, tape) {
			t.Errorf("frames of %d bytes with ReadCRC: the tape differs", frame)
		}
		if src.calls < len(data)/frame {
			t.Errorf("frames of %d bytes: ReadCRC called %d times", frame, src.calls)
		}
	}
	src := &vouchingReader{r: bytes.NewReader(data), frame: 64 << 10, lie: func(p []byte) uint32 {
		return crc32.Checksum(p, castagnoli) + 1
	}}
	r := openBytes(t, writeEncryptedTape(t, key, data, src))
	s, err := r.Scan()
	if err != nil || len(s.Sets) != 1 || len(s.Sets[0].Files) != 1 {
		t.Fatalf("scan: %v", err)
	}
	e := s.Sets[0].Files[0]
	if e.Block.Hash == nil || e.Block.Hash.CRC32C != src.given {
		t.Fatalf("EXBH %+v; the source gave CRC-32C %#08x", e.Block.Hash, src.given)
	}
	d, err := r.OpenData(e.Block, "priv.edb", DataOptions{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, d)
	d.Close()
	if !errors.Is(err, ErrHash) {
		t.Fatalf("reading the file back: %v, want a CRC-32C mismatch", err)
	}
}

// A vouching source that ends early is an error naming how far it got,
// for plain and encrypted files alike.
func TestShortSourceWithCRC(t *testing.T) {
	data := checksumFiles()[6].data
	for _, encrypted := range []bool{false, true} {
		for _, have := range []int{0, 1000, len(data) - 1} {
			w, _ := NewWriter(io.Discard, 0, WriterOptions{})
			w.WriteTape(&TapeHeader{MediaName: "short", MediaDate: when})
			w.BeginSet(&StartSet{Number: 1, WriteDate: when}, nil)
			src := &vouchingReader{r: bytes.NewReader(data[:have]), frame: 64 << 10}
			var err error
			if encrypted {
				_, _, err = w.WriteEncryptedFile(&File{ID: 1, Name: "f"}, "f", int64(len(data)), src, make([]byte, DataKeySize))
			} else {
				_, _, err = w.WriteFile(&File{ID: 1, Name: "f"}, int64(len(data)), src)
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "reading file data after "+strconv.Itoa(have)+" of") {
				t.Errorf("encrypted %v, %d of %d bytes: %v", encrypted, have, len(data), err)
			}
		}
	}
}
