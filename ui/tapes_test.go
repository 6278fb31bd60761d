package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"exbackup/catalog"
)

func TestTapesModel(t *testing.T) {
	eng := newFakeEngine()
	m := loadTapes(eng)
	if m.err != nil {
		t.Fatal(m.err)
	}
	if len(m.tapes) != 2 || m.tapes[0].tape.Name != "Old tape" {
		t.Fatalf("tapes = %+v", m.tapes)
	}
	old, cur := m.tapes[0], m.tapes[1]
	if old.present || old.cells[2] != "Missing" || cur.cells[2] != "Present" {
		t.Errorf("presence: %v %q / %v %q", old.present, old.cells[2], cur.present, cur.cells[2])
	}
	if got := cur.cells; got[0] != "Tape created on 11/24/2026" || got[1] != "4" || got[3] != "11/24/2026 10:00 PM" || got[4] != "00000022" || got[5] != "/tapes/tape-2.bkf" {
		t.Errorf("tape cells = %q", got)
	}
	sets := m.sets[2]
	if len(sets) != 4 {
		t.Fatalf("sets = %d", len(sets))
	}
	if got := sets[1].cells; got[1] != "2" || got[2] != "Complete" || got[3] != "Information Store" || got[4] != "EXCH01" || got[5] != "Normal" || got[6] != "11/24/2026" || got[7] != "10:02 PM" || got[8] != "nightly" || got[9] != "admin@backup01" {
		t.Errorf("set cells = %q", got)
	}
	if sets[3].restorable || sets[3].cells[2] != "Aborted" {
		t.Errorf("aborted set: restorable %v state %q", sets[3].restorable, sets[3].cells[2])
	}
	if r := m.sets[1][0]; r.restorable || r.cells[2] != "Tape missing" {
		t.Errorf("set on a missing tape: restorable %v state %q", r.restorable, r.cells[2])
	}
}

func TestSetStates(t *testing.T) {
	for _, tc := range []struct {
		set     catalog.Set
		present bool
		state   string
		ok      bool
	}{
		{catalog.Set{State: catalog.StateComplete}, true, "Complete", true},
		{catalog.Set{State: catalog.StateComplete, Verified: tapeCreated}, true, "Verified 11/24/2026", true},
		{catalog.Set{State: catalog.StateAborted}, true, "Aborted", false},
		{catalog.Set{State: catalog.StateDamaged}, true, "Damaged", false},
		{catalog.Set{State: catalog.StateComplete, Foreign: true}, true, "Foreign", false},
		{catalog.Set{State: catalog.StateComplete}, false, "Tape missing", false},
	} {
		r := newSetRow(tc.set, tc.present)
		if r.cells[2] != tc.state || r.restorable != tc.ok || (!tc.ok && r.why == "") {
			t.Errorf("%+v present %v: %q restorable %v (%s)", tc.set.State, tc.present, r.cells[2], r.restorable, r.why)
		}
	}
}

// The newest tape is selected at first; selecting another shows its sets.
func TestTapesWindowSelection(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	tw := c.tapes
	if tw.tapeID != 2 || len(tw.currentSets()) != 4 || tw.setsTitle.Text != "Sets on Tape created on 11/24/2026" {
		t.Fatalf("selected tape %d, %d sets, title %q", tw.tapeID, len(tw.currentSets()), tw.setsTitle.Text)
	}
	tw.tapesTable.Select(widget.TableCellID{Row: 0, Col: 2})
	if tw.tapeID != 1 || len(tw.currentSets()) != 1 || tw.setsTitle.Text != "Sets on Old tape" {
		t.Errorf("after selecting row 0: tape %d, title %q", tw.tapeID, tw.setsTitle.Text)
	}
	if got := c.statusBar.tapes.Text; got != "2 tapes, 5 sets" {
		t.Errorf("status = %q", got)
	}
}

