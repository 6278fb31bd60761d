package mtf

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"unsafe"

	"github.com/zeebo/blake3"

	"exbackup/internal/crc32c"
)

// Defaults of the tapes exbackup writes.
const (
	DefaultFLBSize          = 1024
	DefaultSoftFilemarkSize = 1024
	DefaultBufferSize       = 1 << 20
)

// MaxInlineName is the longest encoded name kept in a DIRB or FILE block;
// longer ones go into a PNAM or FNAM stream.
const MaxInlineName = 1024

// Stream is a small stream held in memory, written into a block before any
// data stream (for example a NACL security descriptor).
type Stream struct {
	ID              string
	FSAttributes    uint16
	MediaAttributes uint16
	Data            []byte
}

// Written locates a block the Writer wrote.
type Written struct {
	Offset         int64  // byte offset of the block in the tape
	FLA            uint64 // its format logical address
	ControlBlockID uint32
}

// WriterOptions configures a Writer.
type WriterOptions struct {
	FLBSize          int // format logical block size; 512 or 1024 (default)
	SoftFilemarkSize int // bytes of a soft filemark block, a multiple of FLBSize (default 1024)
	BufferSize       int // write buffer (default 1 MiB)
	// Align, a power of two up to BufferSize, lays the buffers out in
	// memory as the bytes lie on the tape: each byte at the same distance
	// from an Align boundary, every buffer but the first starting on one.
	// A writer below that writes whole aligned blocks straight from the
	// buffers it is given (durable.Stream.WriteDirect, at 4096) then needs
	// no copy of its own. 0: no layout.
	Align int
	// Filemarks are the PBAs of the soft filemarks already on the tape,
	// newest first, and FilemarkCount how many there are: an appending
	// writer continues both (see Contents.AppendPoint).
	Filemarks     []uint32
	FilemarkCount uint32
	// Plain leaves out exbackup's own streams (EXBS, EXBH, EXBM): the tape
	// is then what any MTF writer would produce, with no strong hashes.
	Plain bool
	// FileHash is the digest each file's EXBH stream records (default
	// HashBLAKE3).
	FileHash HashAlgo
	// Catalog ends each set with a type 1 media based catalog (see
	// catalog.go); SetMap lists the family's earlier sets for its set map
	// (SetMapFrom), FamilyID and MediaSequence are the TAPE block's.
	Catalog       bool
	SetMap        []SetMapEntry
	FamilyID      uint32
	MediaSequence uint16
}

// Writer writes MTF blocks sequentially through two large buffers: one is
// filled while the other is written. Errors are sticky: once a write failed,
// every later call returns the same error. Call Flush (EndSet does) before
// syncing or closing the underlying file.
type Writer struct {
	w        io.Writer
	pos      int64      // offset of the next byte
	buf      []byte     // the buffer being filled: a part of base
	base     []byte     // buf's memory, of the buffer size
	spare    []byte     // the other buffer's memory, being written in the background
	size     int        // of a buffer
	align    int64      // of the buffers' layout; 1 when none
	inflight chan error // the background write, nil when none
	flb      int64
	sfm      int
	marks    []uint32
	count    uint32
	err      error
	plain    bool // no exbackup streams

	// file data hashing (see data)
	hashq       chan segment
	segStart    int           // start in buf of the data not yet handed to the hasher
	bufHashed   chan struct{} // closed when buf's data is hashed; nil when none
	spareHashed chan struct{} // the same for spare
	sinkErr     bool          // writing failed: nothing more goes out

	// the set being written
	inSet    bool
	setStart int64
	setNum   uint16
	setAttr  uint32
	cbid     uint32

	// the media based catalog, when written
	catalog  bool
	cat      *CatalogBuilder
	catSet   *StartSet
	catSetH  Header
	setMap   []SetMapEntry
	family   uint32
	mediaSeq uint16
	ssetSum  hash.Hash // BLAKE3 of the SSET block being written, for the EXBC stream
	ssetHash [32]byte
	longName string // the name a DIRB or FILE being written keeps in a stream

	meta hash.Hash // SHA-256 of metadata bytes, nil when off
	algo HashAlgo  // of the file data's digest
	sum  hash.Hash // computes it
	crc  uint32
	xor  XOR32  // the CSUM of an encrypted file's data (see sealData)
	csum uint32 // an unencrypted file's CSUM, once data returned
}

