package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"exbackup/catalog"
	"exbackup/engine"
	"exbackup/exchange"
)

// tapesWindow is the Tapes inner window: the catalog's tapes on the left,
// the selected tape's sets on the right, each set with a check box that
// marks it for restore (as NT Backup's Tapes window did). Sets that cannot
// be restored show why and cannot be ticked.
type tapesWindow struct {
	c      *Console
	model  tapesModel
	tapeID uint64 // selected tape, 0 = none
	setRow int    // highlighted set row, -1 = none
	ticked map[uint64]bool

	files      *filePane // the highlighted file set's tree (filetree.go)
	tapesTable *keyTable
	setsTable  *keyTable
	tapeWidths []float32 // the columns' widths as last fitted
	setWidths  []float32
	setsTitle  *widget.Label
	detail     *widget.Label // the whole of the highlighted set or tape
	// itemsDetail: the detail line is left out for a store set's items.
	itemsDetail bool
	footer      *widget.Label
	errLine     *widget.Label
	content     fyne.CanvasObject
}

// tapeStatusCol is the Tapes list's present-or-missing column; setStateCol
// the sets list's state.
const (
	tapeStatusCol = 2
	setStateCol   = 2
)

var (
	tapeFit = fit{extra: map[int]float32{0: 20, tapeStatusCol: 20}, limit: map[int]float32{0: 260, 5: 320}}
	setFit  = fit{extra: map[int]float32{0: 36, 1: 20, setStateCol: 20}, limit: map[int]float32{setStateCol: 190, 6: 170, 9: 160}}
)

func newTapesWindow(c *Console) *tapesWindow {
	tw := &tapesWindow{c: c, setRow: -1, ticked: map[uint64]bool{}, model: tapesModel{sets: map[uint64][]setRow{}}}

	tw.tapesTable = newKeyTable(
		func() (int, int) { return len(tw.model.tapes), len(tapeColumns) },
		func() fyne.CanvasObject { return newTableCell() },
		func(id widget.TableCellID, o fyne.CanvasObject) { tw.updateTapeCell(id, o.(*tableCell)) },
	)
	tw.tapesTable.ShowHeaderRow = true
	tw.tapesTable.CreateHeader = func() fyne.CanvasObject { return newHeaderCell() }
	tw.tapesTable.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		o.(*headerCell).set(tapeColumns[id.Col], false, false, nil)
	}
	tw.tapesTable.OnSelected = func(id widget.TableCellID) {
		if id.Row >= 0 && id.Row < len(tw.model.tapes) {
			tw.selectTape(tw.model.tapes[id.Row].tape.ID)
		}
		tw.tapesTable.Unselect(id) // the row is highlighted, not the cell
	}

	tw.setsTable = newKeyTable(
		func() (int, int) { return len(tw.currentSets()), len(setColumns) },
		func() fyne.CanvasObject { return newTableCell() },
		func(id widget.TableCellID, o fyne.CanvasObject) { tw.updateSetCell(id, o.(*tableCell)) },
	)
	tw.setsTable.ShowHeaderRow = true
	tw.setsTable.CreateHeader = func() fyne.CanvasObject { return newHeaderCell() }
	tw.setsTable.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		h := o.(*headerCell)
		if id.Col == 0 {
			all, some := tw.tickState()
			h.set("", true, all, func(on bool) { tw.tickAll(on) })
			h.check.Partial = some && !all
			h.check.Refresh()
			return
		}
		h.set(setColumns[id.Col], false, false, nil)
	}
	tw.setsTable.OnSelected = func(id widget.TableCellID) {
		tw.setRow = id.Row
		tw.setsTable.Unselect(id)
		tw.showFiles()
		tw.setsTable.Refresh()
		tw.updateTitles()
		tw.updateDetail()
	}
	tw.setsTable.onSpace = func() {
		if sets := tw.currentSets(); tw.setRow >= 0 && tw.setRow < len(sets) {
			r := sets[tw.setRow]
			tw.tick(r, !tw.ticked[r.set.ID])
		}
	}
	tw.tapesTable.onF5, tw.setsTable.onF5 = c.refresh, c.refresh

	tw.setsTitle = widget.NewLabelWithStyle("Sets", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	tw.setsTitle.Truncation = fyne.TextTruncateEllipsis
	tw.footer = widget.NewLabel("")
	tw.footer.Importance = widget.LowImportance
	tw.footer.Truncation = fyne.TextTruncateEllipsis
	tw.detail = widget.NewLabel("")
	tw.detail.Wrapping = fyne.TextWrapWord
	tw.detail.Hide()
	tw.errLine = widget.NewLabel("")
	tw.errLine.Importance = widget.DangerImportance
	tw.errLine.Hide()

	left := container.NewBorder(widget.NewLabelWithStyle("Tapes", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), nil, nil, nil, tw.tapesTable)
	right := container.NewBorder(tw.setsTitle, container.NewVBox(tw.detail, tw.footer), nil, nil, tw.setsTable)
	tw.files = newFilePane(c, right, tw.setsTable)
	// The tapes above their sets: the sets get the window's whole width,
	// which their columns need.
	split := container.NewVSplit(left, right)
	split.Offset = 0.3
	tw.content = container.NewBorder(tw.errLine, nil, nil, nil, split)
	tw.fitColumns()
	tw.updateTitles()
	return tw
}

