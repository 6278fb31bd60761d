package ui

import (
	"fmt"
	"os"
	"time"
)

// ShowAndRun shows the main window and runs the app until it is closed.
func (c *Console) ShowAndRun() {
	c.quit = make(chan error, 1)
	returned := make(chan struct{})
	go exitIfRunHangs(c.quit, returned, quitWait, "the window closed")
	c.win.ShowAndRun()
	close(returned)
}

// quitWait is how long the app may take to shut down once it was told to.
const quitWait = 15 * time.Second

// exitIfRunHangs ends the process when the app's run loop has not returned
// within wait of done (the window closing, the pictures being taken).
// Fyne 2.7.1 can hang at quit: a call queued for the main thread just as
// the loop drains its queue is never run, and whoever queued it waits for
// ever, leaving a process without a window. Whatever the console had to
// do is done by then; the exit status is done's error, if any.
func exitIfRunHangs(done <-chan error, returned <-chan struct{}, wait time.Duration, what string) {
	var err error
	select {
	case <-returned:
		return
	case err = <-done:
	}
	select {
	case <-returned:
	case <-time.After(wait):
		fmt.Fprintf(os.Stderr, "exbackup: %s, but the window system did not shut down within %s; exiting\n", what, wait)
		if err != nil {
			fmt.Fprintf(os.Stderr, "exbackup: %v\n", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}
