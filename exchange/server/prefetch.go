package server

import (
	"encoding/binary"
	"hash/fnv"
	"io"
	"os"
)

// Warming a database before bbolt opens it.
//
// A restore writes its databases with direct I/O (internal/durable.Stream),
// so none of their pages are in the page cache when hard recovery and the
// store's start open them. bbolt reads the file through its mmap with
// MADV_RANDOM, so every page it touches on such a cold file is a major fault
// that reads that one page, one after the other: at bolt.Open, the freelist
// page and its overflow, which are contiguous in the file. prefetchFreelist
// reads that range first, in a few large sequential reads that the page
// cache keeps, so the faults that follow find it there.
//
// It only warms the cache: what it reads is thrown away, and anything it
// does not understand (a damaged or foreign meta, a short file, a read
// error) makes it read nothing more. bbolt's own checks at open stay the
// judge of the file.

// The parts of bbolt's on-disk layout (go.etcd.io/bbolt, internal/common)
// the prefetch needs. Every page starts with a 16-byte header (id uint64,
// flags uint16, count uint16, overflow uint32); a meta page's body is magic,
// version, page size, flags (uint32 each), the root bucket (root pgid and
// sequence, uint64 each), then the freelist pgid, the pgid high-water mark
// and the txid (uint64 each), and a 64-bit FNV-1a checksum of the body
// before it. Integers are in the machine's byte order.
const (
	boltPageHeader     = 16
	boltMagic          = 0xED0CDAED
	boltVersion        = 2
	boltMetaFlag       = 0x04
	boltFreelistFlag   = 0x10
	boltNoFreelist     = ^uint64(0)
	boltMetaSummed     = 56 // meta bytes covered by the checksum
	boltMetaSize       = boltMetaSummed + 8
	prefetchChunk      = 1 << 20
	prefetchMaxPageLog = 16 // bbolt's page sizes are powers of two; 64 KiB is ample
)

// boltMeta is what the prefetch reads from a valid meta page.
type boltMeta struct {
	pageSize uint32
	freelist uint64 // pgid of the freelist page, boltNoFreelist if none was synced
	pgid     uint64 // high-water mark: pages at or above it are not in use
	txid     uint64
}

// parseBoltMeta reads the meta page that starts at p (header and body) and
// reports whether it is a valid one of this bbolt version.
func parseBoltMeta(p []byte) (boltMeta, bool) {
	if len(p) < boltPageHeader+boltMetaSize {
		return boltMeta{}, false
	}
	e := binary.NativeEndian
	if e.Uint16(p[8:])&boltMetaFlag == 0 {
		return boltMeta{}, false
	}
	m := p[boltPageHeader : boltPageHeader+boltMetaSize]
	if e.Uint32(m[0:]) != boltMagic || e.Uint32(m[4:]) != boltVersion {
		return boltMeta{}, false
	}
	h := fnv.New64a()
	h.Write(m[:boltMetaSummed])
	if h.Sum64() != e.Uint64(m[boltMetaSummed:]) {
		return boltMeta{}, false
	}
	bm := boltMeta{pageSize: e.Uint32(m[8:]), freelist: e.Uint64(m[32:]), pgid: e.Uint64(m[40:]), txid: e.Uint64(m[48:])}
	if bm.pageSize < 1024 || bm.pageSize > 1<<prefetchMaxPageLog || bm.pageSize&(bm.pageSize-1) != 0 {
		return boltMeta{}, false
	}
	return bm, true
}

// freelistRange returns the byte range [off, off+n) of the freelist page
// and its overflow pages that bbolt will read when it opens f, found from
// the valid meta page with the higher txid, as bbolt picks it. ok is false
// when there is nothing to read or any doubt about what it would be.
func freelistRange(f io.ReaderAt, size int64) (off, n int64, ok bool) {
	var buf [4096]byte
	var metas []boltMeta
	if _, err := f.ReadAt(buf[:], 0); err == nil {
		if m, valid := parseBoltMeta(buf[:]); valid {
			metas = append(metas, m)
		}
	}
	// The second meta is one page in. Its page size is the first meta's,
	// or, when that one is damaged, the size bbolt creates files with.
	ps := int64(os.Getpagesize())
	if len(metas) == 1 {
		ps = int64(metas[0].pageSize)
	}
	if _, err := f.ReadAt(buf[:], ps); err == nil {
		if m, valid := parseBoltMeta(buf[:]); valid && int64(m.pageSize) == ps {
			metas = append(metas, m)
		}
	}
	if len(metas) == 0 {
		return 0, 0, false
	}
	m := metas[0]
	if len(metas) == 2 && metas[1].txid > m.txid {
		m = metas[1]
	}
	if len(metas) == 2 && metas[0].pageSize != metas[1].pageSize {
		return 0, 0, false
	}
	ps = int64(m.pageSize)
	if m.freelist == boltNoFreelist || m.freelist < 2 || m.freelist >= m.pgid || m.freelist > uint64(size/ps) {
		return 0, 0, false
	}
	off = int64(m.freelist) * ps
	if _, err := f.ReadAt(buf[:boltPageHeader], off); err != nil {
		return 0, 0, false
	}
	e := binary.NativeEndian
	if e.Uint64(buf[0:]) != m.freelist || e.Uint16(buf[8:])&boltFreelistFlag == 0 {
		return 0, 0, false
	}
	pages := int64(e.Uint32(buf[12:])) + 1
	if m.freelist+uint64(pages) > m.pgid || off+pages*ps > size {
		return 0, 0, false
	}
	return off, pages * ps, true
}

// prefetchFreelist reads into the page cache the freelist bbolt will read
// when it opens the database at path. It reports the bytes it read; any
// failure is silent, as bolt.Open will meet and report it if it matters.
func prefetchFreelist(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0
	}
	off, n, ok := freelistRange(f, st.Size())
	if !ok {
		return 0
	}
	buf := make([]byte, min(n, prefetchChunk))
	var done int64
	for done < n {
		k, err := f.ReadAt(buf[:min(n-done, int64(len(buf)))], off+done)
		done += int64(k)
		if err != nil {
			break
		}
	}
	return done
}
