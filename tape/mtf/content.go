package mtf

import (
	"bufio"
	"encoding/binary"
	"io"
	"strings"
)

// More Windows NT stream ids, met on foreign tapes. None of them is file
// data: extraction leaves them out (ADAT only on request).
const (
	StreamNTObjectID = "NTOI"
	StreamNTQuota    = "NTQU"
	StreamNTReparse  = "NTRP"
	StreamNTAltData  = StreamNTAlt
)

// Content is what a FILE block's streams hold, sorted the way an extractor
// needs it: the file data (plain, compressed or sparse), the alternate data
// streams, and the streams that carry no data of the file.
type Content struct {
	Data       *StreamRef // the STAN stream; nil for an empty file
	Compressed bool       // Data holds compression frames
	Encrypted  bool       // Data is encrypted
	// Sealed: Data is encrypted as exbackup encrypts a set (age payload
	// under the set's data key), so the tape package reads it with the key;
	// other encryption cannot be restored.
	Sealed bool
	// Sparse lists the SPAR streams: each holds an 8-byte offset into the
	// file, then the bytes found there; what none covers is a hole.
	Sparse    []StreamRef
	Alternate []StreamRef // ADAT streams, each a named alternate data stream
	// Skipped are the ids of the streams no file content comes from: NT
	// security (NACL), extended attributes (NTEA), object ids (NTOI),
	// quotas (NTQU) and the like.
	Skipped []string
	// Size is the file's size: the STAN length of a plain file (less the
	// encryption's overhead in a sealed one), the
	// displayable size of a compressed or sparse one.
	Size int64
}

// Content sorts the streams of a FILE block.
func (b *Block) Content() Content {
	var c Content
	for i := range b.Streams {
		s := &b.Streams[i]
		switch s.Header.ID {
		case StreamStandard:
			if c.Data == nil {
				c.Data = s
				c.Compressed = s.Header.MediaAttributes&StreamCompressed != 0 || s.Header.CompressionAlgorithm != 0
				c.Encrypted = s.Header.MediaAttributes&StreamEncrypted != 0 || s.Header.EncryptionAlgorithm != 0
				c.Sealed = c.Encrypted && s.Header.EncryptionAlgorithm == EncryptionAge
			}
		case StreamSparse:
			c.Sparse = append(c.Sparse, *s)
		case StreamNTAltData:
			c.Alternate = append(c.Alternate, *s)
		case StreamChecksum, StreamPad, StreamFileName, StreamPath, StreamFileHash:
		default:
			c.Skipped = append(c.Skipped, s.Header.ID)
		}
	}
	if c.Data != nil {
		c.Size = b.DataSize()
	}
	if len(b.Streams) == 0 {
		c.Size = int64(b.Header.DisplayableSize) // a block known from a catalog
	}
	if c.Compressed || len(c.Sparse) > 0 {
		c.Size = max(c.Size, int64(b.Header.DisplayableSize))
		if c.Compressed {
			c.Size = int64(b.Header.DisplayableSize)
		}
	}
	return c
}

// SparseHeaderSize is the offset at the head of each SPAR stream's data.
const SparseHeaderSize = 8

// SparseExtent reads where a SPAR stream's bytes go in the file, and
// returns the offset, and the tape offset and length of those bytes.
func SparseExtent(ra io.ReaderAt, s StreamRef) (fileOff, dataAt, n int64, err error) {
	if s.Header.Length < SparseHeaderSize {
		return 0, 0, 0, detail(ErrBounds, "SPAR stream of %d bytes, too short for its offset", s.Header.Length)
	}
	var b [SparseHeaderSize]byte
	if _, err := ra.ReadAt(b[:], s.Offset); err != nil {
		return 0, 0, 0, err
	}
	off := binary.LittleEndian.Uint64(b[:])
	n = int64(s.Header.Length) - SparseHeaderSize
	if off > 1<<62 || int64(off)+n > 1<<62 {
		return 0, 0, 0, detail(ErrBounds, "SPAR stream places %d bytes at offset %d", n, off)
	}
	return int64(off), s.Offset + SparseHeaderSize, n, nil
}