// NewWriter returns a Writer whose next byte lands at offset of the tape
// (an FLB boundary).
func NewWriter(w io.Writer, offset int64, o WriterOptions) (*Writer, error) {
	if o.FLBSize == 0 {
		o.FLBSize = DefaultFLBSize
	}
	if o.SoftFilemarkSize == 0 {
		o.SoftFilemarkSize = max(DefaultSoftFilemarkSize, o.FLBSize)
	}
	if o.BufferSize <= 0 {
		o.BufferSize = DefaultBufferSize
	}
	if o.FLBSize != 512 && o.FLBSize != 1024 {
		return nil, fmt.Errorf("mtf: FLB size %d, want 512 or 1024", o.FLBSize)
	}
	if o.SoftFilemarkSize%o.FLBSize != 0 || o.SoftFilemarkSize < 512 || o.SoftFilemarkSize > 0xffff {
		return nil, fmt.Errorf("mtf: soft filemark size %d is not a multiple of the FLB size %d", o.SoftFilemarkSize, o.FLBSize)
	}
	if offset%int64(o.FLBSize) != 0 {
		return nil, fmt.Errorf("mtf: writer offset %d is not on an FLB boundary", offset)
	}
	if o.FileHash == 0 {
		o.FileHash = HashBLAKE3
	}
	if !o.FileHash.known() {
		return nil, fmt.Errorf("mtf: unknown file hash %d", o.FileHash)
	}
	if o.Align < 0 || o.Align&(o.Align-1) != 0 || o.Align > o.BufferSize {
		return nil, fmt.Errorf("mtf: buffer alignment %d is not a power of two up to the buffer size %d", o.Align, o.BufferSize)
	}
	wr := &Writer{
		w:     w,
		pos:   offset,
		size:  o.BufferSize,
		align: int64(max(o.Align, 1)),
		flb:   int64(o.FLBSize),
		sfm:   o.SoftFilemarkSize,
		marks: append([]uint32(nil), o.Filemarks...),
		count: o.FilemarkCount,
		plain: o.Plain,
		algo:  o.FileHash,
		sum:   o.FileHash.New(),

		catalog:  o.Catalog,
		setMap:   append([]SetMapEntry(nil), o.SetMap...),
		family:   o.FamilyID,
		mediaSeq: max(o.MediaSequence, 1),
	}
	wr.base = wr.newBuffer()
	wr.buf = wr.fresh()
	return wr, nil
}

// newBuffer allocates a buffer's memory, starting on an alignment
// boundary.
func (w *Writer) newBuffer() []byte { return alignedBytes(w.size, w.align)[:0] }

// alignedBytes returns n bytes of memory starting on an align boundary
// (a power of two; 1: anywhere).
func alignedBytes(n int, align int64) []byte {
	if align <= 1 {
		return make([]byte, n)
	}
	raw := make([]byte, n+int(align))
	skip := int((align - int64(uintptr(unsafe.Pointer(&raw[0])))%align) % align)
	return raw[skip : skip+n : skip+n]
}

// fresh returns base, empty, to be filled from pos on: it starts as far
// past base's alignment boundary as pos is past one on the tape.
func (w *Writer) fresh() []byte {
	k := int(w.pos % w.align)
	return w.base[k:k]
}

// Offset returns the tape offset of the next byte.
func (w *Writer) Offset() int64 { return w.pos }

// Err returns the sticky error, if any.
func (w *Writer) Err() error { return w.err }

// Flush writes out the buffer and waits until the underlying writer has
// taken everything. After a failure to read a file's data (not to write),
// what was buffered is still written, so that the unfinished set is on tape
// and lists as aborted.
func (w *Writer) Flush() error {
	w.spill()
	w.wait()
	return w.err
}

