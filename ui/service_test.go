package ui

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"exbackup/engine"
	"exbackup/exchange"
)

// overlayText is the text of the labels in the dialog on top.
func overlayText(c *Console) string {
	top := c.win.Canvas().Overlays().Top()
	if top == nil {
		return ""
	}
	var b strings.Builder
	for _, l := range find[*widget.Label](top) {
		b.WriteString(l.Text + "\n")
	}
	return b.String()
}

func (f *fakeEngine) fakeServices() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.services...)
}

// Operations > Start Service starts the selected store and says what its
// recovery did; a warning shows as one.
func TestStartServiceShowsTheRecovery(t *testing.T) {
	eng := newFakeEngine()
	eng.serviceRes = exchange.RestoreResult{Recovered: true, Messages: []string{"Hard recovery replayed the restored logs through LSN 7."}}
	c, q := newTestConsole(t, eng)
	c.StartService()
	if !strings.Contains(overlayText(c), "Select a Directory or Information Store") {
		t.Fatalf("without a selection: %q", overlayText(c))
	}
	c.keys[len(c.keys)-1].ok()
	c.exch.tree.Select(uidStore("EXCH01", exchange.StoreIS))
	c.StartService()
	q.until(t, "the start", func() bool { return len(eng.fakeServices()) == 1 && len(c.keys) > 0 })
	if got := eng.fakeServices()[0]; got != "start IS EXCH01" {
		t.Fatalf("engine got %q", got)
	}
	if txt := overlayText(c); !strings.Contains(txt, "through LSN 7") || !strings.Contains(txt, "recovered and started") {
		t.Fatalf("result dialog: %q", txt)
	}
	c.keys[len(c.keys)-1].ok()

	eng.serviceRes = exchange.RestoreResult{Recovered: true, Warnings: []string{"Roll-forward stopped: a generation is missing."}}
	c.StartService()
	q.until(t, "the second start", func() bool { return len(eng.fakeServices()) == 2 && len(c.keys) > 0 })
	if txt := overlayText(c); !strings.Contains(txt, "Completed with a warning: Roll-forward stopped") {
		t.Fatalf("warning dialog: %q", txt)
	}
}

// Stop Service under a running backup: the server's refusal is shown.
func TestStopServiceRefusedDuringBackup(t *testing.T) {
	eng := newFakeEngine()
	eng.serviceErr = exchange.Errorf(exchange.CodeConflict, "the Microsoft Information Store on EXCH01 is not stopped: a Normal backup of it is streaming")
	c, q := newTestConsole(t, eng)
	c.exch.tree.Select(uidStore("EXCH01", exchange.StoreIS))
	c.StopService()
	c.keys[len(c.keys)-1].ok() // confirm
	q.until(t, "the stop", func() bool { return len(eng.fakeServices()) == 1 && len(c.keys) > 0 })
	if txt := overlayText(c); !strings.Contains(txt, "Normal backup of it is streaming") || !strings.Contains(txt, "Try again when the backup has ended") {
		t.Fatalf("refusal: %q", txt)
	}
}

// A restore whose roll-forward could not happen ends with a warning, not
// "Operation completed".
func TestRestoreWarningIsNotOperationCompleted(t *testing.T) {
	eng := newFakeEngine()
	eng.restoreRes = engine.RestoreResult{Warnings: []string{"Roll-forward stopped: changes made after the backup are not in the store."}}
	c, q := newTestConsole(t, eng)
	c.startRestore(engine.RestoreRequest{Sets: []engine.RestoreSet{{Tape: "Tape created on 11/24/2026", Set: 2}}})
	sd := c.running
	q.until(t, "the restore", func() bool { return c.running == nil })
	if !strings.HasPrefix(sd.result.Text, "Completed with a warning: Roll-forward stopped") || sd.result.Importance != widget.WarningImportance {
		t.Fatalf("result %q (%v)", sd.result.Text, sd.result.Importance)
	}
}

