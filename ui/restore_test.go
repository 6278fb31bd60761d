package ui

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"exbackup/engine"
)

// openRestore ticks sets of tape 2 (by number, in the order given) and
// opens Restore Information.
func openRestore(t *testing.T, c *Console, numbers ...int) *restoreDialog {
	t.Helper()
	c.tapes.selectTape(2)
	for _, n := range numbers {
		c.tapes.tick(c.tapes.currentSets()[n-1], true)
	}
	d := c.newRestoreDialog(c.tapes.tickedSets())
	d.m.show()
	return d
}

func (c *Console) fakeRestores() (checks, restores []engine.RestoreRequest) {
	f := c.eng.(*fakeEngine)
	f.locked(func() {
		checks = append(checks, f.checks...)
		restores = append(restores, f.restores...)
	})
	return
}

// One page per set in catalog order; the Directory page greys what does
// not apply.
func TestRestoreInformationPages(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	d := openRestore(t, c, 2, 1) // ticked IS first: the pages keep catalog order
	if len(d.pages) != 2 || d.pages[0].set.Number != 1 || d.pages[1].set.Number != 2 {
		t.Fatalf("pages = %+v", d.pages)
	}
	top := overlayTop(c)
	for _, want := range []string{"Backup Set Information (Set 1 of 2)", "Tape created on 11/24/2026", "Set 1: nightly", "11/24/2026 10:01 PM", "admin@backup01", `\\EXCH01 Microsoft Directory (Normal)`, dsOnlyOriginal} {
		if !hasText(top, want) {
			t.Errorf("page 1 does not show %q: %q", want, labelTexts(top))
		}
	}
	if !d.dest.Disabled() || d.dest.Text != "EXCH01" || !d.private.Disabled() || !d.public.Disabled() || d.private.Checked || d.public.Checked {
		t.Errorf("DS page: destination %q disabled %v, private %v/%v public %v/%v", d.dest.Text, d.dest.Disabled(), d.private.Checked, d.private.Disabled(), d.public.Checked, d.public.Disabled())
	}
	if d.erase.Disabled() || d.start.Disabled() || d.verify.Disabled() || d.erase.Checked || d.start.Checked || d.verify.Checked {
		t.Error("DS page: Erase, Start Service and Verify stay available, unticked")
	}
	if !d.prev.Disabled() || d.next.Disabled() {
		t.Error("first page: Previous greyed, Next available")
	}

	test.Tap(d.next)
	top = overlayTop(c)
	if !hasText(top, "Backup Set Information (Set 2 of 2)") || hasText(top, dsOnlyOriginal) {
		t.Errorf("page 2: %q", labelTexts(top))
	}
	if d.dest.Disabled() || d.dest.Text != "EXCH01" || !d.private.Checked || !d.public.Checked || d.private.Disabled() {
		t.Errorf("IS page defaults: dest %q private %v public %v", d.dest.Text, d.private.Checked, d.public.Checked)
	}
	if d.prev.Disabled() || !d.next.Disabled() {
		t.Error("last page: Previous available, Next greyed")
	}
	if c.win.Canvas().Focused() != d.dest {
		t.Errorf("IS page focuses the destination, got %T", c.win.Canvas().Focused())
	}

	// Values are kept per page.
	test.Tap(d.erase)
	d.dest.SetText("EXCH02")
	test.Tap(d.prev)
	if d.erase.Checked || d.dest.Text != "EXCH01" {
		t.Error("page 1 keeps its own values")
	}
	test.Tap(d.next)
	if !d.erase.Checked || d.dest.Text != "EXCH02" {
		t.Error("page 2 kept Erase and its destination")
	}
}

// An incremental whose full set is not restored before it warns on its page.
func TestRestoreChainWarning(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	d := openRestore(t, c, 1, 3)
	d.showPage(1)
	want := "Set 3 is an incremental backup of Microsoft Information Store: restore the full set of its chain first"
	if !d.chain.Visible() || !strings.HasPrefix(d.chain.Text, want) {
		t.Errorf("chain warning = %q (visible %v)", d.chain.Text, d.chain.Visible())
	}
	d.m.hide()
	c.tapes.tickAll(false)
	d = openRestore(t, c, 2, 3)
	for i := range d.pages {
		d.showPage(i)
		if d.chain.Visible() {
			t.Errorf("page %d warns though its full set comes first: %q", i+1, d.chain.Text)
		}
	}
}

// A chain is one store on one destination: the full set sent to EXCH02
// does not begin the chain of its incremental restored to EXCH01, and the
// page says so; sent to the same server, they are one chain again.
func TestRestoreChainIsPerDestination(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	d := openRestore(t, c, 2, 3)
	d.dest.SetText("EXCH02")
	d.erase.SetChecked(true)
	d.showPage(1)
	if !d.chain.Visible() || !strings.Contains(d.chain.Text, "Set 3 is an incremental backup") {
		t.Errorf("incremental onto EXCH01 after its full went to EXCH02: %q (visible %v)", d.chain.Text, d.chain.Visible())
	}
	d.dest.SetText("EXCH02")
	d.showPage(0)
	d.showPage(1)
	if d.chain.Visible() {
		t.Errorf("full and incremental both onto EXCH02: %q", d.chain.Text)
	}
}

