package mtf

import (
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"sync"

	"exbackup/internal/crc32c"
)

// DataOptions tune a DataReader.
type DataOptions struct {
	// Strong checks the digest of the EXBH stream (SHA-256 or BLAKE3) as
	// well as the CSUM and the CRC-32C, which are always checked when
	// present.
	Strong bool
	// ChunkSize is the size of each read from the tape (default 1 MiB).
	ChunkSize int
	// Align, a power of two, lays the read buffers out in memory on Align
	// boundaries and starts every read of plain data after the first on
	// one: a Source that reads past the page cache fills such a read in
	// place, where one that straddles blocks goes through a buffer of its
	// own and a copy. 0 or 1: the reads follow one another from the
	// data's start.
	Align int
	// Source, when set, is read for the data instead of the Reader's own
	// tape: the same tape through another handle (one past the page
	// cache, say).
	Source io.ReaderAt
	// Key is the data key of an encrypted set (see KeyHeader): the data is
	// decrypted and its EXBH checked on the plaintext.
	Key []byte
	// Sealed reads encrypted data as it lies on tape, checking only its
	// CSUM: what can be checked without the key.
	Sealed bool
}

// readAhead is how many chunks are read ahead of the consumer.
const readAhead = 4

type chunk struct {
	buf   []byte
	err   error
	xor   uint32 // the CSUM of the data up to the end of this chunk
	crc   uint32 // the CRC-32C of buf
	crcTo uint32 // the CRC-32C of the data up to the end of buf
}

// DataReader streams a FILE's STAN data and checks it at its end: a
// mismatch is returned in place of io.EOF. A background goroutine reads a
// few chunks ahead, each read by a goroutine of its own that also computes
// the chunk's share of the CSUM and its CRC-32C while the bytes are fresh
// in the cache; the digest, when asked for, is computed by another, so that
// reading the disk, copying and hashing overlap and the consumer is left
// only its copy. Memory is a fixed number of chunks, whatever the file
// size. Close stops the goroutines.
type DataReader struct {
	r     *Reader
	b     *Block
	path  string
	total int64
	left  int64 // bytes not yet returned to the caller

	filled chan chunk    // read-ahead → consumer
	free   chan []byte   // consumer or hasher → read-ahead
	hashq  chan []byte   // consumer → hasher; nil without Strong
	sum    chan [32]byte // the hasher's result
	quit   chan struct{}
	wg     sync.WaitGroup
	closed bool
	open   *payload // decrypts, on encrypted data
	sealed bool     // encrypted data read as it lies: no EXBH check
	span   int64    // bytes read from the tape, from spanAt
	spanAt int64
	xor0   XOR32 // the CSUM of what precedes spanAt (the payload nonce)
	sawEnd bool  // the chunk ending the span has been consumed
	align  int64 // of the read buffers and the reads after the first (DataOptions.Align)

	cur    []byte // the chunk being consumed
	curR   int
	curCRC uint32 // the CRC-32C of cur
	xor    uint32 // CSUM of the data up to the end of cur
	crc    uint32 // CRC-32C of the data up to the end of cur
	err    error
}

