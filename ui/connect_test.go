package ui

import (
	"errors"
	"reflect"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

func (c *Console) fakeConnects() (fetched []string, connects [][3]string) {
	f := c.eng.(*fakeEngine)
	f.locked(func() {
		fetched = append(fetched, f.fetched...)
		connects = append(connects, f.connects...)
	})
	return
}

func TestConnectValidation(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	d := c.newConnectDialog()
	d.m.show()
	if c.win.Canvas().Focused() != d.server || d.ok.Text != "OK" {
		t.Fatalf("focus %T, OK %q", c.win.Canvas().Focused(), d.ok.Text)
	}
	d.submit()
	if d.errLine.Text != "Enter the name or address of a server of the organization." {
		t.Errorf("no server: %q", d.errLine.Text)
	}
	test.Type(d.server, "exch01:7401")
	d.submit()
	if d.errLine.Text != "Enter the organization's access key." {
		t.Errorf("no key: %q", d.errLine.Text)
	}
	if fetched, _ := c.fakeConnects(); len(fetched) != 0 {
		t.Error("nothing is contacted before the form is complete")
	}
}

// First contact: the fingerprint is shown and confirmed before Connect.
func TestConnectFingerprintConfirmation(t *testing.T) {
	eng := newFakeEngine()
	c, q := newTestConsole(t, eng)
	d := c.newConnectDialog()
	d.m.show()
	test.Type(d.server, "exch09:7401")
	test.Type(d.key, "s3cret")
	d.key.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn}) // Enter = OK
	q.until(t, "the fingerprint", func() bool { return d.fpBox.Visible() })
	if d.ok.Text != "Trust and Connect" {
		t.Errorf("OK reads %q", d.ok.Text)
	}
	wantFP := "SHA256\n3F9A 2C41 D07B E58E 6A1F 4C3B 92D8 E07A\n5C6B 1D2E 3F4A 5B6C 7D8E 9F0A 1B2C 3D4E"
	if d.fpText.Text != wantFP {
		t.Errorf("fingerprint shown as %q", d.fpText.Text)
	}
	if _, connects := c.fakeConnects(); len(connects) != 0 {
		t.Fatal("connected before the fingerprint was confirmed")
	}
	eng.locked(func() { eng.org.Topology.Organization = "Second Organization" })
	test.Tap(d.ok)
	q.until(t, "the connection and the new organization", func() bool {
		return !d.m.visible && c.org != nil && c.org.org.Topology.Organization == "Second Organization"
	})
	fetched, connects := c.fakeConnects()
	if !reflect.DeepEqual(fetched, []string{"exch09:7401"}) || !reflect.DeepEqual(connects, [][3]string{{"exch09:7401", "s3cret", eng.fingerprint}}) {
		t.Errorf("fetched %q connects %q", fetched, connects)
	}
	if !c.exch.tree.IsBranchOpen("org") {
		t.Error("the tree shows the whole organization")
	}
}

// Changing the server after the fingerprint was shown asks again.
func TestConnectServerChangedForgetsFingerprint(t *testing.T) {
	c, q := newTestConsole(t, newFakeEngine())
	d := c.newConnectDialog()
	d.m.show()
	test.Type(d.server, "exch09:7401")
	test.Type(d.key, "k")
	d.submit()
	q.until(t, "the fingerprint", func() bool { return d.fpBox.Visible() })
	test.Type(d.server, "0")
	if d.fpBox.Visible() || d.ok.Text != "OK" {
		t.Error("a different server needs its own fingerprint")
	}
}

// A server whose certificate the organization already pins connects at once.
func TestConnectKnownFingerprint(t *testing.T) {
	eng := newFakeEngine()
	eng.fingerprint = "sha256:aa" // EXCH01's in the sample topology
	c, q := newTestConsole(t, eng)
	d := c.newConnectDialog()
	d.m.show()
	d.server.SetText("exch01:7401")
	d.key.SetText("k")
	d.submit()
	q.until(t, "the connection", func() bool { _, cs := c.fakeConnects(); return len(cs) == 1 })
	q.until(t, "the dialog to close", func() bool { return !d.m.visible })
}

func TestConnectErrors(t *testing.T) {
	eng := newFakeEngine()
	eng.fetchErr = errors.New("dial tcp 10.0.0.9:7401: connect: connection refused")
	c, q := newTestConsole(t, eng)
	d := c.newConnectDialog()
	d.m.show()
	d.server.SetText("10.0.0.9:7401")
	d.key.SetText("k")
	d.submit()
	if !d.server.Disabled() || !d.busyBox.Visible() {
		t.Error("the form waits while the server is contacted")
	}
	q.until(t, "the error", func() bool { return d.errLine.Visible() })
	if d.errLine.Text != "Could not reach 10.0.0.9:7401: Dial tcp 10.0.0.9:7401: connect: connection refused" || d.server.Disabled() {
		t.Errorf("error = %q", d.errLine.Text)
	}
	eng.locked(func() { eng.fetchErr, eng.connectErr = nil, errors.New("the access key is wrong") })
	d.submit()
	q.until(t, "the fingerprint", func() bool { return d.fpBox.Visible() })
	d.submit()
	q.until(t, "the error", func() bool { return d.errLine.Visible() })
	if d.errLine.Text != "Could not connect to 10.0.0.9:7401: The access key is wrong" || !d.m.visible {
		t.Errorf("error = %q", d.errLine.Text)
	}
	d.cancel.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if d.m.visible || d.ctx.Err() == nil {
		t.Error("Cancel closes the dialog and cancels what it waits for")
	}
}