// Several sets can be ticked; an aborted one cannot.
func TestTapesWindowMultiSelect(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	tw := c.tapes
	sets := tw.currentSets()
	tw.tick(sets[0], true)
	tw.tick(sets[2], true)
	tw.tick(sets[3], true) // aborted: refused
	got := tw.tickedSets()
	if len(got) != 2 || got[0].set.Number != 1 || got[1].set.Number != 3 {
		t.Fatalf("ticked = %+v", got)
	}
	if tw.footer.Text != "2 sets selected for restore" {
		t.Errorf("footer = %q", tw.footer.Text)
	}

	// The aborted set's check box is disabled on screen.
	var disabled, enabled int
	for _, cell := range find[*tableCell](tw.setsTable) {
		if cell.check.Visible() {
			if cell.check.Disabled() {
				disabled++
			} else {
				enabled++
			}
		}
	}
	if disabled != 1 || enabled != 3 {
		t.Errorf("%d disabled and %d enabled set check boxes, want 1 and 3", disabled, enabled)
	}

	// Tapping an enabled check ticks its set.
	for _, cell := range find[*tableCell](tw.setsTable) {
		if cell.check.Visible() && !cell.check.Disabled() && !cell.check.Checked {
			test.Tap(cell.check)
			break
		}
	}
	if n := len(tw.tickedSets()); n != 3 {
		t.Errorf("after tapping a check: %d ticked", n)
	}

	// The header check unticks, then ticks, every restorable set.
	tw.tickAll(false)
	if n := len(tw.tickedSets()); n != 0 {
		t.Errorf("after untick all: %d", n)
	}
	tw.tickAll(true)
	if n := len(tw.tickedSets()); n != 3 {
		t.Errorf("after tick all: %d (the aborted set stays out)", n)
	}

	// Space on the highlighted row toggles it.
	tw.setsTable.Select(widget.TableCellID{Row: 1, Col: 3})
	if tw.setRow != 1 {
		t.Fatalf("highlighted row = %d", tw.setRow)
	}
	tw.setsTable.onSpace()
	if tw.ticked[sets[1].set.ID] {
		t.Error("Space should untick the highlighted set")
	}
}

// A refresh keeps the selected tape and drops ticks of sets that went away.
func TestTapesRefresh(t *testing.T) {
	eng := newFakeEngine()
	c, q := newTestConsole(t, eng)
	tw := c.tapes
	tw.tick(tw.currentSets()[0], true)
	tw.tick(tw.currentSets()[1], true)
	eng.locked(func() {
		eng.sets[2] = eng.sets[2][1:]
		eng.tapes = append(eng.tapes, catalog.Tape{ID: 3, Name: "New", Created: tapeCreated.Add(time.Hour)})
	})
	c.tapes.tapesTable.TypedKey(&fyne.KeyEvent{Name: fyne.KeyF5})
	q.until(t, "three tapes", func() bool { return len(tw.model.tapes) == 3 })
	if tw.tapeID != 2 {
		t.Errorf("selected tape = %d after refresh", tw.tapeID)
	}
	if got := tw.tickedSets(); len(got) != 1 || got[0].set.Number != 2 {
		t.Errorf("ticked after refresh = %+v", got)
	}
}

// A damaged set says so, and the footer says what is wrong with it once it
// is highlighted.
func TestDamagedSetShowsItsReason(t *testing.T) {
	eng := newFakeEngine()
	d := sampleSet(2, 5, "normal", "EXCH01", "IS", catalog.StateDamaged)
	d.Damage = `file "priv.edb": checksum mismatch`
	eng.sets[2] = append(eng.sets[2], d)
	c, _ := newTestConsole(t, eng)
	tw := c.tapes
	sets := tw.currentSets()
	row := len(sets) - 1
	if r := sets[row]; r.cells[setStateCol] != "Damaged" || r.restorable {
		t.Fatalf("damaged set: %q restorable %v", r.cells[setStateCol], r.restorable)
	}
	tw.setsTable.Select(widget.TableCellID{Row: row, Col: 3})
	want := `Set 5: damaged: file "priv.edb": checksum mismatch; it cannot be restored`
	if got := tw.footer.Text; got != want {
		t.Fatalf("footer %q, want %q…", got, want)
	}
	tw.setsTable.Select(widget.TableCellID{Row: 0, Col: 3})
	if got := tw.footer.Text; strings.Contains(got, "damaged") {
		t.Fatalf("footer for a complete set: %q", got)
	}
}

type noticeEngine struct {
	*fakeEngine
	notice string
}

func (e noticeEngine) CatalogNotice() string { return e.notice }

// What opening the catalog found is shown once, at start.
func TestCatalogNoticeShownAtStart(t *testing.T) {
	msg := "The catalog was damaged (bad page); moved aside to /home/admin/catalog.db.damaged; rebuilt from 2 tapes."
	a := test.NewTempApp(t)
	q := newUIQueue()
	c := newConsole(a, noticeEngine{fakeEngine: newFakeEngine(), notice: msg}, Options{}, q.do)
	t.Cleanup(func() {
		q.drain()
		if c.ctx.Err() == nil {
			c.win.Close()
		}
	})
	top := overlayTop(c)
	if top == nil || !hasText(top, msg) {
		t.Fatalf("no dialog with the catalog's notice at start")
	}
	if !c.modalOpen() {
		t.Fatal("the notice is not a dialog the keys reach")
	}

	plain, _ := newTestConsole(t, newFakeEngine())
	if overlayTop(plain) != nil {
		t.Fatal("a dialog at start without a notice")
	}
}
