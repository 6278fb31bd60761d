package mtf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

// Golden values worked out by hand from the specification, and checked
// against the foreign fixture written by another implementation.

func TestHeaderChecksumGolden(t *testing.T) {
	// "SSET" and nothing else: the words 0x5353 ("SS") and 0x5445 ("ET").
	var b [HeaderSize]byte
	h := Header{Type: TypeStartSet}
	h.Encode(b[:])
	if h.Checksum != 0x5353^0x5445 || binary.LittleEndian.Uint16(b[50:]) != 0x0716 {
		t.Fatalf("checksum %#04x", h.Checksum)
	}
	// The foreign TAPE block's header carries 0x04e8.
	tape := readFixture(t)[:HeaderSize]
	if got := Checksum16(tape[:50]); got != 0x04e8 {
		t.Fatalf("fixture TAPE checksum %#04x", got)
	}
	dh, err := DecodeHeader(tape)
	if err != nil || dh.Type != TypeTape || dh.FirstStream != 0xe0 || dh.OSID != OSWindowsNT || dh.StringType != StringUTF16 {
		t.Fatalf("%+v %v", dh, err)
	}
	var again [HeaderSize]byte
	dh.Encode(again[:])
	if !bytes.Equal(again[:], tape) {
		t.Fatalf("re-encoded header differs:\n%x\n%x", again, tape)
	}
}

func TestHeaderChecksumMismatch(t *testing.T) {
	var b [HeaderSize]byte
	h := Header{Type: TypeFile, FLA: 7, ControlBlockID: 9}
	h.Encode(b[:])
	for i := 0; i < 50; i++ {
		c := b
		c[i] ^= 0x40
		if _, err := DecodeHeader(c[:]); !errors.Is(err, ErrChecksum) {
			t.Fatalf("flip at byte %d: %v", i, err)
		}
	}
	if _, err := DecodeHeader(b[:40]); !errors.Is(err, ErrTruncated) {
		t.Fatalf("short header: %v", err)
	}
}

func TestStreamHeaderGolden(t *testing.T) {
	// STAN, media attribute "CSUM follows", 17 bytes: words 0x5453 0x4e41
	// 0x0000 0x0020 0x0011 → 0x1a23, as in the fixture.
	s := StreamHeader{ID: StreamStandard, MediaAttributes: StreamChecksumFollow, Length: 17}
	var b [StreamHeaderSize]byte
	s.Encode(b[:])
	want := []byte{'S', 'T', 'A', 'N', 0, 0, 0x20, 0, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x23, 0x1a}
	if !bytes.Equal(b[:], want) {
		t.Fatalf("got %x want %x", b, want)
	}
	fix := readFixture(t)
	if !bytes.Equal(fix[0x1898:0x1898+StreamHeaderSize], want) {
		t.Fatalf("fixture STAN header differs: %x", fix[0x1898:0x1898+StreamHeaderSize])
	}
	d, err := DecodeStreamHeader(b[:])
	if err != nil || d.ID != StreamStandard || d.Length != 17 || d.MediaAttributes != StreamChecksumFollow {
		t.Fatalf("%+v %v", d, err)
	}
	b[9] ^= 1
	if _, err := DecodeStreamHeader(b[:]); !errors.Is(err, ErrChecksum) {
		t.Fatalf("bad checksum accepted: %v", err)
	}
}

