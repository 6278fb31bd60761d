package ui

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"exbackup/engine"
	"exbackup/exchange"
)

// The sizes every window and dialog must work at.
var (
	small = fyne.NewSize(800, 600)
	large = fyne.NewSize(1280, 800)
)

// Columns size to their text: no title or cell is cut below its limit.
func TestTapesColumnsFitTheirText(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	tw := c.tapes
	check := func(name string, widths []float32, titles []string, rows [][]string, f fit) {
		for i, title := range titles {
			w := widths[i]
			need := fyne.MeasureText(title, 14, fyne.TextStyle{Bold: true}).Width
			for _, r := range rows {
				need = max(need, fyne.MeasureText(r[i], 14, fyne.TextStyle{}).Width)
			}
			need += f.extra[i]
			if l, ok := f.limit[i]; ok {
				need = min(need, l-2*8)
			}
			if w < need {
				t.Errorf("%s column %d %q: %v wide, its text needs %v", name, i, title, w, need)
			}
		}
	}
	var tapes, sets [][]string
	for _, r := range tw.model.tapes {
		tapes = append(tapes, r.cells)
		for _, s := range tw.model.sets[r.tape.ID] {
			sets = append(sets, s.cells)
		}
	}
	check("tapes", tw.tapeWidths, tapeColumns, tapes, tapeFit)
	check("sets", tw.setWidths, setColumns, sets, setFit)
}

// At the default window size and above, the sets table shows Set, State,
// Type, Date, Time, Description, Store and Server without scrolling.
func TestSetsTableShowsTheKeyColumns(t *testing.T) {
	for _, size := range []fyne.Size{fyne.NewSize(1180, 760), large} {
		c, _ := newTestConsole(t, newFakeEngine())
		c.win.Resize(size)
		c.mdi.tile()
		tb := c.tapes.setsTable
		need := float32(0)
		for i, name := range setColumns {
			need += c.tapes.setWidths[i] + 1
			if name == "Server" {
				break
			}
		}
		if got := tb.Size().Width; got < need {
			t.Errorf("at %v the sets table is %v wide, its columns up to Server take %v", size, got, need)
		}
	}
}

// A highlighted set shows whole in the detail line: its description, its
// type and why it cannot be restored.
func TestTapesDetailLine(t *testing.T) {
	eng := newFakeEngine()
	long := strings.Repeat("a description longer than any column ", 4)
	eng.sets[2][3].Description = long
	c, _ := newTestConsole(t, eng)
	tw := c.tapes
	tw.setsTable.OnSelected(widget.TableCellID{Row: 3, Col: 6})
	if !tw.detail.Visible() || !strings.Contains(tw.detail.Text, long) || !strings.Contains(tw.detail.Text, "Set 4, Normal") {
		t.Errorf("detail = %q", tw.detail.Text)
	}
	if !strings.Contains(tw.detail.Text, "never finished") {
		t.Errorf("the detail says why the set cannot be restored: %q", tw.detail.Text)
	}
}

// A server's state is cut with an ellipsis in the tree, and whole in the
// window's detail line when the server is selected.
func TestTreeStateEllipsisAndDetail(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	c.exch.expandAll()
	for _, r := range find[*nodeRow](c.exch.tree) {
		if r.detail.Truncation != fyne.TextTruncateEllipsis {
			t.Fatal("a node's state is cut with an ellipsis")
		}
	}
	c.exch.tree.Select("server/EXCH03")
	n := c.exch.ix.nodes["server/EXCH03"]
	if want := "EXCH03: " + n.detail; c.exch.detail.Text != want || !c.exch.detail.Visible() {
		t.Errorf("detail = %q, want %q", c.exch.detail.Text, want)
	}
}

