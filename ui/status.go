package ui

import (
	"context"
	"errors"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"exbackup/engine"
)

// statusRefresh is how often a status dialog polls its job: a few times a
// second is enough for a person and costs the job nothing.
const statusRefresh = 250 * time.Millisecond

// maxSummaryLines bounds the summary a status dialog keeps on screen (the
// log file has them all).
const maxSummaryLines = 5000

// statusDialog is Backup Status, Restore Status, Verify Status and Catalog
// Status: progress, counters, the summary log scrolling, Abort then OK.
type statusDialog struct {
	c    *Console
	m    *modal
	keys *dlgKeys

	bar      *widget.ProgressBar
	spinner  *widget.ProgressBarInfinite
	tape     *widget.Label
	set      *widget.Label
	current  *widget.Label
	dirs     *widget.Label
	files    *widget.Label
	bytes    *widget.Label
	elapsed  *widget.Label
	rate     *widget.Label
	corrupt  *widget.Label
	skipped  *widget.Label
	summary  *widget.List
	lines    []string
	result   *widget.Label
	button   *dlgButton
	abort    func()
	total    bool // the job reported its total: the bar shows a share
	done     bool
	aborting bool
	err      error
}

const statusWidth = 560

func (c *Console) newStatusDialog(title string) *statusDialog {
	sd := &statusDialog{c: c, keys: &dlgKeys{}}
	sd.bar = widget.NewProgressBar()
	sd.spinner = widget.NewProgressBarInfinite()
	sd.spinner.Stop()
	sd.spinner.Hide()
	lbl := func() *widget.Label { l := value(""); return l }
	sd.tape, sd.set, sd.current = lbl(), lbl(), lbl()
	sd.dirs, sd.files, sd.bytes, sd.elapsed = lbl(), lbl(), lbl(), lbl()
	sd.rate, sd.corrupt, sd.skipped = lbl(), lbl(), lbl()
	sd.summary = widget.NewList(
		func() int { return len(sd.lines) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			l.TextStyle = fyne.TextStyle{Monospace: true}
			return l
		},
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(sd.lines[i]) },
	)
	sd.summary.HideSeparators = true
	sd.result = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	sd.result.Wrapping = fyne.TextWrapWord
	sd.result.Hide()
	sd.button = newDlgButton("Abort", sd.keys, sd.pressed)
	sd.keys.cancel = sd.pressed // Escape aborts a running job, closes a finished one

	counters := container.NewGridWithColumns(2,
		form(fieldLabel("Directories:"), sd.dirs, fieldLabel("Files:"), sd.files, fieldLabel("Bytes:"), sd.bytes, fieldLabel("Elapsed time:"), sd.elapsed),
		form(fieldLabel("Rate:"), sd.rate, fieldLabel("Corrupt files:"), sd.corrupt, fieldLabel("Skipped files:"), sd.skipped),
	)
	content := container.NewVBox(
		form(fieldLabel("Tape:"), sd.tape, fieldLabel("Set:"), sd.set, fieldLabel("Current:"), sd.current),
		container.NewStack(sd.bar, sd.spinner),
		counters,
		group("Summary", container.New(&minSizeLayout{min: fyne.NewSize(statusWidth, 170)}, sd.summary)),
		container.New(&wrapLayout{width: statusWidth}, sd.result),
	)
	sd.m = c.newModal(title, content, sd.keys, sd.button)
	sd.m.focus = sd.button
	sd.apply(engine.Snapshot{})
	return sd
}

// pressed is the one button: Abort while the job runs, OK after.
func (sd *statusDialog) pressed() {
	if sd.done {
		sd.m.hide()
		return
	}
	if sd.aborting || sd.abort == nil {
		return
	}
	sd.aborting = true
	sd.button.SetText("Aborting…")
	sd.button.Disable()
	sd.abort()
}

// apply shows a snapshot.
func (sd *statusDialog) apply(s engine.Snapshot) {
	dash := func(v string) string {
		if v == "" {
			return "—"
		}
		return v
	}
	sd.tape.SetText(dash(s.Tape))
	sd.set.SetText(dash(s.Set))
	sd.current.SetText(dash(s.Current))
	sd.dirs.SetText(thousands(int64(s.Dirs)))
	sd.files.SetText(thousands(int64(s.Files)))
	b := thousands(s.Bytes)
	if s.Bytes >= 1024 {
		b += " (" + humanBytes(s.Bytes) + ")"
	}
	sd.bytes.SetText(b)
	sd.elapsed.SetText(clock(s.Elapsed))
	sd.rate.SetText(rate(s.Rate()))
	sd.corrupt.SetText(thousands(int64(s.Corrupt)))
	sd.skipped.SetText(thousands(int64(s.Skipped)))
	sd.corrupt.Importance = widget.MediumImportance
	if s.Corrupt > 0 {
		sd.corrupt.Importance = widget.DangerImportance
	}
	sd.corrupt.Refresh()
	if f := s.Fraction(); f >= 0 || sd.done {
		sd.total = sd.total || f >= 0
		if sd.spinner.Visible() {
			sd.spinner.Stop()
			sd.spinner.Hide()
			sd.bar.Show()
		}
		if sd.done {
			f = 1
		}
		sd.bar.SetValue(f)
	} else if !sd.spinner.Visible() {
		sd.bar.Hide()
		sd.spinner.Show()
		sd.spinner.Start()
	}
}

