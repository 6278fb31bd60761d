//go:build linux && (amd64 || arm64 || 386 || riscv64 || loong64)

package durable

import (
	"os"
	"syscall"
)

// syncFileRangeWrite is SYNC_FILE_RANGE_WRITE: start writing dirty pages of
// the range, do not wait.
const syncFileRangeWrite = 2

func startWriteback(f *os.File, off, n int64) {
	syscall.SyncFileRange(int(f.Fd()), off, n, syncFileRangeWrite)
}
