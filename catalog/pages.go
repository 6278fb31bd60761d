package catalog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
)

// bbolt's on-disk layout (go.etcd.io/bbolt/internal/common), read here from
// a copy of the file in memory: bbolt itself trusts the file and, reading
// it through its memory map, dies of SIGBUS or panics on a page it cannot
// make sense of. Every offset below is checked against the copy first.
const (
	pageHeaderSize  = 16 // id uint64, flags uint16, count uint16, overflow uint32
	elementSize     = 16 // branch: pos, ksize uint32, pgid uint64; leaf: flags, pos, ksize, vsize uint32
	metaSize        = 64
	metaSumAt       = 56 // the checksum covers the meta up to here
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	branchPage      = 0x01
	leafPage        = 0x02
	metaPage        = 0x04
	freelistPage    = 0x10
	bucketLeaf      = 0x01
	noFreelist      = ^uint64(0)
	maxTreeDepth    = 64
	minBoltPageSize = 512
	maxBoltPageSize = 1 << 24
)

type boltMeta struct {
	page                     int
	magic, version, pageSize uint32
	root, freelist, hwm      uint64
	txid, sum                uint64
	valid                    error
}

func readMeta(data []byte, page, pageSize int) boltMeta {
	m := boltMeta{page: page}
	off := page * pageSize
	if off+pageHeaderSize+metaSize > len(data) {
		m.valid = fmt.Errorf("meta page %d is past the end of the file", page)
		return m
	}
	h := data[off : off+pageHeaderSize]
	b := data[off+pageHeaderSize : off+pageHeaderSize+metaSize]
	le := binary.LittleEndian
	m.magic, m.version, m.pageSize = le.Uint32(b[0:]), le.Uint32(b[4:]), le.Uint32(b[8:])
	m.root, m.freelist, m.hwm = le.Uint64(b[16:]), le.Uint64(b[32:]), le.Uint64(b[40:])
	m.txid, m.sum = le.Uint64(b[48:]), le.Uint64(b[56:])
	f := fnv.New64a()
	f.Write(b[:metaSumAt])
	switch {
	case m.magic != boltMagic:
		m.valid = fmt.Errorf("meta page %d is not a bbolt meta page", page)
	case m.version != boltVersion:
		m.valid = fmt.Errorf("meta page %d has format version %d", page, m.version)
	case f.Sum64() != m.sum:
		m.valid = fmt.Errorf("meta page %d fails its checksum", page)
	case le.Uint64(h[0:]) != uint64(page) || le.Uint16(h[8:])&metaPage == 0:
		m.valid = fmt.Errorf("meta page %d has a bad page header", page)
	case m.txid%2 != uint64(page):
		m.valid = fmt.Errorf("meta page %d holds transaction %d, which belongs on the other meta page", page, m.txid)
	}
	return m
}

// checkImage checks a whole bbolt file: both meta pages, the file's size
// against the high-water mark, the freelist, and every page of every bucket
// (bounds, headers, element tables, key order, single use). It returns the
// first damage found, in words for an administrator.
func checkImage(data []byte) error {
	if len(data) < 2*minBoltPageSize {
		return fmt.Errorf("the file is %d bytes long: too short for a catalog", len(data))
	}
	// Meta page 0 gives the page size; bbolt writes both with the same one.
	pageSize := int(binary.LittleEndian.Uint32(data[pageHeaderSize+8:]))
	if pageSize < minBoltPageSize || pageSize > maxBoltPageSize || pageSize&(pageSize-1) != 0 {
		return fmt.Errorf("meta page 0 gives a page size of %d bytes", pageSize)
	}
	m0, m1 := readMeta(data, 0, pageSize), readMeta(data, 1, pageSize)
	for _, m := range []boltMeta{m0, m1} {
		if m.valid != nil {
			return m.valid
		}
		if int(m.pageSize) != pageSize {
			return fmt.Errorf("meta page %d gives a page size of %d bytes, meta page 0 %d", m.page, m.pageSize, pageSize)
		}
	}
	// Each commit writes the other meta page with the next transaction id:
	// any other pair means a meta page was lost or rewritten.
	if d := int64(m0.txid - m1.txid); d != 1 && d != -1 {
		return fmt.Errorf("the meta pages hold transactions %d and %d, not two in a row", m0.txid, m1.txid)
	}
	cur := m0
	if m1.txid > m0.txid {
		cur = m1
	}
	for _, m := range []boltMeta{m0, m1} {
		if need := m.hwm * uint64(pageSize); m.hwm < 2 || need > uint64(len(data)) {
			return fmt.Errorf("the file is %d bytes long but meta page %d counts %d pages of %d bytes (%d bytes)", len(data), m.page, m.hwm, pageSize, need)
		}
		if m.root < 2 || m.root >= m.hwm {
			return fmt.Errorf("meta page %d puts the root at page %d, outside pages 2 to %d", m.page, m.root, m.hwm-1)
		}
		if m.freelist != noFreelist && (m.freelist < 2 || m.freelist >= m.hwm) {
			return fmt.Errorf("meta page %d puts the freelist at page %d, outside pages 2 to %d", m.page, m.freelist, m.hwm-1)
		}
	}
	w := &pageWalker{data: data, pageSize: pageSize, hwm: cur.hwm, used: map[uint64]bool{}}
	free, err := w.freelist(cur.freelist)
	if err != nil {
		return err
	}
	if err := w.tree(cur.root, 0); err != nil {
		return err
	}
	if cur.freelist == noFreelist {
		return nil // bbolt counts every unreachable page free
	}
	for id := uint64(2); id < cur.hwm; id++ {
		if w.used[id] && free[id] {
			return fmt.Errorf("page %d is in use and also listed free", id)
		}
		if !w.used[id] && !free[id] {
			return fmt.Errorf("page %d is neither in use nor listed free", id)
		}
	}
	return nil
}

