// Package mtftest builds MTF tapes block by block, for tests that need
// layouts exbackup's own writer never produces: the streams of other
// writers (NACL, ADAT, SPAR, compressed STAN), blocks out of order, media
// based catalogs, damaged regions. It follows MTF 1.00a; nothing checks
// that what a test asks for makes sense.
package mtftest

import (
	"encoding/binary"
	"unicode/utf16"

	"exbackup/tape/mtf"
)

// Stream is one stream of a block.
type Stream struct {
	ID          string
	FS, Media   uint16 // file-system and media format attributes
	Compression uint16 // compression algorithm
	Data        []byte
	// CSUM appends a CSUM stream of Data (and sets the "CSUM follows"
	// media attribute).
	CSUM bool
}

// Builder appends blocks to a tape image in memory.
type Builder struct {
	b        []byte
	flb, sfm int
	setStart int
	inSet    bool
	cbid     uint32
	marks    []uint32
	count    uint32
	// Catalog, when set (WithCatalog), gathers the open set's
	// file/directory detail.
	Catalog *mtf.CatalogBuilder
	sset    *mtf.StartSet
	ssetH   mtf.Header
	catalog bool
}

// WithCatalog makes the builder gather a type 1 media based catalog for
// each set, written by EndSetCatalog.
func (b *Builder) WithCatalog() *Builder { b.catalog = true; return b }

// New returns a builder with 1024-byte FLBs and soft filemark blocks.
func New() *Builder { return &Builder{flb: 1024, sfm: 1024} }

// Bytes returns the tape so far.
func (b *Builder) Bytes() []byte { return b.b }

// Len returns the offset of the next block.
func (b *Builder) Len() int64 { return int64(len(b.b)) }

// FLB returns the format logical block size.
func (b *Builder) FLB() int { return b.flb }

// Tape writes the TAPE block (with the soft-filemark attribute and this
// builder's sizes) and the filemark after it.
func (b *Builder) Tape(t mtf.TapeHeader) {
	t.FLBSize = uint16(b.flb)
	t.SoftFilemarkBlockSize = uint16(b.sfm / 512)
	t.Attributes |= mtf.TapeSoftFilemarks
	if t.MajorVersion == 0 {
		t.MajorVersion = 1
	}
	if t.MediaSequence == 0 {
		t.MediaSequence = 1
	}
	b.Block(&t)
	b.Filemark()
}

// Filemark writes an SFMB block filling one soft filemark block.
func (b *Builder) Filemark() {
	pba := uint32(len(b.b) / b.flb)
	b.marks = append([]uint32{pba}, b.marks...)
	capacity := mtf.FilemarkCapacity(b.sfm)
	if len(b.marks) > capacity {
		b.marks = b.marks[:capacity]
	}
	b.count++
	h := mtf.Header{FirstStream: uint16(b.sfm), FLA: uint64(pba), ControlBlockID: b.count, OSID: mtf.OSWindowsNT}
	head, err := mtf.EncodeBlock(&h, &mtf.Filemark{Entries: uint32(capacity), PBAs: b.marks})
	if err != nil {
		panic(err)
	}
	start := len(b.b)
	b.b = append(b.b, head...)
	b.b = append(b.b, make([]byte, start+b.sfm-len(b.b))...)
}

// Block writes a block with its streams and the SPAD to the next FLB
// boundary, and returns its offset. An SSET starts a set (FLAs and control
// block ids count from it), an ESET ends it.
func (b *Builder) Block(d mtf.Descriptor, streams ...Stream) int64 {
	return b.BlockHeader(mtf.Header{}, d, streams...)
}

