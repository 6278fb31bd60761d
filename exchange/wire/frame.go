package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"

	"exbackup/exchange"
	"exbackup/internal/crc32c"
)

// Files cross the API as a framed stream, so that a database of any size
// streams in constant memory and every chunk is checked on arrival:
//
//	frame   = length u32 | payload [length]byte | frameCRCTable(payload) u32
//	trailer = 0 u32 | frameCRCTable(all payloads) u32 | total length u64
//
// Integers are big-endian; a payload holds 1 byte to MaxChunk bytes. The
// trailer proves that the stream ended where the sender meant it to (the
// CRC of the whole payload catches frames dropped or reordered; the file's
// digest is checked end to end by the tape, not here, so that the bytes are
// hashed once on their way rather than three times): a
// stream cut short anywhere, even on a frame boundary, is an error and never
// a clean short file. Both ends build the CRC of the whole payload from the
// frames' own CRCs (crc32c.Combine), so each byte is checksummed once.

// sumSize is the size of the whole-stream checksum in the trailer.
const sumSize = 4

// MaxChunk is the largest payload of one frame.
const MaxChunk = 1 << 20

// FrameContentType is the media type of a framed stream over HTTP.
const FrameContentType = "application/vnd.exbackup.frames"

var frameCRCTable = crc32.MakeTable(crc32.Castagnoli)

// ErrCorruptStream matches every integrity failure of a framed stream:
// a checksum mismatch, a bad length, a truncation, a wrong trailer.
var ErrCorruptStream = errors.New("corrupt stream")

// StreamError is an integrity failure of a framed stream. It matches
// ErrCorruptStream and ErrInternal with errors.Is, and the underlying read
// error (a network error, context.Canceled) when there is one.
type StreamError struct {
	Chunk  int64  // 1-based number of the frame that failed; 0 for the trailer
	Offset int64  // payload bytes verified before the failure
	Reason string // what is wrong
	Err    error  // the underlying read error, if any
}

func (e *StreamError) Error() string {
	var msg string
	if e.Chunk > 0 {
		msg = fmt.Sprintf("chunk %d at byte %d: %s", e.Chunk, e.Offset, e.Reason)
	} else {
		msg = e.Reason
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *StreamError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrCorruptStream, exchange.ErrInternal, e.Err}
	}
	return []error{ErrCorruptStream, exchange.ErrInternal}
}

// FrameWriter writes a framed stream. It collects writes into frames of up
// to MaxChunk bytes; Close writes the trailer. A writer that is abandoned
// without Close leaves a stream that every FrameReader rejects, which is how
// a sender that fails part-way says so.
type FrameWriter struct {
	w     io.Writer
	chunk int    // payload size of a full frame
	buf   []byte // header room, payload (grown up to chunk), CRC room
	n     int    // payload bytes in buf
	sum   uint32 // CRC-32C of all payloads, combined from the frames'
	total uint64
	err   error // sticky: the first write error, or errFrameWriterClosed
}

var errFrameWriterClosed = errors.New("frame writer is closed")

// NewFrameWriter returns a FrameWriter onto w.
func NewFrameWriter(w io.Writer) *FrameWriter { return newFrameWriterSize(w, MaxChunk) }

// newFrameWriterSize lets tests produce many small frames.
func newFrameWriterSize(w io.Writer, chunk int) *FrameWriter {
	if chunk <= 0 || chunk > MaxChunk {
		chunk = MaxChunk
	}
	return &FrameWriter{w: w, chunk: chunk}
}

// grow makes room for want payload bytes in the frame buffer, up to a full
// frame: a small file costs a small buffer.
func (fw *FrameWriter) grow(want int) {
	room := fw.room()
	if want <= room || room >= fw.chunk {
		return
	}
	size := min(max(want, 2*room, 32<<10), fw.chunk)
	nb := make([]byte, 4+size+4)
	if fw.n > 0 {
		copy(nb[4:], fw.buf[4:4+fw.n])
	}
	fw.buf = nb
}

