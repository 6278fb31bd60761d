package xlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"path/filepath"
	"strconv"
	"strings"
)

const (
	// MaxPayload is the largest record payload Append accepts and a reader
	// believes.
	MaxPayload = 64 << 20

	// HeaderSize is the size of a log file's header; the first record
	// starts at this offset.
	HeaderSize = 48

	// DefaultBase names the files of a log set when no base is given.
	DefaultBase = "edb"

	// DefaultMaxFileSize is the size at which edb.log is rolled by default.
	DefaultMaxFileSize = 5 << 20

	formatVersion   = 1
	frameHeaderSize = 12 // length + LSN
	frameOverhead   = 16 // length + LSN + CRC
	maxFirstLSN     = 1 << 62
)

var (
	le         = binary.LittleEndian
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	logMagic   = [8]byte{'E', 'X', 'B', 'L', 'O', 'G', '\r', '\n'}
)

// Sentinels for errors.Is.
var (
	// ErrCorrupt: a log file or the checkpoint is damaged.
	ErrCorrupt = errors.New("transaction log is corrupt")
	// ErrTorn: a file ends in a torn record, as a crash during an append
	// leaves it. A torn tail also matches ErrCorrupt.
	ErrTorn = errors.New("transaction log ends in a torn record")
	// ErrMissingGeneration: a log generation that is needed is not there.
	ErrMissingGeneration = errors.New("transaction log generation is missing")
	// ErrSignature: a log file belongs to another log set.
	ErrSignature = errors.New("transaction log belongs to another log set")
	// ErrClosed: the Log has been closed.
	ErrClosed = errors.New("transaction log is closed")
)

// kindError is an error with its own message that still matches a sentinel.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &kindError{msg: fmt.Sprintf(format, args...), kind: kind}
}

// A DamageError reports damage at a byte offset of a log file. It matches
// ErrCorrupt, and ErrTorn too when Torn is set.
type DamageError struct {
	Path   string
	Offset int64
	Reason string
	// Torn: the damaged record is the file's last; nothing well-formed
	// follows it.
	Torn bool
}

func (e *DamageError) Error() string {
	return fmt.Sprintf("transaction log %s: offset %d: %s", e.Path, e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) and, for torn tails, ErrTorn hold.
func (e *DamageError) Is(target error) bool {
	return target == ErrCorrupt || (e.Torn && target == ErrTorn)
}

// FileHeader is the header at the start of every log file.
type FileHeader struct {
	Version   uint32
	Gen       uint32
	FirstLSN  uint64
	Signature [16]byte
}

func (h FileHeader) marshal() []byte {
	b := make([]byte, HeaderSize)
	copy(b[0:8], logMagic[:])
	le.PutUint32(b[8:], formatVersion)
	le.PutUint32(b[12:], h.Gen)
	le.PutUint64(b[16:], h.FirstLSN)
	copy(b[24:40], h.Signature[:])
	le.PutUint32(b[44:], crc32.Checksum(b[:44], castagnoli))
	return b
}

// parseHeader decodes b (HeaderSize bytes); a non-empty reason says what is
// wrong with it.
func parseHeader(b []byte) (h FileHeader, reason string) {
	switch {
	case [8]byte(b[0:8]) != logMagic:
		return h, "not a transaction log file (bad magic in header)"
	case le.Uint32(b[44:]) != crc32.Checksum(b[:44], castagnoli):
		return h, "header checksum mismatch"
	}
	h.Version = le.Uint32(b[8:])
	h.Gen = le.Uint32(b[12:])
	h.FirstLSN = le.Uint64(b[16:])
	h.Signature = [16]byte(b[24:40])
	switch {
	case h.Version != formatVersion:
		return h, fmt.Sprintf("unsupported format version %d", h.Version)
	case le.Uint32(b[40:]) != 0:
		return h, "reserved header field is not zero"
	case h.Gen == 0:
		return h, "header has generation 0"
	case h.FirstLSN == 0 || h.FirstLSN > maxFirstLSN:
		return h, fmt.Sprintf("header has impossible first LSN %d", h.FirstLSN)
	}
	return h, ""
}

// appendFrame appends one encoded record to buf.
func appendFrame(buf []byte, lsn uint64, payload []byte) []byte {
	start := len(buf)
	buf = le.AppendUint32(buf, uint32(len(payload)))
	buf = le.AppendUint64(buf, lsn)
	buf = append(buf, payload...)
	return le.AppendUint32(buf, crc32.Checksum(buf[start:], castagnoli))
}

func baseOr(base string) string {
	if base == "" {
		return DefaultBase
	}
	return base
}

// GenName is the file name of a rolled generation, e.g. "edb0000A.log".
func GenName(base string, gen uint32) string {
	return fmt.Sprintf("%s%05X.log", baseOr(base), gen)
}

func currentName(base string) string { return base + ".log" }

// parseGenName returns the generation of a rolled file name; only the
// canonical spelling GenName produces counts.
func parseGenName(base, name string) (uint32, bool) {
	hex, ok := strings.CutPrefix(name, base)
	if !ok {
		return 0, false
	}
	if hex, ok = strings.CutSuffix(hex, ".log"); !ok || len(hex) < 5 || len(hex) > 8 {
		return 0, false
	}
	g, err := strconv.ParseUint(hex, 16, 32)
	if err != nil || g == 0 || GenName(base, uint32(g)) != name {
		return 0, false
	}
	return uint32(g), true
}

func genPath(dir, base string, gen uint32) string {
	return filepath.Join(dir, GenName(base, gen))
}

// ParseHeader decodes the first HeaderSize bytes of a log file, as a
// restore receiving one reads them before deciding what to keep; name
// appears in the error.
func ParseHeader(name string, b []byte) (FileHeader, error) {
	if len(b) < HeaderSize {
		return FileHeader{}, &DamageError{Path: name, Reason: fmt.Sprintf("file is %d bytes, too short for the %d-byte header", len(b), HeaderSize)}
	}
	h, reason := parseHeader(b[:HeaderSize])
	if reason != "" {
		return FileHeader{}, &DamageError{Path: name, Reason: reason}
	}
	return h, nil
}
