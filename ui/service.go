package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"exbackup/engine"
	"exbackup/exchange"
)

// Operations > Start Service, Stop Service and Cancel Restore, and the
// tree's context menu: service control of the Directory or Information
// Store selected in the Microsoft Exchange window.

// selectedStore is the store node selected in the tree.
func (c *Console) selectedStore() (server string, id exchange.StoreID, ok bool) {
	n := c.exch.ix.nodes[c.exch.selected]
	if n == nil || n.kind != kindStore {
		return "", "", false
	}
	return n.server, n.store, true
}

const selectStoreFirst = "Select a Directory or Information Store in the Microsoft Exchange window."

// StartService is Operations > Start Service. A store whose restore is
// staged runs the chain's recovery first, and the console says what it did.
func (c *Console) StartService() {
	server, id, ok := c.selectedStore()
	if !ok {
		c.info("Start Service", selectStoreFirst)
		return
	}
	c.serviceCall("Start Service", fmt.Sprintf("Starting the %s on %s…", id.ServiceName(), server), func(ctx context.Context) (exchange.RestoreResult, error) {
		return c.eng.StartService(ctx, server, id)
	}, func(res exchange.RestoreResult) string {
		if res.Recovered {
			return fmt.Sprintf("The %s on %s was recovered and started.", id.ServiceName(), server)
		}
		return fmt.Sprintf("The %s on %s is running.", id.ServiceName(), server)
	})
}

// StopService is Operations > Stop Service. The server refuses while a
// backup of the store streams; the console then offers to wait for the
// backup to finish and stop the service after it.
func (c *Console) StopService() {
	server, id, ok := c.selectedStore()
	if !ok {
		c.info("Stop Service", selectStoreFirst)
		return
	}
	what := fmt.Sprintf("the %s on %s", id.ServiceName(), server)
	detail := ""
	if id == exchange.StoreDS {
		detail = "The Information Store, which needs the Directory, stops with it."
	}
	c.confirm("Stop Service", "Stop "+what+"?", detail, "Stop", func() { c.stopService(server, id) })
}

func (c *Console) stopService(server string, id exchange.StoreID) {
	what := fmt.Sprintf("the %s on %s", id.ServiceName(), server)
	done := func(exchange.RestoreResult) string { return "Stopped " + what + "." }
	c.statusBar.setActivity("Stopping " + what + "…")
	c.goDo(func() {
		ctx, cancel := context.WithTimeout(c.ctx, 10*time.Minute)
		defer cancel()
		err := c.eng.StopService(ctx, server, id)
		c.do(func() {
			c.statusBar.setActivity("")
			var busy *engine.BackupStreamingError
			if errors.As(err, &busy) {
				c.offerWait("Stop Service", busy, stopWaitQuestion, func(wait bool) {
					if wait {
						c.stopAfterBackup(server, id, busy, done)
					}
				})
				return
			}
			c.refreshOrg()
			c.showServiceResult("Stop Service", exchange.RestoreResult{}, err, done)
		})
	})
}

const stopWaitQuestion = "Wait for the backup to finish, then stop the service? The wait can be cancelled."

// stopAfterBackup waits, off the UI goroutine and under a dialog that
// says so and can cancel it, for the backup to finish, then stops the
// service.
func (c *Console) stopAfterBackup(server string, id exchange.StoreID, busy *engine.BackupStreamingError, done func(exchange.RestoreResult) string) {
	ctx, cancel := context.WithCancel(c.ctx)
	m := c.waitingDialog("Stop Service", busy.Waiting(), cancel)
	c.statusBar.setActivity(busy.Waiting())
	c.goDo(func() {
		err := c.eng.StopServiceAfterBackup(ctx, server, id)
		cancelled := ctx.Err() != nil
		cancel()
		c.do(func() {
			m.hide()
			c.statusBar.setActivity("")
			c.refreshOrg()
			if err != nil && cancelled && errors.Is(err, context.Canceled) {
				c.info("Stop Service", fmt.Sprintf("The %s on %s was not stopped: the console stopped waiting for the backup.", id.ServiceName(), server))
				return
			}
			c.showServiceResult("Stop Service", exchange.RestoreResult{}, err, done)
		})
	})
}

