package mtf

import (
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/zeebo/blake3"
)

// StreamCatalogDigests ("EXBC") is exbackup's digest table: in the ESET of
// one of its sets with a media based catalog, after the TSMP stream, the
// EXBH of every FILE of the set in the order of its file/directory detail,
// so that a tape is cataloged from its catalog, per-file digests
// included, without reading its FILE blocks. Its id is not an MTF id: an
// independent reader skips it as it skips any stream it does not know.
const StreamCatalogDigests = "EXBC"

// The EXBC stream:
//
//	0  u16 version (1)
//	2  u16 reserved (0)
//	4  u32 count of entries
//	8  [32] BLAKE3 of the set's SSET block, from its first byte to the end of its SPAD
//	40 [32] BLAKE3 of the set's TFDD stream data
//	72 count × { u64 FLA of the FILE block · its EXBH data (FileHash, 48 bytes) }
//	.. [32] BLAKE3 of every byte before
//
// The two digests tie the table to the catalog and the SSET it goes
// with: the TFDD and the SSET's EXBS carry no checksum of their own, and a
// set read from its catalog is then checked as a walk checks it with EXBM.
const (
	digestTableHeader = 72
	digestTableEntry  = 8 + FileHashSize
	digestTableVer    = 1
)

// ErrNoDigestTable is the reason an exbackup set's catalog cannot stand
// for its blocks: it was written before sets carried an EXBC stream.
var ErrNoDigestTable = errors.New("no digest table")

// DigestTable is the content of an EXBC stream.
type DigestTable struct {
	SSET  [32]byte // BLAKE3 of the SSET block
	FDD   [32]byte // BLAKE3 of the TFDD stream data
	Files []TableEntry
}

// TableEntry is one FILE of a digest table.
type TableEntry struct {
	FLA  uint64
	Hash FileHash
}

// Encode returns the stream data.
func (t *DigestTable) Encode() []byte {
	b := make([]byte, digestTableHeader, digestTableHeader+len(t.Files)*digestTableEntry+32)
	binary.LittleEndian.PutUint16(b, digestTableVer)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(t.Files)))
	copy(b[8:], t.SSET[:])
	copy(b[40:], t.FDD[:])
	for i := range t.Files {
		b = binary.LittleEndian.AppendUint64(b, t.Files[i].FLA)
		b = append(b, t.Files[i].Hash.Encode()...)
	}
	sum := blake3.Sum256(b)
	return append(b, sum[:]...)
}

// DecodeDigestTable decodes an EXBC stream's data, checking its own
// digest first.
func DecodeDigestTable(b []byte) (*DigestTable, error) {
	if len(b) < digestTableHeader+32 {
		return nil, detail(ErrTruncated, "%s stream of %d bytes", StreamCatalogDigests, len(b))
	}
	body := b[:len(b)-32]
	if sum := blake3.Sum256(body); !bytes.Equal(sum[:], b[len(body):]) {
		return nil, detail(ErrDigest, "%s stream digest %x, recorded %x", StreamCatalogDigests, sum[:8], b[len(body):len(body)+8])
	}
	if v := binary.LittleEndian.Uint16(body); v != digestTableVer || binary.LittleEndian.Uint16(body[2:]) != 0 {
		return nil, detail(ErrUnsupported, "%s version %d", StreamCatalogDigests, v)
	}
	n := int(binary.LittleEndian.Uint32(body[4:]))
	if n != (len(body)-digestTableHeader)/digestTableEntry || (len(body)-digestTableHeader)%digestTableEntry != 0 {
		return nil, detail(ErrBounds, "%s stream of %d bytes for %d entries", StreamCatalogDigests, len(b), n)
	}
	t := &DigestTable{Files: make([]TableEntry, n)}
	copy(t.SSET[:], body[8:])
	copy(t.FDD[:], body[40:])
	for i := range n {
		e := body[digestTableHeader+i*digestTableEntry:][:digestTableEntry]
		h, err := DecodeFileHash(e[8:])
		if err != nil {
			return nil, detail(ErrBounds, "%s entry %d: %v", StreamCatalogDigests, i+1, err)
		}
		t.Files[i] = TableEntry{FLA: binary.LittleEndian.Uint64(e), Hash: h}
	}
	return t, nil
}
