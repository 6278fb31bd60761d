//go:build screenshots || ci

package ui

import (
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"fyne.io/fyne/v2"
)

func TestScreenshots(t *testing.T) {
	c, q, f := newItemsConsole(t)
	// What goroutines post (the item pane's reads) runs as fyne.Do would,
	// one at a time with the tour's own steps: the test driver runs
	// fyne.DoAndWait on the calling goroutine, so the lock stands in for
	// the real driver's single UI goroutine.
	var mu sync.Mutex
	serial := func(f func()) {
		mu.Lock()
		defer mu.Unlock()
		fyne.DoAndWait(f)
	}
	c.shotDo = serial
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case fn := <-q.ch:
				serial(fn)
			case <-stop:
				return
			}
		}
	}()
	c.shotSize = fyne.NewSize(760, 560)
	if raceEnabled {
		c.shotSize = fyne.NewSize(320, 240) // the race detector slows the software painter tenfold
	}
	dir := t.TempDir()
	if err := c.Screenshots(dir); err != nil {
		t.Fatal(err)
	}
	want := []string{"01-main.png", "02-tapes.png", "03-exchange-connect.png", "04-backup-information.png", "05-backup-status.png",
		"06-restore-information-is.png", "07-restore-information-ds.png", "08-restore-status.png", "09-tapes-files.png",
		"10-restore-information-files.png", "11-verify.png", "12-verify-status.png", "13-replace-confirm.png", "14-erase-confirm.png",
		"15-encryption-keys.png", "16-passphrase.png", "17-about.png",
		"18-tapes-items.png", "19-tapes-items-search.png", "20-message-viewer.png", "21-restore-information-items.png", "22-export-items.png",
		"23-insert-next-tape.png", "24-stop-wait.png", "25-stop-waiting.png", "26-operations-menu.png", "27-main-dark.png"}
	ents, _ := os.ReadDir(dir)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pictures = %q", got)
	}
	for _, n := range want {
		f, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil || blank(img) {
			t.Errorf("%s: %v (blank %v)", n, err, blank(img))
		}
	}
	if len(c.keys) != 0 || overlayTop(c) != nil {
		t.Error("every dialog was closed")
	}
	// The item pictures opened a store set, searched it and viewed a
	// message, in a window of its own since closed.
	if len(f.opens) == 0 || len(f.src.searches) == 0 || len(c.viewers) != 0 {
		t.Errorf("opened %d sets, searched %d times, %d viewers left", len(f.opens), len(f.src.searches), len(c.viewers))
	}
}