// OpenData opens the STAN data of a FILE block read by r; path names the
// file in errors. Compressed or encrypted data is refused.
func (r *Reader) OpenData(b *Block, path string, o DataOptions) (*DataReader, error) {
	if b.Header.Type != TypeFile {
		return nil, r.fileErr(b, path, detail(ErrUnsupported, "%s block has no file data", b.Header.Type))
	}
	d := &DataReader{r: r, b: b, path: path}
	if b.Data == nil {
		// A FILE without STAN: an empty file, as some writers leave it.
		if b.Hash != nil && b.Hash.Size != 0 {
			return nil, r.fileErr(b, path, detail(ErrHash, "EXBH records %d bytes, there is no data", b.Hash.Size))
		}
		return d, nil
	}
	if b.Continues {
		return nil, r.fileErr(b, path, detail(ErrTruncated, "the file's data goes on on the next member of the media family"))
	}
	sh := b.Data.Header
	src := r.ra
	if o.Source != nil {
		src = o.Source
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = DefaultBufferSize
	}
	if o.Align < 0 || o.Align&(o.Align-1) != 0 {
		return nil, fmt.Errorf("mtf: read alignment %d is not a power of two", o.Align)
	}
	d.align = int64(max(o.Align, 1))
	d.total, d.span, d.spanAt = int64(sh.Length), int64(sh.Length), b.Data.Offset
	switch {
	case sh.MediaAttributes&StreamCompressed != 0 || sh.CompressionAlgorithm != 0:
		return nil, r.fileErr(b, path, detail(ErrUnsupported, "compressed data"))
	case sh.MediaAttributes&StreamEncrypted != 0 || sh.EncryptionAlgorithm != 0:
		if err := d.decrypting(src, o); err != nil {
			return nil, r.fileErr(b, path, err)
		}
		o.ChunkSize = max(1, o.ChunkSize/PayloadChunk) * sealedChunk
	}
	d.left = d.total
	if b.Hash != nil && !d.sealed && int64(b.Hash.Size) != d.total {
		return nil, r.fileErr(b, path, detail(ErrHash, "EXBH records %d bytes, STAN holds %d", b.Hash.Size, d.total))
	}
	if d.span == 0 {
		return d, nil
	}
	size := int(min(int64(o.ChunkSize), d.span))
	depth := int(min(readAhead, (d.span+int64(size)-1)/int64(size)))
	d.filled = make(chan chunk, depth)
	d.free = make(chan []byte, depth)
	d.quit = make(chan struct{})
	for range depth {
		d.free <- alignedBytes(size, d.align)
	}
	if o.Strong && b.Hash != nil && !d.sealed {
		d.hashq = make(chan []byte, depth)
		d.sum = make(chan [32]byte, 1)
		d.wg.Add(1)
		go d.hasher(b.Hash.Algo.New(), d.hashq, d.free, d.sum)
	}
	d.wg.Add(1)
	go d.readAhead(src, d.spanAt)
	return d, nil
}

// pendingRead is a chunk being read: its result arrives on done.
type pendingRead struct {
	buf  []byte
	at   int64
	done chan readResult
}

type readResult struct {
	n   int
	err error
	xor uint32 // the CSUM of buf[:n] alone, in its place among the data's words
	crc uint32 // the CRC-32C of buf, when read whole and not to be decrypted
}

// readAhead starts a read of the next chunk as soon as a buffer is free,
// so that as many reads as there are buffers can be in flight: a disk read
// past the page cache, with no read-ahead of the system's, keeps busy.
// Each read's goroutine then checksums its chunk, while the bytes are in
// its core's cache; inOrder hands the chunks on in order.
func (d *DataReader) readAhead(src io.ReaderAt, off int64) {
	defer d.wg.Done()
	pending := make(chan pendingRead, cap(d.free))
	defer close(pending)
	d.wg.Add(1)
	go d.inOrder(pending)
	for end := off + d.span; off < end; {
		var buf []byte
		select {
		case buf = <-d.free:
		case <-d.quit:
			return
		}
		n := int64(cap(buf))
		if k := off % d.align; d.open == nil && k != 0 && n > 2*d.align {
			n -= k // the next chunk starts on an Align boundary
		}
		p := pendingRead{buf: buf[:min(n, end-off)], at: off, done: make(chan readResult, 1)}
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			n, err := src.ReadAt(p.buf, p.at)
			r := readResult{n: n, err: err}
			r.xor, r.crc = d.sums(p.buf[:max(0, min(n, len(p.buf)))], p.at, n == len(p.buf))
			p.done <- r
		}()
		select {
		case pending <- p:
		case <-d.quit:
			return
		}
		off += int64(len(p.buf))
	}
}

