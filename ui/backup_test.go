package ui

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"exbackup/catalog"
	"exbackup/engine"
	"exbackup/exchange"
)

// labelTexts are the texts of the labels under o.
func labelTexts(o fyne.CanvasObject) []string {
	var out []string
	for _, l := range find[*widget.Label](o) {
		if l.Visible() {
			out = append(out, l.Text)
		}
	}
	return out
}

func hasText(o fyne.CanvasObject, s string) bool {
	for _, t := range labelTexts(o) {
		if strings.Contains(t, s) {
			return true
		}
	}
	return false
}

func openBackup(t *testing.T, c *Console, uids ...string) *backupDialog {
	t.Helper()
	for _, u := range uids {
		c.exch.setTick(u, true)
	}
	d := c.newBackupDialog(c.exch.selectedStores())
	d.m.show()
	return d
}

func TestBackupInformationDefaults(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	d := openBackup(t, c, "server/EXCH01")
	top := overlayTop(c)
	for _, want := range []string{"Tape created on 11/24/2026", "11/24/2026 10:00 PM", "admin@backup01",
		`\\EXCH01 Microsoft Directory`, `\\EXCH01 Microsoft Information Store`, "Backup Set Information (2 sets)", "(" + noHardwareCompression + ")"} {
		if !hasText(top, want) {
			t.Errorf("Backup Information does not show %q", want)
		}
	}
	if d.tapeName.Text != "Tape created on 11/24/2026" {
		t.Errorf("appending, the greyed tape name is the tape's: %q", d.tapeName.Text)
	}
	if d.operation.Selected() != opAppend || !d.tapeName.Disabled() || !d.restrict.Disabled() {
		t.Errorf("an existing tape: Append (%q), tape name and Restrict greyed (%v %v)", d.operation.Selected(), d.tapeName.Disabled(), d.restrict.Disabled())
	}
	if d.verify.Checked || d.restrict.Checked || d.hwComp.Checked || !d.hwComp.Disabled() {
		t.Error("Verify, Restrict off; Hardware Compression off and greyed")
	}
	if d.backupType.Selected != "Normal" || !reflect.DeepEqual(d.backupType.Options, []string{"Normal", "Copy", "Incremental", "Differential"}) {
		t.Errorf("backup type = %q of %v", d.backupType.Selected, d.backupType.Options)
	}
	if d.logFile.Text != "/home/admin/.local/share/exbackup/Backup.log" || d.logLevel.Selected() != logSummary {
		t.Errorf("log = %q %q", d.logFile.Text, d.logLevel.Selected())
	}
	if c.win.Canvas().Focused() != d.operation.item(opAppend) {
		t.Errorf("focus = %T", c.win.Canvas().Focused())
	}

	d.operation.SetSelected(opReplace)
	if d.tapeName.Disabled() || d.restrict.Disabled() {
		t.Error("Replace enables the tape name and Restrict Access")
	}
	d.logLevel.SetSelected(logNone)
	if !d.logFile.Disabled() {
		t.Error("Don't Log greys the log file")
	}
}

func TestBackupInformationBlankOrMissingTape(t *testing.T) {
	eng := newFakeEngine()
	eng.tapes = nil
	c, _ := newTestConsole(t, eng)
	d := openBackup(t, c, "store/EXCH01/IS")
	if d.operation.Selected() != opReplace || !d.operation.item(opAppend).Disabled() || d.tapeName.Disabled() {
		t.Errorf("no tape: Replace with Append greyed, got %q", d.operation.Selected())
	}
	if !hasText(overlayTop(c), "(blank tape)") || !hasText(overlayTop(c), "Backup Set Information (1 set)") {
		t.Errorf("labels = %q", labelTexts(overlayTop(c)))
	}
	d.m.hide()

	eng2 := newFakeEngine()
	c2, _ := newTestConsole(t, eng2)
	c2.tapes.selectTape(1) // the missing tape
	d2 := openBackup(t, c2, "store/EXCH01/IS")
	if d2.operation.Selected() != opReplace {
		t.Errorf("a missing tape cannot be appended to: %q", d2.operation.Selected())
	}
	if !hasText(overlayTop(c2), "Old tape (missing)") {
		t.Errorf("labels = %q", labelTexts(overlayTop(c2)))
	}
}

