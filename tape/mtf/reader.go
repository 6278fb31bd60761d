package mtf

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"time"
)

// Limits on what the reader loads into memory from a stream.
const (
	maxNameStream = 128 << 10 // PNAM, FNAM
	maxInfoStream = 64 << 10  // EXBS
	walkBuffer    = 256 << 10 // the block walker's buffer (> the largest block head)
)

// StreamRef locates one stream of a block.
type StreamRef struct {
	Header StreamHeader
	Offset int64 // tape offset of the stream's data
	// Checksum is the value of the CSUM stream that follows this one, if
	// any.
	Checksum    uint32
	HasChecksum bool
	// OnMedium, when not 0, is how many of the stream's bytes this medium
	// holds: the medium ended inside it (Block.Continues).
	OnMedium int64
}

// Block is one block as read from a tape, with what its streams told.
type Block struct {
	Offset int64 // tape offset of the block
	End    int64 // tape offset just past the block (its SPAD)
	Header Header
	Desc   Descriptor
	// Name is a DIRB's or FILE's name, from its PNAM or FNAM stream when it
	// was too long for the block.
	Name    string
	Streams []StreamRef
	Data    *StreamRef // a FILE's STAN stream
	// Checksum is the CSUM that follows the STAN stream, if any.
	Checksum    uint32
	HasChecksum bool
	Hash        *FileHash  // EXBH
	SetInfo     *SetInfo   // EXBS
	Keys        *KeyHeader // EXBK: the SSET of an encrypted set
	// Problem is set when the block is whole but a check on it failed
	// (an EXBM digest that does not match, for example).
	Problem error
	// Continues is set on a FILE whose data goes on on the next medium of
	// the family; Continued on the FILE that takes it up there.
	Continues, Continued bool
}

// Reader walks the blocks of a tape in order. It reads with one buffer of
// fixed size and steps over file data without reading it.
type Reader struct {
	name string
	ra   io.ReaderAt
	src  *source
	tape *TapeHeader
	flb  int64
	sfm  int64
	loc  *time.Location
	set  int // data set number of the open set, for error messages

	tapeEnd     int64
	tapeProblem error
	eom         *int64 // where the data of this medium ends, once looked for
}

// NewReader reads the TAPE block at the start of a tape of the given size
// and leaves the reader on the block after it. name is used in errors.
func NewReader(ra io.ReaderAt, size int64, name string) (*Reader, error) {
	r := &Reader{name: name, ra: ra, src: newSource(ra, size, int(max(1, min(walkBuffer, size)))), flb: 512, sfm: 512, loc: time.UTC}
	b, err := peekHeader(r.src)
	if err != nil {
		return nil, r.errAt(0, "", fmt.Errorf("%w: %w", ErrNotMTF, err))
	}
	if b.Type != TypeTape {
		return nil, r.errAt(0, b.Type, detail(ErrNotMTF, "first block is %s, not TAPE", b.Type))
	}
	blk, err := r.Next()
	if err != nil {
		return nil, err
	}
	r.tape = blk.Desc.(*TapeHeader)
	r.tapeEnd = blk.End
	r.tapeProblem = blk.Problem
	return r, nil
}

func peekHeader(s *source) (Header, error) {
	b, err := s.peek(HeaderSize)
	if err != nil {
		return Header{}, err
	}
	return DecodeHeader(b)
}

// Tape returns the tape's TAPE block.
func (r *Reader) Tape() *TapeHeader { return r.tape }

// TapeProblem returns the error found checking the TAPE block's EXBM
// digest, if any: the tape can still be read.
func (r *Reader) TapeProblem() error { return r.tapeProblem }

// TapeEnd returns the offset just past the TAPE block.
func (r *Reader) TapeEnd() int64 { return r.tapeEnd }

// Name returns the name the reader gives the tape in errors.
func (r *Reader) Name() string { return r.name }

// Size returns the tape's size in bytes.
func (r *Reader) Size() int64 { return r.src.size }

// FLBSize returns the tape's format logical block size.
func (r *Reader) FLBSize() int64 { return r.flb }

// FilemarkSize returns the size in bytes of the tape's soft filemark blocks.
func (r *Reader) FilemarkSize() int64 { return r.sfm }

// Offset returns where the next block is read from.
func (r *Reader) Offset() int64 { return r.src.pos() }

// Goto moves the reader to a block boundary, for reading one block (see
// ReadBlockAt) or resuming a walk. The set context (set number, time zone,
// metadata digest) is forgotten.
func (r *Reader) Goto(off int64) {
	r.src.seek(off)
	r.src.meta = nil
	r.set = 0
	r.loc = time.UTC
}

// ReadBlockAt reads the block at off.
func (r *Reader) ReadBlockAt(off int64) (*Block, error) {
	r.Goto(off)
	return r.Next()
}

func (r *Reader) errAt(off int64, block string, err error) *FormatError {
	var fe *FormatError
	if errors.As(err, &fe) {
		return fe
	}
	return &FormatError{Tape: r.name, Offset: off, Block: block, Set: r.set, Err: err}
}