// room is the payload the frame buffer can hold now.
func (fw *FrameWriter) room() int { return max(len(fw.buf)-8, 0) }

// Write adds p to the stream; full frames go out as they fill.
func (fw *FrameWriter) Write(p []byte) (int, error) {
	if fw.err != nil {
		return 0, fw.err
	}
	written := 0
	for len(p) > 0 {
		fw.grow(fw.n + len(p))
		m := copy(fw.buf[4+fw.n:4+fw.room()], p)
		fw.n += m
		p = p[m:]
		written += m
		if fw.n == fw.chunk {
			if err := fw.emit(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// ChunkReader is a source that hands out its data in pieces whose CRC-32C
// (Castagnoli) it has already computed, such as a tape checking its own
// CRC as it reads. A FrameWriter sends each piece as it is, reusing that
// CRC, so the bytes are neither copied nor checksummed again.
type ChunkReader interface {
	// ReadChunk returns the next piece and its CRC-32C; the piece stays
	// valid until the next call. After the last piece it returns io.EOF,
	// and only once the source has found its data sound.
	ReadChunk() (p []byte, crc uint32, err error)
}

// ReadFrom reads r until EOF straight into frames, saving io.Copy a buffer
// and a copy. A ChunkReader's pieces go out as frames of their own.
func (fw *FrameWriter) ReadFrom(r io.Reader) (int64, error) {
	if fw.err != nil {
		return 0, fw.err
	}
	if cr, ok := r.(ChunkReader); ok {
		return fw.readChunks(cr)
	}
	var read int64
	for {
		if fw.n == fw.room() {
			fw.grow(fw.n + 1) // doubles: a big file soon gets full frames
		}
		m, err := r.Read(fw.buf[4+fw.n : 4+fw.room()])
		fw.n += m
		read += int64(m)
		if fw.n == fw.chunk {
			if werr := fw.emit(); werr != nil {
				return read, werr
			}
		}
		if err == io.EOF {
			return read, nil
		}
		if err != nil {
			return read, err
		}
	}
}

func (fw *FrameWriter) readChunks(cr ChunkReader) (int64, error) {
	if err := fw.emit(); err != nil {
		return 0, err
	}
	var read int64
	var hdr [4]byte
	for {
		p, crc, err := cr.ReadChunk()
		for len(p) > 0 {
			piece := p
			pcrc := crc
			if len(piece) > fw.chunk {
				piece = p[:fw.chunk]
				pcrc = crc32.Checksum(piece, frameCRCTable) // rare: a piece larger than a frame
			}
			binary.BigEndian.PutUint32(hdr[:], uint32(len(piece)))
			_, werr := fw.w.Write(hdr[:])
			if werr == nil {
				_, werr = fw.w.Write(piece)
			}
			if werr == nil {
				var tail [4]byte
				binary.BigEndian.PutUint32(tail[:], pcrc)
				_, werr = fw.w.Write(tail[:])
			}
			if werr != nil {
				fw.err = werr
				return read, werr
			}
			fw.sum = crc32c.Combine(fw.sum, pcrc, uint64(len(piece)))
			fw.total += uint64(len(piece))
			read += int64(len(piece))
			p = p[len(piece):]
			if len(p) > 0 {
				crc = crc32.Checksum(p, frameCRCTable)
			}
		}
		if err == io.EOF {
			return read, nil
		}
		if err != nil {
			return read, err
		}
	}
}

// Flush writes the payload collected so far as a frame.
func (fw *FrameWriter) Flush() error {
	if fw.err != nil {
		return fw.err
	}
	return fw.emit()
}

func (fw *FrameWriter) emit() error {
	if fw.n == 0 {
		return nil
	}
	payload := fw.buf[4 : 4+fw.n]
	binary.BigEndian.PutUint32(fw.buf[0:4], uint32(fw.n))
	crc := crc32.Checksum(payload, frameCRCTable)
	binary.BigEndian.PutUint32(fw.buf[4+fw.n:], crc)
	fw.sum = crc32c.Combine(fw.sum, crc, uint64(fw.n))
	fw.total += uint64(fw.n)
	_, err := fw.w.Write(fw.buf[:4+fw.n+4])
	fw.n = 0
	if err != nil {
		fw.err = err
	}
	return err
}

// Close writes the last frame and the trailer. It does not close the
// underlying writer.
func (fw *FrameWriter) Close() error {
	if fw.err != nil {
		if fw.err == errFrameWriterClosed {
			return nil
		}
		return fw.err
	}
	if err := fw.emit(); err != nil {
		return err
	}
	var t [4 + sumSize + 8]byte
	binary.BigEndian.PutUint32(t[4:], fw.sum)
	binary.BigEndian.PutUint64(t[4+sumSize:], fw.total)
	if _, err := fw.w.Write(t[:]); err != nil {
		fw.err = err
		return err
	}
	fw.err = errFrameWriterClosed
	return nil
}

// WriteErr returns the error the underlying writer gave, if any: it tells
// a stream that failed on its way out from one whose source failed.
func (fw *FrameWriter) WriteErr() error {
	if fw.err == errFrameWriterClosed {
		return nil
	}
	return fw.err
}

// Written returns the payload bytes handed to the underlying writer so far.
func (fw *FrameWriter) Written() int64 { return int64(fw.total) }

// FrameReader reads a framed stream and gives back its payload. It hands
// out a frame only after its checksum matched, and answers io.EOF only
// after the trailer confirmed the length and CRC-32C of the whole payload
// and the underlying reader ended. Every failure is a *StreamError; after
// one, every Read returns it again.
//
// ReadDeferred is the exception, for a caller that keeps what it reads
// until Settle: a frame it reads straight into the caller's buffer is
// checked by another goroutine while the next ones arrive.
type FrameReader struct {
	r       io.Reader
	sum     uint32 // CRC-32C of the accepted payload, combined from the frames'
	total   int64  // payload bytes accepted: verified, or handed out by ReadDeferred
	chunk   int64  // frames read
	buf     []byte // the verified rest of a frame not yet handed out: buf[off:]
	off     int
	bufCRC  uint32 // CRC-32C of buf[off:], when bufSure
	bufSure bool
	err     error // sticky: a *StreamError or io.EOF
	header  [4]byte

	pending int64         // bytes handed out by ReadDeferred, not yet known good
	checks  *frameChecker // checks the frames ReadDeferred handed out
	bad     error         // the first of those that failed
}

// NewFrameReader returns a FrameReader over r, which must hold exactly one
// framed stream: bytes after the trailer are an error.
func NewFrameReader(r io.Reader) *FrameReader {
	return &FrameReader{r: r}
}

// Read reads verified payload.
func (fr *FrameReader) Read(p []byte) (int, error) {
	n, _, err := fr.read(p, readPlain)
	return n, err
}

// ReadCRC is Read that also returns the CRC-32C (Castagnoli) of p[:n], so
// that a consumer which needs it (a tape's own CRC) does not compute again
// what the frame check computed: a frame read straight into p gives its
// own, and of a frame handed out in pieces each piece costs only its own
// bytes, the last one nothing.
func (fr *FrameReader) ReadCRC(p []byte) (int, uint32, error) {
	return fr.read(p, readCRC)
}

// ReadDeferred is Read for a caller that uses none of what it read, and
// lets none of its buffer be written to, until Settle has returned nil: a
// frame that it reads straight into p is handed to a checking goroutine,
// and ReadDeferred goes on to the next at once. The goroutine ends by
// itself once it has nothing to check. Smaller frames, and frames handed
// out in pieces, are checked before ReadDeferred returns, as by Read. The
// trailer is checked, and io.EOF answered, only after every frame was
// found good; any failure is reported as Read reports it, the first
// frame's failure first.
func (fr *FrameReader) ReadDeferred(p []byte) (int, error) {
	n, _, err := fr.read(p, readDeferred)
	return n, err
}

// Settle waits until every frame ReadDeferred handed out so far has been
// checked, and returns nil if all of them were good, or the *StreamError
// of the first that was not (which every read returns from then on).
func (fr *FrameReader) Settle() error {
	if fr.pending == 0 {
		return fr.bad
	}
	bad := fr.checks.wait()
	fr.pending = 0
	if bad != nil && fr.bad == nil {
		fr.bad, fr.err = bad, bad
		fr.total = bad.Offset
		fr.buf, fr.off = fr.buf[:0], 0 // it came after the bad frame
	}
	return fr.bad
}

type readMode int

const (
	readPlain readMode = iota
	readCRC
	readDeferred
)

// deferMin is the smallest frame ReadDeferred hands to the checker: for a
// smaller one the hand-over costs more than the check.
const deferMin = 64 << 10

func (fr *FrameReader) read(p []byte, mode readMode) (int, uint32, error) {
	if mode != readDeferred && fr.pending > 0 {
		if err := fr.Settle(); err != nil {
			return 0, 0, err
		}
	}
	for {
		if fr.off < len(fr.buf) {
			n := copy(p, fr.buf[fr.off:])
			var crc uint32
			switch rest := len(fr.buf) - fr.off - n; {
			case rest == 0 && fr.bufSure:
				crc = fr.bufCRC
			case mode == readCRC:
				crc = crc32.Checksum(p[:n], frameCRCTable)
				if fr.bufSure { // CRC(A‖B) = CRC(A)·x^(8·len B) ⊕ CRC(B)
					fr.bufCRC ^= crc32c.Combine(crc, 0, uint64(rest))
				}
			default:
				fr.bufSure = false
			}
			fr.off += n
			return n, crc, nil
		}
		if fr.err != nil {
			return 0, 0, fr.err
		}
		if len(p) == 0 {
			return 0, 0, nil
		}
		n, crc, err := fr.next(p, mode == readDeferred)
		if err != nil {
			fr.err = fr.failed(err)
			return 0, 0, fr.err
		}
		if n > 0 {
			return n, crc, nil
		}
	}
}

// failed gives the failure to report for err: that of a frame handed out
// earlier and still being checked, if it was bad, comes first.
func (fr *FrameReader) failed(err error) error {
	if bad := fr.Settle(); bad != nil {
		return bad
	}
	return err
}

// Verified returns the payload bytes verified so far.
func (fr *FrameReader) Verified() int64 { return fr.total - fr.pending }

// Done reports whether the whole stream, trailer included, was verified.
func (fr *FrameReader) Done() bool { return fr.err == io.EOF }

// WriteTo writes the verified payload to w until the stream ends, without
// an intermediate copy; io.Copy uses it.
func (fr *FrameReader) WriteTo(w io.Writer) (int64, error) {
	if err := fr.Settle(); err != nil {
		return 0, err
	}
	var written int64
	for {
		if fr.off < len(fr.buf) {
			n, err := w.Write(fr.buf[fr.off:])
			fr.off += n
			written += int64(n)
			if err != nil {
				fr.bufSure = false
				return written, err
			}
			continue
		}
		if fr.err == io.EOF {
			return written, nil
		}
		if fr.err != nil {
			return written, fr.err
		}
		if _, _, err := fr.next(nil, false); err != nil {
			fr.err = err
		}
	}
}

// Err returns the integrity failure the reader met, if any. It waits for
// the checks of what ReadDeferred handed out.
func (fr *FrameReader) Err() error {
	if err := fr.Settle(); err != nil {
		return err
	}
	if fr.err == nil || fr.err == io.EOF {
		return nil
	}
	return fr.err
}

func (fr *FrameReader) fail(chunk int64, reason string, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	return &StreamError{Chunk: chunk, Offset: fr.total, Reason: reason, Err: err}
}

func (fr *FrameReader) truncated(err error) error {
	return fr.fail(0, fmt.Sprintf("stream truncated after %d bytes", fr.total), err)
}

// next reads one frame: as much of it as fits straight into p, the rest
// into fr.buf, and n is the length in p, crc its CRC-32C. With deferred,
// a large frame that fits wholly in p goes to the checker unchecked. At
// the trailer it verifies the stream and answers io.EOF, which read, as
// any failure, reports only once the checker found every frame good.
func (fr *FrameReader) next(p []byte, deferred bool) (int, uint32, error) {
	if _, err := io.ReadFull(fr.r, fr.header[:]); err != nil {
		return 0, 0, fr.truncated(err)
	}
	length := binary.BigEndian.Uint32(fr.header[:])
	if length == 0 {
		return 0, 0, fr.trailer()
	}
	fr.chunk++
	if length > MaxChunk {
		return 0, 0, fr.fail(fr.chunk, fmt.Sprintf("length %d exceeds the limit of %d", length, MaxChunk), nil)
	}
	n := int(length)
	head := p[:min(n, len(p))]
	if _, err := io.ReadFull(fr.r, head); err != nil {
		return 0, 0, fr.truncated(err)
	}
	var rest []byte
	if len(head) < n {
		var err error
		if rest, err = fr.fill(n - len(head)); err != nil {
			return 0, 0, fr.truncated(err)
		}
	}
	var tail [4]byte
	if _, err := io.ReadFull(fr.r, tail[:]); err != nil {
		return 0, 0, fr.truncated(err)
	}
	want := binary.BigEndian.Uint32(tail[:])
	if deferred && rest == nil && n >= deferMin {
		if fr.checks == nil {
			fr.checks = new(frameChecker)
		}
		fr.checks.add(deferredFrame{p: head, crc: want, chunk: fr.chunk, off: fr.total})
		fr.sum = crc32c.Combine(fr.sum, want, uint64(n))
		fr.total += int64(n)
		fr.pending += int64(n)
		fr.buf, fr.off = fr.buf[:0], 0
		return n, want, nil
	}
	crc := crc32.Checksum(head, frameCRCTable)
	sum := crc
	var restCRC uint32
	if rest != nil {
		restCRC = crc32.Checksum(rest, frameCRCTable)
		sum = crc32c.Combine(crc, restCRC, uint64(len(rest)))
	}
	if sum != want {
		return 0, 0, fr.fail(fr.chunk, "checksum mismatch", nil)
	}
	fr.sum = crc32c.Combine(fr.sum, sum, uint64(n))
	fr.total += int64(n)
	fr.buf, fr.off, fr.bufCRC, fr.bufSure = rest, 0, restCRC, true
	if rest == nil {
		fr.buf = fr.buf[:0]
	}
	return len(head), crc, nil
}

// fill reads n bytes into fr.buf. The buffer grows as data actually
// arrives, so a forged length costs no more memory than the bytes behind it.
func (fr *FrameReader) fill(n int) ([]byte, error) {
	buf := fr.buf[:0]
	for len(buf) < n {
		if len(buf) == cap(buf) {
			c := min(max(2*cap(buf), 64<<10), n)
			nb := make([]byte, len(buf), c)
			copy(nb, buf)
			buf = nb
		}
		m, err := fr.r.Read(buf[len(buf):min(cap(buf), n)])
		buf = buf[:len(buf)+m]
		if err != nil && len(buf) < n {
			fr.buf = buf[:0]
			return nil, err
		}
	}
	fr.buf = buf
	return buf, nil
}

func (fr *FrameReader) trailer() error {
	var t [sumSize + 8]byte
	if _, err := io.ReadFull(fr.r, t[:]); err != nil {
		return fr.fail(0, fmt.Sprintf("stream truncated in its trailer after %d bytes", fr.total), err)
	}
	if want := binary.BigEndian.Uint64(t[sumSize:]); want != uint64(fr.total) {
		return fr.fail(0, fmt.Sprintf("stream of %d bytes, but its trailer says %d", fr.total, want), nil)
	}
	if binary.BigEndian.Uint32(t[:sumSize]) != fr.sum {
		return fr.fail(0, fmt.Sprintf("CRC-32C of the %d bytes does not match the trailer", fr.total), nil)
	}
	var extra [1]byte
	for {
		n, err := fr.r.Read(extra[:])
		if n > 0 {
			return fr.fail(0, fmt.Sprintf("data after the end of the stream of %d bytes", fr.total), nil)
		}
		if err == io.EOF {
			return io.EOF
		}
		if err != nil {
			return fr.fail(0, fmt.Sprintf("reading the end of the stream of %d bytes failed", fr.total), err)
		}
	}
}

// frameChecker checks the CRCs of the frames ReadDeferred handed out, on
// a goroutine of its own that runs only while there is something to check:
// no reader left unread or abandoned keeps one. A reader that settles
// checks itself the frames the goroutine has not begun, so that a busy
// machine, where the goroutine waits for a processor, costs no more than
// checking each frame on arrival.
type frameChecker struct {
	mu      sync.Mutex
	queue   []deferredFrame
	next    int // the first frame in queue nobody checks yet
	running bool
	idle    chan struct{} // closed when the running goroutine is done
	bad     *StreamError  // the first frame that failed
}

// deferredFrame is a frame handed out before its check: its payload, the
// CRC it carried, its number and the payload before it.
type deferredFrame struct {
	p     []byte
	crc   uint32
	chunk int64
	off   int64
}

func (c *frameChecker) add(f deferredFrame) {
	c.mu.Lock()
	c.queue = append(c.queue, f)
	if !c.running {
		c.running = true
		c.idle = make(chan struct{})
		go c.run(c.idle)
	}
	c.mu.Unlock()
}

// run checks frames until none is left; finding none and ending happen
// under one lock, so that a frame added meanwhile starts another run.
func (c *frameChecker) run(idle chan struct{}) {
	c.mu.Lock()
	c.drainLocked()
	c.queue, c.next = c.queue[:0], 0
	c.running = false
	close(idle)
	c.mu.Unlock()
}

// drainLocked checks, one after the other, the frames nobody checks yet,
// letting go of the lock while it checks each.
func (c *frameChecker) drainLocked() {
	for {
		f, ok := c.claimLocked()
		if !ok {
			return
		}
		c.mu.Unlock()
		c.check(f)
		c.mu.Lock()
	}
}

// claimLocked takes the next frame nobody checks yet.
func (c *frameChecker) claimLocked() (deferredFrame, bool) {
	if c.next == len(c.queue) {
		return deferredFrame{}, false
	}
	f := c.queue[c.next]
	c.queue[c.next] = deferredFrame{}
	c.next++
	return f, true
}

// check checks f, unless a frame before it failed already, and keeps the
// failure of the first frame that failed.
func (c *frameChecker) check(f deferredFrame) {
	c.mu.Lock()
	after := c.bad != nil && c.bad.Chunk < f.chunk
	c.mu.Unlock()
	if after || crc32.Checksum(f.p, frameCRCTable) == f.crc {
		return
	}
	c.mu.Lock()
	if c.bad == nil || f.chunk < c.bad.Chunk {
		c.bad = &StreamError{Chunk: f.chunk, Offset: f.off, Reason: "checksum mismatch"}
	}
	c.mu.Unlock()
}

// wait returns once every frame added so far has been checked, with the
// first that failed. It checks those the goroutine has not begun itself.
func (c *frameChecker) wait() *StreamError {
	c.mu.Lock()
	c.drainLocked()
	running, idle := c.running, c.idle
	c.mu.Unlock()
	if running {
		<-idle
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queue, c.next = c.queue[:0], 0
	return c.bad
}
