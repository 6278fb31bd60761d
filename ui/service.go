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
// backup of the store streams, and the console says so.
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
	c.confirm("Stop Service", "Stop "+what+"?", detail, "Stop", func() {
		c.serviceCall("Stop Service", "Stopping "+what+"…", func(ctx context.Context) (exchange.RestoreResult, error) {
			return exchange.RestoreResult{}, c.eng.StopService(ctx, server, id)
		}, func(exchange.RestoreResult) string { return "Stopped " + what + "." })
	})
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

// storeMenu is the tree's context menu for a store.
func (c *Console) storeMenu() *fyne.Menu {
	return fyne.NewMenu("",
		fyne.NewMenuItem("Start Service", c.action(c.StartService)),
		fyne.NewMenuItem("Stop Service", c.action(c.StopService)),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Cancel Restore", c.action(c.CancelRestore)),
	)
}
