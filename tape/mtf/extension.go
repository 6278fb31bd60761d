package mtf

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"hash/crc32"

	"github.com/zeebo/blake3"
)

// exbackup's own streams. Their ids are not MTF ids, so an independent MTF
// reader skips them as it skips any stream it does not know.
const (
	// StreamFileHash ("EXBH") follows a file's STAN and CSUM streams and
	// holds the file data's length, CRC-32C and digest (see FileHash).
	StreamFileHash = "EXBH"
	// StreamSetInfo ("EXBS") is the SSET's stream of set properties kept
	// outside the MTF fields, such as the restricted-access flag (SetInfo).
	StreamSetInfo = "EXBS"
	// StreamDigest ("EXBM") holds a SHA-256 over the set's metadata (see
	// the package documentation); it is written in the TAPE and ESET blocks.
	StreamDigest = "EXBM"
)

const extensionVersion = 1

// castagnoli is the CRC-32C table.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// FileHashSize is the length of an EXBH stream.
const FileHashSize = 48

// HashAlgo names the digest of an EXBH stream; its value is the stream's
// version.
type HashAlgo uint16

const (
	// HashSHA256 (EXBH version 1) is what the first tapes carry.
	HashSHA256 HashAlgo = 1
	// HashBLAKE3 (EXBH version 2), BLAKE3 with 32 bytes of output, is what
	// a Writer records unless told otherwise: as strong as SHA-256, and on
	// today's processors two to three times faster, which a backup, whose
	// console hashes every byte, feels.
	HashBLAKE3 HashAlgo = 2
)

// String returns the algorithm's name in a digest's text form, as in
// "blake3:HEX".
func (a HashAlgo) String() string {
	switch a {
	case HashSHA256:
		return "sha256"
	case HashBLAKE3:
		return "blake3"
	}
	return fmt.Sprintf("hash%d", uint16(a))
}

// Title returns the algorithm's name for messages.
func (a HashAlgo) Title() string {
	switch a {
	case HashSHA256:
		return "SHA-256"
	case HashBLAKE3:
		return "BLAKE3"
	}
	return a.String()
}

func (a HashAlgo) known() bool { return a == HashSHA256 || a == HashBLAKE3 }

// New returns a new hash of the algorithm, or nil for an unknown one.
func (a HashAlgo) New() hash.Hash {
	switch a {
	case HashSHA256:
		return sha256.New()
	case HashBLAKE3:
		return blake3.New()
	}
	return nil
}

// FileHash is the content of an EXBH stream:
//
//	0  u16 version: the digest's algorithm (HashAlgo)
//	2  u16 reserved (0)
//	4  u32 CRC-32C of the data
//	8  u64 data length
//	16 [32] digest of the data: SHA-256 (version 1) or BLAKE3 (version 2)
type FileHash struct {
	Size   uint64
	CRC32C uint32
	Algo   HashAlgo
	Sum    [32]byte
}

// Encode returns the stream data.
func (f *FileHash) Encode() []byte {
	b := make([]byte, FileHashSize)
	binary.LittleEndian.PutUint16(b[0:], uint16(f.Algo))
	binary.LittleEndian.PutUint32(b[4:], f.CRC32C)
	binary.LittleEndian.PutUint64(b[8:], f.Size)
	copy(b[16:], f.Sum[:])
	return b
}

// DecodeFileHash decodes an EXBH stream's data.
func DecodeFileHash(b []byte) (FileHash, error) {
	if len(b) != FileHashSize {
		return FileHash{}, detail(ErrBounds, "%s stream of %d bytes, want %d", StreamFileHash, len(b), FileHashSize)
	}
	v := HashAlgo(binary.LittleEndian.Uint16(b))
	if !v.known() || binary.LittleEndian.Uint16(b[2:]) != 0 {
		return FileHash{}, detail(ErrUnsupported, "%s version %d", StreamFileHash, v)
	}
	f := FileHash{CRC32C: binary.LittleEndian.Uint32(b[4:]), Size: binary.LittleEndian.Uint64(b[8:]), Algo: v}
	copy(f.Sum[:], b[16:])
	return f, nil
}

// SetInfo is the content of an EXBS stream, a JSON object:
// {"version":1,"restricted":true,"properties":{"key":"value"}}.
type SetInfo struct {
	Restricted bool              // access restricted to the owner or an administrator
	Properties map[string]string // free properties recorded by the writer
}

type setInfoJSON struct {
	Version    int               `json:"version"`
	Restricted bool              `json:"restricted"`
	Properties map[string]string `json:"properties,omitempty"`
}

// Encode returns the stream data.
func (s *SetInfo) Encode() []byte {
	b, _ := json.Marshal(setInfoJSON{Version: extensionVersion, Restricted: s.Restricted, Properties: s.Properties})
	return b
}

// DecodeSetInfo decodes an EXBS stream's data.
func DecodeSetInfo(b []byte) (SetInfo, error) {
	var j setInfoJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return SetInfo{}, detail(ErrBounds, "%s stream: %v", StreamSetInfo, err)
	}
	if j.Version != extensionVersion {
		return SetInfo{}, detail(ErrUnsupported, "%s version %d", StreamSetInfo, j.Version)
	}
	return SetInfo{Restricted: j.Restricted, Properties: j.Properties}, nil
}

// DigestSize is the length of an EXBM stream.
const DigestSize = 4 + sha256.Size

// EncodeDigest returns an EXBM stream's data: u16 version (1), u16 reserved,
// then the SHA-256.
func EncodeDigest(sum [sha256.Size]byte) []byte {
	b := make([]byte, DigestSize)
	binary.LittleEndian.PutUint16(b, extensionVersion)
	copy(b[4:], sum[:])
	return b
}

// DecodeDigest decodes an EXBM stream's data.
func DecodeDigest(b []byte) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	if len(b) != DigestSize {
		return sum, detail(ErrBounds, "%s stream of %d bytes, want %d", StreamDigest, len(b), DigestSize)
	}
	if v := binary.LittleEndian.Uint16(b); v != extensionVersion || binary.LittleEndian.Uint16(b[2:]) != 0 {
		return sum, detail(ErrUnsupported, "%s version %d", StreamDigest, v)
	}
	copy(sum[:], b[4:])
	return sum, nil
}