type pageWalker struct {
	data     []byte
	pageSize int
	hwm      uint64
	used     map[uint64]bool
}

// page returns page id with its overflow pages, after checking its header.
func (w *pageWalker) page(id uint64, flags uint16) ([]byte, error) {
	if id < 2 || id >= w.hwm {
		return nil, fmt.Errorf("a reference to page %d, outside pages 2 to %d", id, w.hwm-1)
	}
	off := int(id) * w.pageSize
	h := w.data[off : off+pageHeaderSize]
	le := binary.LittleEndian
	if got := le.Uint64(h); got != id {
		return nil, fmt.Errorf("page %d says it is page %d", id, got)
	}
	if f := le.Uint16(h[8:]); f != flags && !(flags == branchPage|leafPage && (f == branchPage || f == leafPage)) {
		return nil, fmt.Errorf("page %d has flags %#x where a %s page belongs", id, f, pageKind(flags))
	}
	span := uint64(le.Uint32(h[12:])) + 1
	if id+span > w.hwm {
		return nil, fmt.Errorf("page %d runs over %d pages, past page %d", id, span, w.hwm-1)
	}
	for i := id; i < id+span; i++ {
		if w.used[i] {
			return nil, fmt.Errorf("page %d is used twice", i)
		}
		w.used[i] = true
	}
	return w.data[off : off+int(span)*w.pageSize], nil
}

func pageKind(flags uint16) string {
	switch flags {
	case freelistPage:
		return "freelist"
	case branchPage | leafPage:
		return "branch or leaf"
	}
	return fmt.Sprintf("%#x", flags)
}

func (w *pageWalker) freelist(id uint64) (map[uint64]bool, error) {
	free := map[uint64]bool{}
	if id == noFreelist {
		return free, nil
	}
	p, err := w.page(id, freelistPage)
	if err != nil {
		return nil, fmt.Errorf("freelist: %w", err)
	}
	le := binary.LittleEndian
	start, count := pageHeaderSize, uint64(le.Uint16(p[10:]))
	if count == 0xFFFF {
		count, start = le.Uint64(p[pageHeaderSize:]), pageHeaderSize+8
	}
	if count > uint64(len(p)-start)/8 {
		return nil, fmt.Errorf("freelist page %d lists %d pages, more than it can hold", id, count)
	}
	var last uint64
	for i := range count {
		f := le.Uint64(p[start+int(i)*8:])
		if f < 2 || f >= w.hwm || f <= last {
			return nil, fmt.Errorf("freelist page %d lists page %d, out of order or outside pages 2 to %d", id, f, w.hwm-1)
		}
		free[f], last = true, f
	}
	return free, nil
}

// tree walks the pages of one bucket from its root.
func (w *pageWalker) tree(id uint64, depth int) error {
	if depth > maxTreeDepth {
		return fmt.Errorf("page %d: buckets nested more than %d deep", id, maxTreeDepth)
	}
	p, err := w.page(id, branchPage|leafPage)
	if err != nil {
		return err
	}
	return w.node(p, id, depth)
}

// node checks one branch or leaf page (p may be an inline bucket's page,
// id then names the page holding it) and walks what it points at.
func (w *pageWalker) node(p []byte, id uint64, depth int) error {
	le := binary.LittleEndian
	if len(p) < pageHeaderSize {
		return fmt.Errorf("page %d: an inline bucket of %d bytes", id, len(p))
	}
	flags, count := le.Uint16(p[8:]), int(le.Uint16(p[10:]))
	if flags != branchPage && flags != leafPage {
		return fmt.Errorf("page %d: a bucket page with flags %#x", id, flags)
	}
	if pageHeaderSize+count*elementSize > len(p) {
		return fmt.Errorf("page %d: %d elements do not fit in %d bytes", id, count, len(p))
	}
	var prev []byte
	for i := range count {
		at := pageHeaderSize + i*elementSize
		e := p[at : at+elementSize]
		var pos, ksize, vsize int
		if flags == branchPage {
			pos, ksize = int(le.Uint32(e[0:])), int(le.Uint32(e[4:]))
		} else {
			pos, ksize, vsize = int(le.Uint32(e[4:])), int(le.Uint32(e[8:])), int(le.Uint32(e[12:]))
		}
		kAt := at + pos
		if pos < 0 || ksize < 0 || vsize < 0 || kAt+ksize+vsize > len(p) || kAt+ksize+vsize < kAt {
			return fmt.Errorf("page %d: element %d points outside the page", id, i)
		}
		key := p[kAt : kAt+ksize]
		if i > 0 && bytes.Compare(prev, key) >= 0 {
			return fmt.Errorf("page %d: keys out of order at element %d", id, i)
		}
		prev = key
		if flags == branchPage {
			if err := w.tree(le.Uint64(e[8:]), depth+1); err != nil {
				return err
			}
			continue
		}
		if le.Uint32(e[0:])&bucketLeaf == 0 {
			continue
		}
		v := p[kAt+ksize : kAt+ksize+vsize]
		if len(v) < 16 {
			return fmt.Errorf("page %d: bucket %q has a %d-byte header", id, key, len(v))
		}
		if root := le.Uint64(v); root != 0 {
			if err := w.tree(root, depth+1); err != nil {
				return err
			}
		} else if err := w.node(v[16:], id, depth+1); err != nil {
			return err
		}
	}
	return nil
}