// poll is until for a condition that changes off the UI goroutine, with
// nothing posted to the queue.
func (q *uiQueue) poll(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case f := <-q.ch:
			f()
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// StopServiceAfterBackup waits for what the test sends on backupEnds, or
// for the console to stop waiting.
func (f *fakeEngine) StopServiceAfterBackup(ctx context.Context, server string, id exchange.StoreID) error {
	f.service("stop-after-backup", server, id)
	select {
	case err := <-f.backupEnds:
		return err
	case <-ctx.Done():
		return fmt.Errorf("stopped waiting for the backup of the %s on %s to finish: %w", id.Title(), server, ctx.Err())
	}
}

func streamingRefusal() *engine.BackupStreamingError {
	return &engine.BackupStreamingError{Server: "EXCH01", Backup: exchange.BackupInProgress{Store: exchange.StoreIS, Type: exchange.Normal},
		Err: exchange.Errorf(exchange.CodeConflict, "the Microsoft Information Store on EXCH01 is not stopped: a Normal backup of it is streaming (started 9:12:03 AM); stop it when the backup has ended")}
}

const waitingLine = "Waiting for the backup of the Information Store on EXCH01 to finish…"

// Stop Service under a streaming backup offers to wait; waiting shows
// what it waits for with a Cancel, runs off the UI goroutine, and stops
// the service when the backup has ended. Cancel stops waiting.
func TestStopServiceOffersToWaitForTheBackup(t *testing.T) {
	eng := newFakeEngine()
	eng.serviceErr = streamingRefusal()
	eng.backupEnds = make(chan error)
	c, q := newTestConsole(t, eng)
	c.exch.tree.Select(uidStore("EXCH01", exchange.StoreIS))

	offer := func() {
		t.Helper()
		n := len(eng.fakeServices())
		c.StopService()
		c.keys[len(c.keys)-1].ok() // confirm
		q.until(t, "the refusal", func() bool { return len(eng.fakeServices()) == n+1 && len(c.keys) > 0 })
		if txt := overlayText(c); !strings.Contains(txt, "Normal backup of it is streaming") {
			t.Fatalf("refusal: %q", txt)
		}
		button(t, overlayTop(c), "Cancel")
	}

	// Cancel: nothing more is asked of the engine.
	offer()
	test.Tap(button(t, overlayTop(c), "Cancel"))
	q.drain()
	if len(c.keys) != 0 || len(eng.fakeServices()) != 1 {
		t.Fatalf("after Cancel: %d dialogs, engine got %v", len(c.keys), eng.fakeServices())
	}

	// Wait, then the backup ends: the service is stopped.
	offer()
	test.Tap(button(t, overlayTop(c), "Wait for the backup to finish"))
	q.poll(t, "the wait", func() bool { return len(eng.fakeServices()) == 3 })
	if got := eng.fakeServices()[2]; got != "stop-after-backup IS EXCH01" {
		t.Fatalf("engine got %q", got)
	}
	if txt := overlayText(c); !strings.Contains(txt, waitingLine) || c.statusBar.activity.Text != waitingLine {
		t.Fatalf("while waiting: dialog %q, status bar %q", txt, c.statusBar.activity.Text)
	}
	button(t, overlayTop(c), "Cancel")
	eng.backupEnds <- nil
	q.until(t, "the stop", func() bool {
		return strings.Contains(overlayText(c), "Stopped the Microsoft Information Store on EXCH01.")
	})
	c.keys[len(c.keys)-1].ok()

	// Wait, then Cancel: the service is not stopped, and the console says so.
	offer()
	test.Tap(button(t, overlayTop(c), "Wait for the backup to finish"))
	q.until(t, "the second wait", func() bool { return strings.Contains(overlayText(c), waitingLine) })
	test.Tap(button(t, overlayTop(c), "Cancel"))
	q.until(t, "the end of the wait", func() bool {
		return strings.Contains(overlayText(c), "The Microsoft Information Store on EXCH01 was not stopped: the console stopped waiting for the backup.")
	})
}

// A restore whose service stop is refused for a backup asks over Restore
// Status: waiting lets it go on; Cancel fails it with the refusal.
func TestRestoreOffersToWaitForTheBackup(t *testing.T) {
	eng := newFakeEngine()
	eng.restoreBusy = streamingRefusal()
	c, q := newTestConsole(t, eng)
	req := engine.RestoreRequest{Sets: []engine.RestoreSet{{Tape: "Tape created on 11/24/2026", Set: 2}}}

	c.startRestore(req)
	sd := c.running
	q.until(t, "the offer", func() bool { return strings.Contains(overlayText(c), "Normal backup of it is streaming") })
	test.Tap(button(t, overlayTop(c), "Wait for the backup to finish"))
	q.until(t, "the restore", func() bool { return c.running == nil })
	if sd.result.Text != "Operation completed" || len(eng.restores) != 1 {
		t.Fatalf("result %q, %d restores", sd.result.Text, len(eng.restores))
	}
	sd.m.hide()

	c.startRestore(req)
	sd = c.running
	q.until(t, "the second offer", func() bool { return strings.Contains(overlayText(c), "Normal backup of it is streaming") })
	test.Tap(button(t, overlayTop(c), "Cancel"))
	q.until(t, "the restore", func() bool { return c.running == nil })
	if !strings.Contains(sd.result.Text, "Normal backup of it is streaming") || len(eng.restores) != 1 {
		t.Fatalf("result %q, %d restores", sd.result.Text, len(eng.restores))
	}
}

// menuItems are the items of the pop-up menu on top, as the menu shows
// them.
func menuItems(t *testing.T, c *Console) (*widget.PopUpMenu, map[string]*fyne.MenuItem, map[string]fyne.Tappable) {
	t.Helper()
	top := overlayTop(c)
	pms := find[*widget.PopUpMenu](top)
	if top == nil || len(pms) != 1 {
		t.Fatalf("no context menu on top: %T", top)
	}
	pm := pms[0]
	items, taps := map[string]*fyne.MenuItem{}, map[string]fyne.Tappable{}
	for _, o := range pm.Items {
		// Fyne's menu rows are unexported; each holds its *fyne.MenuItem
		// in the exported field Item.
		v := reflect.ValueOf(o).Elem().FieldByName("Item")
		if !v.IsValid() {
			continue // a separator
		}
		it := v.Interface().(*fyne.MenuItem)
		items[it.Label], taps[it.Label] = it, o.(fyne.Tappable)
	}
	return pm, items, taps
}

// stagedSampleOrg is sampleOrg with a restore staged on EXCH01's
// Information Store (restore-pending) and EXCH02 not answering.
func stagedSampleOrg() engine.Org {
	org := sampleOrg()
	ex1 := org.Status["EXCH01"]
	ex1.IS = exchange.RestorePending
	ex1.Restores = []exchange.StagedRestore{{Store: exchange.StoreIS, Sets: []exchange.StagedSet{{Type: exchange.Normal, Server: "EXCH01", Created: testNow}}}}
	org.Status["EXCH01"] = ex1
	org.Unreachable = map[string]string{"EXCH02": "connection refused"}
	return org
}

// Right-clicking a store in the Microsoft Exchange window opens its
// context menu, its items enabled by the store's state; Cancel Restore on
// a store with a staged restore asks the engine, after confirmation, and
// shows what it said.
func TestStoreContextMenu(t *testing.T) {
	eng := newFakeEngine()
	eng.org = stagedSampleOrg()
	eng.serviceRes = exchange.RestoreResult{Messages: []string{"The staged restore of the Microsoft Information Store on EXCH01 was dropped."}}
	c, q := newTestConsole(t, eng)
	c.exch.expandAll()

	want := map[string]map[string]bool{ // store → item → enabled
		"store/EXCH01/DS": {"Start Service": false, "Stop Service": true, "Cancel Restore": false},
		"store/EXCH01/IS": {"Start Service": true, "Stop Service": false, "Cancel Restore": true},
		"store/EXCH03/IS": {"Start Service": true, "Stop Service": false, "Cancel Restore": false},
		"store/EXCH02/IS": {"Start Service": false, "Stop Service": false, "Cancel Restore": false},
	}
	for uid, items := range want {
		test.TapSecondary(row(t, c, uid))
		if c.exch.selected != uid {
			t.Errorf("right-clicking %s selected %q", uid, c.exch.selected)
		}
		pm, got, _ := menuItems(t, c)
		if len(got) != 3 {
			t.Errorf("%s: menu items %v", uid, got)
		}
		for label, enabled := range items {
			if it := got[label]; it == nil || it.Disabled == enabled {
				t.Errorf("%s: %q enabled should be %v (%+v)", uid, label, enabled, it)
			}
		}
		pm.Hide()
	}
	// Right-clicking a server opens nothing.
	test.TapSecondary(row(t, c, "server/EXCH01"))
	if top := overlayTop(c); top != nil && len(find[*widget.PopUpMenu](top)) > 0 {
		t.Error("a server has a context menu")
	}

	// A disabled item does nothing; Cancel Restore asks, then calls the engine.
	test.TapSecondary(row(t, c, "store/EXCH01/IS"))
	_, _, taps := menuItems(t, c)
	test.Tap(taps["Stop Service"])
	if len(c.keys) != 0 {
		t.Fatal("the disabled Stop Service opened a dialog")
	}
	test.TapSecondary(row(t, c, "store/EXCH01/IS"))
	_, _, taps = menuItems(t, c)
	test.Tap(taps["Cancel Restore"])
	if txt := overlayText(c); !strings.Contains(txt, "Drop the restore staged on the Microsoft Information Store on EXCH01?") {
		t.Fatalf("confirmation: %q", txt)
	}
	test.Tap(button(t, overlayTop(c), "Drop"))
	q.until(t, "the cancel", func() bool { return len(eng.fakeServices()) == 1 && len(c.keys) > 0 })
	if got := eng.fakeServices()[0]; got != "cancel IS EXCH01" {
		t.Fatalf("engine got %q", got)
	}
	if txt := overlayText(c); !strings.Contains(txt, "The staged restore of the Microsoft Information Store on EXCH01 was dropped.") {
		t.Fatalf("result: %q", txt)
	}
}

// serviceItems says which of Operations > Start Service, Stop Service and
// Cancel Restore are enabled, as the window's main menu holds them.
func serviceItems(t *testing.T, c *Console) [3]bool {
	t.Helper()
	var ops *fyne.Menu
	for _, m := range c.win.MainMenu().Items {
		if m.Label == "Operations" {
			ops = m
		}
	}
	if ops == nil {
		t.Fatal("no Operations menu")
	}
	var got [3]bool
	seen := 0
	for _, it := range ops.Items {
		for i, label := range []string{"Start Service", "Stop Service", "Cancel Restore"} {
			if it.Label == label {
				got[i] = !it.Disabled
				seen++
			}
		}
	}
	if seen != 3 {
		t.Fatalf("Operations has %d of the service items", seen)
	}
	return got
}

// The Operations menu's service items are enabled exactly when the
// selected store's state allows them, as its context menu is; nothing
// selected, a server, a server that does not answer, or an organization
// that could not be read enable none. They follow the selection and every
// read of the states.
func TestOperationsServiceItemsFollowTheSelectedStore(t *testing.T) {
	eng := newFakeEngine()
	eng.org = stagedSampleOrg()
	c, q := newTestConsole(t, eng)
	none := [3]bool{}
	if got := serviceItems(t, c); got != none {
		t.Fatalf("with nothing selected: %v", got)
	}

	for _, tc := range []struct {
		uid  string
		want [3]bool // Start, Stop, Cancel Restore
	}{
		{"store/EXCH01/DS", [3]bool{false, true, false}}, // running
		{"store/EXCH01/IS", [3]bool{true, false, true}},  // restore-pending, staged
		{"store/EXCH03/IS", [3]bool{true, false, false}}, // stopped
		{"store/EXCH02/IS", none},                        // the server does not answer
		{"server/EXCH01", none},                          // not a store
		{"site/Redmond", none},                           // not a store
		{"store/EXCH03/DS", [3]bool{false, true, false}}, // running
	} {
		c.exch.tree.Select(tc.uid)
		if c.exch.selected != tc.uid {
			t.Fatalf("%s is not selected (%q)", tc.uid, c.exch.selected)
		}
		if got := serviceItems(t, c); got != tc.want {
			t.Errorf("%s: Start, Stop, Cancel Restore enabled %v, want %v", tc.uid, got, tc.want)
		}
		// The context menu decides alike.
		if ix := c.exch.ix.nodes[tc.uid]; ix.kind == kindStore {
			m := c.storeMenu(ix.server, ix.store)
			ctx := [3]bool{!m.Items[0].Disabled, !m.Items[1].Disabled, !m.Items[3].Disabled}
			if ctx != tc.want {
				t.Errorf("%s: context menu %v, Operations %v", tc.uid, ctx, tc.want)
			}
		}
	}
	c.exch.tree.UnselectAll()
	if got := serviceItems(t, c); got != none {
		t.Fatalf("after unselecting: %v", got)
	}

	// The store's service starts (here, elsewhere): a refresh reads it.
	c.exch.tree.Select("store/EXCH03/IS")
	eng.locked(func() {
		o := sampleOrg()
		ex3 := o.Status["EXCH03"]
		ex3.IS = exchange.Running
		o.Status["EXCH03"] = ex3
		eng.org = o
	})
	c.refresh()
	q.until(t, "Stop Service enabled for the started store", func() bool { return serviceItems(t, c) == [3]bool{false, true, false} })

	// The organization cannot be read: its states are unknown.
	eng.locked(func() { eng.orgErr = fmt.Errorf("the directory on EXCH01 does not answer") })
	c.refreshOrg()
	q.until(t, "the failed read", func() bool { return c.exch.errText != "" })
	if got := serviceItems(t, c); got != none {
		t.Fatalf("after a failed read: %v", got)
	}
	eng.locked(func() { eng.orgErr = nil })
	c.refreshOrg()
	q.until(t, "the next read", func() bool { return c.exch.errText == "" && c.orgGen > 0 })
	q.until(t, "Stop Service enabled again", func() bool { return serviceItems(t, c) == [3]bool{false, true, false} })

	// A restore staged on it: Cancel Restore, and Start Service to recover it.
	eng.locked(func() {
		o := sampleOrg()
		ex3 := o.Status["EXCH03"]
		ex3.IS = exchange.RestorePending
		ex3.Restores = []exchange.StagedRestore{{Store: exchange.StoreIS}}
		o.Status["EXCH03"] = ex3
		eng.org = o
	})
	c.refreshOrg()
	q.until(t, "the staged restore", func() bool { return serviceItems(t, c) == [3]bool{true, false, true} })
}

// While a dialog is up the menu items that act do nothing, so they are
// disabled; closing it enables them again, the service items by the
// selected store's state.
func TestMenuItemsDisabledUnderADialog(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	c.exch.tree.Select("store/EXCH01/DS") // running
	acting := []string{"backup", "restore", "export-items", "catalog", "catalog-file", "verify", "connect", "erase", "keys",
		"expand-one", "expand-branch", "expand-all", "collapse", "refresh", "cascade", "tile", "win-exchange", "win-tapes", "about"}
	for _, k := range acting {
		if c.menuItems[k].Disabled {
			t.Errorf("%s disabled with no dialog up", k)
		}
	}
	c.About()
	for _, k := range append(acting, "stop-service") {
		if !c.menuItems[k].Disabled {
			t.Errorf("%s enabled under the About dialog", k)
		}
	}
	for _, k := range []string{"statusbar", "toolbar", "theme-light"} {
		if c.menuItems[k].Disabled {
			t.Errorf("%s disabled under a dialog: it still works", k)
		}
	}
	c.keys[len(c.keys)-1].ok()
	if len(c.keys) != 0 {
		t.Fatal("the About dialog is still up")
	}
	for _, k := range acting {
		if c.menuItems[k].Disabled {
			t.Errorf("%s disabled after the dialog closed", k)
		}
	}
	if got := serviceItems(t, c); got != [3]bool{false, true, false} {
		t.Errorf("service items after the dialog closed: %v", got)
	}
}
