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

// ReadChunk hands out plain, encrypted and sealed entries of every size
// whole, each piece with its own CRC-32C, through chunk sizes that do and
// do not divide the data, and through the tape's own handle.
func TestReadChunkEveryKind(t *testing.T) {
	id := newIdentity(t)
	tp, s, files := writeEncrypted(t, id)
	plain := []file{{"empty", nil}, {"one", []byte{7}}, {"three", []byte("abc")}, {"page", randomBytes(5, 4<<10+1)}, {"big", randomBytes(6, 1<<20+3)}}
	ps := writeSet(t, tp, SetOptions{Created: when}, "Microsoft Information Store", plain)
	for i, e := range ps.Entries {
		for _, cs := range []int{0, 3, 1000, 4 << 10} {
			if cs == 3 && len(plain[i].data) > 1<<20 {
				continue // a direct read from the disk each three bytes
			}
			got, err := readChunks(t, tp, e, ReadOptions{Fast: cs == 1000, ChunkSize: cs})
			if err != nil || !bytes.Equal(got, plain[i].data) {
				t.Errorf("%s in chunks of %d: %d bytes, %v", e.Path, cs, len(got), err)
			}
		}
	}
	for i, e := range s.Entries {
		for _, cs := range []int{0, 1, 3 * mtf.PayloadChunk} {
			got, err := readChunks(t, tp, e, ReadOptions{Keys: Identities{id}, ChunkSize: cs})
			if err != nil || !bytes.Equal(got, files[i].data) {
				t.Errorf("encrypted %s in chunks of %d: %d bytes, %v", e.Path, cs, len(got), err)
			}
			got, err = readChunks(t, tp, e, ReadOptions{sealed: true, ChunkSize: cs})
			if err != nil || int64(len(got)) != mtf.SealedSize(int64(len(files[i].data))) {
				t.Errorf("sealed %s in chunks of %d: %d bytes, %v", e.Path, cs, len(got), err)
			}
		}
	}
}
