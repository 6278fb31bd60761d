package engine

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"exbackup/exchange"
)

// BenchmarkDeliverWhileBackingUp measures mail delivery (16 concurrent
// senders, 4 KiB messages) while a full backup of the same Information
// Store streams onto a tape through the console, against the idle rate:
//
//	go test -run x -bench DeliverWhileBackingUp -benchtime 1x ./engine
func BenchmarkDeliverWhileBackingUp(b *testing.B) {
	e, srv := newEnvB(b)
	for w := 0; w < 16; w++ {
		srv.CreateMailbox(bg, exchange.Recipient{Alias: fmt.Sprintf("u%02d", w)})
	}
	body := strings.Repeat("0123456789abcdef", 256)
	// deliver sends until stop is closed (or n messages when stop is nil).
	deliver := func(n int64, stop chan struct{}) float64 {
		var sent atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for {
					if stop != nil {
						select {
						case <-stop:
							return
						default:
						}
					} else if sent.Load() >= n {
						return
					}
					if err := srv.Deliver(bg, exchange.Message{Mailbox: fmt.Sprintf("u%02d", w), Subject: "s", Body: body}); err != nil {
						b.Error(err)
						return
					}
					sent.Add(1)
				}
			}(w)
		}
		wg.Wait()
		return float64(sent.Load()) / time.Since(start).Seconds()
	}
	bigBody := strings.Repeat("x", 16384)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1200; i++ {
				srv.Deliver(bg, exchange.Message{Mailbox: "alice", Subject: "preload", Body: bigBody})
			}
		}()
	}
	wg.Wait()
	var idle, busy float64
	var secs float64
	for i := 0; i < b.N; i++ {
		idle = deliver(3000, nil)
		stop := make(chan struct{})
		done := make(chan error, 1)
		start := time.Now()
		go func() {
			_, err := e.Backup(bg, BackupRequest{Stores: isEX1, TapeName: fmt.Sprint("bench", i)}, nil)
			secs = time.Since(start).Seconds()
			close(stop)
			done <- err
		}()
		busy = deliver(0, stop)
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(idle, "idle-msgs/s")
	b.ReportMetric(busy, "during-backup-msgs/s")
	b.ReportMetric(100*busy/idle, "%-of-idle")
	b.ReportMetric(secs, "backup-s")
}

// BenchmarkBackupRestoreThroughput backs up and restores (Erase) a store of
// about EXBACKUP_BENCH_STORE_MIB MiB (default 256) through the console, and
// reports both rates:
//
//	EXBACKUP_BENCH_STORE_MIB=512 go test -run x -bench BackupRestoreThroughput -benchtime 1x ./engine
func BenchmarkBackupRestoreThroughput(b *testing.B) {
	e, srv := newEnvB(b)
	mib := 256
	if s := os.Getenv("EXBACKUP_BENCH_STORE_MIB"); s != "" {
		fmt.Sscan(s, &mib)
	}
	bigBody := strings.Repeat("x", 16384)
	per := mib << 20 / 16384 / 16
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				srv.Deliver(bg, exchange.Message{Mailbox: "alice", Subject: "preload", Body: bigBody})
			}
		}()
	}
	wg.Wait()
	b.ResetTimer()
	var bytes int64
	var bsecs, rsecs float64
	for i := 0; i < b.N; i++ {
		name := fmt.Sprint("bench", i)
		start := time.Now()
		res, err := e.Backup(bg, BackupRequest{Stores: isEX1, TapeName: name}, nil)
		if err != nil {
			b.Fatal(err)
		}
		bsecs = time.Since(start).Seconds()
		bytes = res.Bytes
		start = time.Now()
		if _, err := e.Restore(bg, RestoreRequest{Sets: []RestoreSet{{Tape: name, Set: 1, Erase: true, Private: true, Public: true, Start: true}}}, nil); err != nil {
			b.Fatal(err)
		}
		rsecs = time.Since(start).Seconds()
	}
	b.ReportMetric(float64(bytes)/1e6/bsecs, "backup-MB/s")
	b.ReportMetric(float64(bytes)/1e6/rsecs, "restore-MB/s")
}
