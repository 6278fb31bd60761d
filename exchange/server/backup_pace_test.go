package server

import (
	"crypto/sha256"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// A backup stream pauses between reads only while changes wait on its
// store, for no longer than its thread worked, and never past maxPause.
func TestBackupPacerGivesWayToWaitingChanges(t *testing.T) {
	var pauses []time.Duration
	old := pauseFor
	pauseFor = func(d time.Duration) { pauses = append(pauses, d) }
	defer func() { pauseFor = old }()
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
	p.wait() // the first read
	work()
	p.wait()
	if len(pauses) != 0 {
		t.Fatalf("paused %v with nothing waiting", pauses)
	}
	waiting.Add(1)
	work()
	p.wait()
	if len(pauses) != 1 || pauses[0] <= 0 || pauses[0] > maxPause {
		t.Fatalf("pauses %v while a change waits, want one in (0, %v]", pauses, maxPause)
	}
	waiting.Add(-1)
	work()
	p.wait()
	if len(pauses) != 1 {
		t.Fatalf("paused %v after the change was answered", pauses[1:])
	}
}