// spill hands the full buffer to a background write and goes on filling the
// spare one, so that hashing and copying overlap the file system's work. At
// most one write is in flight.
func (w *Writer) spill() {
	w.wait()
	if w.sinkErr || len(w.buf) == 0 {
		return
	}
	buf, at := w.buf, w.pos-int64(len(w.buf))
	if w.spare == nil {
		w.spare = w.newBuffer()
	}
	// The spare may still be read by the hasher.
	if w.spareHashed != nil {
		<-w.spareHashed
	}
	w.base, w.spare = w.spare, w.base
	w.buf = w.fresh()
	w.spareHashed, w.bufHashed = w.bufHashed, nil
	w.segStart = 0
	done := make(chan error, 1)
	w.inflight = done
	go func() {
		_, err := w.w.Write(buf)
		if err != nil {
			err = fmt.Errorf("mtf: writing at byte %d: %w", at, err)
		}
		done <- err
	}()
}

// wait waits for the write in flight, if any.
func (w *Writer) wait() {
	if w.inflight == nil {
		return
	}
	if err := <-w.inflight; err != nil {
		w.sinkErr = true
		if w.err == nil {
			w.err = err
		}
	}
	w.inflight = nil
}

// emit buffers metadata bytes, feeding the set digest when it is on.
func (w *Writer) emit(p []byte) {
	if w.meta != nil {
		w.meta.Write(p)
	}
	if w.ssetSum != nil {
		w.ssetSum.Write(p)
	}
	w.raw(p)
}

func (w *Writer) raw(p []byte) {
	for len(p) > 0 && w.err == nil {
		if len(w.buf) == cap(w.buf) {
			w.spill()
			continue
		}
		n := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+n]
		w.pos += int64(n)
		p = p[n:]
	}
}

var zeros [4096]byte

func (w *Writer) zero(n int64) {
	for n > 0 {
		k := min(n, int64(len(zeros)))
		w.emit(zeros[:k])
		n -= k
	}
}

func (w *Writer) streamHeader(s StreamHeader) {
	var b [StreamHeaderSize]byte
	s.Encode(b[:])
	w.emit(b[:])
}

// stream writes a small stream: header, data, padding to 4 bytes.
func (w *Writer) stream(s Stream) {
	w.streamHeader(StreamHeader{ID: s.ID, FSAttributes: s.FSAttributes, MediaAttributes: s.MediaAttributes, Length: uint64(len(s.Data))})
	w.emit(s.Data)
	w.zero(Pad4(w.pos))
}

// pad writes the SPAD stream that ends a block on the next FLB boundary.
func (w *Writer) pad() {
	need := w.pos + StreamHeaderSize
	end := (need + w.flb - 1) / w.flb * w.flb
	w.streamHeader(StreamHeader{ID: StreamPad, Length: uint64(end - need)})
	w.zero(end - need)
}

// head encodes and emits a block's header, fixed part and strings.
func (w *Writer) head(h *Header, d Descriptor) (Written, error) {
	longName := w.longName
	w.longName = ""
	if w.err != nil {
		return Written{}, w.err
	}
	h.OSID = OSWindowsNT
	at := Written{Offset: w.pos}
	switch {
	case d.BlockType() == TypeTape:
	case d.BlockType() == TypeFilemark:
		h.FLA = uint64(w.pos / w.flb)
		w.count++
		h.ControlBlockID = w.count
	case w.inSet:
		h.FLA = uint64((w.pos - w.setStart) / w.flb)
		h.ControlBlockID = w.cbid
		w.cbid++
	default:
		return at, fmt.Errorf("mtf: %s block outside a set", d.BlockType())
	}
	b, err := EncodeBlock(h, d)
	if err != nil {
		return at, fmt.Errorf("mtf: encoding %s block: %w", d.BlockType(), err)
	}
	at.FLA, at.ControlBlockID = h.FLA, h.ControlBlockID
	if w.cat != nil && w.inSet {
		// The detail names a DIRB or FILE whose name is in a stream.
		w.cat.Add(*h, withName(d, longName))
	}
	w.emit(b)
	return at, w.err
}