// BlockHeader is Block with common header fields of the caller's
// (attributes, displayable size, string type).
func (b *Builder) BlockHeader(h mtf.Header, d mtf.Descriptor, streams ...Stream) int64 {
	at := len(b.b)
	h.OSID = mtf.OSWindowsNT
	switch d.BlockType() {
	case mtf.TypeStartSet:
		b.inSet, b.setStart, b.cbid = true, at, 0
		if s, ok := d.(*mtf.StartSet); ok && s.PBA == 0 {
			s.PBA = uint64(at / b.flb)
		}
	}
	if b.inSet && d.BlockType() != mtf.TypeTape {
		h.FLA = uint64((at - b.setStart) / b.flb)
		h.ControlBlockID = b.cbid
		b.cbid++
	}
	head, err := mtf.EncodeBlock(&h, d)
	if err != nil {
		panic(err)
	}
	if ss, ok := d.(*mtf.StartSet); ok {
		b.sset, b.ssetH = ss, h
		if b.catalog {
			b.Catalog = &mtf.CatalogBuilder{MediaSequence: 1}
		}
	} else if b.Catalog != nil && b.inSet {
		b.Catalog.Add(h, d)
	}
	b.b = append(b.b, head...)
	b.b = append(b.b, make([]byte, at+int(h.FirstStream)-len(b.b))...)
	for _, s := range streams {
		b.stream(s)
	}
	b.pad()
	if d.BlockType() == mtf.TypeEndSet {
		b.inSet = false
	}
	return int64(at)
}

func (b *Builder) stream(s Stream) {
	if s.CSUM {
		s.Media |= mtf.StreamChecksumFollow
	}
	b.header(mtf.StreamHeader{ID: s.ID, FSAttributes: s.FS, MediaAttributes: s.Media, CompressionAlgorithm: s.Compression, Length: uint64(len(s.Data))})
	b.b = append(b.b, s.Data...)
	b.align4()
	if s.CSUM {
		var x mtf.XOR32
		x.Write(s.Data)
		var v [4]byte
		binary.LittleEndian.PutUint32(v[:], x.Sum32())
		b.header(mtf.StreamHeader{ID: mtf.StreamChecksum, Length: 4})
		b.b = append(b.b, v[:]...)
		b.align4()
	}
}

func (b *Builder) header(s mtf.StreamHeader) {
	var h [mtf.StreamHeaderSize]byte
	s.Encode(h[:])
	b.b = append(b.b, h[:]...)
}

func (b *Builder) align4() {
	for len(b.b)%4 != 0 {
		b.b = append(b.b, 0)
	}
}

func (b *Builder) pad() {
	need := len(b.b) + mtf.StreamHeaderSize
	end := (need + b.flb - 1) / b.flb * b.flb
	b.header(mtf.StreamHeader{ID: mtf.StreamPad, Length: uint64(end - need)})
	b.b = append(b.b, make([]byte, end-need)...)
}

// EndSetCatalog closes the open set with its media based catalog: an ESET
// whose streams are the TFDD and the TSMP (prev, the earlier sets of the
// family, then this one), each stream header on an FLB, and the second
// ESET pointing at both. It returns the set map written; the caller writes
// the filemark after.
func (b *Builder) EndSetCatalog(e mtf.EndSet, family uint32, prev []mtf.SetMapEntry) []mtf.SetMapEntry {
	at := int64(len(b.b))
	flb := int64(b.flb)
	fddAt := at + flb
	fdd := b.Catalog.FDD(fddAt, flb)
	smAt := fddAt + mtf.StreamHeaderSize + int64(len(fdd))
	entry := b.Catalog.Entry(b.sset, b.ssetH, 0, uint64(fddAt/flb))
	sets := append(append([]mtf.SetMapEntry(nil), prev...), entry)
	sm := mtf.EncodeSetMap(&mtf.SetMap{FamilyID: family, Sets: sets})
	e.FDDPBA, e.SetMapPBA = uint64(fddAt/flb), uint64(smAt/flb)
	h := mtf.Header{FirstStream: uint16(flb), OSID: mtf.OSWindowsNT, FLA: uint64((int(at) - b.setStart) / b.flb), ControlBlockID: b.cbid}
	b.cbid++
	head, err := mtf.EncodeBlock(&h, &e)
	if err != nil {
		panic(err)
	}
	b.b = append(b.b, head...)
	b.b = append(b.b, make([]byte, int(fddAt)-len(b.b))...)
	b.stream(mtftestStream(mtf.StreamFDD, fdd))
	if int64(len(b.b)) != smAt {
		panic("mtftest: set map not on an FLB")
	}
	b.stream(mtftestStream(mtf.StreamSetMap, sm))
	b.pad()
	b.Block(&e)
	b.Catalog = nil
	return sets
}

func mtftestStream(id string, p []byte) Stream { return Stream{ID: id, Data: p} }

// Raw appends bytes as they are (a damaged region, say).
func (b *Builder) Raw(p []byte) { b.b = append(b.b, p...) }

