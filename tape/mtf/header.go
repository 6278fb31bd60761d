package mtf

import (
	"encoding/binary"
	"fmt"
)

// Block types (DBLK ids).
const (
	TypeTape       = "TAPE"
	TypeStartSet   = "SSET"
	TypeVolume     = "VOLB"
	TypeDirectory  = "DIRB"
	TypeFile       = "FILE"
	TypeCorrupt    = "CFIL"
	TypeEndSetPad  = "ESPB"
	TypeEndSet     = "ESET"
	TypeEndOfMedia = "EOTM"
	TypeFilemark   = "SFMB"
)

// HeaderSize is the size of the common block header.
const HeaderSize = 52

// Common block attribute bits.
const (
	BlockContinuation = 1 << 0
	BlockCompression  = 1 << 2
	BlockEOSAtEOM     = 1 << 3
)

// String types of the common header.
const (
	StringNone  = 0
	StringANSI  = 1
	StringUTF16 = 2
)

// OSWindowsNT is the OS id of Windows NT in the common header.
const OSWindowsNT = 14

// Header is the common header every block starts with.
type Header struct {
	Type            string // four ASCII letters
	Attributes      uint32
	FirstStream     uint16 // offset of the first stream header from the block start
	OSID            uint8
	OSVersion       uint8
	DisplayableSize uint64
	FLA             uint64 // format logical address
	ControlBlockID  uint32
	OSData          TapeAddress
	StringType      uint8
	Checksum        uint16 // as read; computed on encode
}

// Checksum16 returns the XOR of the little-endian 16-bit words of b
// (len(b) must be even).
func Checksum16(b []byte) uint16 {
	var x uint16
	for i := 0; i+1 < len(b); i += 2 {
		x ^= binary.LittleEndian.Uint16(b[i:])
	}
	return x
}

// Encode writes the header into b[:HeaderSize], computing its checksum.
func (h *Header) Encode(b []byte) {
	_ = b[HeaderSize-1]
	clear(b[:HeaderSize])
	copy(b[0:4], h.Type)
	le := binary.LittleEndian
	le.PutUint32(b[4:], h.Attributes)
	le.PutUint16(b[8:], h.FirstStream)
	b[10] = h.OSID
	b[11] = h.OSVersion
	le.PutUint64(b[12:], h.DisplayableSize)
	le.PutUint64(b[20:], h.FLA)
	le.PutUint32(b[36:], h.ControlBlockID)
	h.OSData.put(b[44:])
	b[48] = h.StringType
	h.Checksum = Checksum16(b[:50])
	le.PutUint16(b[50:], h.Checksum)
}

// DecodeHeader decodes and checks a common header. It does not judge the
// block type; see KnownType.
func DecodeHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, detail(ErrTruncated, "block header needs %d bytes, have %d", HeaderSize, len(b))
	}
	le := binary.LittleEndian
	h := Header{
		Type:            string(b[0:4]),
		Attributes:      le.Uint32(b[4:]),
		FirstStream:     le.Uint16(b[8:]),
		OSID:            b[10],
		OSVersion:       b[11],
		DisplayableSize: le.Uint64(b[12:]),
		FLA:             le.Uint64(b[20:]),
		ControlBlockID:  le.Uint32(b[36:]),
		OSData:          getAddress(b[44:]),
		StringType:      b[48],
		Checksum:        le.Uint16(b[50:]),
	}
	if sum := Checksum16(b[:50]); sum != h.Checksum {
		return h, detail(ErrChecksum, "block header checksum is %#04x, computed %#04x", h.Checksum, sum)
	}
	if h.StringType > StringUTF16 {
		return h, detail(ErrUnsupported, "string type %d", h.StringType)
	}
	return h, nil
}

// KnownType reports whether t is one of the block types of MTF 1.00a.
func KnownType(t string) bool {
	switch t {
	case TypeTape, TypeStartSet, TypeVolume, TypeDirectory, TypeFile, TypeCorrupt,
		TypeEndSetPad, TypeEndSet, TypeEndOfMedia, TypeFilemark:
		return true
	}
	return false
}

// printable renders a 4-byte id for a message, quoting it when it is not
// printable ASCII.
func printable(id string) string {
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] > 0x7e {
			return fmt.Sprintf("%q", id)
		}
	}
	return id
}
