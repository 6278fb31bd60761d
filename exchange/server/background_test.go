package server

import (
	"runtime"
	"testing"
	"time"
)

// Each background thread brings a GOMAXPROCS slot of its own while it
// runs, so that it never holds one that foreground goroutines need; the
// count is back where it was once the last one ends.
func TestInBackgroundBringsItsOwnProcessor(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	inner := make(chan int)
	release := make(chan struct{})
	go inBackground(func() error {
		inner <- runtime.GOMAXPROCS(0)
		<-release
		return nil
	})
	if got := <-inner; got != before+1 {
		t.Errorf("GOMAXPROCS with one background thread = %d, want %d", got, before+1)
	}
	inBackground(func() error {
		if got := runtime.GOMAXPROCS(0); got != before+2 {
			t.Errorf("GOMAXPROCS with two background threads = %d, want %d", got, before+2)
		}
		return nil
	})
	close(release)
	for i := 0; runtime.GOMAXPROCS(0) != before && i < 1000; i++ {
		time.Sleep(time.Millisecond)
	}
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Errorf("GOMAXPROCS after the background threads = %d, want %d", got, before)
	}
}
