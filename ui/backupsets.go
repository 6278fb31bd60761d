package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"

	"exbackup/engine"
)

// setFields are one set's row of Backup Information: each store is its own
// set, with its own description and type, as NT Backup had one row per
// drive.
type setFields struct {
	store       engine.StoreRef
	description *dlgEntry
	backupType  *dlgSelect
}

// setRowsShown is how many set rows show before they scroll.
const setRowsShown = 4

// deviceWidth and typeWidth line the rows' columns up.
const (
	deviceWidth = 250
	typeWidth   = 140
)

// setRows builds the rows: with several stores, an "All sets" row first
// whose description and type go to every row.
func (d *backupDialog) setRows() fyne.CanvasObject {
	row := func(label fyne.CanvasObject, e *dlgEntry, s *dlgSelect) fyne.CanvasObject {
		return container.NewBorder(nil, nil,
			container.New(&minSizeLayout{min: fyne.NewSize(deviceWidth, 0)}, label),
			container.New(&minSizeLayout{min: fyne.NewSize(typeWidth, 0)}, s), e)
	}
	field := func(placeholder string) (*dlgEntry, *dlgSelect) {
		e := newDlgEntry(d.keys)
		e.SetPlaceHolder(placeholder)
		e.OnChanged = func(string) { d.edited() }
		s := newDlgSelect(backupTypes, d.keys, nil)
		s.SetSelected("Normal")
		s.OnChanged = func(string) { d.edited() }
		return e, s
	}
	d.description, d.backupType = field("e.g. nightly backup")
	var objs []fyne.CanvasObject
	if len(d.stores) == 1 {
		d.rows = []setFields{{store: d.stores[0], description: d.description, backupType: d.backupType}}
		objs = append(objs, row(value(device(d.stores[0].Server, d.stores[0].Store)), d.description, d.backupType))
	} else {
		all := value("All sets")
		all.TextStyle = fyne.TextStyle{Bold: true}
		objs = append(objs, row(all, d.description, d.backupType))
		for _, st := range d.stores {
			e, s := field("this set's description")
			d.rows = append(d.rows, setFields{store: st, description: e, backupType: s})
			objs = append(objs, row(value(device(st.Server, st.Store)), e, s))
		}
		d.description.OnChanged = func(text string) {
			for _, r := range d.rows {
				r.description.SetText(text)
			}
			d.edited()
		}
		d.backupType.OnChanged = func(t string) {
			for _, r := range d.rows {
				r.backupType.SetSelected(t)
			}
			d.edited()
		}
	}
	var box fyne.CanvasObject = container.NewVBox(objs...)
	if len(objs) > setRowsShown+1 {
		sc := container.NewVScroll(box)
		sc.SetMinSize(fyne.NewSize(0, (objs[0].MinSize().Height+4)*(setRowsShown+1)))
		box = sc
	}
	limit := note(fmt.Sprintf("A description takes up to %d characters.", engine.MaxDescription))
	return container.NewVBox(box, limit)
}

// readSets puts the rows' types and descriptions in the request: one Type
// and Description when every row is alike, one entry per set otherwise.
func (d *backupDialog) readSets(req *engine.BackupRequest) string {
	sets := make([]engine.SetChoice, len(d.rows))
	alike := true
	for i, r := range d.rows {
		t, err := engine.ParseBackupType(r.backupType.Selected)
		if err != nil {
			return fmt.Sprintf("Choose a backup type for %s.", device(r.store.Server, r.store.Store))
		}
		desc := strings.TrimSpace(r.description.Text)
		if n := len([]rune(desc)); n > engine.MaxDescription {
			return fmt.Sprintf("The description of %s is too long: %d characters, %d at most.", device(r.store.Server, r.store.Store), n, engine.MaxDescription)
		}
		sets[i] = engine.SetChoice{Type: t, Description: desc}
		alike = alike && sets[i] == sets[0]
	}
	if len(sets) == 0 {
		return ""
	}
	req.Type, req.Description = sets[0].Type, sets[0].Description
	if !alike {
		// An empty row's description would take the request's.
		req.Description, req.Sets = "", sets
	}
	return ""
}