// appendLines adds summary lines and keeps the last one in view.
func (sd *statusDialog) appendLines(lines []string) {
	if len(lines) == 0 {
		return
	}
	sd.lines = append(sd.lines, lines...)
	if n := len(sd.lines) - maxSummaryLines; n > 0 {
		sd.lines = append(sd.lines[:0:0], sd.lines[n:]...)
	}
	sd.summary.Refresh()
	sd.summary.ScrollToBottom()
}

// finish shows the outcome and turns Abort into OK.
func (sd *statusDialog) finish(summary string, err error) {
	sd.done = true
	sd.err = err
	sd.spinner.Stop()
	sd.spinner.Hide()
	sd.bar.Show()
	if err != nil && !sd.total {
		sd.bar.Hide() // no share to show: 0% would mislead
	}
	var warn *jobWarning
	if errors.As(err, &warn) {
		// The job finished, but left something to act on: a warning,
		// not "Operation completed".
		sd.result.SetText("Completed with a warning: " + warn.msg)
		sd.result.Importance = widget.WarningImportance
		sd.bar.Show()
		sd.bar.SetValue(1)
		if summary != "" {
			sd.appendLines([]string{summary})
		}
	} else if err != nil {
		sd.result.SetText(oneLine(err))
		sd.result.Importance = widget.DangerImportance
	} else {
		sd.result.SetText("Operation completed")
		sd.result.Importance = widget.SuccessImportance
		sd.bar.SetValue(1)
		if summary != "" {
			sd.appendLines([]string{summary})
		}
	}
	sd.result.Show()
	sd.button.SetText("OK")
	sd.button.Importance = widget.HighImportance
	sd.button.Enable()
	sd.keys.ok = sd.pressed
	sd.m.d.Refresh()
	if sd.m.visible {
		sd.c.win.Canvas().Focus(sd.button)
	}
}

// jobWarning is what a job returns that finished but must warn: its
// summary still shows, and the result says the warning.
type jobWarning struct{ msg string }

func (w *jobWarning) Error() string { return w.msg }

// job is what a running job's function gets: its context and a way to
// make the Progress the engine reports to. A job that runs several engine
// calls (Verify of several sets) makes one Progress each; the dialog adds
// their counters up.
type job struct {
	ctx   context.Context
	start time.Time

	mu      sync.Mutex
	cur     *engine.Progress
	base    engine.Snapshot
	pending []string
}

func (j *job) progress(op string) *engine.Progress {
	p := engine.NewProgress(op)
	p.OnLog = func(line string) { j.log(line) }
	j.mu.Lock()
	if j.cur != nil {
		s := j.cur.Snapshot()
		j.base.Dirs += s.Dirs
		j.base.Files += s.Files
		j.base.Bytes += s.Bytes
		j.base.TotalBytes += s.TotalBytes
		j.base.Corrupt += s.Corrupt
		j.base.Skipped += s.Skipped
	}
	j.cur = p
	j.mu.Unlock()
	return p
}

// log adds lines to the summary.
func (j *job) log(lines ...string) {
	j.mu.Lock()
	j.pending = append(j.pending, lines...)
	j.mu.Unlock()
}

// snapshot merges the counters and takes the summary lines written since.
func (j *job) snapshot(now time.Time) (engine.Snapshot, []string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.base
	if j.cur != nil {
		c := j.cur.Snapshot()
		s.Operation, s.Tape, s.Set, s.Current = c.Operation, c.Tape, c.Set, c.Current
		s.Dirs += c.Dirs
		s.Files += c.Files
		s.Bytes += c.Bytes
		s.Corrupt += c.Corrupt
		s.Skipped += c.Skipped
		if c.TotalBytes > 0 {
			s.TotalBytes += c.TotalBytes
		} else {
			s.TotalBytes = 0
		}
	}
	s.Elapsed = now.Sub(j.start)
	lines := j.pending
	j.pending = nil
	return s, lines
}

// runJob runs a job off the UI goroutine under a status dialog. run returns
// a summary line for success; after runs on the UI goroutine once the job
// has ended (a refresh of what the job changed).
func (c *Console) runJob(title string, run func(j *job) (string, error), after func()) *statusDialog {
	sd := c.newStatusDialog(title)
	ctx, cancel := context.WithCancel(c.ctx)
	j := &job{ctx: ctx, start: time.Now()}
	sd.abort = cancel
	sd.m.show()
	c.running = sd

	done := make(chan struct{})
	go func() {
		t := time.NewTicker(statusRefresh)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				s, lines := j.snapshot(now)
				c.do(func() {
					if !sd.done {
						sd.apply(s)
						sd.appendLines(lines)
					}
				})
			}
		}
	}()
	go func() {
		summary, err := run(j)
		close(done)
		s, lines := j.snapshot(time.Now())
		cancel()
		c.do(func() {
			sd.apply(s)
			sd.appendLines(lines)
			sd.finish(summary, err)
			if c.running == sd {
				c.running = nil
			}
			if after != nil {
				after()
			}
		})
	}()
	return sd
}
