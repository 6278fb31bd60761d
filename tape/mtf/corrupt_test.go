package mtf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

// inspect scans a tape and reads every file's data with every check; it
// returns the first problem met, or nil when the tape reads clean.
func inspect(t testing.TB, tape []byte) error {
	r, err := NewReader(bytes.NewReader(tape), int64(len(tape)), "bad")
	if err != nil {
		return err
	}
	c, err := r.Scan()
	if err != nil {
		return err
	}
	if len(c.Problems) > 0 {
		return c.Problems[0]
	}
	for _, s := range c.Sets {
		if s.Err != nil {
			return s.Err
		}
		if s.End == nil {
			return errors.New("aborted")
		}
		for _, e := range s.Files {
			d, err := r.OpenData(e.Block, e.Path(), DataOptions{Strong: true, ChunkSize: 1024})
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, d)
			d.Close()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// TestEveryFlippedByteDetected flips each byte of a small tape in turn: every
// flip inside a set, or inside the TAPE block's header, fixed part and
// strings, must be reported. Only padding after the digests and the
// filemarks outside sets (which carry nothing to restore) may flip unseen.
func TestEveryFlippedByteDetected(t *testing.T) {
	tape := buildTape(t, []testFile{{"hello.txt", []byte("Hello from set 1\n")}, {"b.bin", bytes.Repeat([]byte{7, 1, 9}, 700)}})
	if err := inspect(t, tape); err != nil {
		t.Fatal(err)
	}
	// Where the unchecked bytes are: after each EXBM stream up to the FLB
	// boundary, and in the body of the filemarks outside sets.
	var free [][2]int
	r := openBytes(t, tape)
	c, _ := r.Scan()
	digestEnd := func(blockOff int64) int {
		b, _ := r.ReadBlockAt(blockOff)
		for _, s := range b.Streams {
			if s.Header.ID == StreamDigest {
				return int(s.Offset) + int(s.Header.Length)
			}
		}
		t.Fatal("no digest")
		return 0
	}
	free = append(free, [2]int{digestEnd(0), 1024})
	free = append(free, [2]int{1024 + HeaderSize, 2048})
	eset := c.Sets[0].EndOffset
	free = append(free, [2]int{digestEnd(eset), int(eset) + 1024})
	last := int(c.Marks[len(c.Marks)-1])
	free = append(free, [2]int{last + HeaderSize, len(tape)})
	isFree := func(i int) bool {
		for _, f := range free {
			if i >= f[0] && i < f[1] {
				return true
			}
		}
		return false
	}
	missed := 0
	for i := range tape {
		if isFree(i) {
			continue
		}
		bad := bytes.Clone(tape)
		bad[i] ^= 0x10
		err := inspect(t, bad)
		if err == nil {
			if missed++; missed < 10 {
				t.Errorf("flip at byte %d went unnoticed", i)
			}
			continue
		}
		if !strings.Contains(err.Error(), "at byte") && err.Error() != "aborted" {
			t.Errorf("flip at %d: error does not say where: %v", i, err)
		}
	}
	if missed > 0 {
		t.Errorf("%d flips unnoticed", missed)
	}
}

func TestTruncatedEverywhere(t *testing.T) {
	tape := buildTape(t, []testFile{{"a.bin", bytes.Repeat([]byte("abc"), 1000)}}, []testFile{{"b.bin", []byte("b")}})
	for n := 0; n < len(tape); n += 97 {
		cut := tape[:n]
		r, err := NewReader(bytes.NewReader(cut), int64(n), "cut")
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Tape != "cut" {
				t.Fatalf("cut at %d: %v", n, err)
			}
			continue
		}
		c, err := r.Scan()
		if err != nil {
			t.Fatalf("cut at %d: %v", n, err)
		}
		// Set 2 is never whole; set 1 is whole only past its ESET.
		if len(c.Sets) == 2 && c.Sets[1].End != nil && int64(n) < c.Sets[1].EndEnd {
			t.Fatalf("cut at %d: set 2 complete before its ESET ends", n)
		}
		if len(c.Sets) > 0 && c.Sets[0].End != nil && int64(n) < c.Sets[0].EndEnd {
			t.Fatalf("cut at %d: set 1 complete before its ESET ends", n)
		}
		ap := c.AppendPoint()
		if ap.Offset > int64(n)+1024 || ap.Offset%1024 != 0 {
			t.Fatalf("cut at %d: append at %d", n, ap.Offset)
		}
	}
}

func TestBadLengthsAndTypes(t *testing.T) {
	base := buildTape(t, []testFile{{"a.bin", []byte("abcdefgh")}}, []testFile{{"b.bin", []byte("b")}})
	fileOff := 5120
	h, _, _ := DecodeBlock(base[fileOff:], nil)
	stan := fileOff + int(h.FirstStream)

	cases := []struct {
		name   string
		mutate func(b []byte)
		want   error
	}{
		{"STAN length past the file", func(b []byte) {
			binary.LittleEndian.PutUint64(b[stan+8:], 1<<60)
			resumStream(b[stan:])
		}, ErrBounds},
		{"first stream offset past the file", func(b []byte) {
			h, _ := DecodeHeader(b[fileOff:])
			h.FirstStream = 0xfffe
			h.Encode(b[fileOff:])
		}, ErrBounds},
		{"unknown block type", func(b []byte) {
			h, _ := DecodeHeader(b[fileOff:])
			h.Type = "ZZZZ"
			h.Encode(b[fileOff:])
		}, ErrUnknownBlock},
		{"bad header checksum", func(b []byte) { b[fileOff+20]++ }, ErrChecksum},
		{"huge string size", func(b []byte) {
			binary.LittleEndian.PutUint16(b[fileOff+84:], 0xffff)
			h, _ := DecodeHeader(b[fileOff:])
			h.Encode(b[fileOff:])
		}, ErrBounds},
		{"huge CSUM stream", func(b []byte) {
			off := stan + StreamHeaderSize + 8 + 2 // after the data and its padding
			binary.LittleEndian.PutUint64(b[off+8:], 1<<20)
			resumStream(b[off:])
		}, ErrBounds},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := bytes.Clone(base)
			c.mutate(b)
			r := openBytes(t, b)
			con, err := r.Scan()
			if err != nil {
				t.Fatal(err)
			}
			s := con.Sets[0]
			var fe *FormatError
			if !errors.Is(s.Err, c.want) || !errors.As(s.Err, &fe) || fe.Tape != "mem" || fe.Offset != int64(fileOff) || fe.Block == "" || fe.Set != 1 {
				t.Fatalf("set 1 error = %v", s.Err)
			}
			// The walk picks up again: set 2 is intact.
			if len(con.Sets) != 2 || con.Sets[1].Err != nil || con.Sets[1].End == nil {
				t.Fatalf("set 2 lost: %+v", con.Sets)
			}
		})
	}
}

