package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"exbackup/exchange"
)

// Stopping a service under a streaming backup: the refusal, and waiting
// for the backup to end.

// streaming makes a backup of store stream on s.
func (s *fakeServer) streaming(store exchange.StoreID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.busy = []exchange.BackupInProgress{{Store: store, Type: exchange.Normal, Started: time.Now()}}
}

// backupEnds ends it once the console has read the status n times more.
func (s *fakeServer) backupEndsAfter(t *testing.T, n int) {
	s.mu.Lock()
	from := s.statuses
	s.mu.Unlock()
	go func() {
		for {
			s.mu.Lock()
			if s.statuses >= from+n {
				if len(s.stopped) > 0 {
					t.Errorf("the service was stopped while its backup streamed: %v", s.stopped)
				}
				s.busy = nil
				s.mu.Unlock()
				return
			}
			s.mu.Unlock()
			time.Sleep(time.Millisecond)
		}
	}()
}

func (s *fakeServer) stops() []exchange.StoreID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]exchange.StoreID(nil), s.stopped...)
}

func TestStopRefusedForABackupSaysWhichAndWaits(t *testing.T) {
	f := newFakeEnv(t, "EX1")
	f.e.backupPoll = time.Millisecond
	ex1 := f.org.server("EX1")
	ex1.streaming(exchange.StoreIS)

	err := f.e.StopService(bg, "EX1", exchange.StoreIS)
	var busy *BackupStreamingError
	if !errors.As(err, &busy) || !errors.Is(err, exchange.ErrConflict) {
		t.Fatalf("stop under a backup: %v (%T)", err, err)
	}
	if busy.Server != "EX1" || busy.Backup.Store != exchange.StoreIS || busy.Waiting() != "Waiting for the backup of the Information Store on EX1 to finish…" {
		t.Fatalf("refusal %+v, %q", busy, busy.Waiting())
	}
	// A status that misses the backup once is asked again.
	ex1.mu.Lock()
	ex1.hideBusy = 1
	ex1.mu.Unlock()
	if err := f.e.StopService(bg, "EX1", exchange.StoreIS); !errors.As(err, &busy) {
		t.Fatalf("stop under a backup the first status missed: %v (%T)", err, err)
	}
	// The Directory does not stop either: the Information Store stops with it.
	if err := f.e.StopService(bg, "EX1", exchange.StoreDS); !errors.As(err, &busy) || busy.Backup.Store != exchange.StoreIS {
		t.Fatalf("stopping the Directory under a backup of the Information Store: %v", err)
	}

	ex1.backupEndsAfter(t, 5)
	if err := f.e.StopServiceAfterBackup(bg, "EX1", exchange.StoreIS); err != nil {
		t.Fatal(err)
	}
	if got := ex1.stops(); len(got) != 1 || got[0] != exchange.StoreIS {
		t.Fatalf("stopped %v", got)
	}
	// With no backup the call is a plain stop.
	if err := f.e.StopServiceAfterBackup(bg, "EX1", exchange.StoreDS); err != nil || len(ex1.stops()) != 2 {
		t.Fatalf("stop without a backup: %v, stopped %v", err, ex1.stops())
	}
}

// The wait ends with a clear error when the server goes away, or when the
// administrator stops waiting; the service is not stopped.
func TestWaitForABackupEnds(t *testing.T) {
	f := newFakeEnv(t, "EX1")
	f.e.backupPoll = time.Millisecond
	ex1 := f.org.server("EX1")
	ex1.streaming(exchange.StoreIS)

	ctx, cancel := context.WithCancel(bg)
	done := make(chan error, 1)
	go func() { done <- f.e.StopServiceAfterBackup(ctx, "EX1", exchange.StoreIS) }()
	waitStatuses(t, ex1, 5)
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stopped waiting for the backup of the Information Store on EX1 to finish") {
		t.Fatalf("cancelled wait: %v", err)
	}

	go func() { done <- f.e.StopServiceAfterBackup(bg, "EX1", exchange.StoreIS) }()
	waitStatuses(t, ex1, 5)
	ex1.mu.Lock()
	ex1.statusErr = errors.New("dial tcp 127.0.0.1:7401: connect: connection refused")
	ex1.mu.Unlock()
	err = <-done
	if err == nil || !strings.Contains(err.Error(), "server EX1 stopped answering while the console waited for the backup of the Information Store on EX1 to finish") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("server gone: %v", err)
	}
	if got := ex1.stops(); len(got) != 0 {
		t.Fatalf("stopped %v", got)
	}
}

// waitStatuses waits until the console has read s's status n times more.
func waitStatuses(t *testing.T, s *fakeServer, n int) {
	t.Helper()
	s.mu.Lock()
	from := s.statuses
	s.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.mu.Lock()
		got := s.statuses
		s.mu.Unlock()
		if got >= from+n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the console did not poll the status")
		}
		time.Sleep(time.Millisecond)
	}
}

// A restore that must stop a service under a backup asks; refused, it
// fails before anything is sent; allowed, it waits, says so, and goes on.
func TestRestoreWaitsForABackupWhenAllowed(t *testing.T) {
	f := newFakeEnv(t, "EX1")
	f.e.backupPoll = time.Millisecond
	if _, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreIS)}, TapeName: "T"}, nil); err != nil {
		t.Fatal(err)
	}
	ex1 := f.org.server("EX1")
	ex1.streaming(exchange.StoreIS)
	req := RestoreRequest{Sets: []RestoreSet{{Tape: "T", Set: 1, Private: true, Public: true, Erase: true, Start: true}}}

	_, err := f.e.Restore(bg, req, nil)
	var busy *BackupStreamingError
	if !errors.As(err, &busy) || len(ex1.prepared) != 0 {
		t.Fatalf("restore under a backup, without waiting: %v, %d sets prepared", err, len(ex1.prepared))
	}

	asked := 0
	req.OnBackupStreaming = func(ctx context.Context, b *BackupStreamingError) bool {
		asked++
		return false
	}
	if _, err := f.e.Restore(bg, req, nil); !errors.As(err, &busy) || asked != 1 || len(ex1.prepared) != 0 {
		t.Fatalf("restore declining to wait: %v, asked %d, %d prepared", err, asked, len(ex1.prepared))
	}

	req.OnBackupStreaming = func(ctx context.Context, b *BackupStreamingError) bool {
		asked++
		ex1.backupEndsAfter(t, 5)
		return true
	}
	p := NewProgress("Restore")
	if _, err := f.e.Restore(bg, req, p); err != nil {
		t.Fatal(err)
	}
	if asked != 2 || len(ex1.prepared) != 1 || len(ex1.stops()) != 1 {
		t.Fatalf("asked %d, prepared %d, stopped %v", asked, len(ex1.prepared), ex1.stops())
	}
	if !hasLine(p.Lines(), "Waiting for the backup of the Information Store on EX1 to finish…") || !hasLine(p.Lines(), "The backup has ended") {
		t.Fatalf("the log does not say it waited:\n%s", strings.Join(p.Lines(), "\n"))
	}
}
