package mtf

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zeebo/blake3"
)

var when = time.Date(2026, 11, 25, 14, 59, 0, 0, time.UTC)

type testFile struct {
	name string
	data []byte
}

// buildTape writes a tape in memory: TAPE, then one set per element of
// sets, each on one volume.
func buildTape(t testing.TB, sets ...[]testFile) []byte {
	t.Helper()
	return buildTapeWith(t, WriterOptions{}, sets...)
}

// buildTapeWith is buildTape with the writer's options o (BufferSize 4096
// unless set).
func buildTapeWith(t testing.TB, o WriterOptions, sets ...[]testFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	if o.BufferSize == 0 {
		o.BufferSize = 4096
	}
	w, err := NewWriter(&buf, 0, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteTape(&TapeHeader{MediaFamilyID: 0xCAFE, MediaName: "Tape created on 11/25/2026", SoftwareName: "exbackup", MediaDate: when}); err != nil {
		t.Fatal(err)
	}
	for i, files := range sets {
		appendSet(t, w, uint16(i+1), files)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func appendSet(t testing.TB, w *Writer, n uint16, files []testFile) {
	t.Helper()
	if _, err := w.BeginSet(&StartSet{Attributes: SetNormal, Number: n, Name: "Set created 11/25/2026 at 2:59 PM",
		Description: "nightly", UserName: "admin@console", WriteDate: when, SoftwareMajor: 1},
		&SetInfo{Restricted: true, Properties: map[string]string{"server": "EXCH01"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteBlock(&Volume{Attributes: VolumeUNC, Device: `\\EXCH01\Microsoft Information Store`, Name: "Microsoft Information Store", Machine: "EXCH01", WriteDate: when}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteBlock(&Directory{ID: 1, Name: DirName(nil), Backup: when}); err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		if _, _, err := w.WriteFile(&File{DirectoryID: 1, ID: uint32(i + 1), Name: f.name, Modified: when}, int64(len(f.data)), bytes.NewReader(f.data)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.EndSet(&EndSet{WriteDate: when}); err != nil {
		t.Fatal(err)
	}
}

func openBytes(t testing.TB, b []byte) *Reader {
	t.Helper()
	r, err := NewReader(bytes.NewReader(b), int64(len(b)), "mem")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// blockAt decodes the block at off (header and fixed part) or fails.
func blockAt(t *testing.T, tape []byte, off int, typ string) (Header, Descriptor) {
	t.Helper()
	h, d, err := DecodeBlock(tape[off:min(len(tape), off+0xffff)], time.UTC)
	if err != nil {
		t.Fatalf("block at %d: %v", off, err)
	}
	if h.Type != typ {
		t.Fatalf("block at %d is %s, want %s", off, h.Type, typ)
	}
	return h, d
}

// streamAt decodes the stream header at off.
func streamAt(t *testing.T, tape []byte, off int, id string) StreamHeader {
	t.Helper()
	s, err := DecodeStreamHeader(tape[off:])
	if err != nil {
		t.Fatalf("stream at %d: %v", off, err)
	}
	if s.ID != id {
		t.Fatalf("stream at %d is %s, want %s", off, s.ID, id)
	}
	return s
}

// TestWriterLayoutGolden pins the bytes of a small tape to what MTF.md
// asks for: NTBackup's filemark layout, FLAs, control block ids, PBAs,
// stream order and padding.
func TestWriterLayoutGolden(t *testing.T) {
	data := []byte("Hello from set 1\n")
	tape := buildTape(t, []testFile{{"hello.txt", data}})
	// TAPE, SFMB, SSET, VOLB, DIRB, FILE, SFMB, ESET, SFMB: one FLB each.
	if len(tape) != 9*1024 {
		t.Fatalf("tape is %d bytes, want 9 FLBs", len(tape))
	}
	// FLB 0: TAPE, its EXBM and SPAD.
	h, d := blockAt(t, tape, 0, TypeTape)
	tp := d.(*TapeHeader)
	if h.FLA != 0 || h.ControlBlockID != 0 || h.OSID != OSWindowsNT || h.StringType != StringUTF16 ||
		tp.FLBSize != 1024 || tp.SoftFilemarkBlockSize != 2 || tp.Attributes != TapeSoftFilemarks || tp.MediaSequence != 1 || tp.MajorVersion != 1 {
		t.Fatalf("TAPE %+v %+v", h, tp)
	}
	// The media name is the first string, right after the 94-byte fixed part.
	if a := getAddress(tape[68:]); a != (TapeAddress{Size: 52, Offset: 94}) {
		t.Fatalf("media name at %+v", a)
	}
	off := int(h.FirstStream)
	if s := streamAt(t, tape, off, StreamDigest); s.Length != DigestSize {
		t.Fatalf("EXBM %+v", s)
	}
	off += StreamHeaderSize + DigestSize
	off += int(Pad4(int64(off)))
	if s := streamAt(t, tape, off, StreamPad); off+StreamHeaderSize+int(s.Length) != 1024 {
		t.Fatalf("TAPE SPAD ends at %d", off+StreamHeaderSize+int(s.Length))
	}
	// FLB 1: SFMB, FLA = its PBA, control block id 1, entries [1].
	h, d = blockAt(t, tape, 1024, TypeFilemark)
	if fm := d.(*Filemark); h.FLA != 1 || h.ControlBlockID != 1 || h.FirstStream != 1024 || fm.Entries != 241 || len(fm.PBAs) != 1 || fm.PBAs[0] != 1 {
		t.Fatalf("SFMB %+v %+v", h, fm)
	}
	// FLB 2: SSET: FLA 0, id 0, PBA 2, time zone UTC, EXBS stream.
	h, d = blockAt(t, tape, 2048, TypeStartSet)
	ss := d.(*StartSet)
	if h.FLA != 0 || h.ControlBlockID != 0 || ss.PBA != 2 || ss.Number != 1 || ss.TimeZone != 0 || ss.Attributes != SetNormal ||
		ss.UserName != "admin@console" || !ss.WriteDate.Equal(when) {
		t.Fatalf("SSET %+v %+v", h, ss)
	}
	if s := streamAt(t, tape, 2048+int(h.FirstStream), StreamSetInfo); !strings.Contains(string(tape[2048+int(h.FirstStream)+StreamHeaderSize:][:s.Length]), `"restricted":true`) {
		t.Fatal("EXBS does not say restricted")
	}
	// FLB 3: VOLB FLA 1 id 1; FLB 4: root DIRB FLA 2 id 2.
	h, d = blockAt(t, tape, 3072, TypeVolume)
	if h.FLA != 1 || h.ControlBlockID != 1 || d.(*Volume).Attributes != VolumeUNC {
		t.Fatalf("VOLB %+v", h)
	}
	h, d = blockAt(t, tape, 4096, TypeDirectory)
	if h.FLA != 2 || h.ControlBlockID != 2 || d.(*Directory).Name != "\x00" {
		t.Fatalf("DIRB %+v %+v", h, d)
	}
	// FLB 5: FILE FLA 3 id 3, displayable size = data size, then STAN
	// (CSUM follows), the data, padding to 4, CSUM, EXBH, SPAD.
	h, _ = blockAt(t, tape, 5120, TypeFile)
	if h.FLA != 3 || h.ControlBlockID != 3 || h.DisplayableSize != uint64(len(data)) {
		t.Fatalf("FILE %+v", h)
	}
	off = 5120 + int(h.FirstStream)
	if s := streamAt(t, tape, off, StreamStandard); s.Length != 17 || s.MediaAttributes != StreamChecksumFollow {
		t.Fatalf("STAN %+v", s)
	}
	if !bytes.Equal(tape[off+StreamHeaderSize:][:17], data) {
		t.Fatal("data not right after the STAN header")
	}
	off += StreamHeaderSize + 17
	off += int(Pad4(int64(off)))
	streamAt(t, tape, off, StreamChecksum)
	if got := binary.LittleEndian.Uint32(tape[off+StreamHeaderSize:]); got != 0x5c0a5c27 {
		t.Fatalf("CSUM %#x", got)
	}
	off += StreamHeaderSize + 4 + 2 // padding: 22+4 bytes
	streamAt(t, tape, off, StreamFileHash)
	fh, err := DecodeFileHash(tape[off+StreamHeaderSize:][:FileHashSize])
	if err != nil || fh.Size != 17 || fh.Algo != HashBLAKE3 || fh.Sum != blake3.Sum256(data) || fh.CRC32C != crc32.Checksum(data, castagnoli) {
		t.Fatalf("EXBH %+v %v", fh, err)
	}
	off += StreamHeaderSize + FileHashSize + 2
	if s := streamAt(t, tape, off, StreamPad); off+StreamHeaderSize+int(s.Length) != 6144 {
		t.Fatal("FILE does not end on the FLB boundary")
	}
	// FLB 6: SFMB (PBA 6, id 2, entries [6 1]); FLB 7: ESET (FLA 5 from
	// the SSET, id 4); FLB 8: SFMB (id 3, entries [8 6 1]).
	h, d = blockAt(t, tape, 6144, TypeFilemark)
	if fm := d.(*Filemark); h.FLA != 6 || h.ControlBlockID != 2 || len(fm.PBAs) != 2 || fm.PBAs[0] != 6 || fm.PBAs[1] != 1 {
		t.Fatalf("SFMB %+v %+v", h, fm)
	}
	h, d = blockAt(t, tape, 7168, TypeEndSet)
	if es := d.(*EndSet); h.FLA != 5 || h.ControlBlockID != 4 || es.Number != 1 || es.Attributes != SetNormal || es.FDDMediaSequence != 1 {
		t.Fatalf("ESET %+v %+v", h, es)
	}
	streamAt(t, tape, 7168+int(h.FirstStream), StreamDigest)
	h, d = blockAt(t, tape, 8192, TypeFilemark)
	if fm := d.(*Filemark); h.ControlBlockID != 3 || len(fm.PBAs) != 3 || fm.PBAs[0] != 8 || fm.PBAs[2] != 1 {
		t.Fatalf("SFMB %+v %+v", h, fm)
	}
}

func TestRoundTrip(t *testing.T) {
	big := make([]byte, 200_000)
	for i := range big {
		big[i] = byte(i * 13)
	}
	long := strings.Repeat("very-long-name-", 60) + ".log" // > MaxInlineName in UTF-16
	sets := [][]testFile{
		{{"priv.edb", big}, {"empty.log", nil}, {"odd.bin", []byte{1, 2, 3}}},
		{{long, []byte("long name")}, {"restore.env", []byte("store=IS\n")}},
	}
	tape := buildTape(t, sets...)
	r := openBytes(t, tape)
	c, err := r.Scan()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Problems) > 0 || len(c.Sets) != 2 {
		t.Fatalf("problems %v, %d sets", c.Problems, len(c.Sets))
	}
	for i, s := range c.Sets {
		if s.Err != nil || s.End == nil || s.Info == nil || !s.Info.Restricted || s.Info.Properties["server"] != "EXCH01" {
			t.Fatalf("set %d: %+v", i+1, s)
		}
		for j, e := range s.Files {
			f := sets[i][j]
			if e.Name != f.name || e.Size != int64(len(f.data)) || e.Block.Hash == nil || e.Volume != 0 {
				t.Fatalf("set %d file %d: %q %d", i+1, j, e.Name, e.Size)
			}
			d, err := r.OpenData(e.Block, e.Path(), DataOptions{Strong: true, ChunkSize: 4096})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(d)
			d.Close()
			if err != nil || !bytes.Equal(got, f.data) {
				t.Fatalf("set %d %s: %v", i+1, e.Name, err)
			}
		}
	}
	ap := c.AppendPoint()
	if ap.Offset != int64(len(tape)) || ap.Number != 3 || ap.NeedFilemark || ap.FilemarkCount != 5 {
		t.Fatalf("append point %+v (tape %d bytes)", ap, len(tape))
	}
}

// TestAppendContinues appends a set with a second writer the way the tape
// package does, and checks the filemark chain and numbering carry on.
func TestAppendContinues(t *testing.T) {
	tape := buildTape(t, []testFile{{"a", []byte("a")}})
	c, err := openBytes(t, tape).Scan()
	if err != nil {
		t.Fatal(err)
	}
	ap := c.AppendPoint()
	buf := bytes.NewBuffer(bytes.Clone(tape[:ap.Offset]))
	w, err := NewWriter(buf, ap.Offset, WriterOptions{Filemarks: ap.Filemarks, FilemarkCount: ap.FilemarkCount})
	if err != nil {
		t.Fatal(err)
	}
	appendSet(t, w, ap.Number, []testFile{{"b", []byte("bb")}})
	w.Flush()
	c, err = openBytes(t, buf.Bytes()).Scan()
	if err != nil || len(c.Sets) != 2 || c.Sets[1].Start.Number != 2 || c.Sets[1].Err != nil {
		t.Fatalf("%v %+v", err, c.Sets)
	}
	last := c.Filemarks[len(c.Filemarks)-1]
	if len(c.Filemarks) != 5 || len(last.PBAs) != 5 || last.PBAs[4] != 1 {
		t.Fatalf("filemarks %+v", c.Filemarks)
	}
}

func TestWriterShortReader(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, 0, WriterOptions{})
	w.WriteTape(&TapeHeader{})
	w.BeginSet(&StartSet{Number: 1}, nil)
	_, _, err := w.WriteFile(&File{Name: "x"}, 100, bytes.NewReader(make([]byte, 10)))
	if err == nil || !strings.Contains(err.Error(), "after 10 of 100 bytes") {
		t.Fatalf("err = %v", err)
	}
	if _, err2 := w.EndSet(&EndSet{}); err2 == nil {
		t.Fatal("EndSet after a failed file succeeded")
	}
}

// failingWriter takes n bytes, then fails as a full disk does.
type failingWriter struct {
	buf bytes.Buffer
	n   int
}

var errDiskFull = errors.New("no space left on device")

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.buf.Len()+len(p) > f.n {
		k := f.n - f.buf.Len()
		f.buf.Write(p[:k])
		return k, errDiskFull
	}
	return f.buf.Write(p)
}

func TestWriterDiskFull(t *testing.T) {
	fw := &failingWriter{n: 20_000}
	w, _ := NewWriter(fw, 0, WriterOptions{BufferSize: 4096})
	w.WriteTape(&TapeHeader{})
	w.BeginSet(&StartSet{Number: 1}, nil)
	w.WriteBlock(&Volume{Device: "C:"})
	_, _, err := w.WriteFile(&File{Name: "big"}, 100_000, bytes.NewReader(make([]byte, 100_000)))
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("WriteFile: %v", err)
	}
	if _, err := w.EndSet(&EndSet{}); !errors.Is(err, errDiskFull) {
		t.Fatalf("EndSet: %v", err)
	}
	if err := w.Flush(); !errors.Is(err, errDiskFull) {
		t.Fatalf("Flush: %v", err)
	}
	// What reached the disk is a tape whose set is aborted.
	c, err := openBytes(t, fw.buf.Bytes()).Scan()
	if err != nil || len(c.Sets) != 1 || c.Sets[0].End != nil || c.Sets[0].Err == nil {
		t.Fatalf("%v %+v", err, c.Sets)
	}
	if ap := c.AppendPoint(); ap.Offset != 2048 || ap.Number != 1 {
		t.Fatalf("append point %+v", ap)
	}
}

// Files carry a BLAKE3 digest (EXBH version 2) unless the writer is told
// SHA-256 (version 1, the first tapes). Either reads back, and a changed
// digest is named with its algorithm.
func TestFileDigests(t *testing.T) {
	data := bytes.Repeat([]byte("mail "), 30_000)
	for _, c := range []struct {
		o    WriterOptions
		algo HashAlgo
		sum  [32]byte
	}{
		{WriterOptions{}, HashBLAKE3, blake3.Sum256(data)},
		{WriterOptions{FileHash: HashSHA256}, HashSHA256, sha256.Sum256(data)},
	} {
		tape := buildTapeWith(t, c.o, []testFile{{"priv.edb", data}})
		if err := inspect(t, tape); err != nil {
			t.Fatalf("%s: %v", c.algo.Title(), err)
		}
		c2, err := openBytes(t, tape).Scan()
		if err != nil {
			t.Fatal(err)
		}
		b := c2.Sets[0].Files[0].Block
		h := b.Hash
		if h == nil || h.Algo != c.algo || h.Sum != c.sum {
			t.Fatalf("%s: EXBH %+v", c.algo.Title(), h)
		}
		var at int
		for _, s := range b.Streams {
			if s.Header.ID == StreamFileHash {
				at = int(s.Offset)
			}
		}
		if v := binary.LittleEndian.Uint16(tape[at:]); v != uint16(c.algo) {
			t.Fatalf("%s: EXBH version %d", c.algo.Title(), v)
		}
		// A changed EXBH fails the set's metadata digest; a digest that
		// does not match the data (as if the data had changed and its CRC
		// and CSUM with it) fails the read.
		bad := bytes.Clone(tape)
		bad[at+16] ^= 1
		if err := inspect(t, bad); err == nil {
			t.Errorf("%s: a changed EXBH went unseen", c.algo.Title())
		}
		r := openBytes(t, tape)
		r.Scan()
		h.Sum[0] ^= 1
		d, err := r.OpenData(b, "priv.edb", DataOptions{Strong: true})
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(io.Discard, d)
		d.Close()
		if !errors.Is(err, ErrHash) || !strings.Contains(err.Error(), c.algo.Title()+" ") {
			t.Errorf("%s: data that does not match the digest gives %v", c.algo.Title(), err)
		}
	}
	if _, err := NewWriter(io.Discard, 0, WriterOptions{FileHash: 3}); err == nil {
		t.Error("a writer took an unknown digest")
	}
}

// gatedSource holds the read of the data's first chunk until the read of
// a later chunk has started.
type gatedSource struct {
	r       io.ReaderAt
	first   int64 // offset of the first chunk
	started chan struct{}
	once    sync.Once
}

func (g *gatedSource) ReadAt(p []byte, off int64) (int, error) {
	if off == g.first {
		select {
		case <-g.started:
		case <-time.After(10 * time.Second):
			return 0, errors.New("no other read started while the first was in flight")
		}
	} else {
		g.once.Do(func() { close(g.started) })
	}
	return g.r.ReadAt(p, off)
}

// Data from a Source is read with several chunks in flight, and still
// arrives in order.
func TestDataReadsOverlap(t *testing.T) {
	data := make([]byte, 10_000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	tape := buildTape(t, []testFile{{"priv.edb", data}})
	r := openBytes(t, tape)
	c, err := r.Scan()
	if err != nil {
		t.Fatal(err)
	}
	b := c.Sets[0].Files[0].Block
	src := &gatedSource{r: bytes.NewReader(tape), first: b.Data.Offset, started: make(chan struct{})}
	d, err := r.OpenData(b, "priv.edb", DataOptions{Strong: true, ChunkSize: 1000, Source: src})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(d)
	d.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
}