// setModel swaps in a catalog read, keeping the selection and the ticks
// that still make sense.
func (tw *tapesWindow) setModel(m tapesModel) {
	tw.model = m
	if m.err != nil {
		tw.errLine.SetText(oneLine(m.err))
		tw.errLine.Show()
	} else {
		tw.errLine.Hide()
	}
	if _, _, ok := m.tapeByID(tw.tapeID); !ok {
		tw.tapeID = 0
		tw.setRow = -1
		if len(m.tapes) > 0 {
			tw.tapeID = m.tapes[len(m.tapes)-1].tape.ID // the newest
		}
	}
	for id := range tw.ticked {
		if r, _, ok := m.setByID(id); !ok || !r.restorable {
			delete(tw.ticked, id)
		}
	}
	tw.fitColumns()
	tw.tapesTable.Refresh()
	tw.setsTable.Refresh()
	tw.updateTitles()
}

// fitColumns sizes the columns to the catalog's text.
func (tw *tapesWindow) fitColumns() {
	rows := make([][]string, 0, len(tw.model.tapes))
	var sets [][]string
	for _, t := range tw.model.tapes {
		rows = append(rows, t.cells)
		for _, s := range tw.model.sets[t.tape.ID] {
			sets = append(sets, s.cells)
		}
	}
	tw.tapeWidths, tw.setWidths = tapeFit.widths(tapeColumns, rows), setFit.widths(setColumns, sets)
	for i, w := range tw.tapeWidths {
		tw.tapesTable.SetColumnWidth(i, w)
	}
	for i, w := range tw.setWidths {
		tw.setsTable.SetColumnWidth(i, w)
	}
}

func (tw *tapesWindow) currentSets() []setRow { return tw.model.sets[tw.tapeID] }

// selectTape shows a tape's sets.
func (tw *tapesWindow) selectTape(id uint64) {
	if id != tw.tapeID {
		tw.tapeID = id
		tw.setRow = -1
		tw.setsTable.ScrollToTop()
		tw.files.hide()
	}
	tw.tapesTable.Refresh()
	tw.setsTable.Refresh()
	tw.updateTitles()
}

// selectedTape is the tape whose sets are shown.
func (tw *tapesWindow) selectedTape() (tapeRow, bool) {
	t, _, ok := tw.model.tapeByID(tw.tapeID)
	return t, ok
}

func (tw *tapesWindow) tick(r setRow, on bool) {
	if !r.restorable {
		on = false
	}
	if on {
		tw.ticked[r.set.ID] = true
	} else {
		delete(tw.ticked, r.set.ID)
	}
	tw.setsTable.Refresh()
	tw.updateTitles()
	tw.c.updateStatus()
}

// tickAll ticks or unticks every restorable set of the shown tape.
func (tw *tapesWindow) tickAll(on bool) {
	for _, r := range tw.currentSets() {
		if r.restorable {
			if on {
				tw.ticked[r.set.ID] = true
			} else {
				delete(tw.ticked, r.set.ID)
			}
		}
	}
	tw.setsTable.Refresh()
	tw.updateTitles()
	tw.c.updateStatus()
}

// tickState: are all, or some, of the shown tape's restorable sets ticked?
func (tw *tapesWindow) tickState() (all, some bool) {
	n, t := 0, 0
	for _, r := range tw.currentSets() {
		if r.restorable {
			n++
			if tw.ticked[r.set.ID] {
				t++
			}
		}
	}
	return n > 0 && t == n, t > 0
}

// tickedSets are the sets marked for restore, in catalog order: tape by
// tape, set by set.
func (tw *tapesWindow) tickedSets() []restoreChoice {
	var out []restoreChoice
	for _, t := range tw.model.tapes {
		for _, s := range tw.model.sets[t.tape.ID] {
			if tw.ticked[s.set.ID] && s.restorable {
				out = append(out, restoreChoice{tape: t.tape, set: s.set})
			}
		}
	}
	return out
}