func TestBackupInformationValidation(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	d := openBackup(t, c, "server/EXCH01")
	submit := func() string {
		d.errLine.set("")
		d.submit()
		if !d.errLine.Visible() {
			return ""
		}
		return d.errLine.Text
	}

	d.operation.SetSelected(opReplace)
	d.tapeName.SetText("  ")
	if got := submit(); got != "Enter a name for the new tape." {
		t.Errorf("empty tape name: %q", got)
	}
	d.tapeName.SetText(strings.Repeat("x", 129))
	if got := submit(); got != "The tape name is too long (128 characters at most)." {
		t.Errorf("long tape name: %q", got)
	}
	d.tapeName.SetText("Weekly")
	d.logFile.SetText("")
	if got := submit(); got != "Enter a log file, or choose Don't Log." {
		t.Errorf("empty log file: %q", got)
	}
	d.logLevel.SetSelected(logNone)
	if _, msg := d.request(); msg != "" {
		t.Errorf("Don't Log needs no file: %q", msg)
	}
	d.m.hide()

	// What the servers' last states refuse.
	d = openBackup(t, c, "store/EXCH02/IS")
	d.backupType.SetSelected("Incremental")
	if _, msg := d.request(); msg != "EXCH02 uses circular logging: it keeps no logs for an incremental backup. Choose Normal or Copy." {
		t.Errorf("circular logging: %q", msg)
	}
	d.m.hide()
	c.exch.setTick("org", false)
	d = openBackup(t, c, "store/EXCH03/IS")
	if _, msg := d.request(); msg != "The Information Store of EXCH03 is stopped: an online backup needs it running." {
		t.Errorf("stopped service: %q", msg)
	}
	d.m.hide()
	if n := len(c.fakeBackups()); n != 0 {
		t.Errorf("%d backups started by invalid forms", n)
	}
}

func (c *Console) fakeBackups() []engine.BackupRequest {
	f := c.eng.(*fakeEngine)
	var out []engine.BackupRequest
	f.locked(func() { out = append(out, f.backups...) })
	return out
}

// OK: the engine gets the stores in tree order and the form's choices.
func TestBackupInformationOK(t *testing.T) {
	c, q := newTestConsole(t, newFakeEngine())
	c.exch.setTick("store/EXCH02/IS", true)
	c.exch.setTick("server/EXCH01", true)
	c.Backup()
	top := overlayTop(c)
	var d *backupDialog
	// Backup() opened the dialog: find its widgets through the overlay.
	for _, e := range find[*dlgEntry](top) {
		if e.Text == "Tape created on 11/24/2026" {
			d = &backupDialog{tapeName: e}
		}
	}
	if d == nil {
		t.Fatal("Backup Information is not open")
	}
	for _, ch := range find[*dlgCheck](top) {
		if ch.Text == "Verify After Backup" {
			test.Tap(ch)
		}
	}
	for _, e := range find[*dlgEntry](top) {
		if e.PlaceHolder == "e.g. nightly backup" {
			test.Type(e, "before upgrade")
		}
	}
	for _, s := range find[*dlgSelect](top) {
		s.SetSelected("Copy")
	}
	for _, b := range find[*dlgButton](top) {
		if b.Text == "OK" {
			test.Tap(b)
		}
	}
	q.until(t, "the backup to finish", func() bool { return c.running == nil && len(c.fakeBackups()) == 1 })
	got := c.fakeBackups()[0]
	want := engine.BackupRequest{
		Stores: []engine.StoreRef{
			{Server: "EXCH01", Store: exchange.StoreDS}, {Server: "EXCH01", Store: exchange.StoreIS}, {Server: "EXCH02", Store: exchange.StoreIS},
		},
		Type: exchange.Copy, TapeName: "Tape created on 11/24/2026", Append: true, Verify: true, Description: "before upgrade",
		Log: engine.LogOptions{Path: "/home/admin/.local/share/exbackup/Backup.log", Level: engine.LogSummary},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("engine got %+v\nwant %+v", got, want)
	}
}