// sums returns the CSUM and the CRC-32C of a chunk read at off (whole
// says it was read in full). The CSUM is the XOR of the data's 32-bit
// words from the data's start, so a chunk's share is its XOR32 begun at
// the phase its first byte has in its word, and the shares combine by
// XOR. The CRC-32C is of what the consumer is handed: encrypted data's is
// computed on the plaintext, after inOrder decrypts it.
func (d *DataReader) sums(buf []byte, off int64, whole bool) (xor, crc uint32) {
	x := XOR32{phase: int((off - d.b.Data.Offset) & 3)}
	x.Write(buf)
	if whole && d.open == nil {
		crc = crc32.Checksum(buf, castagnoli)
	}
	return x.Sum32(), crc
}

// inOrder passes the chunks on in tape order, decrypting encrypted data,
// and combines the chunks' CSUMs and CRC-32Cs into those of the data up to
// each chunk's end, which leaves the consumer no checksum to compute. It
// stops at the first failed read.
func (d *DataReader) inOrder(pending <-chan pendingRead) {
	defer d.wg.Done()
	x := d.xor0.Sum32()
	var crc uint32
	end := d.spanAt + d.span
	for p := range pending {
		var r readResult
		select {
		case r = <-p.done:
		case <-d.quit:
			return
		}
		n, err := r.n, r.err
		if n == len(p.buf) {
			err = nil
		} else if err == nil || err == io.EOF {
			err = detail(ErrTruncated, "file data ends early")
		}
		if err != nil {
			err = fmt.Errorf("reading data at byte %d: %w", p.at+int64(n), err)
		}
		x ^= r.xor
		buf, c := p.buf, r.crc
		if err == nil && d.open != nil {
			buf, err = d.open.open(buf, p.at+int64(n) == end)
			if err != nil {
				buf = p.buf[:0]
				err = fmt.Errorf("data at byte %d: %w", p.at, err)
			} else {
				c = crc32.Checksum(buf, castagnoli)
			}
		}
		if err == nil {
			crc = crc32c.Combine(crc, c, uint64(len(buf)))
		}
		select {
		case d.filled <- chunk{buf: buf, err: err, xor: x, crc: c, crcTo: crc}:
		case <-d.quit:
			return
		}
		if err != nil {
			return
		}
	}
}

func (d *DataReader) hasher(h hash.Hash, in <-chan []byte, free chan<- []byte, out chan<- [32]byte) {
	defer d.wg.Done()
	for buf := range in {
		h.Write(buf)
		free <- buf[:cap(buf)]
	}
	var s [32]byte
	h.Sum(s[:0])
	out <- s
}

func (r *Reader) fileErr(b *Block, path string, err error) error {
	fe := r.errAt(b.Offset, b.Header.Type, err)
	fe.File = path
	return fe
}

// Size returns the data's length.
func (d *DataReader) Size() int64 { return d.total }

// Read reads data; after the last byte it checks the CSUM, CRC-32C and, when
// asked, the digest, returning io.EOF or a *FormatError wrapping ErrChecksum
// or ErrHash.
func (d *DataReader) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if d.left == 0 {
		d.release() // a last chunk ReadChunk handed out
		if d.open != nil && !d.sawEnd && d.filled != nil {
			// An empty file's payload is one empty chunk, still to be
			// authenticated.
			if c := <-d.filled; c.err != nil {
				d.err = d.r.fileErr(d.b, d.path, c.err)
				return 0, d.err
			} else {
				d.xor = c.xor
				d.free <- c.buf[:cap(c.buf)]
			}
			d.sawEnd = true
		}
		d.err = d.check()
		return 0, d.err
	}
	if d.curR == len(d.cur) {
		d.release()
		c := <-d.filled
		if c.err != nil {
			d.err = d.r.fileErr(d.b, d.path, c.err)
			d.free <- c.buf[:cap(c.buf)]
			return 0, d.err
		}
		d.cur, d.curR, d.curCRC = c.buf, 0, c.crc
		d.xor, d.crc = c.xor, c.crcTo
		d.sawEnd = d.left == int64(len(c.buf))
	}
	n := copy(p, d.cur[d.curR:])
	d.curR += n
	d.left -= int64(n)
	if d.left == 0 {
		d.release()
	}
	return n, nil
}

