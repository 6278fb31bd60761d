package tape

import (
	"bytes"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"testing"

	"exbackup/tape/mtf"
)

func readChunks(t *testing.T, tp *Tape, e Entry, o ReadOptions) ([]byte, error) {
	t.Helper()
	r, err := tp.OpenEntry(e, o)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []byte
	tab := crc32.MakeTable(crc32.Castagnoli)
	for {
		p, crc, err := r.ReadChunk()
		if crc32.Checksum(p, tab) != crc {
			t.Fatalf("a chunk of %d bytes came with a wrong CRC", len(p))
		}
		out = append(out, p...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// ReadChunk hands out the data with each piece's CRC-32C and still checks
// the whole file at its end, with the digest or without.
func TestReadChunkChecksLikeRead(t *testing.T) {
	l := newLibrary(t)
	tp, err := l.Create("chunks", CreateOptions{Created: when})
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(11, 3<<20+12345)
	s := writeSet(t, tp, SetOptions{Created: when}, "Microsoft Information Store", []file{{"priv.edb", data}})
	e := s.Entries[0]
	for _, o := range []ReadOptions{{}, {Fast: true}, {ChunkSize: 64 << 10}} {
		got, err := readChunks(t, tp, e, o)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%+v: %d bytes, %v", o, len(got), err)
		}
	}
	// A byte flipped on tape fails the last call, naming the file.
	b, _ := os.ReadFile(tp.Path())
	at := bytes.Index(b, data[:64])
	b[at+2<<20] ^= 0x01
	os.WriteFile(tp.Path(), b, 0o644)
	for _, o := range []ReadOptions{{}, {Fast: true}} {
		_, err := readChunks(t, tp, e, o)
		var fe *mtf.FormatError
		if !errors.As(err, &fe) || fe.File != "priv.edb" {
			t.Fatalf("%+v: a flipped byte gave %v", o, err)
		}
	}
}