// Next reads the next block and its streams' headers, loading the small
// streams it understands and stepping over data. It returns io.EOF at the
// end of the file, and a *FormatError for anything malformed.
func (r *Reader) Next() (*Block, error) {
	s := r.src
	off := s.pos()
	if s.remaining() == 0 {
		return nil, io.EOF
	}
	h, err := peekHeader(s)
	if err != nil {
		return nil, r.errAt(off, h.Type, err)
	}
	if !KnownType(h.Type) {
		return nil, r.errAt(off, h.Type, detail(ErrUnknownBlock, "block type %s", printable(h.Type)))
	}
	if h.Type == TypeStartSet {
		// The set's metadata digest starts at its SSET's first byte; it is
		// kept only if the SSET turns out to carry an EXBS stream.
		s.meta = sha256.New()
	}
	if h.Type == TypeTape {
		s.meta = sha256.New()
	}
	headLen := int64(h.FirstStream)
	if h.Type == TypeFilemark {
		// The filemark fills its soft filemark block; its entries are at
		// the start, the rest is zeros, skipped below.
		headLen = min(r.sfm, maxBlockHead)
	}
	if headLen > s.remaining() {
		return nil, r.errAt(off, h.Type, detail(ErrBounds, "block head of %d bytes runs past the end of the file at %d", headLen, s.size))
	}
	head, err := s.next(int(headLen))
	if err != nil {
		return nil, r.errAt(off, h.Type, err)
	}
	_, d, err := DecodeBlock(head, r.loc)
	if err != nil {
		return nil, r.errAt(off, h.Type, err)
	}
	b := &Block{Offset: off, Header: h, Desc: d}
	switch v := d.(type) {
	case *TapeHeader:
		if err := r.useTape(v); err != nil {
			return nil, r.errAt(off, h.Type, err)
		}
	case *StartSet:
		r.set = int(v.Number)
		r.loc = ZoneLocation(v.TimeZone)
	case *Directory:
		b.Name = v.Name
	case *File:
		b.Name = v.Name
	case *Filemark:
		if err := s.skip(r.sfm-headLen, true); err != nil {
			return nil, r.errAt(off, h.Type, err)
		}
		b.End = off + r.sfm
		return b, nil
	}
	if err := r.streams(b); err != nil {
		fe := r.errAt(off, h.Type, err)
		if fe.File == "" {
			fe.File = b.Name // a damaged FILE or DIRB is named when its name was read
		}
		return nil, fe
	}
	if h.Type == TypeFile && (h.Attributes&BlockContinuation != 0 || b.Data != nil && b.Data.Header.MediaAttributes&StreamContinued != 0) {
		b.Continued = true
	}
	switch h.Type {
	case TypeStartSet:
		if b.SetInfo == nil {
			s.meta = nil
		}
	case TypeEndSet:
		r.set = 0
		s.meta = nil
	case TypeTape:
		s.meta = nil
	}
	return b, nil
}

func (r *Reader) useTape(t *TapeHeader) error {
	flb := int64(t.FLBSize)
	if flb < 512 || flb > 65536 || flb&(flb-1) != 0 {
		return detail(ErrBounds, "FLB size %d", t.FLBSize)
	}
	sfm := int64(t.SoftFilemarkBlockSize) * 512
	if sfm == 0 {
		sfm = flb
	}
	if sfm < 512 || sfm%flb != 0 && flb%sfm != 0 {
		return detail(ErrBounds, "soft filemark block size %d with FLB size %d", sfm, flb)
	}
	r.flb, r.sfm = flb, max(sfm, 512)
	return nil
}

// atBlockStart reports whether a valid block header starts at the cursor,
// which is on an FLB boundary.
func (r *Reader) atBlockStart() bool {
	h, err := peekHeader(r.src)
	return err == nil && KnownType(h.Type)
}

