package server

import (
	"crypto/sha256"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A backup stream pauses between reads only while changes wait on its
// store, for no longer than its thread worked, and never past maxPause.
func TestBackupPacerGivesWayToWaitingChanges(t *testing.T) {
	pauses := recordPauses(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	work := func() {
		buf := make([]byte, 1<<20)
		for i := 0; i < 20; i++ {
			sum := sha256.Sum256(buf)
			buf[i] = sum[0]
		}
	}

	var waiting atomic.Int64
	p := backupPacer{waiting: &waiting}
	p.wait(0) // the first read
	work()
	p.wait(0)
	if len(pauses()) != 0 {
		t.Fatalf("paused %v with nothing waiting", pauses())
	}
	waiting.Add(1)
	work()
	p.wait(0)
	if len(pauses()) != 1 || pauses()[0] <= 0 || pauses()[0] > maxPause {
		t.Fatalf("pauses() %v while a change waits, want one in (0, %v]", pauses(), maxPause)
	}
	waiting.Add(-1)
	work()
	p.wait(0)
	if len(pauses()) != 1 {
		t.Fatalf("paused %v after the change was answered", pauses()[1:])
	}
}

// The read-ahead's CPU for a chunk counts toward the stream's share: it
// ran beside the sender, so the pause makes up for it too.
func TestBackupPacerChargesTheReadAhead(t *testing.T) {
	pauses := recordPauses(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	var waiting atomic.Int64
	p := backupPacer{waiting: &waiting}
	p.wait(0)
	p.wait(10 * time.Millisecond)
	if len(pauses()) != 0 {
		t.Fatalf("paused %v with nothing waiting", pauses())
	}
	waiting.Add(1)
	const read = 10 * time.Millisecond
	p.wait(read)
	if want := (pauseShare + 1) * read; len(pauses()) != 1 || pauses()[0] < want || pauses()[0] > maxPause {
		t.Fatalf("pauses() %v after a chunk that took the read-ahead %v, want one in [%v, %v]", pauses(), read, want, maxPause)
	}
	p.wait(time.Second)
	if len(pauses()) != 2 || pauses()[1] != maxPause {
		t.Fatalf("pauses() %v, want the second at most %v", pauses(), maxPause)
	}
}

// recordPauses puts a recorder in pauseFor's place for the rest of the
// test; what it returns gives the pauses so far.
func recordPauses(t *testing.T) func() []time.Duration {
	var mu sync.Mutex
	var pauses []time.Duration
	old := pauseFor
	pauseFor = func(d time.Duration) { mu.Lock(); pauses = append(pauses, d); mu.Unlock() }
	t.Cleanup(func() { pauseFor = old })
	return func() []time.Duration { mu.Lock(); defer mu.Unlock(); return slices.Clone(pauses) }
}
