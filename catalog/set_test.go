package catalog

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSetRoundTrip(t *testing.T) {
	c := openTest(t)
	tp := addTape(t, c, "A")
	in := newSet(tp.ID, 1, "EXCH01", "IS", TypeNormal, time.Now())
	in.Restricted = true
	entries := newEntries("EXCH01", "IS", 5)
	entries[0].FLA = 0 // zero fields are left out of the value and must come back

	put, err := c.AddSet(in, entries)
	if err != nil {
		t.Fatal(err)
	}
	if put.ID == 0 || !put.Created.Equal(in.Created) {
		t.Fatalf("AddSet returned %+v", put)
	}
	got, err := c.Set(put.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, put) {
		t.Fatalf("Set(%d) =\n%+v, want\n%+v", put.ID, got, put)
	}
	gotEntries, err := c.Entries(put.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotEntries, entries) {
		t.Fatalf("Entries = %+v, want %+v", gotEntries, entries)
	}

	foreign := Set{TapeID: tp.ID, Number: 2, Type: "", Name: "NTBackup set", Created: t0,
		Stores: []string{"C:", "D:\x00odd"}, State: StateComplete, Foreign: true}
	fput := addSet(t, c, foreign, nil)
	if got, _ := c.Set(fput.ID); !reflect.DeepEqual(got, fput) {
		t.Fatalf("foreign set = %+v, want %+v", got, fput)
	}
	if e, err := c.Entries(fput.ID); err != nil || len(e) != 0 {
		t.Fatalf("entries of an empty set = %v, %v", e, err)
	}
	if _, err := c.Set(999); !errors.Is(err, ErrNotFound) {
		t.Errorf("Set(999): %v", err)
	}
}

func TestSetsOrder(t *testing.T) {
	c := openTest(t)
	a, b := addTape(t, c, "A"), addTape(t, c, "B")
	// Tape B's set is added first; set numbers are added in order per tape.
	b1 := addSet(t, c, newSet(b.ID, 1, "EXCH02", "DS", TypeNormal, t0), nil)
	a1 := addSet(t, c, newSet(a.ID, 1, "EXCH01", "DS", TypeNormal, t0), nil)
	a2 := addSet(t, c, newSet(a.ID, 2, "EXCH01", "IS", TypeNormal, t0), nil)
	b2 := addSet(t, c, newSet(b.ID, 2, "EXCH02", "IS", TypeNormal, t0), nil)

	ids := func(sets []Set, err error) []uint64 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []uint64
		for _, s := range sets {
			out = append(out, s.ID)
		}
		return out
	}
	if got, want := ids(c.Sets(a.ID)), []uint64{a1.ID, a2.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("Sets(A) = %v, want %v", got, want)
	}
	if got, want := ids(c.Sets(b.ID)), []uint64{b1.ID, b2.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("Sets(B) = %v, want %v", got, want)
	}
	if got, want := ids(c.AllSets()), []uint64{a1.ID, a2.ID, b1.ID, b2.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("AllSets = %v, want %v", got, want)
	}
	if _, err := c.Sets(99); !errors.Is(err, ErrNotFound) {
		t.Errorf("Sets of an unknown tape: %v", err)
	}
}

// Appending after an aborted set writes over it on tape: the catalog follows.
func TestAddSetOverwritesTheTapeFromItsNumber(t *testing.T) {
	c := openTest(t)
	tp := addTape(t, c, "A")
	s1 := addSet(t, c, newSet(tp.ID, 1, "EXCH01", "IS", TypeNormal, t0), newEntries("EXCH01", "IS", 2))
	aborted := newSet(tp.ID, 2, "EXCH01", "IS", TypeIncremental, t0.Add(time.Hour))
	aborted.State = StateAborted
	aborted = addSet(t, c, aborted, newEntries("EXCH01", "IS", 1))
	s2 := addSet(t, c, newSet(tp.ID, 2, "EXCH01", "IS", TypeIncremental, t0.Add(2*time.Hour)), newEntries("EXCH01", "IS", 1))

	sets, _ := c.Sets(tp.ID)
	if len(sets) != 2 || sets[0].ID != s1.ID || sets[1].ID != s2.ID {
		t.Fatalf("Sets = %+v", sets)
	}
	if _, err := c.Set(aborted.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("overwritten set: %v", err)
	}
	// Replace: set 1 again leaves set 1 alone.
	n1 := addSet(t, c, newSet(tp.ID, 1, "EXCH01", "DS", TypeNormal, t0.Add(3*time.Hour)), nil)
	if sets, _ := c.Sets(tp.ID); len(sets) != 1 || sets[0].ID != n1.ID {
		t.Fatalf("Sets after rewriting set 1 = %+v", sets)
	}
}

