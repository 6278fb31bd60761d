package app

import (
	"fmt"
	"os"
	"time"

	"exbackup/engine"
)

// progressLine prints a progress line on a terminal, a few times a second;
// nothing when the output is piped.
func (c *cli) progressLine(p *engine.Progress) func() {
	f, ok := c.stderr.(*os.File)
	if !ok {
		return func() {}
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(f, "\r\033[K")
				return
			case <-t.C:
				s := p.Snapshot()
				pct := ""
				if fr := s.Fraction(); fr >= 0 {
					pct = fmt.Sprintf("%3.0f%% ", fr*100)
				}
				fmt.Fprintf(f, "\r\033[K%s%s  %s  %d files  %s  %.1f MB/s", pct, s.Set, s.Current, s.Files, engine.Thousands(s.Bytes), s.Rate()/1e6)
			}
		}
	}()
	return func() { close(done); <-finished }
}
