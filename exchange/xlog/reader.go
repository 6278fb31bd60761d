package xlog

import (
	"bufio"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
)

// readBufferSize is the Reader's buffer: large sequential reads, constant
// memory whatever the file size.
const readBufferSize = 256 << 10

// Record is one log record. Data belongs to the receiver.
type Record struct {
	LSN  uint64
	Data []byte
}

// Reader reads the records of one log file in order. It sees the file as it
// was when opened; rolled generations never change, and edb.log only grows.
type Reader struct {
	path string
	f    *os.File
	br   *bufio.Reader
	hdr  FileHeader
	size int64  // file size at open
	off  int64  // offset of the next record
	next uint64 // LSN the next record must have
	err  error  // sticky: io.EOF or the damage found
	fh   [frameHeaderSize]byte
}

// OpenReader opens a log file and checks its header.
func OpenReader(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening transaction log: %w", err)
	}
	r, err := newReader(path, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

func newReader(path string, f *os.File) (*Reader, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("transaction log %s: %w", path, err)
	}
	hdr, err := readHeader(path, f, st.Size())
	if err != nil {
		return nil, err
	}
	size := st.Size()
	// A small file needs no buffer larger than itself.
	bufSize := int(min(readBufferSize, max(size-HeaderSize, 16)))
	return &Reader{
		path: path,
		f:    f,
		br:   bufio.NewReaderSize(io.NewSectionReader(f, HeaderSize, size-HeaderSize), bufSize),
		hdr:  hdr,
		size: size,
		off:  HeaderSize,
		next: hdr.FirstLSN,
	}, nil
}

func readHeader(path string, f io.ReaderAt, size int64) (FileHeader, error) {
	if size < HeaderSize {
		return FileHeader{}, &DamageError{Path: path, Reason: fmt.Sprintf("file is %d bytes, too short for the %d-byte header", size, HeaderSize)}
	}
	var b [HeaderSize]byte
	if _, err := f.ReadAt(b[:], 0); err != nil {
		return FileHeader{}, fmt.Errorf("transaction log %s: reading header: %w", path, err)
	}
	h, reason := parseHeader(b[:])
	if reason != "" {
		return FileHeader{}, &DamageError{Path: path, Reason: reason}
	}
	return h, nil
}

// Header returns the file's header.
func (r *Reader) Header() FileHeader { return r.hdr }

// Offset is the byte offset of the next record: after a clean end, the
// file's size; after an error, where the damaged record starts.
func (r *Reader) Offset() int64 { return r.off }

// Last is the LSN of the last record read (FirstLSN-1 before the first).
func (r *Reader) Last() uint64 { return r.next - 1 }

// Close closes the file.
func (r *Reader) Close() error { return r.f.Close() }

// Next returns the next record, io.EOF at the clean end of the file, or a
// *DamageError (errors.Is ErrCorrupt; also ErrTorn for a torn tail). Each
// record's Data is a fresh slice.
func (r *Reader) Next() (Record, error) {
	return r.read(nil)
}

// read is Next; with a scratch buffer, Data lives in it and is valid only
// until the next call.
func (r *Reader) read(scratch *[]byte) (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}
	rec, err := r.readFrame(scratch)
	if err != nil {
		r.err = err
	}
	return rec, err
}

func (r *Reader) readFrame(scratch *[]byte) (Record, error) {
	rem := r.size - r.off
	if rem == 0 {
		return Record{}, io.EOF
	}
	if rem < frameOverhead {
		return Record{}, r.damage(fmt.Sprintf("%d bytes left, too few for a record", rem))
	}
	if _, err := io.ReadFull(r.br, r.fh[:]); err != nil {
		return Record{}, r.readError(err)
	}
	n := le.Uint32(r.fh[0:4])
	lsn := le.Uint64(r.fh[4:12])
	if n > MaxPayload {
		return Record{}, r.damage(fmt.Sprintf("record length %d exceeds the %d-byte limit", n, MaxPayload))
	}
	if int64(n) > rem-frameOverhead {
		return Record{}, r.damage(fmt.Sprintf("record of %d bytes runs past the end of the file", n))
	}
	var data []byte
	if scratch != nil {
		if cap(*scratch) < int(n) {
			*scratch = make([]byte, n)
		}
		data = (*scratch)[:n]
	} else {
		data = make([]byte, n)
	}
	if _, err := io.ReadFull(r.br, data); err != nil {
		return Record{}, r.readError(err)
	}
	var cb [4]byte
	if _, err := io.ReadFull(r.br, cb[:]); err != nil {
		return Record{}, r.readError(err)
	}
	sum := crc32.Update(crc32.Checksum(r.fh[:], castagnoli), castagnoli, data)
	if sum != le.Uint32(cb[:]) {
		return Record{}, r.damage("record checksum mismatch")
	}
	if lsn != r.next {
		// The record is whole, so this is no torn write.
		return Record{}, &DamageError{Path: r.path, Offset: r.off,
			Reason: fmt.Sprintf("record has LSN %d where LSN %d was expected", lsn, r.next)}
	}
	r.off += frameOverhead + int64(n)
	r.next++
	return Record{LSN: lsn, Data: data}, nil
}