// restoreChoice is one set chosen for restore, with its tape.
type restoreChoice struct {
	tape catalog.Tape
	set  catalog.Set
}

func (tw *tapesWindow) updateTitles() {
	tw.updateDetail()
	if t, ok := tw.selectedTape(); ok {
		tw.setsTitle.SetText(fmt.Sprintf("Sets on %s", t.tape.Name))
	} else {
		tw.setsTitle.SetText("Sets")
	}
	n := len(tw.tickedSets())
	tw.footer.Importance = widget.LowImportance
	sets := tw.currentSets()
	switch {
	case tw.setRow >= 0 && tw.setRow < len(sets) && !sets[tw.setRow].restorable:
		// Why a set cannot be restored (a damaged one: what is wrong).
		r := sets[tw.setRow]
		tw.footer.Importance = widget.WarningImportance
		tw.footer.SetText(fmt.Sprintf("Set %d: %s", r.set.Number, r.why))
	case len(tw.model.tapes) == 0 && tw.c.tapeLoaded:
		tw.footer.SetText("No tapes in the catalog yet: back up, or catalog a .bkf file with Operations > Catalog…")
	case n == 0:
		tw.footer.SetText("Tick the sets to restore, then Operations > Restore…")
	case n == 1:
		tw.footer.SetText("1 set selected for restore")
	default:
		tw.footer.SetText(fmt.Sprintf("%d sets selected for restore", n))
	}
}

// updateDetail shows the highlighted set whole (its description, why it
// cannot be restored), or the selected tape's file: text a column may cut.
func (tw *tapesWindow) updateDetail() {
	var text string
	sets := tw.currentSets()
	switch t, ok := tw.selectedTape(); {
	case tw.setRow >= 0 && tw.setRow < len(sets) && tw.files.content.Visible() && tw.files.store.content.Visible():
		// The items pane's title names the set: its lines go to the tree.
	case tw.setRow >= 0 && tw.setRow < len(sets):
		text = setDetail(sets[tw.setRow])
	case ok:
		text = fmt.Sprintf("%s: %s", t.tape.Name, t.tape.Location)
	}
	showText(tw.detail, text)
	// The line's room goes to a store set's items, and comes back after.
	if items := tw.files.content.Visible() && tw.files.store.content.Visible(); items != tw.itemsDetail {
		tw.itemsDetail = items
		tw.files.border.Refresh()
	}
}

