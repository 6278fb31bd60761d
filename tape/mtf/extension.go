package mtf

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
)

// exbackup's own streams. Their ids are not MTF ids, so an independent MTF
// reader skips them as it skips any stream it does not know.
const (
	// StreamFileHash ("EXBH") follows a file's STAN and CSUM streams and
	// holds the file data's length, CRC-32C and SHA-256 (see FileHash).
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

// FileHash is the content of an EXBH stream:
//
//	0  u16 version (1)     2  u16 reserved (0)
//	4  u32 CRC-32C of the data
//	8  u64 data length
//	16 [32] SHA-256 of the data
type FileHash struct {
	Size   uint64
	CRC32C uint32
	SHA256 [sha256.Size]byte
}

// Encode returns the stream data.
func (f *FileHash) Encode() []byte {
	b := make([]byte, FileHashSize)
	binary.LittleEndian.PutUint16(b[0:], extensionVersion)
	binary.LittleEndian.PutUint32(b[4:], f.CRC32C)
	binary.LittleEndian.PutUint64(b[8:], f.Size)
	copy(b[16:], f.SHA256[:])
	return b
}

// DecodeFileHash decodes an EXBH stream's data.
func DecodeFileHash(b []byte) (FileHash, error) {
	if len(b) != FileHashSize {
		return FileHash{}, detail(ErrBounds, "%s stream of %d bytes, want %d", StreamFileHash, len(b), FileHashSize)
	}
	if v := binary.LittleEndian.Uint16(b); v != extensionVersion || binary.LittleEndian.Uint16(b[2:]) != 0 {
		return FileHash{}, detail(ErrUnsupported, "%s version %d", StreamFileHash, v)
	}
	f := FileHash{CRC32C: binary.LittleEndian.Uint32(b[4:]), Size: binary.LittleEndian.Uint64(b[8:])}
	copy(f.SHA256[:], b[16:])
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