func resumStream(b []byte) {
	binary.LittleEndian.PutUint16(b[20:], Checksum16(b[:20]))
}

func TestNotATape(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("hello"), bytes.Repeat([]byte{0}, 4096)} {
		_, err := NewReader(bytes.NewReader(in), int64(len(in)), "junk")
		if !errors.Is(err, ErrNotMTF) {
			t.Fatalf("%q: %v", in[:min(len(in), 8)], err)
		}
	}
	// A tape starting with another block.
	tape := buildTape(t)
	if _, err := NewReader(bytes.NewReader(tape[1024:]), int64(len(tape)-1024), "x"); !errors.Is(err, ErrNotMTF) {
		t.Fatalf("SFMB first: %v", err)
	}
}

// TestForeignExtras reads what independent writers put in real .bkf files
// and exbackup does not write: ANSI strings, an SFMB right after TAPE (the
// fixture has it), NT streams on directories and files, an unknown stream,
// a CFIL after a file, an ESPB before the ESET.
func TestForeignExtras(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, 0, WriterOptions{FLBSize: 512, SoftFilemarkSize: 512, Plain: true})
	w.WriteTape(&TapeHeader{MediaName: "ansi tape"})
	w.BeginSet(&StartSet{Number: 1, Attributes: SetCopy, Name: "café"}, nil)
	w.WriteBlock(&Volume{Device: "D:", Attributes: VolumeDriveLetter})
	w.WriteBlock(&Directory{ID: 1, Name: DirName([]string{"x"})},
		Stream{ID: StreamNTACL, FSAttributes: StreamSecurity, Data: make([]byte, 20)})
	w.WriteFile(&File{DirectoryID: 1, ID: 1, Name: "f.txt"}, 3, strings.NewReader("abc"),
		Stream{ID: StreamNTACL, Data: []byte{1, 2, 3}}, Stream{ID: "NTOI", Data: make([]byte, 600)})
	w.WriteBlock(&CorruptFile{StreamNumber: 1})
	w.WriteBlock(&EndSetPad{})
	w.EndSet(&EndSet{})
	w.Flush()
	tape := buf.Bytes()
	// Rewrite the SSET's strings as ANSI: find it, re-encode it.
	r := openBytes(t, tape)
	c, err := r.Scan()
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sets[0]
	if r.FLBSize() != 512 || s.Start.Name != "café" || s.Info != nil || len(s.Files) != 1 || !s.Files[0].Corrupt ||
		s.Files[0].Path() != "x/f.txt" || s.Err != nil || s.End == nil {
		t.Fatalf("set %+v err %v", s, s.Err)
	}
	off := s.Offset
	h := Header{StringType: StringANSI}
	start := s.Start
	ansi, err := EncodeBlock(&h, &start)
	if err != nil || h.StringType != StringANSI {
		t.Fatal(err)
	}
	copy(tape[off:], ansi)
	// Close the block with a SPAD to the FLB boundary.
	sp := StreamHeader{ID: StreamPad, Length: uint64(512 - len(ansi) - StreamHeaderSize)}
	sp.Encode(tape[off+int64(len(ansi)):])
	clear(tape[off+int64(len(ansi))+StreamHeaderSize : off+512])
	c, err = openBytes(t, tape).Scan()
	if err != nil || c.Sets[0].Start.Name != "café" || c.Sets[0].Err != nil {
		t.Fatalf("ANSI set: %v %+v", err, c.Sets[0])
	}
}