// setDetail is one line on a set: "Set 2, Normal, 11/24/2026 10:00 PM,
// Information Store on EXCH01: “nightly”."
func setDetail(r setRow) string {
	s := r.set
	text := fmt.Sprintf("Set %d, %s, %s, %s on %s", s.Number, engine.TypeTitle(exchange.BackupType(s.Type)), ntDateTime(s.Created), setStores(s), strings.TrimLeft(s.Server, `\`))
	if s.Description != "" {
		text += fmt.Sprintf(": \u201c%s\u201d", s.Description)
	}
	text += "."
	if !r.restorable && r.why != "" {
		text += " " + upperFirst(r.why)
		if !strings.HasSuffix(text, ".") {
			text += "."
		}
	}
	return text
}

// summary is the status bar's word on the tapes.
func (tw *tapesWindow) summary() string {
	n := len(tw.model.tapes)
	sets := 0
	for _, s := range tw.model.sets {
		sets += len(s)
	}
	switch n {
	case 0:
		return "No tapes"
	case 1:
		return fmt.Sprintf("1 tape, %s sets", thousands(int64(sets)))
	}
	return fmt.Sprintf("%s tapes, %s sets", thousands(int64(n)), thousands(int64(sets)))
}

func (tw *tapesWindow) updateTapeCell(id widget.TableCellID, c *tableCell) {
	if id.Row < 0 || id.Row >= len(tw.model.tapes) {
		return
	}
	r := tw.model.tapes[id.Row]
	c.setSelected(r.tape.ID == tw.tapeID)
	c.check.Hide()
	imp := widget.MediumImportance
	var res fyne.Resource
	switch id.Col {
	case 0:
		res = iconTape
	case tapeStatusCol:
		if r.present {
			imp = widget.SuccessImportance
		} else {
			imp = widget.DangerImportance
			res = theme.WarningIcon()
		}
	}
	if !r.present && id.Col != tapeStatusCol {
		imp = widget.LowImportance
	}
	c.setIcon(res)
	c.setText(r.cells[id.Col], imp)
}

func (tw *tapesWindow) updateSetCell(id widget.TableCellID, c *tableCell) {
	sets := tw.currentSets()
	if id.Row < 0 || id.Row >= len(sets) {
		return
	}
	r := sets[id.Row]
	c.setSelected(id.Row == tw.setRow)
	if id.Col == 0 {
		c.setIcon(nil)
		c.setText("", widget.MediumImportance)
		c.check.OnChanged = nil
		c.check.Checked = tw.ticked[r.set.ID]
		if r.restorable {
			c.check.Enable()
		} else {
			c.check.Disable()
		}
		c.check.Refresh()
		c.check.OnChanged = func(on bool) { tw.tick(r, on) }
		c.check.Show()
		return
	}
	c.check.Hide()
	imp := widget.MediumImportance
	var res fyne.Resource
	if !r.restorable {
		imp = widget.LowImportance
	}
	switch id.Col {
	case 1:
		res = iconSet
	case setStateCol:
		switch {
		case r.restorable && !r.set.Verified.IsZero():
			imp = widget.SuccessImportance
		case !r.restorable && r.set.State == catalog.StateAborted:
			imp, res = widget.DangerImportance, theme.ErrorIcon()
		case !r.restorable:
			imp, res = widget.WarningImportance, theme.WarningIcon()
		}
	}
	c.setIcon(res)
	c.setText(r.cells[id.Col], imp)
}

// keyTable is a widget.Table whose Space is the window's to use, and
// which passes F5 on.
type keyTable struct {
	widget.Table
	onSpace func()
	onF5    func()
}

func newKeyTable(length func() (int, int), create func() fyne.CanvasObject, update func(widget.TableCellID, fyne.CanvasObject)) *keyTable {
	t := &keyTable{}
	t.Length, t.CreateCell, t.UpdateCell = length, create, update
	t.ExtendBaseWidget(t)
	return t
}

func (t *keyTable) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeySpace:
		t.Table.TypedKey(ev) // selects the focused cell: its row is highlighted
		if t.onSpace != nil {
			t.onSpace()
		}
	case fyne.KeyF5:
		if t.onF5 != nil {
			t.onF5()
		}
	default:
		t.Table.TypedKey(ev)
	}
}

// tableCell is a cell of the Tapes window's tables: a row highlight, an
// optional check box, an optional icon and a truncated label.
type tableCell struct {
	widget.BaseWidget
	bg    *themedRect
	check *widget.Check
	icon  *canvas.Image
	label *widget.Label
}

func newTableCell() *tableCell {
	c := &tableCell{bg: &themedRect{name: theme.ColorNameSelection}, check: widget.NewCheck("", nil), icon: icon(iconTape, 16), label: widget.NewLabel("")}
	c.label.Truncation = fyne.TextTruncateEllipsis
	c.bg.Hide()
	c.check.Hide()
	c.icon.Hide()
	c.ExtendBaseWidget(c)
	return c
}

func (c *tableCell) CreateRenderer() fyne.WidgetRenderer {
	left := container.NewHBox(c.check, container.NewCenter(c.icon))
	return widget.NewSimpleRenderer(container.NewStack(c.bg, container.NewBorder(nil, nil, left, nil, c.label)))
}

func (c *tableCell) setSelected(on bool) {
	if on != c.bg.Visible() {
		if on {
			c.bg.Show()
		} else {
			c.bg.Hide()
		}
	}
}

func (c *tableCell) setIcon(res fyne.Resource) {
	if res == nil {
		c.icon.Hide()
		return
	}
	if c.icon.Resource != res {
		c.icon.Resource = res
		c.icon.Refresh()
	}
	c.icon.Show()
}

func (c *tableCell) setText(s string, imp widget.Importance) {
	if c.label.Text != s || c.label.Importance != imp {
		c.label.Text, c.label.Importance = s, imp
		c.label.Refresh()
	}
}

// headerCell is a column header: bold text, or the check box that ticks
// every set of the tape.
type headerCell struct {
	widget.BaseWidget
	label *widget.Label
	check *widget.Check
}

func newHeaderCell() *headerCell {
	h := &headerCell{label: widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), check: widget.NewCheck("", nil)}
	h.label.Truncation = fyne.TextTruncateEllipsis
	h.check.Hide()
	h.ExtendBaseWidget(h)
	return h
}

func (h *headerCell) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewStack(h.label, h.check))
}

func (h *headerCell) set(text string, isCheck, checked bool, changed func(bool)) {
	h.label.SetText(text)
	if !isCheck {
		h.check.Hide()
		h.label.Show()
		return
	}
	h.label.Hide()
	h.check.OnChanged = nil
	h.check.Checked = checked
	h.check.OnChanged = changed
	h.check.Show()
}
