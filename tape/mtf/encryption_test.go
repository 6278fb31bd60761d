package mtf

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestSealedSize(t *testing.T) {
	for _, n := range []int64{0, 1, PayloadChunk - 1, PayloadChunk, PayloadChunk + 1, 5 * PayloadChunk, 1 << 40} {
		s := SealedSize(n)
		if got, ok := plainSize(s); !ok || got != n {
			t.Errorf("plainSize(SealedSize(%d) = %d) = %d, %v", n, s, got, ok)
		}
	}
	for _, s := range []int64{0, 15, 16, 31, PayloadNonce + sealedChunk + 16} {
		if _, ok := plainSize(s); ok {
			t.Errorf("plainSize(%d) accepted", s)
		}
	}
}

// buildEncrypted writes a tape of one encrypted set holding a file of
// each size, through a writer with the buffer size given.
func buildEncrypted(t testing.TB, key []byte, bufSize int, sizes []int) ([]byte, [][]byte) {
	t.Helper()
	var out bytes.Buffer
	w, err := NewWriter(&out, 0, WriterOptions{BufferSize: bufSize})
	if err != nil {
		t.Fatal(err)
	}
	w.WriteTape(&TapeHeader{MediaName: "enc", MediaDate: when})
	w.BeginSet(&StartSet{Attributes: SetNormal | SetEncryption, Number: 1, WriteDate: when}, &SetInfo{},
		Stream{ID: StreamKeys, Data: (&KeyHeader{Age: []byte("age-encryption.org/v1\n-> X25519 x\nbody\n--- mac\n")}).Encode()})
	w.WriteBlock(&Volume{Device: "V", WriteDate: when})
	w.WriteBlock(&Directory{ID: 1, Name: DirName(nil)})
	var data [][]byte
	for i, n := range sizes {
		d := make([]byte, n)
		rand.Read(d)
		data = append(data, d)
		// A reader handing out a byte at a time is read whole.
		if _, _, err := w.WriteEncryptedFile(&File{DirectoryID: 1, ID: uint32(i + 1), Name: "f"}, "f", int64(n), iotest.OneByteReader(bytes.NewReader(d)), key); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.EndSet(&EndSet{WriteDate: when}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), data
}

// An encrypted set written with small buffers (a chunk then spans
// buffers) reads back through every read-chunk size, and what it reads is
// checked on the plaintext.
func TestEncryptedFileRoundTrip(t *testing.T) {
	key := make([]byte, DataKeySize)
	rand.Read(key)
	sizes := []int{0, 1, PayloadChunk, PayloadChunk + 1, 3*PayloadChunk + 7}
	for _, bufSize := range []int{4096, 1 << 20} {
		tape, data := buildEncrypted(t, key, bufSize, sizes)
		r := openBytes(t, tape)
		c, err := r.Scan()
		if err != nil || len(c.Sets) != 1 || c.Sets[0].Err != nil || c.Sets[0].Keys == nil {
			t.Fatalf("scan: %+v %v", c, err)
		}
		for i, e := range c.Sets[0].Files {
			if e.Size != int64(sizes[i]) || !e.Block.Encrypted() {
				t.Errorf("file %d: size %d, encrypted %v", i, e.Size, e.Block.Encrypted())
			}
			for _, chunk := range []int{1, PayloadChunk, 3 * PayloadChunk, 1 << 20} {
				d, err := r.OpenData(e.Block, "f", DataOptions{Strong: true, Key: key, ChunkSize: chunk})
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(d)
				d.Close()
				if err != nil || !bytes.Equal(got, data[i]) {
					t.Errorf("file %d, chunks of %d: %d bytes, %v", i, chunk, len(got), err)
				}
			}
			// Sealed: the bytes as on tape, their CSUM checked.
			d, _ := r.OpenData(e.Block, "f", DataOptions{Sealed: true})
			got, err := io.ReadAll(d)
			d.Close()
			if err != nil || int64(len(got)) != SealedSize(int64(sizes[i])) {
				t.Errorf("file %d sealed: %d bytes, %v", i, len(got), err)
			}
			// Another key, or a path the data was not written for, fails.
			other := bytes.Clone(key)
			other[0] ^= 1
			if _, err := r.OpenData(e.Block, "f", DataOptions{Key: other}); !errors.Is(err, ErrAuth) {
				t.Errorf("file %d, another key: %v", i, err)
			}
			if _, err := r.OpenData(e.Block, "g", DataOptions{Key: key}); !errors.Is(err, ErrAuth) {
				t.Errorf("file %d, another path: %v", i, err)
			}
		}
	}
}

// A source that ends early or fails is an error naming how far it got, and
// nothing waits for ever.
func TestEncryptedShortSource(t *testing.T) {
	key := make([]byte, DataKeySize)
	for _, c := range []struct {
		size int64
		r    io.Reader
	}{
		{5 << 20, io.LimitReader(rand.Reader, 3<<20+5)},
		{5 << 20, iotest.ErrReader(errors.New("the server went away"))},
		{100, bytes.NewReader(nil)},
	} {
		w, _ := NewWriter(io.Discard, 0, WriterOptions{})
		w.WriteTape(&TapeHeader{MediaName: "enc", MediaDate: when})
		w.BeginSet(&StartSet{Number: 1, WriteDate: when}, nil)
		_, _, err := w.WriteEncryptedFile(&File{ID: 1, Name: "f"}, "f", c.size, c.r, key)
		if err == nil || !strings.Contains(err.Error(), "reading file data after") {
			t.Errorf("size %d: %v", c.size, err)
		}
	}
}

func TestPlainWriterRefusesEncryption(t *testing.T) {
	w, _ := NewWriter(io.Discard, 0, WriterOptions{Plain: true})
	if _, _, err := w.WriteEncryptedFile(&File{Name: "f"}, "f", 0, bytes.NewReader(nil), make([]byte, DataKeySize)); err == nil {
		t.Fatal("a plain writer wrote an encrypted file")
	}
}

// A damaged encrypted tape is read with and without its key: nothing
// panics, hangs or returns more than the entry holds.
//
//	go test -fuzz=FuzzReadEncryptedTape ./tape/mtf
func FuzzReadEncryptedTape(f *testing.F) {
	key := bytes.Repeat([]byte{7}, DataKeySize)
	tape, _ := buildEncrypted(f, key, 4096, []int{0, 10, PayloadChunk + 3})
	f.Add(tape)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b), int64(len(b)), "fuzz")
		if err != nil {
			return
		}
		c, err := r.Scan()
		if err != nil {
			t.Fatalf("Scan of an in-memory tape failed: %v", err)
		}
		for _, s := range c.Sets {
			for _, e := range s.Files {
				for _, o := range []DataOptions{{Strong: true, Key: key, ChunkSize: 512}, {Sealed: true}} {
					d, err := r.OpenData(e.Block, e.Path(), o)
					if err != nil {
						continue
					}
					n, _ := io.Copy(io.Discard, d)
					d.Close()
					if n > int64(len(b)) || (!o.Sealed && n > e.Size) {
						t.Fatalf("read %d bytes of a %d-byte entry", n, e.Size)
					}
				}
			}
		}
	})
}