// Data is a STAN stream of plain data with its CSUM.
func Data(p []byte) Stream { return Stream{ID: mtf.StreamStandard, Data: p, CSUM: true} }

// Compressed is a STAN stream of p compressed in LZS frames of frameSize
// bytes, with its CSUM; the FILE's displayable size must be len(p).
func Compressed(p []byte, frameSize int) Stream {
	return Stream{ID: mtf.StreamStandard, Media: mtf.StreamCompressed, Compression: mtf.CompressionLZS221, Data: mtf.EncodeFrames(p, frameSize), CSUM: true}
}

// Sparse returns the streams of a sparse file: an empty STAN marked
// sparse, then one SPAR stream per extent (offset, bytes), each with its
// CSUM. The FILE's displayable size gives the file's size.
func Sparse(extents map[int64][]byte, order []int64) []Stream {
	out := []Stream{{ID: mtf.StreamStandard, FS: mtf.StreamSparseAttr}}
	for _, off := range order {
		d := make([]byte, 8, 8+len(extents[off]))
		binary.LittleEndian.PutUint64(d, uint64(off))
		out = append(out, Stream{ID: mtf.StreamSparse, FS: mtf.StreamSparseAttr, Data: append(d, extents[off]...), CSUM: true})
	}
	return out
}

// Alternate is an ADAT stream holding the alternate data stream name
// (":name:$DATA") and its bytes.
func Alternate(name string, p []byte) Stream {
	n := UTF16(":" + name + ":$DATA")
	d := binary.LittleEndian.AppendUint32(nil, uint32(len(n)))
	return Stream{ID: mtf.StreamNTAlt, Data: append(append(d, n...), p...), CSUM: true}
}

// UTF16 encodes s as UTF-16LE.
func UTF16(s string) []byte {
	u := utf16.Encode([]rune(s))
	return Units(u...)
}

// Units encodes UTF-16 code units as they are (lone surrogates included).
func Units(u ...uint16) []byte {
	out := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(out[2*i:], c)
	}
	return out
}

// FileSplit writes a FILE whose STAN data the medium cuts: the block, its
// streams, the STAN header for all of data, and as much of data as fills
// the FLB it starts in and blocks more; then filemark, EOTM and filemark
// end the medium. It returns how many bytes of data it wrote: the next
// member's FileContinued takes up the rest.
func (b *Builder) FileSplit(h mtf.Header, f *mtf.File, data []byte, blocks int, streams ...Stream) int {
	at := len(b.b)
	h.OSID = mtf.OSWindowsNT
	h.FLA = uint64((at - b.setStart) / b.flb)
	h.ControlBlockID = b.cbid
	b.cbid++
	head, err := mtf.EncodeBlock(&h, f)
	if err != nil {
		panic(err)
	}
	b.b = append(b.b, head...)
	for _, s := range streams {
		b.stream(s)
	}
	b.header(mtf.StreamHeader{ID: mtf.StreamStandard, MediaAttributes: mtf.StreamChecksumFollow, Length: uint64(len(data))})
	k := (b.flb-len(b.b)%b.flb)%b.flb + blocks*b.flb
	if k >= len(data) {
		panic("mtftest: the data fits on the medium")
	}
	b.b = append(b.b, data[:k]...)
	b.Filemark()
	eh := mtf.Header{OSID: mtf.OSWindowsNT}
	eb, err := mtf.EncodeBlock(&eh, &mtf.EndOfMedia{})
	if err != nil {
		panic(err)
	}
	b.b = append(b.b, eb...)
	b.pad()
	b.Filemark()
	return k
}

// FileContinued writes, on the next member, the FILE taking up a split
// file: the continuation attribute, a STAN marked continued with rest, and
// the CSUM of all the file's data.
func (b *Builder) FileContinued(h mtf.Header, f *mtf.File, all []byte, rest []byte) int64 {
	h.Attributes |= mtf.BlockContinuation
	var x mtf.XOR32
	x.Write(all)
	sum := binary.LittleEndian.AppendUint32(nil, x.Sum32())
	return b.BlockHeader(h, f,
		Stream{ID: mtf.StreamStandard, Media: mtf.StreamContinued | mtf.StreamChecksumFollow, Data: rest},
		Stream{ID: mtf.StreamChecksum, Data: sum})
}
