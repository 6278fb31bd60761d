package server

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/client"
)

// Benchmarks of the server. Run them with
//
//	go test -run x -bench . -benchtime 1x ./exchange
//
// and, for the snapshot against cat of a 1 GiB store,
//
//	EXBACKUP_BENCH_STORE_MIB=1024 go test -run x -bench Snapshot -benchtime 1x ./exchange

const benchSenders = 16

var body4K = strings.Repeat("0123456789abcdef", 256)

// deliverMany delivers n 4 KiB messages from benchSenders goroutines and
// returns messages per second.
func deliverMany(b *testing.B, s *Server, n int) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < benchSenders; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := s.Deliver(bg, exchange.Message{Mailbox: fmt.Sprintf("user%02d", w), Subject: "bench", Body: body4K}); err != nil {
					b.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}

func benchServer(b *testing.B) *Server {
	s := newTestServer(b, "Org", "Site", "EX1", false)
	for w := 0; w < benchSenders; w++ {
		if err := s.CreateMailbox(bg, exchange.Recipient{Alias: fmt.Sprintf("user%02d", w)}); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// benchClient serves s on loopback and returns a client of it.
func benchClient(b testing.TB, s *Server) *client.Client {
	ctx, cancel := context.WithCancel(bg)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, "127.0.0.1:0", func(_, url, _ string) { ready <- url }) }()
	var url string
	select {
	case url = <-ready:
	case err := <-done:
		b.Fatal(err)
	}
	b.Cleanup(func() { cancel(); <-done })
	c, err := client.Dial(bg, url, s.Config().Key, s.Fingerprint())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkDeliver compares group commit (concurrent messages share one log
// write and fsync) with one log write and fsync per message. In both, the
// applier applies whatever is logged in one bbolt commit per database.
func BenchmarkDeliver(b *testing.B) {
	for _, group := range []bool{true, false} {
		name := "GroupCommit"
		if !group {
			name = "OneFsyncPerMessage"
		}
		b.Run(name, func(b *testing.B) {
			s := benchServer(b)
			s.SetGroupCommit(group)
			var rate float64
			for i := 0; i < b.N; i++ {
				rate = deliverMany(b, s, 2000)
			}
			b.ReportMetric(rate, "msgs/s")
		})
	}
}

// BenchmarkDeliverDuringBackup measures the delivery rate while full
// backups of the Information Store stream through the API over HTTPS on
// loopback (prepare, every file read to its end, end), against the idle
// rate: 16 senders deliver 4 KiB messages all along, and the
// acknowledgements are counted inside the backup windows and inside
// equally long idle windows between them. The reading side stands for a
// console on another machine; sharing this machine's cores, it runs at the
// same background priority as the server's side of the stream.
func BenchmarkDeliverDuringBackup(b *testing.B) {
	s := benchServer(b)
	deliverMany(b, s, 60000) // ~260 MiB in the store
	c := benchClient(b, s)
	var acked atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < benchSenders; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := s.Deliver(bg, exchange.Message{Mailbox: fmt.Sprintf("user%02d", w), Subject: "bench", Body: body4K}); err != nil {
					b.Error(err)
					return
				}
				acked.Add(1)
			}
		}(w)
	}
	backupWindows(b, c, &acked, b.N*10)
	close(stop)
	wg.Wait()
}

// BenchmarkSnapshotStream streams a store's database snapshot through the
// backup API and compares it with cat of the same file (both from the page
// cache, to /dev/null).
func BenchmarkSnapshotStream(b *testing.B) {
	mib := 64
	if v, err := strconv.Atoi(os.Getenv("EXBACKUP_BENCH_STORE_MIB")); err == nil && v > 0 {
		mib = v
	}
	s := benchServer(b)
	n := mib << 20 / (len(body4K) + 200)
	deliverMany(b, s, n)
	path := filepath.Join(s.is.dir, privEDB)
	var snap, cat float64
	var size int64
	for i := 0; i < b.N; i++ {
		info, err := s.BackupPrepare(bg, exchange.StoreIS, exchange.Copy)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		rc, err := s.BackupRead(bg, info.Session, privEDB)
		if err != nil {
			b.Fatal(err)
		}
		// 1 MiB reads, as the API handler makes them.
		size, err = io.CopyBuffer(struct{ io.Writer }{io.Discard}, rc, make([]byte, 1<<20))
		rc.Close()
		if err != nil {
			b.Fatal(err)
		}
		snap = float64(size) / time.Since(start).Seconds() / (1 << 20)
		s.BackupEnd(bg, info.Session, false)

		start = time.Now()
		cmd := exec.Command("cat", path)
		devnull, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		cmd.Stdout = devnull
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		devnull.Close()
		fi, _ := os.Stat(path)
		cat = float64(fi.Size()) / time.Since(start).Seconds() / (1 << 20)
	}
	b.ReportMetric(float64(size)/(1<<20), "store-MiB")
	b.ReportMetric(snap, "snapshot-MiB/s")
	b.ReportMetric(cat, "cat-MiB/s")
	b.ReportMetric(snap/cat, "ratio")
}