// Summary lines wrap, the pane grows with the dialog, and a server's
// recovery line shows once.
func TestStatusSummaryWrapsGrowsAndSaysOnce(t *testing.T) {
	eng := newFakeEngine()
	line := "Rolled forward through the logs on the server to LSN 79: nothing committed after the backup was lost."
	eng.restoreMsgs = []string{line}
	c, q := newTestConsole(t, eng)
	c.win.Resize(large)
	c.startRestore(engine.RestoreRequest{Sets: []engine.RestoreSet{{Tape: "T", Set: 1}}})
	sd := c.running
	q.until(t, "the restore", func() bool { return sd.done })
	n := 0
	for _, l := range sd.lines {
		if l == line {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the recovery line shows %d times: %q", n, sd.lines)
	}
	if sd.summary.Wrapping != fyne.TextWrapWord || !strings.Contains(sd.summary.Text, line) {
		t.Error("summary lines wrap, whole")
	}
	if h := sd.scroll.Size().Height; h < 220 {
		t.Errorf("at 1280×800 the summary is %v high: it grows with the dialog", h)
	}
}

// within fails when o is not wholly inside the window.
func within(t *testing.T, c *Console, what string, o fyne.CanvasObject) {
	t.Helper()
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(o)
	win := c.win.Canvas().Size()
	if pos.X < 0 || pos.Y < 0 || pos.X+o.Size().Width > win.Width || pos.Y+o.Size().Height > win.Height {
		t.Errorf("at %v %s is at %v size %v: outside the window", win, what, pos, o.Size())
	}
}

// Every dialog fits the window at 800×600: its buttons in view, what
// does not fit scrolls.
func TestDialogsFitAt800x600(t *testing.T) {
	for _, size := range []fyne.Size{small, large} {
		c, _ := newTestConsole(t, newFakeEngine())
		c.win.Resize(size)
		rd := openRestore(t, c, 1, 2)
		rd.showPage(1)
		within(t, c, "Restore Information's OK", rd.ok)
		rd.m.hide()
		bd := openBackup(t, c, "org")
		within(t, c, "Backup Information's OK", bd.ok)
		bd.m.hide()
		sd := c.newStatusDialog("Restore Status")
		sd.m.show()
		within(t, c, "Restore Status's button", sd.button)
		sd.m.hide()
		d := c.newConnectDialog()
		d.m.show()
		for _, b := range find[*dlgButton](overlayTop(c)) {
			within(t, c, "Microsoft Exchange…'s "+b.Text, b)
		}
		d.m.hide()
	}
}

// Destination Server offers the servers of the set's site.
func TestRestoreDestinationOffersTheSite(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	d := openRestore(t, c, 1, 2)
	d.showPage(1)
	items := d.dest.ActionItem
	if items == nil {
		t.Fatal("Destination Server has no list")
	}
	if got := c.siteServers("EXCH01"); strings.Join(got, ",") != "EXCH01,EXCH02" {
		t.Errorf("servers of EXCH01's site = %q", got)
	}
	if got := c.siteServers("ELSEWHERE"); len(got) != 3 {
		t.Errorf("a server not in the organization gets them all: %q", got)
	}
	d.dest.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn}) // Enter is the dialog's OK
	if len(c.keys) == 0 {
		t.Fatal("no dialog open")
	}
	checks, _ := c.fakeRestores()
	_ = checks
	if !d.checking && len(checks) == 0 && !d.errLine.Visible() {
		t.Error("Enter in Destination Server presses OK")
	}
}

