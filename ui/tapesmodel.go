package ui

import (
	"fmt"
	"slices"
	"strings"

	"exbackup/catalog"
	"exbackup/engine"
	"exbackup/exchange"
)

// Columns of the Tapes window.
var (
	tapeColumns = []string{"Tape", "Sets", "Status", "Created", "Family", "Location"}
	// A set's state comes second: whether it can be restored is what
	// matters most. Type, Date and Time follow (full is told from
	// incremental at a glance), then what was backed up; the owner is the
	// one column left to scroll to.
	setColumns = []string{"", "Set", "State", "Type", "Date", "Time", "Description", "Store", "Server", "Owner"}
)

// tapeRow is one line of the tapes list, formatted once off the UI goroutine.
type tapeRow struct {
	tape    catalog.Tape
	sets    int
	present bool
	cells   []string
}

// setRow is one line of a tape's sets.
type setRow struct {
	set catalog.Set
	// restorable: complete, made by exbackup, on a tape that is present.
	restorable bool
	why        string // why not, when not
	cells      []string
}

// tapesModel is the Tapes window's model: the catalog read off the UI
// goroutine and swapped in whole.
type tapesModel struct {
	tapes []tapeRow
	sets  map[uint64][]setRow // by tape ID, in set-number order
	err   error
}

// tapeSource is the part of the engine the model reads.
type tapeSource interface {
	Tapes() ([]catalog.Tape, error)
	Sets(tapeID uint64) ([]catalog.Set, error)
	TapePresent(t catalog.Tape) bool
}

// loadTapes reads the catalog. It touches bbolt and the disk: never call it
// on the UI goroutine.
func loadTapes(src tapeSource) tapesModel {
	tapes, err := src.Tapes()
	if err != nil {
		return tapesModel{err: fmt.Errorf("reading the catalog: %w", err), sets: map[uint64][]setRow{}}
	}
	sets := make(map[uint64][]catalog.Set, len(tapes))
	present := make(map[uint64]bool, len(tapes))
	for _, t := range tapes {
		s, err := src.Sets(t.ID)
		if err != nil {
			return tapesModel{err: fmt.Errorf("reading the sets of tape %q: %w", t.Name, err), sets: map[uint64][]setRow{}}
		}
		sets[t.ID] = s
		present[t.ID] = src.TapePresent(t)
	}
	return buildTapesModel(tapes, sets, func(t catalog.Tape) bool { return present[t.ID] })
}

// buildTapesModel formats the rows: tapes in catalog order (the order they
// were first written or cataloged), sets by number.
func buildTapesModel(tapes []catalog.Tape, sets map[uint64][]catalog.Set, present func(catalog.Tape) bool) tapesModel {
	m := tapesModel{tapes: make([]tapeRow, 0, len(tapes)), sets: make(map[uint64][]setRow, len(tapes))}
	tapes = slices.Clone(tapes)
	slices.SortStableFunc(tapes, func(a, b catalog.Tape) int { return cmpUint(a.ID, b.ID) })
	for _, t := range tapes {
		ss := slices.Clone(sets[t.ID])
		slices.SortStableFunc(ss, func(a, b catalog.Set) int { return a.Number - b.Number })
		ok := present(t)
		tr := tapeRow{tape: t, sets: len(ss), present: ok}
		status := "Present"
		if !ok {
			status = "Missing"
		}
		name := t.Name
		if t.Sequence > 1 {
			name += fmt.Sprintf(" (#%d)", t.Sequence)
		}
		tr.cells = []string{name, thousands(int64(len(ss))), status, ntDateTime(t.Created), fmt.Sprintf("%08X", t.FamilyID), t.Location}
		m.tapes = append(m.tapes, tr)
		rows := make([]setRow, len(ss))
		for i, s := range ss {
			rows[i] = newSetRow(s, ok)
		}
		m.sets[t.ID] = rows
	}
	return m
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func newSetRow(s catalog.Set, tapePresent bool) setRow {
	// Whether a set can be ticked is the engine's to say; the state
	// column only names it.
	r := setRow{set: s, restorable: true}
	if err := engine.Restorable(s, tapePresent); err != nil {
		r.restorable, r.why = false, err.Error()
	}
	state := "Complete"
	switch {
	case s.State == catalog.StateAborted:
		state = "Aborted"
	case s.State == catalog.StateDamaged:
		// What is wrong is the catalog's to say: the footer shows it for
		// the highlighted set.
		state = "Damaged"
		r.why = s.StateText() + "; it cannot be restored"
	case s.Foreign:
		state = "Foreign"
	case !tapePresent:
		state = "Tape missing"
	case !s.Verified.IsZero():
		state = "Verified " + ntDate(s.Verified)
	}
	if s.Encrypted {
		state += ", encrypted"
	}
	r.cells = []string{"", fmt.Sprint(s.Number), state, engine.TypeTitle(exchange.BackupType(s.Type)), ntDate(s.Created), ntTime(s.Created), s.Description, setStores(s), strings.TrimLeft(s.Server, `\`), s.Owner}
	return r
}

// setStores names a set's stores: "Information Store", "Directory".
func setStores(s catalog.Set) string {
	names := make([]string, len(s.Stores))
	for i, st := range s.Stores {
		names[i] = exchange.StoreID(st).Title()
	}
	return strings.Join(names, ", ")
}

// tapeByID finds a tape row.
func (m *tapesModel) tapeByID(id uint64) (tapeRow, int, bool) {
	for i, t := range m.tapes {
		if t.tape.ID == id {
			return t, i, true
		}
	}
	return tapeRow{}, -1, false
}

// setByID finds a set and its tape.
func (m *tapesModel) setByID(id uint64) (setRow, tapeRow, bool) {
	for _, t := range m.tapes {
		for _, s := range m.sets[t.tape.ID] {
			if s.set.ID == id {
				return s, t, true
			}
		}
	}
	return setRow{}, tapeRow{}, false
}

// setStore is the store a set holds, as the engine reads it.
func setStore(s catalog.Set) exchange.StoreID { return engine.SetStore(s) }