// Erase, Private and Public are chosen on a chain's full set: an
// incremental's page greys them, and never refuses the restore for them.
func TestRestoreIncrementalTakesItsChainsOptions(t *testing.T) {
	c, q := newTestConsole(t, newFakeEngine())
	d := openRestore(t, c, 3)
	if !d.private.Disabled() || !d.public.Disabled() || !d.erase.Disabled() || d.dest.Disabled() {
		t.Errorf("incremental page: private %v public %v erase %v dest %v disabled", d.private.Disabled(), d.public.Disabled(), d.erase.Disabled(), d.dest.Disabled())
	}
	if !d.dsNote.Visible() || d.dsNote.Text != engine.NoteChainOption {
		t.Errorf("note = %q (visible %v)", d.dsNote.Text, d.dsNote.Visible())
	}
	d.dest.SetText("EXCH02") // joins a chain begun on EXCH02 earlier
	test.Tap(d.ok)
	q.until(t, "the check", func() bool { checks, _ := c.fakeRestores(); return len(checks) == 1 })
	if d.errLine.Visible() {
		t.Errorf("refused: %q", d.errLine.Text)
	}
	checks, _ := c.fakeRestores()
	if got := checks[0].Sets[0]; got.Destination != "EXCH02" || got.Private || got.Public || got.Erase {
		t.Errorf("request: %+v", got)
	}
}

func TestRestoreInformationValidation(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	d := openRestore(t, c, 1, 2)
	d.showPage(1)
	try := func() string {
		d.errLine.set("")
		d.submit()
		if d.errLine.Visible() {
			return d.errLine.Text
		}
		return ""
	}
	d.private.SetChecked(false)
	d.public.SetChecked(false)
	d.showPage(0) // the error brings the page back
	if got := try(); got != "Set 2 of 2: Choose Private, Public or both." || d.cur != 1 {
		t.Errorf("neither store: %q on page %d", got, d.cur+1)
	}
	d.private.SetChecked(true)
	d.dest.SetText("EXCH02")
	if got := try(); got != "Set 2 of 2: Restoring to another server (EXCH02) requires Erase all existing data and both Private and Public." {
		t.Errorf("other server: %q", got)
	}
	d.dest.SetText("exch01") // Exchange compares server names case-sensitively
	if got := try(); got == "" {
		t.Error("exch01 is another server than EXCH01 to Exchange")
	}
	if checks, _ := c.fakeRestores(); len(checks) != 0 {
		t.Errorf("the engine was asked %d times about an invalid form", len(checks))
	}
}

// OK: the engine's rules and warnings come first; a warning is confirmed.
func TestRestoreInformationOK(t *testing.T) {
	eng := newFakeEngine()
	eng.checkWarnings = []string{"Set 3 is an incremental: restore the full set first"}
	c, q := newTestConsole(t, eng)
	d := openRestore(t, c, 1, 2)
	d.showPage(1)
	d.dest.SetText("EXCH02")
	test.Tap(d.erase)
	test.Tap(d.start)
	d.logLevel.SetSelected(logFull)
	test.Tap(d.ok)
	q.until(t, "the warning", func() bool { return hasText(overlayTop(c), "Restore anyway?") })
	if !hasText(overlayTop(c), "Set 3 is an incremental: restore the full set first") {
		t.Errorf("warning dialog: %q", labelTexts(overlayTop(c)))
	}
	c.typedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	q.until(t, "the restore", func() bool {
		_, r := c.fakeRestores()
		return len(r) == 1 && c.running == nil
	})
	checks, restores := c.fakeRestores()
	want := engine.RestoreRequest{
		Sets: []engine.RestoreSet{
			{Tape: "Tape created on 11/24/2026", Set: 1, Destination: "EXCH01"},
			{Tape: "Tape created on 11/24/2026", Set: 2, Destination: "EXCH02", Erase: true, Private: true, Public: true, Start: true},
		},
		Log: engine.LogOptions{Path: "/home/admin/.local/share/exbackup/Backup.log", Level: engine.LogFull},
	}
	if !reflect.DeepEqual(checks[0], want) || !reflect.DeepEqual(restores[0], want) {
		t.Errorf("engine got check %+v restore %+v\nwant %+v", checks[0], restores[0], want)
	}
	if d.m.visible {
		t.Error("Restore Information closes when the restore starts")
	}
}

func TestRestoreInformationEngineRefuses(t *testing.T) {
	eng := newFakeEngine()
	eng.checkErr = errors.New("tape \"Tape created on 11/24/2026\" set 1: the Directory restores only to its original server EXCH01")
	c, q := newTestConsole(t, eng)
	d := openRestore(t, c, 1)
	d.keys.ok() // Enter
	q.until(t, "the check", func() bool { return d.errLine.Visible() })
	if d.errLine.Text != "Tape \"Tape created on 11/24/2026\" set 1: the Directory restores only to its original server EXCH01" || !d.m.visible {
		t.Errorf("error = %q", d.errLine.Text)
	}
	if _, r := c.fakeRestores(); len(r) != 0 {
		t.Error("no restore after a refusal")
	}
	d.erase.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if d.m.visible {
		t.Error("Escape cancels Restore Information")
	}
}

func TestRestoreNothingTicked(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	c.Restore()
	if !hasText(overlayTop(c), "Select the sets to restore") {
		t.Errorf("got %q", labelTexts(overlayTop(c)))
	}
}
