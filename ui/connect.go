package ui

import (
	"context"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// connectDialog is Operations > Microsoft Exchange…: the server to reach
// the organization through and its access key. On first contact it shows
// the server's certificate fingerprint and connects only once the
// administrator has confirmed it.
type connectDialog struct {
	c      *Console
	m      *modal
	keys   *dlgKeys
	server *dlgEntry
	key    *dlgEntry

	fpBox   *fyne.Container
	fpText  *widget.Label
	fpNote  *widget.Label
	fp      string // the fingerprint shown, waiting for confirmation
	fpAddr  string
	busy    *widget.ProgressBarInfinite
	busyBox *fyne.Container
	busyMsg *widget.Label
	errLine errorLine
	ok      *dlgButton
	cancel  *dlgButton

	ctx    context.Context
	abort  context.CancelFunc
	closed bool
}

const connectWidth = 460

// ConnectDialog opens Operations > Microsoft Exchange….
func (c *Console) ConnectDialog() { c.newConnectDialog().m.show() }

func (c *Console) newConnectDialog() *connectDialog {
	d := &connectDialog{c: c, keys: &dlgKeys{}}
	d.ctx, d.abort = context.WithCancel(c.ctx)
	d.server = newDlgEntry(d.keys)
	d.server.SetPlaceHolder("name or address, e.g. exch01:7401")
	d.server.OnChanged = func(string) { d.forgetFingerprint() }
	d.key = newDlgPassword(d.keys)
	d.key.SetPlaceHolder("the key exserver init printed")

	d.fpText = widget.NewLabel("")
	d.fpText.TextStyle = fyne.TextStyle{Monospace: true}
	d.fpNote = widget.NewLabel("")
	d.fpNote.Wrapping = fyne.TextWrapWord
	d.fpBox = container.NewVBox(
		group("Server Certificate"),
		container.New(&wrapLayout{width: connectWidth}, d.fpNote),
		container.NewPadded(d.fpText),
	)
	d.fpBox.Hide()
	d.busy = widget.NewProgressBarInfinite()
	d.busy.Stop()
	d.busyMsg = widget.NewLabel("")
	d.busyBox = container.NewVBox(d.busyMsg, d.busy)
	d.busyBox.Hide()
	d.errLine = newErrorLine()

	d.ok = newDlgButton("OK", d.keys, d.submit)
	d.ok.Importance = widget.HighImportance
	d.cancel = newDlgButton("Cancel", d.keys, d.close)
	d.keys.ok, d.keys.cancel = d.submit, d.close

	intro := wrappedNote("Connect to any server of the organization: every server knows the whole organization.")
	content := container.NewVBox(
		container.New(&wrapLayout{width: connectWidth}, intro),
		form(fieldLabel("Server:"), d.server, fieldLabel("Access key:"), d.key),
		d.fpBox,
		d.busyBox,
		container.New(&wrapLayout{width: connectWidth}, d.errLine),
	)
	d.m = c.newModal("Microsoft Exchange", content, d.keys, d.cancel, d.ok)
	d.m.focus = d.server
	d.m.onHide = func() { d.closed = true; d.abort() }
	return d
}

func (d *connectDialog) close() {
	d.abort()
	d.m.hide()
}

// setBusy shows what is being waited for, or "" for nothing.
func (d *connectDialog) setBusy(msg string) {
	if msg == "" {
		d.busy.Stop()
		d.busyBox.Hide()
		d.server.Enable()
		d.key.Enable()
		d.ok.Enable()
		return
	}
	d.busyMsg.SetText(msg)
	d.busyBox.Show()
	d.busy.Start()
	d.server.Disable()
	d.key.Disable()
	d.ok.Disable()
}

func (d *connectDialog) forgetFingerprint() {
	if d.fp == "" {
		return
	}
	d.fp, d.fpAddr = "", ""
	d.fpBox.Hide()
	d.ok.SetText("OK")
	d.m.d.Refresh()
}

// validate checks the fields; it returns the message to show, or "".
func (d *connectDialog) validate() string {
	switch {
	case strings.TrimSpace(d.server.Text) == "":
		return "Enter the name or address of a server of the organization."
	case strings.TrimSpace(d.key.Text) == "":
		return "Enter the organization's access key."
	}
	return ""
}

// submit: first OK fetches the certificate; the second (Trust and Connect)
// connects with the fingerprint confirmed.
func (d *connectDialog) submit() {
	if d.ok.Disabled() {
		return
	}
	if msg := d.validate(); msg != "" {
		d.errLine.set(msg)
		return
	}
	d.errLine.set("")
	addr := strings.TrimSpace(d.server.Text)
	if d.fp != "" && d.fpAddr == addr {
		d.connect(addr, d.fp)
		return
	}
	d.setBusy("Contacting " + addr + "…")
	d.c.goDo(func() {
		ctx, cancel := context.WithTimeout(d.ctx, 20*time.Second)
		defer cancel()
		fp, err := d.c.eng.FetchFingerprint(ctx, addr)
		d.c.do(func() {
			if d.closed {
				return
			}
			d.setBusy("")
			if err != nil {
				d.errLine.set("Could not reach " + addr + ": " + oneLine(err))
				return
			}
			if d.c.knownFingerprint(addr, fp) {
				d.connect(addr, fp)
				return
			}
			d.showFingerprint(addr, fp)
		})
	})
}

// knownFingerprint: the organization already pins this certificate for
// this address, so there is nothing new to confirm.
func (c *Console) knownFingerprint(addr, fp string) bool {
	if c.org == nil {
		return false
	}
	for _, site := range c.org.org.Topology.Sites {
		for _, s := range site.Servers {
			if s.Fingerprint != "" && strings.EqualFold(s.Fingerprint, fp) && (strings.EqualFold(s.Address, addr) || strings.EqualFold(s.Name, addr)) {
				return true
			}
		}
	}
	return false
}

// showFingerprint asks the administrator to compare the certificate's
// fingerprint with the one the server printed when it started.
func (d *connectDialog) showFingerprint(addr, fp string) {
	d.fp, d.fpAddr = fp, addr
	d.fpNote.SetText("This is the first contact with " + addr + ". Compare this fingerprint with the one \"exserver run\" printed on the server (sha256:…). Connect only if they match: the console will refuse a different certificate from now on.")
	d.fpText.SetText(groupFingerprint(fp))
	d.fpBox.Show()
	d.ok.SetText("Trust and Connect")
	d.m.d.Refresh()
	if d.m.visible {
		d.c.win.Canvas().Focus(d.ok)
	}
}

func (d *connectDialog) connect(addr, fp string) {
	key := strings.TrimSpace(d.key.Text)
	d.setBusy("Connecting to " + addr + "…")
	d.c.goDo(func() {
		ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
		defer cancel()
		err := d.c.eng.Connect(ctx, addr, key, fp)
		d.c.do(func() {
			if d.closed {
				return
			}
			d.setBusy("")
			if err != nil {
				d.errLine.set("Could not connect to " + addr + ": " + oneLine(err))
				return
			}
			d.m.hide()
			d.c.opts.Demo = false   // connected elsewhere: no longer the demo
			d.c.exch.opened = false // open the new organization's sites
			d.c.refresh()
		})
	})
}
