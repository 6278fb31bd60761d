package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// records reads a tape's sets and entries back.
func records(t *testing.T, c *Catalog, tapeID uint64) []SetWithEntries {
	t.Helper()
	sets, err := c.Sets(tapeID)
	if err != nil {
		t.Fatal(err)
	}
	var out []SetWithEntries
	for _, s := range sets {
		e, err := c.Entries(s.ID)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, SetWithEntries{s, e})
	}
	return out
}

// backupTape writes what a backup would: a tape, then set after set.
func backupTape(t *testing.T, c *Catalog, name, server string) (Tape, []SetWithEntries) {
	tp := addTape(t, c, name)
	local := time.FixedZone("PST", -8*3600)
	for i, st := range []string{"DS", "IS", "DS", "IS"} {
		s := newSet(tp.ID, i+1, server, st, TypeNormal, time.Date(2026, 11, 25, 22, i, 0, 0, local))
		if i >= 2 {
			s.Type = TypeIncremental
		}
		addSet(t, c, s, newEntries(server, st, i+1))
	}
	aborted := newSet(tp.ID, 5, "EXCH02", "IS", TypeNormal, t0.Add(time.Hour))
	aborted.State = StateAborted
	addSet(t, c, aborted, newEntries("EXCH02", "IS", 1))
	return tp, records(t, c, tp.ID)
}

// asReadFromTape is what cataloging the tape gives: no catalog ids, no
// verify times, times in the zone the tape reader chose.
func asReadFromTape(recs []SetWithEntries) []SetWithEntries {
	var out []SetWithEntries
	for _, r := range recs {
		s := r.Set
		s.ID, s.TapeID, s.Verified = 0, 0, time.Time{}
		s.Created = s.Created.Local()
		out = append(out, SetWithEntries{s, append([]Entry(nil), r.Entries...)})
	}
	return out
}

func TestReplaceTapeEqualsBackup(t *testing.T) {
	c := openTest(t)
	tp, wrote := backupTape(t, c, "A", "EXCH01")
	other, otherWrote := backupTape(t, c, "B", "EXCH02")

	// A verify ran after the backup; the tape does not record it.
	s := wrote[1].Set
	s.Verified = t0.Add(48 * time.Hour)
	if err := c.UpdateSet(s); err != nil {
		t.Fatal(err)
	}

	read := tp
	read.ID = 0 // found again by location
	got, err := c.ReplaceTape(read, asReadFromTape(wrote))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != tp.ID || !reflect.DeepEqual(got, tp) {
		t.Fatalf("ReplaceTape gave tape %+v, want %+v", got, tp)
	}
	rebuilt := records(t, c, tp.ID)
	if !EqualRecords(rebuilt, wrote) {
		t.Fatalf("rebuilt records differ:\n%+v\nwant\n%+v", rebuilt, wrote)
	}
	if rebuilt[0].Set.ID == wrote[0].Set.ID {
		t.Error("set ids were reused")
	}
	for _, old := range wrote {
		if _, err := c.Set(old.Set.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("old set id %d survived the rebuild: %v", old.Set.ID, err)
		}
	}
	if !EqualRecords(records(t, c, other.ID), otherWrote) {
		t.Error("rebuilding tape A changed tape B")
	}
	if tapes, _ := c.Tapes(); len(tapes) != 2 {
		t.Errorf("%d tapes after a rebuild, want 2", len(tapes))
	}
	if all, _ := c.AllSets(); len(all) != 2*len(wrote) {
		t.Errorf("%d sets after a rebuild, want %d", len(all), 2*len(wrote))
	}
	chain, err := c.ChainFor("EXCH01", "IS")
	if err != nil || len(chain) != 2 || chain[0].ID != rebuilt[1].Set.ID || chain[1].ID != rebuilt[3].Set.ID {
		t.Fatalf("chain after rebuild: %v, %v", chain, err)
	}
}