// WriteTape writes the TAPE block, with an EXBM digest of itself, and the
// soft filemark after it. Zero fields of t get exbackup's values: FLB and
// soft filemark sizes, MTF major version 1, the soft-filemark attribute.
func (w *Writer) WriteTape(t *TapeHeader) error {
	if w.pos != 0 {
		return fmt.Errorf("mtf: TAPE block at byte %d, want 0", w.pos)
	}
	t.FLBSize = uint16(w.flb)
	t.SoftFilemarkBlockSize = uint16(w.sfm / 512)
	t.Attributes |= TapeSoftFilemarks
	if t.MajorVersion == 0 {
		t.MajorVersion = 1
	}
	if t.MediaSequence == 0 {
		t.MediaSequence = 1
	}
	if !w.plain {
		w.meta = sha256.New()
	}
	if _, err := w.head(&Header{}, t); err != nil {
		return err
	}
	w.digestStream()
	w.pad()
	return w.WriteFilemark()
}

func (w *Writer) digestStream() {
	if w.meta == nil {
		return
	}
	var sum [sha256.Size]byte
	w.meta.Sum(sum[:0])
	w.meta = nil
	w.stream(Stream{ID: StreamDigest, Data: EncodeDigest(sum)})
}

// WriteFilemark writes a soft filemark (SFMB) filling one soft filemark
// block.
func (w *Writer) WriteFilemark() error {
	pba := uint32(w.pos / w.flb)
	capacity := FilemarkCapacity(w.sfm)
	w.marks = append([]uint32{pba}, w.marks...)
	if len(w.marks) > capacity {
		w.marks = w.marks[:capacity]
	}
	h := Header{FirstStream: uint16(w.sfm)}
	at, err := w.head(&h, &Filemark{Entries: uint32(capacity), PBAs: w.marks})
	if err != nil {
		return err
	}
	w.zero(at.Offset + int64(w.sfm) - w.pos)
	return w.err
}

// BeginSet writes the SSET block opening a data set, with its EXBS stream
// (info may be nil) and the small streams given (the EXBK of an encrypted
// set). The writer fills in the PBA, the time zone (0: all
// dates are UTC) and the MTF minor version; s.Number must be set.
func (w *Writer) BeginSet(s *StartSet, info *SetInfo, streams ...Stream) (Written, error) {
	if w.inSet {
		return Written{}, errors.New("mtf: a set is already open")
	}
	if s.Number == 0 {
		return Written{}, errors.New("mtf: data set number 0")
	}
	s.PBA = uint64(w.pos / w.flb)
	s.TimeZone = 0
	s.MTFMinor = 0
	w.inSet, w.setStart, w.setNum, w.setAttr, w.cbid = true, w.pos, s.Number, s.Attributes, 0
	if !w.plain {
		w.meta = sha256.New()
	}
	if w.catalog {
		s.CatalogVersion = 2 // a type 1 catalog follows the set
		w.cat = &CatalogBuilder{MediaSequence: w.mediaSeq}
		if !w.plain {
			w.ssetSum = blake3.New()
		}
	}
	var h Header
	at, err := w.head(&h, s)
	if err != nil {
		w.ssetSum = nil
		return at, err
	}
	w.catSet, w.catSetH = s, h
	if !w.plain {
		if info == nil {
			info = &SetInfo{}
		}
		w.stream(Stream{ID: StreamSetInfo, Data: info.Encode()})
	}
	for _, st := range streams {
		w.stream(st)
	}
	w.pad()
	if w.ssetSum != nil {
		w.ssetSum.Sum(w.ssetHash[:0])
		w.ssetSum = nil
	}
	return at, w.err
}

// WriteBlock writes a block of the open set (VOLB, DIRB, CFIL, ESPB…) with
// its small streams. A DIRB name longer than MaxInlineName moves to a PNAM
// stream.
func (w *Writer) WriteBlock(d Descriptor, streams ...Stream) (Written, error) {
	if dir, ok := d.(*Directory); ok {
		if enc := EncodeString(dir.Name, StringUTF16); len(enc) > MaxInlineName {
			cp := *dir
			cp.Name = ""
			cp.Attributes |= DirectoryInStream
			d = &cp
			w.longName = dir.Name
			streams = append([]Stream{{ID: StreamPath, Data: enc}}, streams...)
		}
	}
	switch d.BlockType() {
	case TypeTape, TypeStartSet, TypeEndSet, TypeFilemark, TypeFile:
		return Written{}, fmt.Errorf("mtf: WriteBlock cannot write a %s block", d.BlockType())
	}
	at, err := w.head(&Header{}, d)
	if err != nil {
		return at, err
	}
	for _, s := range streams {
		w.stream(s)
	}
	w.pad()
	return at, w.err
}