// Replacing an existing tape asks first; Cancel starts nothing.
func TestBackupReplaceConfirmation(t *testing.T) {
	c, q := newTestConsole(t, newFakeEngine())
	d := openBackup(t, c, "store/EXCH01/DS")
	d.operation.SetSelected(opReplace)
	d.tapeName.SetText("Tape created on 11/24/2026")
	d.restrict.SetChecked(true)
	d.logLevel.SetSelected(logFull)
	test.Tap(d.ok)
	if !hasText(overlayTop(c), "Replacing the tape erases all sets on it. Continue?") {
		t.Fatalf("no confirmation: %q", labelTexts(overlayTop(c)))
	}
	if !hasText(overlayTop(c), "holds 4 backup sets") {
		t.Errorf("the confirmation says what is lost: %q", labelTexts(overlayTop(c)))
	}
	c.typedKey(&fyne.KeyEvent{Name: fyne.KeyEscape}) // Cancel
	if len(c.fakeBackups()) != 0 || !d.m.visible {
		t.Fatal("Cancel returns to Backup Information")
	}
	test.Tap(d.ok)
	c.typedKey(&fyne.KeyEvent{Name: fyne.KeyReturn}) // Replace
	q.until(t, "the backup", func() bool { return c.running == nil && len(c.fakeBackups()) == 1 })
	got := c.fakeBackups()[0]
	if got.Append || got.TapeName != "Tape created on 11/24/2026" || !got.Restrict || got.Log.Level != engine.LogFull || got.Type != exchange.Normal {
		t.Errorf("engine got %+v", got)
	}
	if d.m.visible {
		t.Error("Backup Information closes when the job starts")
	}
}

// A new tape name replaces nothing: no confirmation.
func TestBackupReplaceNewTapeNoConfirmation(t *testing.T) {
	c, q := newTestConsole(t, newFakeEngine())
	d := openBackup(t, c, "store/EXCH01/DS")
	d.operation.SetSelected(opReplace)
	d.tapeName.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn}) // Enter = OK
	q.until(t, "the backup", func() bool { return c.running == nil && len(c.fakeBackups()) == 1 })
	if got := c.fakeBackups()[0]; got.Append || got.TapeName != "Tape created on 11/25/2026" {
		t.Errorf("engine got %+v", got)
	}
}

func TestBackupKeyboard(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	d := openBackup(t, c, "store/EXCH01/DS")
	d.verify.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if d.m.visible || len(c.keys) != 0 {
		t.Fatal("Escape cancels Backup Information")
	}
	d = openBackup(t, c)
	d.backupType.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if d.m.visible {
		t.Fatal("Escape on the backup type cancels too")
	}
	d = openBackup(t, c)
	// Arrows move the radio choice.
	d.operation.item(opAppend).TypedKey(&fyne.KeyEvent{Name: fyne.KeyRight})
	if d.operation.Selected() != opReplace {
		t.Errorf("Right on Append chooses Replace: %q", d.operation.Selected())
	}
	// Tab order follows the form: tape name, operation, … OK.
	var order []string
	cv := c.win.Canvas()
	cv.Focus(d.tapeName)
	for i := 0; i < 14; i++ {
		switch f := cv.Focused().(type) {
		case *dlgEntry:
			order = append(order, "entry:"+f.Text)
		case *dlgCheck:
			order = append(order, "check:"+f.Text)
		case *radioItem:
			order = append(order, "radio:"+f.Text)
		case *dlgSelect:
			order = append(order, "select")
		case *dlgButton:
			order = append(order, "button:"+f.Text)
		}
		cv.FocusNext()
	}
	want := []string{"entry:Tape created on 11/25/2026", "radio:Append", "radio:Replace", "check:Verify After Backup",
		"check:Restrict Access to Owner or Administrator", "entry:", "select", "entry:/home/admin/.local/share/exbackup/Backup.log",
		"radio:Full Detail", "radio:Summary Only", "radio:Don't Log", "button:Cancel", "button:OK"}
	if !reflect.DeepEqual(order[:len(want)], want) {
		t.Errorf("tab order = %q\nwant %q", order, want)
	}
}

func TestBackupNothingTicked(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	c.Backup()
	if !hasText(overlayTop(c), "Select the stores to back up") {
		t.Fatalf("got %q", labelTexts(overlayTop(c)))
	}
	c.typedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if overlayTop(c) != nil {
		t.Error("Enter closes the message")
	}
}