func TestAddSetRefuses(t *testing.T) {
	c := openTest(t)
	tp := addTape(t, c, "A")
	ok := newSet(tp.ID, 1, "EXCH01", "IS", TypeNormal, t0)
	for name, tc := range map[string]struct {
		mod  func(*Set)
		want string
	}{
		"unknown tape": {func(s *Set) { s.TapeID = 42 }, "tape #42"},
		"number 0":     {func(s *Set) { s.Number = 0 }, "start at 1"},
		"state":        {func(s *Set) { s.State = "" }, "unknown state"},
		"type":         {func(s *Set) { s.Type = "daily" }, "unknown backup type"},
		"no type":      {func(s *Set) { s.Type = "" }, "unknown backup type"},
		"no server":    {func(s *Set) { s.Server = "" }, "server"},
		"no store":     {func(s *Set) { s.Stores = nil }, "no store"},
		"nul":          {func(s *Set) { s.Stores = []string{"I\x00S"} }, "store"},
		"has id":       {func(s *Set) { s.ID = 7 }, "already cataloged"},
	} {
		s := ok
		tc.mod(&s)
		if _, err := c.AddSet(s, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: AddSet error %v, want one that says %q", name, err, tc.want)
		}
	}
	if all, _ := c.AllSets(); len(all) != 0 {
		t.Errorf("refused sets were written: %+v", all)
	}
}

// A set whose entries fail half-way leaves nothing: neither the set nor the
// entries already written, nor its index rows, nor the sets it would have
// overwritten.
func TestAddSetIsAtomic(t *testing.T) {
	c := openTest(t)
	tp := addTape(t, c, "A")
	old := addSet(t, c, newSet(tp.ID, 1, "EXCH01", "IS", TypeNormal, t0), newEntries("EXCH01", "IS", 2))
	entries := newEntries("EXCH01", "IS", 4)
	entries[3].Path = ""
	if _, err := c.AddSet(newSet(tp.ID, 1, "EXCH01", "IS", TypeNormal, t0.Add(time.Hour)), entries); err == nil || !strings.Contains(err.Error(), "entry 4") {
		t.Fatalf("AddSet with a bad entry: %v", err)
	}
	all, _ := c.AllSets()
	if len(all) != 1 || all[0].ID != old.ID {
		t.Fatalf("after a failed AddSet, AllSets = %+v", all)
	}
	if chain, err := c.ChainFor("EXCH01", "IS"); err != nil || len(chain) != 1 || chain[0].ID != old.ID {
		t.Fatalf("after a failed AddSet, ChainFor = %+v, %v", chain, err)
	}
}

func TestUpdateSet(t *testing.T) {
	c := openTest(t)
	tp := addTape(t, c, "A")
	full := addSet(t, c, newSet(tp.ID, 1, "EXCH01", "IS", TypeNormal, t0), nil)
	incr := addSet(t, c, newSet(tp.ID, 2, "EXCH01", "IS", TypeIncremental, t0.Add(time.Hour)), newEntries("EXCH01", "IS", 3))

	incr.Verified = time.Now()
	if err := c.UpdateSet(incr); err != nil {
		t.Fatal(err)
	}
	got, _ := c.Set(incr.ID)
	if !got.Verified.Equal(incr.Verified) {
		t.Errorf("Verified = %v, want %v", got.Verified, incr.Verified)
	}
	if e, _ := c.Entries(incr.ID); len(e) != 3 {
		t.Errorf("UpdateSet touched the entries: %d left", len(e))
	}

	// A verify that finds the set damaged takes it out of the chain.
	got.State = StateDamaged
	if err := c.UpdateSet(got); err != nil {
		t.Fatal(err)
	}
	if chain, _ := c.ChainFor("EXCH01", "IS"); len(chain) != 1 || chain[0].ID != full.ID {
		t.Errorf("chain after damage = %+v", chain)
	}
	// Moving the set to another store moves its index rows.
	got.State, got.Stores = StateComplete, []string{"DS"}
	if err := c.UpdateSet(got); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ChainFor("EXCH01", "DS"); !errors.Is(err, ErrNotFound) {
		t.Errorf("DS has only an incremental, yet: %v", err)
	}

	moved := got
	moved.Number = 5
	if err := c.UpdateSet(moved); err == nil {
		t.Error("UpdateSet renumbered a set")
	}
	ghost := got
	ghost.ID = 999
	if err := c.UpdateSet(ghost); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateSet of an unknown set: %v", err)
	}
}

// Returned values are copies: they stay readable after the catalog (and so
// bolt's memory map) is closed.
func TestValuesOutliveTheCatalog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	tp := addTape(t, c, "A")
	s := addSet(t, c, newSet(tp.ID, 1, "EXCH01", "IS", TypeNormal, t0), newEntries("EXCH01", "IS", 3))
	tapes, _ := c.Tapes()
	sets, _ := c.AllSets()
	entries, _ := c.Entries(s.ID)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if tapes[0].Name != "A" || sets[0].Server != "EXCH01" || sets[0].Stores[0] != "IS" ||
		!strings.HasPrefix(entries[2].Path, "logs/") || !strings.HasPrefix(entries[2].Hash, "sha256:") {
		t.Fatalf("values changed after Close: %+v %+v %+v", tapes, sets, entries)
	}
}