// Backup Information: the error goes once the form changes; Append shows
// the tape's own name; each store is its own row; a long description is
// refused and the limit said.
func TestBackupInformationRowsAndFixes(t *testing.T) {
	c, q := newTestConsole(t, newFakeEngine())
	d := openBackup(t, c, "server/EXCH01")
	if d.tapeName.Text != "Tape created on 11/24/2026" {
		t.Errorf("Append shows the tape's name, not %q", d.tapeName.Text)
	}
	d.operation.SetSelected(opReplace)
	if d.tapeName.Text != "Tape created on 11/25/2026" {
		t.Errorf("Replace proposes a new name, not %q", d.tapeName.Text)
	}
	d.tapeName.SetText("")
	d.submit()
	if !d.errLine.Visible() {
		t.Fatal("no error for an empty name")
	}
	test.Type(d.tapeName, "W")
	if d.errLine.Visible() {
		t.Error("the error stays after a name is typed")
	}
	if len(d.rows) != 2 || !hasText(overlayTop(c), "All sets") {
		t.Fatalf("%d rows", len(d.rows))
	}
	if !hasText(overlayTop(c), "A description takes up to 256 characters.") {
		t.Error("the dialog says the limit")
	}
	d.description.SetText("both")
	d.backupType.SetSelected("Copy")
	for _, r := range d.rows {
		if r.description.Text != "both" || r.backupType.Selected != "Copy" {
			t.Errorf("All sets sets every row: %q %q", r.description.Text, r.backupType.Selected)
		}
	}
	d.rows[1].description.SetText(strings.Repeat("x", engine.MaxDescription+1))
	if _, msg := d.request(); msg != `The description of \\EXCH01 Microsoft Information Store is too long: 257 characters, 256 at most.` {
		t.Errorf("long description: %q", msg)
	}
	d.rows[1].description.SetText("store only")
	d.rows[1].backupType.SetSelected("Normal")
	test.Tap(d.ok)
	q.until(t, "the backup", func() bool { return c.running == nil && len(c.fakeBackups()) == 1 })
	got := c.fakeBackups()[0]
	want := []engine.SetChoice{{Type: exchange.Copy, Description: "both"}, {Type: exchange.Normal, Description: "store only"}}
	if len(got.Sets) != 2 || got.Sets[0] != want[0] || got.Sets[1] != want[1] || got.Description != "" {
		t.Errorf("sets = %+v description %q", got.Sets, got.Description)
	}
}

// Every Operations, Window and Help item but Exit has a shortcut, and the
// Window items put the keyboard in their window.
func TestEveryActionHasAKey(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	for _, k := range []string{"backup", "restore", "catalog", "catalog-file", "verify", "connect", "refresh", "win-exchange", "win-tapes", "about"} {
		if it := c.menuItems[k]; it == nil || it.Shortcut == nil {
			t.Errorf("%s has no shortcut", k)
		}
	}
	c.showWindow(1)
	if c.win.Canvas().Focused() != c.tapes.tapesTable {
		t.Error("Window > 2 Tapes puts the keyboard in the tapes list")
	}
	c.showWindow(0)
	if c.win.Canvas().Focused() != c.exch.tree {
		t.Error("Window > 1 Microsoft Exchange puts the keyboard in the tree")
	}
}

// Verify… asks: the whole tape, or the ticked sets; Escape cancels.
func TestVerifyDialogChoices(t *testing.T) {
	c, q := newTestConsole(t, newFakeEngine())
	c.tapes.selectTape(2)
	c.tapes.tick(c.tapes.currentSets()[1], true)
	d := c.newVerifyDialog()
	d.m.show()
	if d.labels[d.choice.Selected()] != verifyTicked {
		t.Errorf("ticked sets come first: %q", d.choice.Selected())
	}
	c.typedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if d.m.visible || c.running != nil {
		t.Fatal("Escape cancels Verify")
	}
	d = c.newVerifyDialog()
	d.m.show()
	d.choice.item(d.choice.options[0]).TypedKey(&fyne.KeyEvent{Name: fyne.KeyUp})
	d.choice.SetSelected(d.choice.options[0])
	c.typedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	q.until(t, "the verify", func() bool { return c.running == nil })
	var got []engine.VerifyRequest
	c.eng.(*fakeEngine).locked(func() { got = append(got, c.eng.(*fakeEngine).verifies...) })
	if len(got) != 1 || got[0].Tape != "Tape created on 11/24/2026" || got[0].Set != 0 {
		t.Errorf("verify of the whole tape: %+v", got)
	}
	_ = context.Background
}
