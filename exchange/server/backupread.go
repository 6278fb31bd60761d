package server

import (
	"errors"
	"hash/crc32"
	"io"
	"sync"
	"time"

	"exbackup/exchange/wire"
	"exbackup/internal/durable"
)

// A backup stream reads its file ahead of the sender. One goroutine, at
// background priority like the sender (inBackground), preads the file in
// chunks of wire.MaxChunk into a few buffers and computes each chunk's
// CRC-32C while the bytes are fresh in the cache; the sending goroutine
// then only frames (reusing that CRC), encrypts and sends. A disk read
// past the page cache overlaps with sending the chunks before it, and the
// copy out of the page cache and the checksum are off the sender's path.
// Memory is readAheadChunks buffers per stream, whatever the file's size.

// readAheadChunks is how many chunks a stream holds at most: one being
// sent, the others read ahead.
const readAheadChunks = 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// backupFile is the file a stream reads; tests stand in for it.
type backupFile interface {
	io.ReaderAt
	io.Closer
}

// openBackupFile opens a file to stream; tests replace it. The file is read
// past the page cache where the system allows (direct I/O), into the
// read-ahead's aligned buffers: a backup reads every page of a database
// once, and through the cache it would cost the server's CPU a page-cache
// fill per page (on a virtual machine several times the copy itself) and
// push out of memory the pages mail and IMAP sessions use. Pages a read
// transaction sees were committed, fsynced, before it began, and the
// system writes back any dirty page in a range before reading it
// directly, so the snapshot is the same either way.
var openBackupFile = func(path string) (backupFile, error) { return durable.OpenReader(path) }

// backupSource is the content of one backup stream: head, the bytes it
// begins with (a snapshot's meta pages in place of the file's, or
// restore.env), then the file's bytes at the same offsets, up to size.
type backupSource struct {
	head []byte
	f    backupFile // nil when head is all of it
	size int64
	// exact: the file itself must end at size (a rolled log generation,
	// which never changes). A database file goes on past a snapshot's
	// size as later commits grow it.
	exact bool
}

// backupChunk is a piece of the stream read ahead.
type backupChunk struct {
	p   []byte
	crc uint32
	end int64 // stream bytes read up to the end of p
	// cpu is what reading and checksumming p cost the read-ahead's
	// thread, which the pacer charges to the stream with the sender's.
	cpu time.Duration
	err error
}

// errShortFile ends a stream whose file ended before its size;
// errLongFile one whose file goes on past it. sessionReader words them.
var (
	errShortFile = errors.New("file ended early")
	errLongFile  = errors.New("file longer than listed")
)

// readAhead reads a backupSource ahead of its consumer.
type readAhead struct {
	src    backupSource
	filled chan backupChunk // read-ahead → consumer
	free   chan []byte      // consumer → read-ahead
	spare  [][]byte         // the consumer's: released, not yet given back
	quit   chan struct{}
	done   chan struct{} // closed once the goroutine ended and closed the file
	bufs   [][]byte      // all of its buffers
	once   sync.Once
}

// startReadAhead starts reading src (whose f is set and whose size is not
// 0) in a goroutine of its own; stop ends it, and it closes src.f.
func startReadAhead(src backupSource) *readAhead {
	size := int(min(int64(wire.MaxChunk), src.size))
	depth := int(min(readAheadChunks, (src.size+int64(size)-1)/int64(size)))
	ra := &readAhead{src: src, filled: make(chan backupChunk, depth), free: make(chan []byte, depth),
		quit: make(chan struct{}), done: make(chan struct{})}
	for range depth {
		var buf []byte
		if size == wire.MaxChunk {
			buf = *chunkPool.Get().(*[]byte)
		} else {
			buf = durable.AlignedBuffer(size)
		}
		ra.bufs = append(ra.bufs, buf)
		ra.free <- buf
	}
	// The read-ahead's thread is a background thread as the sender's is,
	// for the same reasons (see inBackground): delivery goes first, and
	// the thread's checksumming holds a processor of its own, not one of
	// those delivery's goroutines run on.
	go func() {
		defer close(ra.done)
		inBackground(func() error { ra.run(); return nil })
	}()
	return ra
}

