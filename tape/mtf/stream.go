package mtf

import "encoding/binary"

// StreamHeaderSize is the size of a stream header.
const StreamHeaderSize = 22

// Stream ids of MTF 1.00a that exbackup writes or reads.
const (
	StreamStandard = "STAN" // the file's data
	StreamPath     = "PNAM" // a directory path too long for the DIRB
	StreamFileName = "FNAM" // a file name too long for the FILE
	StreamChecksum = "CSUM" // XOR of the 32-bit words of the preceding stream's data
	StreamCorrupt  = "CRPT"
	StreamPad      = "SPAD" // zeros up to the next FLB boundary
	StreamSparse   = "SPAR"
	StreamNTACL    = "NACL" // Windows NT security descriptor
	StreamNTEA     = "NTEA"
	StreamNTAlt    = "ADAT"
)

// Stream media format attribute bits.
const (
	StreamContinued      = 1 << 0
	StreamVariable       = 1 << 1
	StreamVariableEnd    = 1 << 2
	StreamEncrypted      = 1 << 3
	StreamCompressed     = 1 << 4
	StreamChecksumFollow = 1 << 5 // a CSUM stream follows this one
)

// Stream file-system attribute bits.
const (
	StreamModifiedByRead = 1 << 0
	StreamSecurity       = 1 << 1
	StreamNonPortable    = 1 << 2
	StreamSparseAttr     = 1 << 3
)

// StreamHeader is the 22-byte header before each stream's data.
type StreamHeader struct {
	ID                   string
	FSAttributes         uint16
	MediaAttributes      uint16
	Length               uint64 // data only: no header, no padding
	EncryptionAlgorithm  uint16
	CompressionAlgorithm uint16
	Checksum             uint16 // as read; computed on encode
}

// Encode writes the header into b[:StreamHeaderSize], computing its checksum.
func (s *StreamHeader) Encode(b []byte) {
	_ = b[StreamHeaderSize-1]
	clear(b[:4])
	copy(b[0:4], s.ID)
	le := binary.LittleEndian
	le.PutUint16(b[4:], s.FSAttributes)
	le.PutUint16(b[6:], s.MediaAttributes)
	le.PutUint64(b[8:], s.Length)
	le.PutUint16(b[16:], s.EncryptionAlgorithm)
	le.PutUint16(b[18:], s.CompressionAlgorithm)
	s.Checksum = Checksum16(b[:20])
	le.PutUint16(b[20:], s.Checksum)
}

// DecodeStreamHeader decodes and checks a stream header.
func DecodeStreamHeader(b []byte) (StreamHeader, error) {
	if len(b) < StreamHeaderSize {
		return StreamHeader{}, detail(ErrTruncated, "stream header needs %d bytes, have %d", StreamHeaderSize, len(b))
	}
	le := binary.LittleEndian
	s := StreamHeader{
		ID:                   string(b[0:4]),
		FSAttributes:         le.Uint16(b[4:]),
		MediaAttributes:      le.Uint16(b[6:]),
		Length:               le.Uint64(b[8:]),
		EncryptionAlgorithm:  le.Uint16(b[16:]),
		CompressionAlgorithm: le.Uint16(b[18:]),
		Checksum:             le.Uint16(b[20:]),
	}
	if sum := Checksum16(b[:20]); sum != s.Checksum {
		return s, detail(ErrChecksum, "stream header checksum is %#04x, computed %#04x", s.Checksum, sum)
	}
	return s, nil
}

// Pad4 returns how many zero bytes lead from offset n to a 4-byte boundary.
func Pad4(n int64) int64 { return (4 - n%4) % 4 }

// XOR32 computes the CSUM stream's value: the XOR of the data's
// little-endian 32-bit words, the last one zero-padded. It accepts data in
// pieces of any size.
type XOR32 struct {
	acc   uint64
	phase int // bytes already into the current 32-bit word
}

// Write never fails.
func (x *XOR32) Write(p []byte) (int, error) {
	n := len(p)
	for x.phase != 0 && len(p) > 0 {
		x.acc ^= uint64(p[0]) << (8 * x.phase)
		x.phase = (x.phase + 1) & 3
		p = p[1:]
	}
	var a0, a1, a2, a3 uint64
	for len(p) >= 32 {
		a0 ^= binary.LittleEndian.Uint64(p[0:])
		a1 ^= binary.LittleEndian.Uint64(p[8:])
		a2 ^= binary.LittleEndian.Uint64(p[16:])
		a3 ^= binary.LittleEndian.Uint64(p[24:])
		p = p[32:]
	}
	for len(p) >= 8 {
		a0 ^= binary.LittleEndian.Uint64(p)
		p = p[8:]
	}
	x.acc ^= a0 ^ a1 ^ a2 ^ a3
	for _, c := range p {
		x.acc ^= uint64(c) << (8 * x.phase)
		x.phase = (x.phase + 1) & 3
	}
	return n, nil
}

// Sum32 returns the XOR so far.
func (x *XOR32) Sum32() uint32 { return uint32(x.acc) ^ uint32(x.acc>>32) }