func (r *Reader) readError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return r.damage("file ends inside the record") // it shrank under us
	}
	return fmt.Errorf("transaction log %s: offset %d: %w", r.path, r.off, err)
}

// damage reports a record at r.off that is not whole. It is a torn tail
// unless a well-formed record with a plausible LSN starts somewhere after it.
func (r *Reader) damage(reason string) error {
	e := &DamageError{Path: r.path, Offset: r.off, Reason: reason, Torn: true}
	p, lsn, err := findFrame(r.f, r.off+1, r.size, r.next)
	if err != nil {
		return fmt.Errorf("transaction log %s: offset %d: %s; looking for records after it: %w", r.path, r.off, reason, err)
	}
	if p >= 0 {
		e.Torn = false
		e.Reason += fmt.Sprintf("; a valid record (LSN %d) follows at offset %d", lsn, p)
	}
	return e
}

// findFrame looks for a well-formed record starting at or after from whose
// LSN is one a record after the damage could have. It returns -1 if there
// is none. Memory stays constant; most offsets are rejected from the
// 12-byte frame header alone.
func findFrame(f io.ReaderAt, from, size int64, minLSN uint64) (int64, uint64, error) {
	if size-from < frameOverhead {
		return -1, 0, nil
	}
	maxLSN := uint64(math.MaxUint64)
	if span := uint64((size-from)/frameOverhead) + 1; minLSN <= math.MaxUint64-span {
		maxLSN = minLSN + span
	}
	buf := make([]byte, min(64<<10, size-from))
	crcBuf := make([]byte, min(8<<10, size-from))
	var bstart, blen int64 = 0, 0
	for p := from; p+frameOverhead <= size; p++ {
		if p+frameHeaderSize > bstart+blen {
			n, err := f.ReadAt(buf, p)
			if n < frameHeaderSize {
				if err == nil || errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return -1, 0, err
			}
			bstart, blen = p, int64(n)
		}
		h := buf[p-bstart:]
		n := le.Uint32(h[0:4])
		lsn := le.Uint64(h[4:12])
		if lsn < minLSN || lsn > maxLSN || n > MaxPayload || int64(n) > size-p-frameOverhead {
			continue
		}
		ok, err := frameValid(f, p, n, crcBuf)
		if err != nil {
			return -1, 0, err
		}
		if ok {
			return p, lsn, nil
		}
	}
	return -1, 0, nil
}

// frameValid checks the CRC of the n-byte record at p, reading it through
// buf.
func frameValid(f io.ReaderAt, p int64, n uint32, buf []byte) (bool, error) {
	var sum uint32
	end := p + frameHeaderSize + int64(n)
	for q := p; q < end; {
		chunk := buf[:min(int64(len(buf)), end-q)]
		if _, err := f.ReadAt(chunk, q); err != nil {
			return false, err
		}
		sum = crc32.Update(sum, castagnoli, chunk)
		q += int64(len(chunk))
	}
	var cb [4]byte
	if _, err := f.ReadAt(cb[:], end); err != nil {
		return false, err
	}
	return sum == le.Uint32(cb[:]), nil
}

// LastLSN returns the LSN of the last valid record of one log file, or
// FirstLSN-1 if it has none. A torn tail is ignored; other damage is an
// error.
func LastLSN(path string) (uint64, error) {
	r, err := OpenReader(path)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	return r.scan(true)
}

// scan reads to the end of the file and returns the last LSN. With
// allowTorn a torn tail ends the scan without error; r.Offset() then says
// where the tail starts.
func (r *Reader) scan(allowTorn bool) (uint64, error) {
	var scratch []byte
	for {
		_, err := r.read(&scratch)
		if err == io.EOF || (allowTorn && errors.Is(err, ErrTorn)) {
			return r.Last(), nil
		}
		if err != nil {
			return r.Last(), err
		}
	}
}