// Abort cancels the job's context; the button becomes OK.
func TestBackupStatusAbort(t *testing.T) {
	eng := newFakeEngine()
	started := make(chan struct{})
	eng.backupRun = func(ctx context.Context, p *engine.Progress) (engine.BackupResult, error) {
		p.OnLog("Backup of \\\\EXCH01 Microsoft Directory")
		close(started)
		<-ctx.Done()
		return engine.BackupResult{}, ctx.Err()
	}
	c, q := newTestConsole(t, eng)
	c.startBackup(engine.BackupRequest{Stores: []engine.StoreRef{{Server: "EXCH01", Store: exchange.StoreDS}}})
	sd := c.running
	<-started
	q.until(t, "the first summary line", func() bool { return len(sd.lines) == 1 })
	if sd.button.Text != "Abort" || sd.done {
		t.Fatalf("running: button %q", sd.button.Text)
	}
	sd.keys.key(&fyne.KeyEvent{Name: fyne.KeyReturn}) // Enter does not abort
	if sd.aborting {
		t.Fatal("Enter must not abort a job")
	}
	test.Tap(sd.button)
	if sd.button.Text != "Aborting…" || !sd.button.Disabled() {
		t.Errorf("after Abort: %q disabled %v", sd.button.Text, sd.button.Disabled())
	}
	q.until(t, "the job to end", func() bool { return sd.done })
	if sd.bar.Visible() || sd.spinner.Visible() {
		t.Error("an aborted job of unknown size shows no bar")
	}
	if sd.button.Text != "OK" || sd.button.Disabled() || sd.result.Text != "The operation was aborted." {
		t.Errorf("ended: button %q result %q", sd.button.Text, sd.result.Text)
	}
	c.typedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if sd.m.visible {
		t.Error("OK (Enter) closes Backup Status")
	}
}

func TestBackupStatusSuccess(t *testing.T) {
	eng := newFakeEngine()
	eng.backupRun = func(ctx context.Context, p *engine.Progress) (engine.BackupResult, error) {
		p.OnLog("Backup set #5 on tape #2")
		return engine.BackupResult{Tape: "Tape created on 11/24/2026", Sets: []int{5, 6}, Files: 1234, Bytes: 5 << 20, Verified: true}, nil
	}
	c, q := newTestConsole(t, eng)
	eng.locked(func() {
		eng.sets[2] = append(eng.sets[2], sampleSet(2, 5, "normal", "EXCH01", "DS", catalog.StateComplete))
	})
	c.startBackup(engine.BackupRequest{Stores: []engine.StoreRef{{Server: "EXCH01", Store: exchange.StoreDS}}})
	sd := c.running
	q.until(t, "the job to end", func() bool { return sd.done })
	if sd.result.Text != "Operation completed" || sd.bar.Value != 1 {
		t.Errorf("result %q bar %v", sd.result.Text, sd.bar.Value)
	}
	want := []string{"Backup set #5 on tape #2", `Backed up 2 sets to tape "Tape created on 11/24/2026": 1,234 files, 5.00 MB. Verified.`}
	if !reflect.DeepEqual(sd.lines, want) {
		t.Errorf("summary = %q", sd.lines)
	}
	q.until(t, "the Tapes window to show the new set", func() bool { return len(c.tapes.model.sets[2]) == 5 })
}

func TestBackupStatusFailure(t *testing.T) {
	eng := newFakeEngine()
	eng.backupRun = func(ctx context.Context, p *engine.Progress) (engine.BackupResult, error) {
		return engine.BackupResult{}, &testErr{"backup of DS \\\\EXCH01: the Directory is not running\nmore detail"}
	}
	c, q := newTestConsole(t, eng)
	c.startBackup(engine.BackupRequest{})
	sd := c.running
	q.until(t, "the job to end", func() bool { return sd.done })
	if sd.result.Text != "Backup of DS \\\\EXCH01: the Directory is not running" || sd.result.Importance != widget.DangerImportance {
		t.Errorf("result = %q", sd.result.Text)
	}
}

type testErr struct{ s string }

func (e *testErr) Error() string { return e.s }