// An ADAT stream's data starts with the stream's name, as Windows' backup
// API gives it: its length in bytes (u32) and the UTF-16LE name
// (":name:$DATA"); the stream's bytes follow.
const maxAltName = 64 << 10

// AlternateStream reads the name of an ADAT stream ("name" of
// ":name:$DATA") and returns it with the tape offset and length of its bytes.
func AlternateStream(ra io.ReaderAt, s StreamRef) (name string, dataAt, n int64, err error) {
	if s.Header.Length < 4 {
		return "", 0, 0, detail(ErrBounds, "ADAT stream of %d bytes, too short for its name", s.Header.Length)
	}
	var lb [4]byte
	if _, err := ra.ReadAt(lb[:], s.Offset); err != nil {
		return "", 0, 0, err
	}
	ln := int64(binary.LittleEndian.Uint32(lb[:]))
	if ln > maxAltName || ln+4 > int64(s.Header.Length) {
		return "", 0, 0, detail(ErrBounds, "ADAT stream name of %d bytes in a %d-byte stream", ln, s.Header.Length)
	}
	nb := make([]byte, ln)
	if _, err := ra.ReadAt(nb, s.Offset+4); err != nil {
		return "", 0, 0, err
	}
	name = strings.TrimPrefix(DecodeString(nb, StringUTF16), ":")
	name = strings.TrimSuffix(name, ":$DATA")
	return name, s.Offset + 4 + ln, int64(s.Header.Length) - 4 - ln, nil
}

// StreamReader reads n bytes of a stream from a tape and, when the stream
// has a CSUM, checks the XOR of all the stream's data at the end (a
// mismatch is returned in place of io.EOF). from is where in the stream's
// data the bytes start: the checksum covers the bytes before too, which
// are read for it.
type StreamReader struct {
	br   *bufio.Reader
	left int64
	x    XOR32
	ref  StreamRef
	err  error
}

// OpenStream reads the bytes [dataAt, dataAt+n) of stream s, which must lie
// inside it; the prefix of the stream before dataAt is read into the
// checksum.
func OpenStream(ra io.ReaderAt, s StreamRef, dataAt, n int64) (*StreamReader, error) {
	end := s.Offset + int64(s.Header.Length)
	if dataAt < s.Offset || n < 0 || dataAt+n > end {
		return nil, detail(ErrBounds, "bytes %d+%d outside the %s stream at %d", dataAt, n, s.Header.ID, s.Offset)
	}
	sr := &StreamReader{br: bufio.NewReaderSize(io.NewSectionReader(ra, s.Offset, end-s.Offset), 1<<20), left: n, ref: s}
	if pre := dataAt - s.Offset; pre > 0 {
		if _, err := io.CopyN(&sr.x, sr.br, pre); err != nil {
			return nil, err
		}
	}
	return sr, nil
}

func (s *StreamReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.left == 0 {
		s.err = s.check()
		return 0, s.err
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n, err := s.br.Read(p)
	s.x.Write(p[:n])
	s.left -= int64(n)
	if err == io.EOF && s.left > 0 {
		err = detail(ErrTruncated, "%s stream data ends early", s.ref.Header.ID)
	}
	if err == io.EOF {
		err = nil
	}
	if err != nil {
		s.err = err
	}
	return n, err
}

func (s *StreamReader) check() error {
	// The rest of the stream, if the caller took only part, counts too.
	if _, err := io.Copy(&s.x, s.br); err != nil {
		return err
	}
	if s.ref.HasChecksum && s.x.Sum32() != s.ref.Checksum {
		return detail(ErrChecksum, "%s stream CSUM %#08x, data gives %#08x", s.ref.Header.ID, s.ref.Checksum, s.x.Sum32())
	}
	return io.EOF
}