// run reads chunk after chunk as buffers come free. It stops at the first
// failed read, at the end, or when stopped.
func (ra *readAhead) run() {
	defer ra.src.f.Close()
	src := ra.src
	for pos := int64(0); pos < src.size; {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.quit:
			return
		}
		wall := time.Now()
		cpu0, ok := threadCPU()
		c := ra.read(buf[:min(int64(cap(buf)), src.size-pos)], pos)
		if cpu1, ok1 := threadCPU(); ok && ok1 {
			c.cpu = min(cpu1-cpu0, time.Since(wall))
		}
		select {
		case <-ra.quit:
			return // what was read after a stop is never handed out
		default:
		}
		select {
		case ra.filled <- c:
		case <-ra.quit:
			return
		}
		if c.err != nil {
			return
		}
		pos = c.end
	}
}

// read reads the chunk of the stream at pos into buf and checksums it.
func (ra *readAhead) read(buf []byte, pos int64) backupChunk {
	src := ra.src
	h := 0
	if pos < int64(len(src.head)) {
		h = copy(buf, src.head[pos:])
	}
	at := pos + int64(h)
	n, err := 0, error(nil)
	if h < len(buf) {
		n, err = src.f.ReadAt(buf[h:], at)
	}
	if got := h + n; got < len(buf) {
		if err == nil || err == io.EOF {
			err = errShortFile
		}
		return backupChunk{end: pos + int64(got), err: err}
	}
	end := pos + int64(len(buf))
	if end == src.size && src.exact {
		var one [1]byte
		if m, _ := src.f.ReadAt(one[:], end); m > 0 {
			return backupChunk{end: end, err: errLongFile}
		}
	}
	return backupChunk{p: buf, crc: crc32.Checksum(buf, castagnoli), end: end}
}

// next returns the next chunk, or false once stopped. A chunk that comes
// after a stop is not handed out.
func (ra *readAhead) next() (backupChunk, bool) {
	select {
	case c := <-ra.filled:
		select {
		case <-ra.quit:
			return backupChunk{}, false
		default:
			return c, true
		}
	case <-ra.quit:
		return backupChunk{}, false
	}
}

// release gives a chunk's buffer back for reading ahead. Buffers go back
// in pairs, so that a read-ahead that is ahead of the sender, as it is
// from the page cache, wakes once for two chunks rather than for each:
// every wake of its thread costs a hand-off between threads. A pair never
// waits for a buffer the sender holds: the sender holds none when it next
// waits for a chunk.
func (ra *readAhead) release(buf []byte) {
	ra.spare = append(ra.spare, buf[:cap(buf)])
	if len(ra.spare) < min(2, cap(ra.free)) {
		return
	}
	for _, b := range ra.spare {
		select {
		case ra.free <- b:
		default: // never: there are as many places as buffers
		}
	}
	ra.spare = ra.spare[:0]
}

// chunkPool holds full-size chunk buffers between streams: a backup
// streams one log generation after another, and fresh buffers for each
// would cost as much zeroing and page faulting as a tenth of its bytes.
var chunkPool = sync.Pool{New: func() any { b := durable.AlignedBuffer(wire.MaxChunk); return &b }}

// recycle gives the buffers to the next stream. Only the consumer calls
// it, once it is done with the chunks, and only after wait.
func (ra *readAhead) recycle() {
	for _, b := range ra.bufs {
		if cap(b) == wire.MaxChunk {
			b = b[:cap(b)]
			chunkPool.Put(&b)
		}
	}
	ra.bufs, ra.spare = nil, nil
}

// stop ends the read-ahead; a read in progress finishes first, and its
// chunk is dropped. It does not wait: wait does.
func (ra *readAhead) stop() { ra.once.Do(func() { close(ra.quit) }) }

// wait waits for the goroutine to end, which is at most one read after
// stop.
func (ra *readAhead) wait() { <-ra.done }