// ReadChunk returns the next read-ahead chunk of the data, whole, with its
// CRC-32C, so that a caller sending it on need not checksum it again (the
// read-ahead computed it); the chunk stays valid until the next call.
// After the last chunk it checks the data as Read does and returns io.EOF
// or the *FormatError.
func (d *DataReader) ReadChunk() ([]byte, uint32, error) {
	if d.err != nil {
		return nil, 0, d.err
	}
	if d.curR < len(d.cur) {
		// The rest of a chunk that Read began.
		p := d.cur[d.curR:]
		crc := restCRC(d.cur, d.curR, d.curCRC)
		d.curR = len(d.cur)
		d.left -= int64(len(p))
		return p, crc, nil
	}
	if d.left == 0 {
		_, err := d.Read(nil) // releases the last chunk and checks, as Read ends
		return nil, 0, err
	}
	d.release()
	c := <-d.filled
	if c.err != nil {
		d.err = d.r.fileErr(d.b, d.path, c.err)
		d.free <- c.buf[:cap(c.buf)]
		return nil, 0, d.err
	}
	d.cur, d.curR, d.curCRC = c.buf, len(c.buf), c.crc
	d.xor, d.crc = c.xor, c.crcTo
	d.sawEnd = d.left == int64(len(c.buf))
	d.left -= int64(len(c.buf))
	return c.buf, c.crc, nil
}

// restCRC returns the CRC-32C of buf[from:] given crc, that of buf: from
// the bytes after from, or, when fewer come before it, from those, as
// CRC(A‖B) = CRC(A)·x^(8·len(B)) ⊕ CRC(B).
func restCRC(buf []byte, from int, crc uint32) uint32 {
	if rest := buf[from:]; len(rest) <= from {
		return crc32.Checksum(rest, castagnoli)
	}
	return crc ^ crc32c.Combine(crc32.Checksum(buf[:from], castagnoli), 0, uint64(len(buf)-from))
}

// WriteTo writes the rest of the data to w straight from the read-ahead
// chunks, without copying them into a caller's buffer (io.Copy uses it),
// and returns the check's error, or nil when the data is sound.
func (d *DataReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if d.curR < len(d.cur) {
			n, err := w.Write(d.cur[d.curR:])
			d.curR += n
			d.left -= int64(n)
			total += int64(n)
			if err != nil {
				return total, err
			}
			if d.left == 0 {
				d.release()
			}
			continue
		}
		// Read refills the chunk (or checks at the end); give it no room
		// to copy into.
		_, err := d.Read(nil)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// release hands the consumed chunk to the hasher, or back to the reader.
func (d *DataReader) release() {
	if d.cur == nil {
		return
	}
	if d.hashq != nil {
		d.hashq <- d.cur
	} else {
		d.free <- d.cur[:cap(d.cur)]
	}
	d.cur, d.curR = nil, 0
}

func (d *DataReader) check() error {
	if d.b.HasChecksum && d.xor != d.b.Checksum {
		return d.r.fileErr(d.b, d.path, detail(ErrChecksum, "CSUM %#08x, data gives %#08x", d.b.Checksum, d.xor))
	}
	if h := d.b.Hash; h != nil && !d.sealed {
		if h.CRC32C != d.crc {
			return d.r.fileErr(d.b, d.path, detail(ErrHash, "CRC-32C %#08x, data gives %#08x", h.CRC32C, d.crc))
		}
		if d.hashq != nil {
			close(d.hashq)
			sum := <-d.sum
			d.hashq = nil
			if sum != h.Sum {
				return d.r.fileErr(d.b, d.path, detail(ErrHash, "%s %x, data gives %x", h.Algo.Title(), h.Sum, sum))
			}
		}
	}
	return io.EOF
}

// Close stops the background reading; it must be called before the tape
// file is closed.
func (d *DataReader) Close() error {
	if d.closed || d.quit == nil {
		d.closed = true
		return nil
	}
	d.closed = true
	close(d.quit)
	if d.hashq != nil {
		close(d.hashq)
		d.hashq = nil
	}
	d.wg.Wait()
	return nil
}
