package xlog

import (
	"errors"
	"exbackup/internal/durable"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// Checkpoint is the LSN through which the databases are durable, and the
// generation that was current when it was taken.
type Checkpoint struct {
	LSN uint64
	Gen uint32
}

const checkpointSize = 24

var chkMagic = [8]byte{'E', 'X', 'B', 'C', 'H', 'K', '\r', '\n'}

func checkpointPath(dir, base string) string {
	return filepath.Join(dir, baseOr(base)+".chk")
}

// ReadCheckpoint reads edb.chk. A missing file is the zero Checkpoint (no
// database change is durable yet); a damaged one is an error wrapping
// ErrCorrupt.
func ReadCheckpoint(dir, base string) (Checkpoint, error) {
	path := checkpointPath(dir, base)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return Checkpoint{}, nil
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("reading checkpoint: %w", err)
	}
	defer f.Close()
	var b [checkpointSize + 1]byte
	n, err := io.ReadFull(f, b[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return Checkpoint{}, fmt.Errorf("reading checkpoint %s: %w", path, err)
	}
	switch {
	case n != checkpointSize:
		return Checkpoint{}, errorf(ErrCorrupt, "checkpoint %s is damaged: it is not %d bytes long", path, checkpointSize)
	case [8]byte(b[0:8]) != chkMagic:
		return Checkpoint{}, errorf(ErrCorrupt, "checkpoint %s is damaged: bad magic", path)
	case le.Uint32(b[20:]) != crc32.Checksum(b[:20], castagnoli):
		return Checkpoint{}, errorf(ErrCorrupt, "checkpoint %s is damaged: checksum mismatch", path)
	}
	return Checkpoint{LSN: le.Uint64(b[8:]), Gen: le.Uint32(b[16:])}, nil
}

// WriteCheckpoint replaces edb.chk atomically: the new one is written and
// synced under a temporary name, renamed over the old, and the directory
// synced. A crash leaves either checkpoint, never a mix.
func WriteCheckpoint(dir, base string, cp Checkpoint) error {
	path := checkpointPath(dir, base)
	b := make([]byte, 0, checkpointSize)
	b = append(b, chkMagic[:]...)
	b = le.AppendUint64(b, cp.LSN)
	b = le.AppendUint32(b, cp.Gen)
	b = le.AppendUint32(b, crc32.Checksum(b, castagnoli))
	if err := durable.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("writing checkpoint %s: %w", path, err)
	}
	return nil
}
