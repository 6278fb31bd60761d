package mtf

import (
	"encoding/binary"
	"io"
)

// Software compression of a stream (media attribute StreamCompressed): the
// stream's data is a run of frames, each a 24-byte MTF_CMP_HDR and its
// bytes. A frame whose compressed size equals its uncompressed size holds
// its data as it is (Backup Exec stores a frame so when compression would
// expand it).
const (
	FrameHeaderSize = 24
	frameID         = 0x4846 // "FH"
	// CompressionLZS221 is MTF_LZS221, the compression algorithm id of a
	// stream compressed with Stac LZS.
	CompressionLZS221 = 0x0ABE
	// maxFrame bounds what one frame may claim: Backup Exec writes 64 KiB
	// frames at most; a little room is left.
	maxFrame = 1 << 20
)

// FrameHeader is an MTF_CMP_HDR.
type FrameHeader struct {
	Attributes   uint16
	Remaining    uint64 // uncompressed bytes of the stream from this frame on
	Uncompressed uint32
	Compressed   uint32
	Sequence     uint8
}

// Stored reports whether the frame holds its data uncompressed.
func (f FrameHeader) Stored() bool { return f.Compressed >= f.Uncompressed }

// Encode writes the header into b[:FrameHeaderSize] with its checksum.
func (f FrameHeader) Encode(b []byte) {
	le := binary.LittleEndian
	le.PutUint16(b[0:], frameID)
	le.PutUint16(b[2:], f.Attributes)
	le.PutUint64(b[4:], f.Remaining)
	le.PutUint32(b[12:], f.Uncompressed)
	le.PutUint32(b[16:], f.Compressed)
	b[20], b[21] = f.Sequence, 0
	le.PutUint16(b[22:], Checksum16(b[:22]))
}

// DecodeFrameHeader decodes and checks a compression frame header.
func DecodeFrameHeader(b []byte) (FrameHeader, error) {
	if len(b) < FrameHeaderSize {
		return FrameHeader{}, detail(ErrTruncated, "compression frame header needs %d bytes, have %d", FrameHeaderSize, len(b))
	}
	le := binary.LittleEndian
	if id := le.Uint16(b); id != frameID {
		return FrameHeader{}, detail(ErrBounds, "compression frame starts %q, not FH", b[:2])
	}
	if sum := Checksum16(b[:22]); sum != le.Uint16(b[22:]) {
		return FrameHeader{}, detail(ErrChecksum, "compression frame header checksum is %#04x, computed %#04x", le.Uint16(b[22:]), sum)
	}
	f := FrameHeader{
		Attributes:   le.Uint16(b[2:]),
		Remaining:    le.Uint64(b[4:]),
		Uncompressed: le.Uint32(b[12:]),
		Compressed:   le.Uint32(b[16:]),
		Sequence:     b[20],
	}
	if f.Uncompressed > maxFrame || f.Compressed > maxFrame {
		return f, detail(ErrBounds, "compression frame of %d bytes (%d compressed), at most %d expected", f.Uncompressed, f.Compressed, maxFrame)
	}
	return f, nil
}

// EncodeFrames compresses data into LZS frames of frameSize bytes (64 KiB
// when 0), storing a frame as it is when compression would expand it.
func EncodeFrames(data []byte, frameSize int) []byte {
	if frameSize <= 0 {
		frameSize = 64 << 10
	}
	var out []byte
	var seq uint8
	for off := 0; off < len(data); off += frameSize {
		chunk := data[off:min(off+frameSize, len(data))]
		body := CompressLZS(chunk)
		if len(body) >= len(chunk) {
			body = chunk
		}
		var h [FrameHeaderSize]byte
		FrameHeader{Remaining: uint64(len(data) - off), Uncompressed: uint32(len(chunk)), Compressed: uint32(len(body)), Sequence: seq}.Encode(h[:])
		out = append(append(out, h[:]...), body...)
		seq++
	}
	return out
}

// FrameReader decodes a compressed stream's frames as they are read: the
// uncompressed data comes out, one frame in memory at a time.
type FrameReader struct {
	r       io.Reader
	left    int64 // raw bytes of the stream not yet read
	raw     []byte
	out     []byte
	off     int64 // raw offset of the next frame, for errors
	err     error
	decoded int64
}

// NewFrameReader reads the frames of a compressed stream of length raw
// bytes from r.
func NewFrameReader(r io.Reader, length int64) *FrameReader {
	return &FrameReader{r: r, left: length}
}

// Read returns uncompressed data; a damaged frame is an error wrapping
// ErrBounds, ErrChecksum or ErrTruncated that tells its offset in the stream.
func (f *FrameReader) Read(p []byte) (int, error) {
	for len(f.out) == 0 {
		if f.err != nil {
			return 0, f.err
		}
		f.err = f.next()
	}
	n := copy(p, f.out)
	f.out = f.out[n:]
	return n, nil
}

func (f *FrameReader) next() error {
	if f.left == 0 {
		return io.EOF
	}
	if f.left < FrameHeaderSize {
		return detail(ErrTruncated, "%d bytes at stream byte %d, too short for a compression frame", f.left, f.off)
	}
	var hb [FrameHeaderSize]byte
	if _, err := io.ReadFull(f.r, hb[:]); err != nil {
		return err
	}
	h, err := DecodeFrameHeader(hb[:])
	if err != nil {
		return detail(err, "at stream byte %d", f.off)
	}
	f.left -= FrameHeaderSize
	if int64(h.Compressed) > f.left {
		return detail(ErrBounds, "compression frame at stream byte %d holds %d bytes, the stream has %d left", f.off, h.Compressed, f.left)
	}
	if cap(f.raw) < int(h.Compressed) {
		f.raw = make([]byte, h.Compressed)
	}
	raw := f.raw[:h.Compressed]
	if _, err := io.ReadFull(f.r, raw); err != nil {
		return err
	}
	f.left -= int64(h.Compressed)
	at := f.off
	f.off += FrameHeaderSize + int64(h.Compressed)
	if h.Stored() {
		if h.Compressed != h.Uncompressed {
			return detail(ErrBounds, "stored compression frame at stream byte %d of %d bytes claims %d", at, h.Compressed, h.Uncompressed)
		}
		f.out = raw
	} else {
		out, err := DecompressLZS(raw, int(h.Uncompressed))
		if err != nil {
			return detail(ErrBounds, "compression frame at stream byte %d: %v", at, err)
		}
		f.out = out
	}
	f.decoded += int64(len(f.out))
	return nil
}