// WriteFile writes a FILE block of the open set: its small streams, then
// exactly size bytes read from r as a STAN stream, then the CSUM stream and
// the EXBH stream with the data's CRC-32C and digest, computed as the data
// is copied (see data; a CRCReader gives the CRC-32C). A name longer than
// MaxInlineName moves to an FNAM stream.
func (w *Writer) WriteFile(f *File, size int64, r io.Reader, streams ...Stream) (Written, FileHash, error) {
	if size < 0 {
		return Written{}, FileHash{}, fmt.Errorf("mtf: file %q of negative size", f.Name)
	}
	if enc := EncodeString(f.Name, StringUTF16); len(enc) > MaxInlineName {
		w.longName = f.Name
		cp := *f
		cp.Name = ""
		cp.Attributes |= FileNameInStream
		f = &cp
		streams = append([]Stream{{ID: StreamFileName, Data: enc}}, streams...)
	}
	at, err := w.head(&Header{DisplayableSize: uint64(size)}, f)
	if err != nil {
		return at, FileHash{}, err
	}
	for _, s := range streams {
		w.stream(s)
	}
	w.streamHeader(StreamHeader{ID: StreamStandard, MediaAttributes: StreamChecksumFollow, Length: uint64(size)})
	sum, err := w.data(size, r)
	if err != nil {
		return at, sum, err
	}
	w.zero(Pad4(w.pos))
	var c [4]byte
	x := w.csum
	c[0], c[1], c[2], c[3] = byte(x), byte(x>>8), byte(x>>16), byte(x>>24)
	w.stream(Stream{ID: StreamChecksum, Data: c[:]})
	if !w.plain {
		w.stream(Stream{ID: StreamFileHash, Data: sum.Encode()})
		w.tableEntry(at.FLA, sum)
	}
	w.pad()
	return at, sum, w.err
}

// tableEntry records a FILE's EXBH for the set's EXBC stream.
func (w *Writer) tableEntry(fla uint64, sum FileHash) {
	if w.cat != nil {
		w.cat.digests = append(w.cat.digests, TableEntry{FLA: fla, Hash: sum})
	}
}

// withName is d with the name it keeps in a stream, for the detail.
func withName(d Descriptor, name string) Descriptor {
	if name == "" {
		return d
	}
	switch v := d.(type) {
	case *File:
		cp := *v
		cp.Name = name
		return &cp
	case *Directory:
		cp := *v
		cp.Name = name
		return &cp
	}
	return d
}

// CRCReader is a source of file data that knows the CRC-32C of what it
// reads, having checked it already: the API's framed stream checks each
// frame's CRC-32C as it arrives. ReadCRC is Read, and the CRC-32C
// (Castagnoli) of p[:n] besides.
//
// The writer records in the EXBH the CRC-32C combined from these instead
// of computing it over the data again: the source vouches for it. A CRC
// that does not match the data is written as given, and found by the
// first verify or restore of the file, which compute it from the tape.
type CRCReader interface {
	ReadCRC(p []byte) (n int, crc uint32, err error)
}

// data copies size bytes from r straight into the write buffer; they stay
// out of the metadata digest. The checksums are computed by a goroutine of
// their own, which is handed each buffer's stretch of data before the
// buffer is written out, so that copying, hashing and writing overlap: the
// digest, the CSUM and the CRC-32C, unless r is a CRCReader, whose CRCs are
// combined on the way.
func (w *Writer) data(size int64, r io.Reader) (FileHash, error) {
	w.crc = 0
	w.segStart = len(w.buf)
	w.hashq = make(chan segment, 2)
	cr, vouched := r.(CRCReader)
	sums := make(chan hashed, 1)
	go hashSegments(w.sum, checksums{csum: true, crc: !vouched}, w.hashq, sums)
	left := size
	for left > 0 && w.err == nil {
		if len(w.buf) == cap(w.buf) {
			w.submit()
			w.spill()
			continue
		}
		room := w.buf[len(w.buf):cap(w.buf)]
		if int64(len(room)) > left {
			room = room[:left]
		}
		var n int
		var err error
		if vouched {
			var crc uint32
			n, crc, err = cr.ReadCRC(room)
			if n > 0 {
				w.crc = crc32c.Combine(w.crc, crc, uint64(n))
			}
		} else {
			n, err = r.Read(room)
		}
		if n > 0 {
			w.buf = w.buf[:len(w.buf)+n]
			w.pos += int64(n)
			left -= int64(n)
		}
		if left > 0 && err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			w.err = fmt.Errorf("mtf: reading file data after %d of %d bytes: %w", size-left, size, err)
		}
	}
	w.submit()
	close(w.hashq)
	w.hashq = nil
	h := <-sums
	if !vouched {
		w.crc = h.crc
	}
	w.csum = h.csum
	sum := FileHash{Size: uint64(size), CRC32C: w.crc, Algo: w.algo, Sum: h.sum}
	return sum, w.err
}

