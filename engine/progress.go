package engine

import (
	"sync"
	"time"
)

// Progress collects what a job reports, under a mutex, for any number of
// readers: the GUI's status dialog and the CLI's progress line poll
// Snapshot on a ticker, and OnLog receives each line of the summary log as
// it is written. A nil *Progress is valid and records nothing.
type Progress struct {
	// OnLog, when set, receives each summary line (called on the job's
	// goroutine: a GUI hands it to fyne.Do).
	OnLog func(line string)

	mu    sync.Mutex
	snap  Snapshot
	start time.Time
	lines []string
}

// NewProgress returns a Progress for one job.
func NewProgress(operation string) *Progress {
	return &Progress{snap: Snapshot{Operation: operation}, start: time.Now()}
}

// Snapshot returns the current state.
func (p *Progress) Snapshot() Snapshot {
	if p == nil {
		return Snapshot{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.snap
	if !s.Done {
		s.Elapsed = time.Since(p.start)
	}
	return s
}

// Lines returns the summary log so far.
func (p *Progress) Lines() []string {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

func (p *Progress) update(fn func(s *Snapshot)) {
	if p == nil {
		return
	}
	p.mu.Lock()
	fn(&p.snap)
	p.mu.Unlock()
}

func (p *Progress) logf(line string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.lines = append(p.lines, line)
	cb := p.OnLog
	p.mu.Unlock()
	if cb != nil {
		cb(line)
	}
}

func (p *Progress) finish(err error) {
	p.update(func(s *Snapshot) {
		s.Done, s.Err = true, err
		if err == nil {
			s.Current = "" // nothing is being read or written any more
		}
		s.Elapsed = time.Since(p.start)
	})
}
