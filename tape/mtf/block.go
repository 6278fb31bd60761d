package mtf

import (
	"encoding/binary"
	"time"
)

// Descriptor is the type-specific part of a block (its fixed part and the
// strings it points to): *TapeHeader, *StartSet, *Volume, *Directory, *File,
// *CorruptFile, *EndSetPad, *EndSet, *EndOfMedia or *Filemark.
type Descriptor interface {
	BlockType() string
	fixedSize() int // bytes after the common header
	encode(e *encoder)
	decode(d *decoder)
}

// maxBlockHead is the most a block's header, fixed part and strings can
// take: the first-stream offset is 16 bits.
const maxBlockHead = 0xffff

// EncodeBlock encodes a block's common header, fixed part and strings, padded
// to the 4-byte boundary where its first stream header goes. It fills in
// h.Type, h.StringType (UTF-16 unless ANSI is asked for) and h.FirstStream
// (kept when larger, as for a soft filemark), and computes the checksum.
func EncodeBlock(h *Header, d Descriptor) ([]byte, error) {
	if h.StringType != StringANSI {
		h.StringType = StringUTF16
	}
	e := &encoder{b: make([]byte, HeaderSize+d.fixedSize(), 256), st: h.StringType}
	d.encode(e)
	if e.err != nil {
		return nil, e.err
	}
	for len(e.b)%4 != 0 {
		e.b = append(e.b, 0)
	}
	if len(e.b) > maxBlockHead {
		return nil, detail(ErrBounds, "%s block strings take %d bytes, more than a block header can address", d.BlockType(), len(e.b))
	}
	h.Type = d.BlockType()
	if int(h.FirstStream) < len(e.b) {
		h.FirstStream = uint16(len(e.b))
	}
	h.Encode(e.b[:HeaderSize])
	return e.b, nil
}

// DecodeBlock decodes a block from b, which holds the block from its first
// byte up to (at least) its first stream header. Dates are read as wall
// clocks in loc (nil means UTC); an SSET uses its own time zone field.
func DecodeBlock(b []byte, loc *time.Location) (Header, Descriptor, error) {
	h, err := DecodeHeader(b)
	if err != nil {
		return h, nil, err
	}
	d := newDescriptor(h.Type)
	if d == nil {
		return h, nil, detail(ErrUnknownBlock, "block type %s", printable(h.Type))
	}
	end := HeaderSize + d.fixedSize()
	if len(b) < end {
		return h, nil, detail(ErrTruncated, "%s block needs %d bytes, have %d", h.Type, end, len(b))
	}
	if int(h.FirstStream) < end {
		return h, nil, detail(ErrBounds, "first stream offset %d inside the %d-byte fixed part", h.FirstStream, end)
	}
	if loc == nil {
		loc = time.UTC
	}
	dec := &decoder{b: b, st: h.StringType, loc: loc}
	d.decode(dec)
	if dec.err != nil {
		return h, nil, dec.err
	}
	return h, d, nil
}

func newDescriptor(t string) Descriptor {
	switch t {
	case TypeTape:
		return new(TapeHeader)
	case TypeStartSet:
		return new(StartSet)
	case TypeVolume:
		return new(Volume)
	case TypeDirectory:
		return new(Directory)
	case TypeFile:
		return new(File)
	case TypeCorrupt:
		return new(CorruptFile)
	case TypeEndSetPad:
		return new(EndSetPad)
	case TypeEndSet:
		return new(EndSet)
	case TypeEndOfMedia:
		return new(EndOfMedia)
	case TypeFilemark:
		return new(Filemark)
	}
	return nil
}

// encoder writes a fixed part at offsets counted from the block start and
// appends strings after it.
type encoder struct {
	b   []byte
	st  uint8
	err error
}

func (e *encoder) u8(off int, v uint8)   { e.b[off] = v }
func (e *encoder) u16(off int, v uint16) { binary.LittleEndian.PutUint16(e.b[off:], v) }
func (e *encoder) u32(off int, v uint32) { binary.LittleEndian.PutUint32(e.b[off:], v) }
func (e *encoder) u64(off int, v uint64) { binary.LittleEndian.PutUint64(e.b[off:], v) }
func (e *encoder) date(off int, t time.Time) {
	EncodeDate(e.b[off:], t)
}

func (e *encoder) str(off int, s string) {
	if s == "" {
		TapeAddress{}.put(e.b[off:])
		return
	}
	enc := EncodeString(s, e.st)
	if len(e.b)+len(enc) > maxBlockHead {
		if e.err == nil {
			e.err = detail(ErrBounds, "string of %d bytes does not fit in a block header", len(enc))
		}
		return
	}
	TapeAddress{Size: uint16(len(enc)), Offset: uint16(len(e.b))}.put(e.b[off:])
	e.b = append(e.b, enc...)
}

// decoder reads a fixed part whose length has been checked, and strings
// whose addresses are checked against the bytes at hand.
type decoder struct {
	b   []byte
	st  uint8
	loc *time.Location
	err error
}

func (d *decoder) u8(off int) uint8   { return d.b[off] }
func (d *decoder) u16(off int) uint16 { return binary.LittleEndian.Uint16(d.b[off:]) }
func (d *decoder) u32(off int) uint32 { return binary.LittleEndian.Uint32(d.b[off:]) }
func (d *decoder) u64(off int) uint64 { return binary.LittleEndian.Uint64(d.b[off:]) }
func (d *decoder) date(off int) time.Time {
	return DecodeDate(d.b[off:], d.loc)
}

func (d *decoder) str(off int) string {
	a := getAddress(d.b[off:])
	if a.Size == 0 {
		return ""
	}
	end := int(a.Offset) + int(a.Size)
	if int(a.Offset) < HeaderSize || end > len(d.b) {
		if d.err == nil {
			d.err = detail(ErrBounds, "string at offset %d of %d bytes ends past the block's %d bytes", a.Offset, a.Size, len(d.b))
		}
		return ""
	}
	return DecodeString(d.b[a.Offset:end], d.st)
}