// segment is a stretch of a buffer for the hasher; done is closed once it
// has been hashed.
type segment struct {
	p    []byte
	done chan struct{}
}

// submit hands the data added to the current buffer since the last
// submission to the hasher.
func (w *Writer) submit() {
	if len(w.buf) == w.segStart {
		return
	}
	d := make(chan struct{})
	w.hashq <- segment{p: w.buf[w.segStart:len(w.buf)], done: d}
	w.bufHashed = d
	w.segStart = len(w.buf)
}

// checksums says what hashSegments computes besides the digest.
type checksums struct {
	csum bool // the CSUM (XOR32)
	crc  bool // the CRC-32C
}

// hashed is what hashSegments computed over all the segments.
type hashed struct {
	sum  [32]byte
	csum uint32
	crc  uint32
}

// hashSegments computes the digest of the segments, one after the other,
// and the checksums c asks for. Those it computes beside the digest, in a
// goroutine of its own for a segment of some size, so that they lengthen
// neither the reading of the data nor its hashing: the digest costs
// several times what they do, and it sets the pace when the data comes
// cheaply.
func hashSegments(h hash.Hash, c checksums, in <-chan segment, out chan<- hashed) {
	h.Reset()
	var x XOR32
	var crc uint32
	sums := func(p []byte) {
		if c.csum {
			x.Write(p)
		}
		if c.crc {
			crc = crc32.Update(crc, castagnoli, p)
		}
	}
	var beside chan []byte
	var summed chan struct{}
	if c.csum || c.crc {
		beside, summed = make(chan []byte), make(chan struct{})
		defer close(beside)
		go func() {
			for p := range beside {
				sums(p)
				summed <- struct{}{}
			}
		}()
	}
	for s := range in {
		switch {
		case beside == nil:
			h.Write(s.p)
		case len(s.p) < besideMin:
			h.Write(s.p)
			sums(s.p)
		default:
			beside <- s.p
			h.Write(s.p)
			<-summed
		}
		close(s.done)
	}
	r := hashed{csum: x.Sum32(), crc: crc}
	h.Sum(r.sum[:0])
	out <- r
}

// besideMin is the smallest segment whose checksums are computed in a
// goroutine beside the digest's: under it, handing it over costs more
// than it saves.
const besideMin = 64 << 10

// EndSet closes the open set: a soft filemark, the ESET block with the EXBM
// digest of the set's metadata, and a soft filemark; then it flushes the
// buffer. Zero fields of e get the set's number and backup type and FDD
// media sequence 1.
func (w *Writer) EndSet(e *EndSet) (Written, error) {
	if !w.inSet {
		return Written{}, errors.New("mtf: no set is open")
	}
	// The filemark is outside the set's block numbering but inside its digest.
	if err := w.WriteFilemark(); err != nil {
		return Written{}, err
	}
	if e.Number == 0 {
		e.Number = w.setNum
	}
	if e.Attributes == 0 {
		e.Attributes = w.setAttr & 0xffff
	}
	if e.FDDMediaSequence == 0 {
		e.FDDMediaSequence = 1
	}
	if w.cat != nil {
		return w.endSetCatalog(e)
	}
	at, err := w.head(&Header{}, e)
	if err != nil {
		return at, err
	}
	w.digestStream()
	w.pad()
	w.inSet = false
	if err := w.WriteFilemark(); err != nil {
		return at, err
	}
	return at, w.Flush()
}
