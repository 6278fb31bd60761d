//go:build ci

package ui

import (
	"testing"

	"fyne.io/fyne/v2"
)

func TestTmpShots(t *testing.T) {
	c, q, _ := newItemsConsole(t)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case fn := <-q.ch:
				fyne.DoAndWait(fn)
			case <-stop:
				return
			}
		}
	}()
	c.shotSize = fyne.NewSize(1280, 800)
	if err := c.Screenshots("/tmp/itemshots"); err != nil {
		t.Fatal(err)
	}
}
