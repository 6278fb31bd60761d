package engine

import (
	"errors"
	"fmt"
	"strings"

	"exbackup/catalog"
	"exbackup/exchange"
)

// The rules of a restore, as Exchange 5.5 had them, in one place: the
// Restore Information dialog shows what PlanRestore says of each page, and
// Restore and CheckRestore apply the same plan to the sets read from tape.

// Notes a page shows for the options that do not apply to its set.
const (
	NoteDirectory   = "The Directory restores only to its original server; Private and Public apply to the Information Store."
	NoteChainOption = "Erase all existing data, Private and Public are chosen on the full set that begins the chain: this set only adds its logs."
)

// PlanSet is one set of a restore as the rules see it: the options chosen
// for it, and what the set holds.
type PlanSet struct {
	RestoreSet
	Server string // the set's own server
	Store  exchange.StoreID
	Type   exchange.BackupType
}

// CatalogPlanSet is a cataloged set with the options chosen for it.
func CatalogPlanSet(rs RestoreSet, s catalog.Set) PlanSet {
	return PlanSet{RestoreSet: rs, Server: strings.TrimLeft(s.Server, `\`), Store: SetStore(s), Type: SetType(s)}
}

// PagePlan is what the rules say of one set of a restore.
type PagePlan struct {
	Destination string // the server the set is restored to
	// A chain is the sets of one store restored onto one destination, in
	// the restore's order, adjacent or not (the restore-in-progress marker
	// lives on the destination's store). Its first set stops the service
	// and begins the chain; its last recovers it and may start the service.
	First, Last bool
	// Which options apply to the set; the others are ignored for it.
	ChooseDestination bool // the Information Store's only
	ChooseErase       bool // when a chain begins: a full set
	ChooseDatabases   bool // Private and Public: a full set of the Information Store
	Note              string
	Err               error    // what refuses the restore
	Warnings          []string // what the administrator should confirm
}

// PlanRestore applies the rules to the sets of a restore, in order.
func PlanRestore(sets []PlanSet) []PagePlan {
	pages := make([]PagePlan, len(sets))
	key := func(i int) string { return pages[i].Destination + "\x00" + string(sets[i].Store) }
	for i, s := range sets {
		pg := &pages[i]
		pg.Destination = firstNonEmpty(strings.TrimSpace(s.Destination), s.Server)
		full := s.Type.Full()
		pg.ChooseErase = full
		switch s.Store {
		case exchange.StoreDS:
			pg.Note = NoteDirectory
			if pg.Destination != s.Server {
				pg.Err = fmt.Errorf("the Directory restores only to its original server %s", s.Server)
			}
		case exchange.StoreIS:
			pg.ChooseDestination, pg.ChooseDatabases = true, full
			switch {
			case !full:
				pg.Note = NoteChainOption
			case !s.Private && !s.Public:
				pg.Err = errors.New("choose Private, Public or both")
			case pg.Destination != s.Server && !(s.Erase && s.Private && s.Public):
				pg.Err = fmt.Errorf("restoring to another server (%s) requires Erase all existing data and both Private and Public", pg.Destination)
			}
		}
	}
	for i := range pages {
		pages[i].First, pages[i].Last = true, true
		for j := range i {
			if key(j) == key(i) {
				pages[i].First, pages[j].Last = false, false
			}
		}
	}
	for i, s := range sets {
		pg := &pages[i]
		if pg.First && s.Type != "" && !s.Type.Full() {
			pg.Warnings = append(pg.Warnings, fmt.Sprintf("Set %d is %s backup of %s: restore the full set of its chain first, or the server will refuse it (\"You cannot restore an incremental backup until a full backup has been restored\").", s.Set, typeArticle(s.Type), s.Store.ServiceName()))
		}
		if !pg.First && s.Type.Full() {
			pg.Warnings = append(pg.Warnings, fmt.Sprintf("Set %d is a full backup: it starts its chain again, and the sets before it for %s on %s are discarded.", s.Set, s.Store.ServiceName(), pg.Destination))
		}
		if !pg.Last && s.Start {
			pg.Warnings = append(pg.Warnings, fmt.Sprintf("Set %d is not the last of its chain: the service starts only after the last set.", s.Set))
		}
	}
	return pages
}

// Restorable says whether a cataloged set can be chosen for a restore,
// and why not: only complete sets made by exbackup, on a tape that is
// there, go back to a server.
func Restorable(s catalog.Set, tapePresent bool) error {
	switch {
	case s.State == catalog.StateAborted:
		return errors.New("the set was never finished on tape")
	case s.State == catalog.StateDamaged:
		return errors.New("part of the set fails its checks")
	case s.Foreign:
		return errors.New("not an exbackup set: it cannot be restored to a server")
	case !tapePresent:
		return errors.New("the tape's file is not there")
	}
	return nil
}
