package server

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"exbackup/exchange"

	"golang.org/x/sys/unix"
)

// BenchmarkBackupStream streams the Information Store's priv.edb of a
// store of EXBACKUP_BENCH_STORE_MIB (256 by default) through the backup
// API over HTTPS on loopback to a client in the same process, as a
// console reads it: Warm from the page cache, Cold with the file dropped
// from it (posix_fadvise DONTNEED) before each stream. cpu-ms/op is the
// CPU of the whole process, client included. EXBACKUP_BENCH_DIR keeps the
// filled server there, to compare builds on the same data:
//
//	EXBACKUP_BENCH_DIR=/tmp/bs go test -tags ci -run x -bench BackupStream -benchtime 5x ./exchange/server
func BenchmarkBackupStream(b *testing.B) {
	mib := 256
	if v, err := strconv.Atoi(os.Getenv("EXBACKUP_BENCH_STORE_MIB")); err == nil && v > 0 {
		mib = v
	}
	var s *Server
	if dir := os.Getenv("EXBACKUP_BENCH_DIR"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "server.json")); err != nil {
			if _, err := Init(bg, InitOptions{Dir: dir, Organization: "Org", Site: "Site", Name: "EX1", Key: testKey}); err != nil {
				b.Fatal(err)
			}
			s = openTestServer(b, dir)
			fillBenchStore(b, s, mib)
		} else {
			s = openTestServer(b, dir)
		}
	} else {
		s = newTestServer(b, "Org", "Site", "EX1", false)
		fillBenchStore(b, s, mib)
	}
	c := benchClient(b, s)
	path := filepath.Join(s.is.dir, privEDB)
	buf := make([]byte, 1<<20)
	for _, cold := range []bool{false, true} {
		name := map[bool]string{false: "Warm", true: "Cold"}[cold]
		b.Run(name, func(b *testing.B) {
			var size int64
			var cpu time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				info, err := c.BackupPrepare(bg, exchange.StoreIS, exchange.Copy)
				if err != nil {
					b.Fatal(err)
				}
				if cold {
					dropFromCache(b, path)
				}
				cpu0 := processCPU()
				b.StartTimer()
				rc, err := c.BackupRead(bg, info.Session, privEDB)
				if err != nil {
					b.Fatal(err)
				}
				size, err = io.CopyBuffer(struct{ io.Writer }{io.Discard}, rc, buf)
				rc.Close()
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				cpu += processCPU() - cpu0
				if err := c.BackupEnd(bg, info.Session, false); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.SetBytes(size)
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}

func fillBenchStore(b *testing.B, s *Server, mib int) {
	for w := 0; w < benchSenders; w++ {
		if err := s.CreateMailbox(bg, exchange.Recipient{Alias: fmt.Sprintf("user%02d", w)}); err != nil {
			b.Fatal(err)
		}
	}
	deliverMany(b, s, mib<<20/(len(body4K)+200))
}

// dropFromCache drops a file's pages from the page cache.
func dropFromCache(b *testing.B, path string) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		b.Fatal(err)
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
