package mtf

import (
	"bytes"
	"io"
	"testing"
)

// The fuzz targets feed arbitrary bytes to the decoders and to a whole-tape
// walk: nothing may panic, hang or allocate beyond what the input justifies.
//
//	go test -fuzz=FuzzDecodeBlock ./tape/mtf
//	go test -fuzz=FuzzDecodeStreamHeader ./tape/mtf
//	go test -fuzz=FuzzReadTape ./tape/mtf

func FuzzDecodeBlock(f *testing.F) {
	fix := readFixture(f)
	for off := 0; off < len(fix); off += 1024 {
		f.Add(fix[off : off+1024])
	}
	tape := buildTape(f, []testFile{{"a", []byte("abc")}})
	for off := 0; off < len(tape); off += 1024 {
		f.Add(tape[off : off+1024])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, d, err := DecodeBlock(b, nil)
		if err != nil {
			return
		}
		// A block that decodes re-encodes to a block that decodes the same.
		h2 := Header{Attributes: h.Attributes, FLA: h.FLA, ControlBlockID: h.ControlBlockID, StringType: h.StringType}
		enc, err := EncodeBlock(&h2, d)
		if err != nil {
			return // strings that do not fit again (ANSI → UTF-16)
		}
		if _, d2, err := DecodeBlock(enc, nil); err != nil || d2.BlockType() != d.BlockType() {
			t.Fatalf("re-encoded %s does not decode: %v", d.BlockType(), err)
		}
	})
}

func FuzzDecodeStreamHeader(f *testing.F) {
	fix := readFixture(f)
	f.Add(fix[0x1898 : 0x1898+StreamHeaderSize])
	f.Add(fix[0x18c0 : 0x18c0+StreamHeaderSize])
	f.Add([]byte("SPAD"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeStreamHeader(b)
		if err != nil {
			return
		}
		var out [StreamHeaderSize]byte
		s.Encode(out[:])
		if !bytes.Equal(out[:], b[:StreamHeaderSize]) {
			t.Fatalf("re-encoded %x, read %x", out, b[:StreamHeaderSize])
		}
		DecodeFileHash(b)
		DecodeDigest(b)
		DecodeSetInfo(b)
	})
}

func FuzzReadTape(f *testing.F) {
	f.Add(readFixture(f))
	f.Add(buildTape(f, []testFile{{"a", []byte("abc")}, {"b", make([]byte, 3000)}}, []testFile{{"c", nil}}))
	f.Add(buildTape(f)[:1500])
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b), int64(len(b)), "fuzz")
		if err != nil {
			return
		}
		c, err := r.Scan()
		if err != nil {
			t.Fatalf("Scan of an in-memory tape failed: %v", err)
		}
		c.AppendPoint()
		for _, s := range c.Sets {
			for _, e := range s.Files {
				// A file cut by the end of the medium is as long as
				// its data on all the members.
				if e.Size > int64(len(b)) && !e.Block.Continues {
					t.Fatalf("entry of %d bytes in a %d-byte tape", e.Size, len(b))
				}
				d, err := r.OpenData(e.Block, e.Path(), DataOptions{Strong: true, ChunkSize: 512})
				if err != nil {
					continue
				}
				n, _ := io.Copy(io.Discard, d)
				d.Close()
				if n > e.Size {
					t.Fatalf("read %d bytes of a %d-byte entry", n, e.Size)
				}
			}
		}
	})
}