func TestReplaceTapeMatches(t *testing.T) {
	c := openTest(t)
	tp, wrote := backupTape(t, c, "A", "EXCH01")

	// The .bkf file was moved: same family and sequence, new place.
	moved := tp
	moved.ID = 0
	moved.Location = filepath.Join(t.TempDir(), "moved.bkf")
	got, err := c.ReplaceTape(moved, asReadFromTape(wrote[:2]))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != tp.ID || got.Location != moved.Location {
		t.Fatalf("moved tape = %+v, want tape #%d at %s", got, tp.ID, moved.Location)
	}
	if !EqualRecords(records(t, c, tp.ID), wrote[:2]) {
		t.Fatal("moved tape's records differ")
	}

	// Another tape of the family is another tape.
	second := moved
	second.Sequence = 2
	second.Location = filepath.Join(t.TempDir(), "second.bkf")
	got2, err := c.ReplaceTape(second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got2.ID == tp.ID {
		t.Fatal("tape 2 of the family replaced tape 1")
	}
	if sets, _ := c.Sets(got2.ID); len(sets) != 0 {
		t.Fatalf("new tape has sets %+v", sets)
	}

	// Erased: the same file, a new family, nothing on it.
	erased := got
	erased.ID, erased.FamilyID = 0, 0x77
	if got3, err := c.ReplaceTape(erased, nil); err != nil || got3.ID != tp.ID {
		t.Fatalf("erased tape = %+v, %v", got3, err)
	}
	if sets, _ := c.Sets(tp.ID); len(sets) != 0 {
		t.Fatalf("erased tape still has sets %+v", sets)
	}

	dup := asReadFromTape(wrote[:2])
	dup[1].Set.Number = 1
	if _, err := c.ReplaceTape(erased, dup); err == nil {
		t.Fatal("a tape with set #1 twice was accepted")
	}
	bad := asReadFromTape(wrote[:2])
	bad[1].Entries[0].Path = ""
	if _, err := c.ReplaceTape(erased, bad); err == nil {
		t.Fatal("a set with an entry without path was accepted")
	}
	if sets, _ := c.Sets(tp.ID); len(sets) != 0 {
		t.Fatalf("a failed rebuild left sets %+v", sets)
	}
}

func TestEqualRecords(t *testing.T) {
	s := newSet(1, 1, "EXCH01", "IS", TypeNormal, t0)
	s.ID = 5
	a := []SetWithEntries{{s, newEntries("EXCH01", "IS", 2)}}
	same := asReadFromTape(a)
	if !EqualRecords(a, same) {
		t.Fatal("ids, verify time or time zone made records differ")
	}
	if !EqualRecords(nil, []SetWithEntries{}) ||
		!EqualRecords([]SetWithEntries{{Set: s}}, []SetWithEntries{{Set: s, Entries: []Entry{}}}) {
		t.Fatal("nil and empty differ")
	}
	for name, mod := range map[string]func(*SetWithEntries){
		"created": func(r *SetWithEntries) { r.Set.Created = r.Set.Created.Add(time.Second) },
		"state":   func(r *SetWithEntries) { r.Set.State = StateAborted },
		"stores":  func(r *SetWithEntries) { r.Set.Stores = []string{"DS"} },
		"gen":     func(r *SetWithEntries) { r.Set.HighGen++ },
		"hash":    func(r *SetWithEntries) { r.Entries[1].Hash = "sha256:00" },
		"entries": func(r *SetWithEntries) { r.Entries = r.Entries[:1] },
	} {
		b := asReadFromTape(a)
		mod(&b[0])
		if EqualRecords(a, b) {
			t.Errorf("a change of %s went unseen", name)
		}
	}
	if EqualRecords(a, append(asReadFromTape(a), a[0])) {
		t.Error("an extra set went unseen")
	}
}

// TestCopyOfATapeIsAnotherTape catalogs a second file of the same family
// and sequence while the first is still in its place: a copy, which must
// not take the first one's record.
func TestCopyOfATapeIsAnotherTape(t *testing.T) {
	c := openTest(t)
	tp, wrote := backupTape(t, c, "A", "EXCH01")
	if err := os.WriteFile(tp.Location, []byte("the tape"), 0o600); err != nil {
		t.Fatal(err)
	}
	cp := tp
	cp.ID = 0
	cp.Location = filepath.Join(t.TempDir(), "copy.bkf")
	got, err := c.ReplaceTape(cp, asReadFromTape(wrote[:1]))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == tp.ID {
		t.Fatal("the copy took the original's record")
	}
	orig, err := c.Tape(tp.ID)
	if err != nil || orig.Location != tp.Location {
		t.Fatalf("original: %+v, %v", orig, err)
	}
	if !EqualRecords(records(t, c, tp.ID), wrote) {
		t.Fatal("the original's sets changed")
	}
}
