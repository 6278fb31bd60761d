package mtf

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is against a *FormatError.
var (
	ErrTruncated    = errors.New("truncated")
	ErrChecksum     = errors.New("checksum mismatch")
	ErrBounds       = errors.New("length or offset outside its block or the file")
	ErrUnknownBlock = errors.New("unknown block type")
	ErrNotMTF       = errors.New("not an MTF tape")
	ErrUnsupported  = errors.New("unsupported")
	ErrHash         = errors.New("data does not match its recorded hash")
	ErrDigest       = errors.New("set metadata does not match its recorded digest")
)

// FormatError locates a problem met while reading a tape: the tape, the byte
// offset and the block (and, once known, the set and the file).
type FormatError struct {
	Tape   string // tape name or file path
	Offset int64  // byte offset in the tape file
	Block  string // block type, e.g. "FILE", or "" when unknown
	Set    int    // data set number, 0 when not inside a set
	File   string // file path inside the set, when known
	Err    error  // a sentinel above, wrapped with detail
}

func (e *FormatError) Error() string {
	s := fmt.Sprintf("tape %q", e.Tape)
	if e.Set > 0 {
		s += fmt.Sprintf(", set %d", e.Set)
	}
	if e.File != "" {
		s += fmt.Sprintf(", file %q", e.File)
	}
	if e.Block != "" {
		s += fmt.Sprintf(", %s block", printable(e.Block))
	}
	return fmt.Sprintf("%s at byte %d: %v", s, e.Offset, e.Err)
}

func (e *FormatError) Unwrap() error { return e.Err }

// detail wraps a sentinel with a formatted explanation.
func detail(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