func TestDateGolden(t *testing.T) {
	// 2001-07-14 13:45:30: year 2001 (14 bits) month 7 (4) day 14 (5)
	// hour 13 (5) minute 45 (6) second 30 (6), most significant first:
	// 00011111010001 0111 01110 01101 101101 011110 = 1f 45 dc db 5e.
	d := time.Date(2001, 7, 14, 13, 45, 30, 0, time.UTC)
	var b [DateSize]byte
	EncodeDate(b[:], d)
	if want := []byte{0x1f, 0x45, 0xdc, 0xdb, 0x5e}; !bytes.Equal(b[:], want) {
		t.Fatalf("got %x want %x", b, want)
	}
	if got := DecodeDate(b[:], time.UTC); !got.Equal(d) {
		t.Fatalf("decoded %v", got)
	}
	var zero [DateSize]byte
	EncodeDate(b[:], time.Time{})
	if b != zero || !DecodeDate(zero[:], time.UTC).IsZero() {
		t.Fatal("zero date is not all zeros")
	}
	// Month 13 does not decode.
	if !DecodeDate([]byte{0x1f, 0x47, 0x5c, 0xdb, 0x5e}, time.UTC).IsZero() {
		t.Fatal("month 13 decoded")
	}
	for _, tm := range []time.Time{
		time.Date(1984, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 25, 14, 59, 59, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
	} {
		EncodeDate(b[:], tm)
		if got := DecodeDate(b[:], time.UTC); !got.Equal(tm) {
			t.Errorf("%v → %x → %v", tm, b, got)
		}
	}
}

func TestStringsGolden(t *testing.T) {
	if got := EncodeString("C:é", StringUTF16); !bytes.Equal(got, []byte{'C', 0, ':', 0, 0xe9, 0}) {
		t.Fatalf("UTF-16: %x", got)
	}
	if got := EncodeString("😀", StringUTF16); !bytes.Equal(got, []byte{0x3d, 0xd8, 0x00, 0xde}) {
		t.Fatalf("surrogates: %x", got)
	}
	if got := DecodeString([]byte{0x3d, 0xd8, 0x00, 0xde}, StringUTF16); got != "😀" {
		t.Fatalf("decoded %q", got)
	}
	// ANSI: Windows-1252, 0x80 is the euro sign.
	if got := DecodeString([]byte{'a', 0x80, 0xe9}, StringANSI); got != "a€é" {
		t.Fatalf("ANSI %q", got)
	}
	if got := EncodeString("aé€", StringANSI); !bytes.Equal(got, []byte{'a', 0xe9, '?'}) {
		t.Fatalf("ANSI encode %x", got)
	}
	// An odd UTF-16 byte count drops the last byte.
	if got := DecodeString([]byte{'a', 0, 'b'}, StringUTF16); got != "a" {
		t.Fatalf("odd %q", got)
	}
}

func TestStringAddressGolden(t *testing.T) {
	// A VOLB's fixed part is 73 bytes, so its first string sits at 73,
	// the next right after it, unaligned, as in the fixture.
	h := Header{}
	b, err := EncodeBlock(&h, &Volume{Attributes: VolumeDriveLetter, Device: "C:", Name: "SYSTEM", Machine: "HOST",
		WriteDate: time.Date(2001, 7, 14, 13, 45, 30, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	addr := func(off int) TapeAddress { return getAddress(b[off:]) }
	if addr(56) != (TapeAddress{4, 73}) || addr(60) != (TapeAddress{12, 77}) || addr(64) != (TapeAddress{8, 89}) {
		t.Fatalf("addresses %v %v %v", addr(56), addr(60), addr(64))
	}
	if h.FirstStream != 100 || len(b) != 100 {
		t.Fatalf("first stream %d, len %d", h.FirstStream, len(b))
	}
	fix := readFixture(t)
	if !bytes.Equal(b[52:97], fix[0xc00+52:0xc00+97]) {
		t.Fatalf("VOLB differs from the fixture's:\n%x\n%x", b[52:97], fix[0xc00+52:0xc00+97])
	}
}

func TestXOR32(t *testing.T) {
	// The fixture's CSUM of "Hello from set 1\n".
	var x XOR32
	x.Write([]byte("Hello from set 1\n"))
	if x.Sum32() != 0x5c0a5c27 {
		t.Fatalf("CSUM %#08x", x.Sum32())
	}
	data := make([]byte, 1000)
	for i := range data {
		data[i] = byte(i*31 + 7)
	}
	var whole XOR32
	whole.Write(data)
	for _, step := range []int{1, 3, 5, 8, 33, 999} {
		var p XOR32
		for i := 0; i < len(data); i += step {
			p.Write(data[i:min(i+step, len(data))])
		}
		if p.Sum32() != whole.Sum32() {
			t.Fatalf("step %d: %#x vs %#x", step, p.Sum32(), whole.Sum32())
		}
	}
	var naive uint32
	for i := 0; i < len(data); i += 4 {
		var w [4]byte
		copy(w[:], data[i:])
		naive ^= binary.LittleEndian.Uint32(w[:])
	}
	if naive != whole.Sum32() {
		t.Fatalf("naive %#x, XOR32 %#x", naive, whole.Sum32())
	}
}

func TestBlockRoundTrip(t *testing.T) {
	when := time.Date(2026, 11, 25, 14, 59, 0, 0, time.UTC)
	blocks := []Descriptor{
		&TapeHeader{MediaFamilyID: 0x1234, Attributes: TapeSoftFilemarks, MediaSequence: 1, SoftFilemarkBlockSize: 2,
			MediaName: "Tape created on 11/25/2026", MediaLabel: "label", MediaPassword: "pw", SoftwareName: "exbackup",
			FLBSize: 1024, VendorID: 7, MediaDate: when, MajorVersion: 1},
		&StartSet{Attributes: SetIncremental, PasswordAlgorithm: 1, CompressionAlgorithm: 2, VendorID: 3, Number: 4,
			Name: "Set created 11/25/2026 at 2:59 PM", Description: "d", Password: "p", UserName: "user@host",
			PBA: 99, WriteDate: when, SoftwareMajor: 1, SoftwareMinor: 2, MTFMinor: 0, CatalogVersion: 1},
		&Volume{Attributes: VolumeUNC, Device: `\\SERVER\Microsoft Information Store`, Name: "Microsoft Information Store", Machine: "SERVER", WriteDate: when},
		&Directory{Attributes: EntryHidden, Modified: when, Created: when, Backup: when, Accessed: when, ID: 3, Name: DirName([]string{"a", "b"})},
		&File{Attributes: FileInUse, Modified: when, Created: when, Backup: when, Accessed: when, DirectoryID: 3, ID: 8, Name: "priv.edb"},
		&CorruptFile{Attributes: 1, StreamOffset: 1 << 40, StreamNumber: 2},
		&EndSetPad{},
		&EndSet{Attributes: SetNormal | EndSetAborted, CorruptFiles: 2, FDDMediaSequence: 1, Number: 4, WriteDate: when},
		&EndOfMedia{LastEndSetPBA: 1234},
		&Filemark{Entries: 241, PBAs: []uint32{9, 5, 1}},
	}
	for _, d := range blocks {
		h := Header{FLA: 5, ControlBlockID: 6, DisplayableSize: 7, Attributes: BlockContinuation}
		b, err := EncodeBlock(&h, d)
		if err != nil {
			t.Fatal(err)
		}
		if len(b)%4 != 0 || int(h.FirstStream) != len(b) {
			t.Errorf("%s: length %d, first stream %d", d.BlockType(), len(b), h.FirstStream)
		}
		gh, gd, err := DecodeBlock(b, time.UTC)
		if err != nil {
			t.Fatalf("%s: %v", d.BlockType(), err)
		}
		if gh != h {
			t.Errorf("%s header: %+v, want %+v", d.BlockType(), gh, h)
		}
		if !equalDesc(gd, d) {
			t.Errorf("%s: decoded %+v, want %+v", d.BlockType(), gd, d)
		}
	}
}

func equalDesc(a, b Descriptor) bool {
	switch a := a.(type) {
	case *Filemark:
		b := b.(*Filemark)
		return a.Entries == b.Entries && len(a.PBAs) == len(b.PBAs) && (len(a.PBAs) == 0 || a.PBAs[0] == b.PBAs[0] && a.PBAs[len(a.PBAs)-1] == b.PBAs[len(b.PBAs)-1])
	case *TapeHeader:
		return *a == *b.(*TapeHeader)
	case *StartSet:
		return *a == *b.(*StartSet)
	case *Volume:
		return *a == *b.(*Volume)
	case *Directory:
		return *a == *b.(*Directory)
	case *File:
		return *a == *b.(*File)
	case *CorruptFile:
		return *a == *b.(*CorruptFile)
	case *EndSet:
		return *a == *b.(*EndSet)
	case *EndOfMedia:
		return *a == *b.(*EndOfMedia)
	case *EndSetPad:
		return true
	}
	return false
}

func TestDecodeBlockBounds(t *testing.T) {
	h := Header{}
	b, _ := EncodeBlock(&h, &File{Name: "priv.edb"})
	// A string whose size runs past the block.
	bad := bytes.Clone(b)
	binary.LittleEndian.PutUint16(bad[84:], 0xfff0)
	if _, _, err := DecodeBlock(bad, nil); !errors.Is(err, ErrBounds) {
		t.Fatalf("huge string size: %v", err)
	}
	// A string offset inside the header.
	bad = bytes.Clone(b)
	binary.LittleEndian.PutUint16(bad[86:], 10)
	if _, _, err := DecodeBlock(bad, nil); !errors.Is(err, ErrBounds) {
		t.Fatalf("string in header: %v", err)
	}
	// The block cut inside its fixed part.
	if _, _, err := DecodeBlock(b[:70], nil); !errors.Is(err, ErrTruncated) {
		t.Fatalf("short block: %v", err)
	}
	// An unknown type with a good checksum.
	bad = bytes.Clone(b)
	copy(bad, "XYZW")
	rh, _ := DecodeHeader(b)
	rh.Type = "XYZW"
	rh.Encode(bad)
	if _, _, err := DecodeBlock(bad, nil); !errors.Is(err, ErrUnknownBlock) {
		t.Fatalf("unknown type: %v", err)
	}
	// A first-stream offset inside the fixed part.
	rh.Type = TypeFile
	rh.FirstStream = 60
	rh.Encode(bad)
	if _, _, err := DecodeBlock(bad, nil); !errors.Is(err, ErrBounds) {
		t.Fatalf("first stream in fixed part: %v", err)
	}
	// A filemark claiming more entries than it holds.
	h = Header{}
	fb, _ := EncodeBlock(&h, &Filemark{Entries: 241, PBAs: []uint32{1}})
	binary.LittleEndian.PutUint32(fb[56:], 200)
	if _, _, err := DecodeBlock(fb, nil); !errors.Is(err, ErrBounds) {
		t.Fatalf("filemark entries: %v", err)
	}
}

func TestDirName(t *testing.T) {
	if DirName(nil) != "\x00" || len(SplitDirName("\x00")) != 0 {
		t.Fatal("root")
	}
	if got := SplitDirName(DirName([]string{"mdbdata", "logs"})); len(got) != 2 || got[1] != "logs" {
		t.Fatalf("%q", got)
	}
}