// offerWait shows a stop refused for a streaming backup and offers to wait
// for the backup to finish; decide gets the choice once (false when the
// dialog goes otherwise).
func (c *Console) offerWait(title string, busy *engine.BackupStreamingError, question string, decide func(wait bool)) *modal {
	keys := &dlgKeys{}
	var m *modal
	decided := false
	choose := func(wait bool) {
		if decided {
			return
		}
		decided = true
		m.hide()
		decide(wait)
	}
	cancel := newDlgButton("Cancel", keys, func() { choose(false) })
	wait := newDlgButton("Wait for the backup to finish", keys, func() { choose(true) })
	wait.Importance = widget.HighImportance
	keys.ok, keys.cancel = wait.OnTapped, cancel.OnTapped
	icon := canvas.NewImageFromResource(theme.WarningIcon())
	icon.SetMinSize(fyne.NewSquareSize(40))
	icon.FillMode = canvas.ImageFillContain
	msg := widget.NewLabelWithStyle(oneLine(busy), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	msg.Wrapping = fyne.TextWrapWord
	q := widget.NewLabel(question)
	q.Wrapping = fyne.TextWrapWord
	content := container.NewBorder(nil, nil, container.NewVBox(icon), nil, container.New(&wrapLayout{width: 380}, msg, q))
	m = c.newModal(title, content, keys, cancel, wait)
	m.onHide = func() { choose(false) }
	m.focus = wait
	m.show()
	return m
}

// waitingDialog says what the console waits for, with a Cancel that calls
// cancel; the caller hides it when the wait ends.
func (c *Console) waitingDialog(title, waiting string, cancel func()) *modal {
	keys := &dlgKeys{}
	var m *modal
	var stop *dlgButton
	stop = newDlgButton("Cancel", keys, func() {
		stop.SetText("Cancelling…")
		stop.Disable()
		cancel()
	})
	keys.cancel = stop.OnTapped
	msg := widget.NewLabel(waiting)
	msg.Wrapping = fyne.TextWrapWord
	bar := widget.NewProgressBarInfinite()
	content := container.New(&wrapLayout{width: 380}, msg, bar)
	m = c.newModal(title, content, keys, stop)
	m.onHide = bar.Stop
	m.focus = stop
	m.show()
	return m
}

// askWait is a restore's OnBackupStreaming: it asks on the UI goroutine
// whether to wait for the backup, and blocks the job until the answer.
func (c *Console) askWait(ctx context.Context, busy *engine.BackupStreamingError) bool {
	answer := make(chan bool, 1)
	var m *modal
	c.do(func() {
		m = c.offerWait("Restore", busy, "Wait for the backup to finish, then stop the service and restore? Restore Status shows the wait; Abort ends it.", func(wait bool) { answer <- wait })
	})
	select {
	case wait := <-answer:
		return wait
	case <-ctx.Done():
		c.do(func() {
			if m != nil {
				m.hide()
			}
		})
		return false
	}
}

// CancelRestore is Operations > Cancel Restore: drops a staged restore,
// after confirmation; the service then starts on the data it had.
func (c *Console) CancelRestore() {
	server, id, ok := c.selectedStore()
	if !ok {
		c.info("Cancel Restore", selectStoreFirst)
		return
	}
	c.confirm("Cancel Restore", fmt.Sprintf("Drop the restore staged on the %s on %s?", id.ServiceName(), server),
		"The sets staged so far are discarded; the service starts on the data it had before the restore.", "Drop", func() {
			c.serviceCall("Cancel Restore", "Cancelling the restore…", func(ctx context.Context) (exchange.RestoreResult, error) {
				return c.eng.CancelRestore(ctx, server, id)
			}, func(exchange.RestoreResult) string { return "" })
		})
}

// serviceCall runs a service call off the UI goroutine, then shows what
// came of it: the server's messages, its warnings as a warning, or the
// error. The tree is read again afterwards.
func (c *Console) serviceCall(title, activity string, call func(ctx context.Context) (exchange.RestoreResult, error), done func(exchange.RestoreResult) string) {
	c.statusBar.setActivity(activity)
	c.goDo(func() {
		ctx, cancel := context.WithTimeout(c.ctx, 10*time.Minute)
		defer cancel()
		res, err := call(ctx)
		c.do(func() {
			c.statusBar.setActivity("")
			c.refreshOrg()
			c.showServiceResult(title, res, err, done)
		})
	})
}

func (c *Console) showServiceResult(title string, res exchange.RestoreResult, err error, done func(exchange.RestoreResult) string) *modal {
	var lines []string
	lines = append(lines, res.Messages...)
	switch {
	case err != nil:
		msg := oneLine(err)
		if errors.Is(err, exchange.ErrConflict) && strings.Contains(msg, "backup") {
			msg += " Try again when the backup has ended."
		}
		return c.confirmLike(title, msg, strings.Join(lines, "\n"))
	case len(res.Warnings) > 0:
		return c.confirmLike(title, "Completed with a warning: "+strings.Join(res.Warnings, " "), strings.Join(lines, "\n"))
	}
	if s := done(res); s != "" {
		lines = append(lines, s)
	}
	return c.info(title, strings.Join(lines, "\n"))
}

// confirmLike shows a warning, or a refusal, with only OK.
func (c *Console) confirmLike(title, message, detail string) *modal {
	keys := &dlgKeys{}
	var m *modal
	ok := newDlgButton("OK", keys, func() { m.hide() })
	ok.Importance = widget.HighImportance
	keys.ok, keys.cancel = ok.OnTapped, ok.OnTapped
	icon := canvas.NewImageFromResource(theme.WarningIcon())
	icon.SetMinSize(fyne.NewSquareSize(40))
	icon.FillMode = canvas.ImageFillContain
	msg := widget.NewLabelWithStyle(message, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	msg.Wrapping = fyne.TextWrapWord
	body := []fyne.CanvasObject{msg}
	if detail != "" {
		d := widget.NewLabel(detail)
		d.Wrapping = fyne.TextWrapWord
		body = append(body, d)
	}
	content := container.NewBorder(nil, nil, container.NewVBox(icon), nil, container.New(&wrapLayout{width: 380}, body...))
	m = c.newModal(title, content, keys, ok)
	m.focus = ok
	m.show()
	return m
}

// storeActions is what can be done to a store in the state the console
// last read: Start Service when its service is stopped or restore-pending,
// Stop Service when it runs (a backup streaming or not: the console offers
// to wait), Cancel Restore when a restore is staged. A server that does not
// answer, or an organization that could not be read, offers none. The
// tree's context menu and the Operations menu both follow it.
type storeActions struct{ start, stop, cancel bool }

func (c *Console) storeActions(server string, id exchange.StoreID) storeActions {
	if c.exch.errText != "" {
		return storeActions{} // the states shown are those of an earlier read
	}
	org := c.exch.ix.org
	st, known := org.Status[server]
	if _, unreachable := org.Unreachable[server]; unreachable || !known {
		return storeActions{}
	}
	state := st.Service(id)
	_, staged := st.Restore(id)
	return storeActions{
		start:  state == exchange.Stopped || state == exchange.RestorePending,
		stop:   state == exchange.Running,
		cancel: staged,
	}
}

// storeMenu is the tree's context menu for a store, its items enabled by
// storeActions.
func (c *Console) storeMenu(server string, id exchange.StoreID) *fyne.Menu {
	a := c.storeActions(server, id)
	start := fyne.NewMenuItem("Start Service", c.action(c.StartService))
	stop := fyne.NewMenuItem("Stop Service", c.action(c.StopService))
	cancel := fyne.NewMenuItem("Cancel Restore", c.action(c.CancelRestore))
	start.Disabled, stop.Disabled, cancel.Disabled = !a.start, !a.stop, !a.cancel
	return fyne.NewMenu("", start, stop, fyne.NewMenuItemSeparator(), cancel)
}

// selectedActions are the storeActions of the store selected in the
// Microsoft Exchange window: none when nothing, or no store, is selected.
// Operations > Start Service, Stop Service and Cancel Restore follow them
// (updateMenuItems).
func (c *Console) selectedActions() storeActions {
	server, id, ok := c.selectedStore()
	if !ok {
		return storeActions{}
	}
	return c.storeActions(server, id)
}