// streams walks a block's streams up to its SPAD and the FLB boundary after.
func (r *Reader) streams(b *Block) error {
	s := r.src
	s.seek(b.Offset + int64(b.Header.FirstStream)) // the head was read whole
	isFile := b.Header.Type == TypeFile
	var digest []byte // the metadata digest before the current stream header
	lastData := ""
	for {
		at := s.pos()
		if s.remaining() == 0 || (at%r.flb == 0 && at > b.Offset && r.atBlockStart()) {
			break // no SPAD, but the block is over
		}
		if s.meta != nil && (b.Header.Type == TypeEndSet || b.Header.Type == TypeTape) {
			digest = s.meta.Sum(digest[:0])
		}
		hb, err := s.next(StreamHeaderSize)
		if err != nil {
			return fmt.Errorf("stream header at byte %d: %w", at, err)
		}
		sh, err := DecodeStreamHeader(hb)
		if err != nil {
			return fmt.Errorf("stream header at byte %d: %w", at, err)
		}
		dataAt := s.pos()
		if sh.Length > uint64(s.remaining()) && sh.ID == StreamStandard && isFile && b.Data == nil {
			// The medium ends inside the file's data: the rest is on the
			// next member of the family (see endOfMedium).
			if end, ok := r.endOfMedium(); ok && end >= dataAt && end < dataAt+int64(min(sh.Length, 1<<62)) {
				b.Streams = append(b.Streams, StreamRef{Header: sh, Offset: dataAt, OnMedium: end - dataAt})
				b.Data = &b.Streams[len(b.Streams)-1]
				b.Continues = true
				s.seek(end)
				b.End = end
				return nil
			}
		}
		if sh.Length > uint64(s.remaining()) {
			return detail(ErrBounds, "%s stream at byte %d is %d bytes long, the file ends at %d", printable(sh.ID), at, sh.Length, s.size)
		}
		n := int64(sh.Length)
		ref := StreamRef{Header: sh, Offset: dataAt}
		b.Streams = append(b.Streams, ref)
		load := func(limit int64) ([]byte, error) {
			if n > limit {
				return nil, detail(ErrBounds, "%s stream at byte %d is %d bytes long, at most %d expected", sh.ID, at, n, limit)
			}
			p, err := s.next(int(n))
			if err != nil {
				return nil, err
			}
			return bytes.Clone(p), nil
		}
		switch {
		case sh.ID == StreamPad:
			if err := s.skip(n, true); err != nil {
				return err
			}
			if rem := s.pos() % r.flb; rem != 0 {
				if err := s.skip(min(r.flb-rem, s.remaining()), true); err != nil {
					return err
				}
			}
			b.End = s.pos()
			return nil
		case sh.ID == StreamStandard && isFile && b.Data == nil:
			if err := s.skip(n, false); err != nil {
				return err
			}
			b.Data = &b.Streams[len(b.Streams)-1]
		case sh.ID == StreamChecksum:
			p, err := load(16)
			if err != nil {
				return err
			}
			if len(p) != 4 {
				return detail(ErrBounds, "CSUM stream at byte %d of %d bytes, want 4", at, len(p))
			}
			sum := uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24
			if lastData == StreamStandard && isFile {
				b.Checksum, b.HasChecksum = sum, true
			}
			if n := len(b.Streams); n >= 2 && lastData != "" {
				b.Streams[n-2].Checksum, b.Streams[n-2].HasChecksum = sum, true
			}
		case sh.ID == StreamFileName || sh.ID == StreamPath:
			p, err := load(maxNameStream)
			if err != nil {
				return err
			}
			b.Name = DecodeString(p, b.Header.StringType)
		case sh.ID == StreamFileHash && isFile:
			p, err := load(FileHashSize)
			if err != nil {
				return err
			}
			fh, err := DecodeFileHash(p)
			if err != nil {
				return fmt.Errorf("stream at byte %d: %w", at, err)
			}
			b.Hash = &fh
		case sh.ID == StreamSetInfo && b.Header.Type == TypeStartSet:
			p, err := load(maxInfoStream)
			if err != nil {
				return err
			}
			si, err := DecodeSetInfo(p)
			if err != nil {
				return fmt.Errorf("stream at byte %d: %w", at, err)
			}
			b.SetInfo = &si
		case sh.ID == StreamKeys && b.Header.Type == TypeStartSet:
			p, err := load(maxKeyHeader)
			if err != nil {
				return err
			}
			k, err := DecodeKeyHeader(p)
			if err != nil {
				return fmt.Errorf("stream at byte %d: %w", at, err)
			}
			b.Keys = &k
		case sh.ID == StreamDigest && (b.Header.Type == TypeEndSet || b.Header.Type == TypeTape):
			p, err := load(DigestSize)
			if err != nil {
				return err
			}
			want, err := DecodeDigest(p)
			if err != nil {
				return fmt.Errorf("stream at byte %d: %w", at, err)
			}
			if digest == nil {
				b.Problem = r.errAt(b.Offset, b.Header.Type, detail(ErrDigest, "the set has no EXBS stream to start its digest"))
			} else if !bytes.Equal(digest, want[:]) {
				b.Problem = r.errAt(b.Offset, b.Header.Type, detail(ErrDigest, "metadata digest %x, recorded %x", digest[:8], want[:8]))
			}
		default:
			if err := s.skip(n, true); err != nil {
				return err
			}
		}
		if sh.ID != StreamChecksum {
			lastData = sh.ID
		}
		if err := s.skip(min(Pad4(s.pos()), s.remaining()), true); err != nil {
			return err
		}
	}
	b.End = s.pos()
	return nil
}

// Resync looks for the next valid block header on an FLB boundary after
// off, and moves the reader there. It reports false when none is left.
func (r *Reader) Resync(off int64) bool {
	next := (off/r.flb + 1) * r.flb
	r.src.meta = nil
	for next+HeaderSize <= r.src.size {
		r.src.seek(next)
		if r.atBlockStart() {
			return true
		}
		next += r.flb
	}
	r.src.seek(r.src.size)
	return false
}
