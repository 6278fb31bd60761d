package catalog

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTapeRoundTrip(t *testing.T) {
	c := openTest(t)
	in := Tape{
		FamilyID: 0xdeadbeef, Sequence: 2, Name: "Tape created on 11/25/2026",
		Description: "Weekly full", Owner: `FIRSTORG\admin`, Restricted: true,
		// A local time with a monotonic reading: stored as the same instant.
		Created:  time.Now().In(time.FixedZone("PST", -8*3600)),
		Location: filepath.Join(t.TempDir(), "x", "..", "weekly.bkf"),
		Software: "exbackup 1.0",
	}
	put, err := c.PutTape(in)
	if err != nil {
		t.Fatal(err)
	}
	if put.ID == 0 || !put.Created.Equal(in.Created) || put.Location != filepath.Clean(in.Location) {
		t.Fatalf("PutTape returned %+v for %+v", put, in)
	}
	got, err := c.Tape(put.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, put) {
		t.Fatalf("Tape(%d) = %+v, want %+v", put.ID, got, put)
	}

	got.Description, got.Restricted = "relabelled", false
	if _, err := c.PutTape(got); err != nil {
		t.Fatal(err)
	}
	again, _ := c.Tape(put.ID)
	if again.Description != "relabelled" || again.Restricted {
		t.Fatalf("update lost: %+v", again)
	}
	if tapes, _ := c.Tapes(); len(tapes) != 1 {
		t.Fatalf("an update added a tape: %+v", tapes)
	}
}

func TestPutTapeRefuses(t *testing.T) {
	c := openTest(t)
	a := addTape(t, c, "A")
	if _, err := c.PutTape(Tape{ID: 99, Name: "ghost"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("update of an unknown tape: %v", err)
	}
	if _, err := c.PutTape(Tape{Name: "B", Location: a.Location}); err == nil || !strings.Contains(err.Error(), "already cataloged") {
		t.Errorf("second tape at %s: %v", a.Location, err)
	}
	if _, err := c.PutTape(Tape{Name: "C", Location: "tapes/c.bkf"}); err == nil {
		t.Error("a relative location was accepted")
	}
}

func TestTapeLookups(t *testing.T) {
	c := openTest(t)
	mk := func(name string, created time.Time) Tape {
		tp, err := c.PutTape(Tape{Name: name, Created: created, Location: filepath.Join(t.TempDir(), "t.bkf")})
		if err != nil {
			t.Fatal(err)
		}
		return tp
	}
	late := mk("Monday", t0.Add(time.Hour))
	early := mk("monday", t0)
	same1 := mk("Same", t0)
	same2 := mk("Same", t0)

	tapes, err := c.Tapes()
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint64
	for _, tp := range tapes {
		ids = append(ids, tp.ID)
	}
	if want := []uint64{early.ID, same1.ID, same2.ID, late.ID}; !reflect.DeepEqual(ids, want) {
		t.Errorf("Tapes in order %v, want %v (by created, then id)", ids, want)
	}

	for name, want := range map[string]uint64{"Monday": late.ID, "monday": early.ID} {
		if got, err := c.TapeByName(name); err != nil || got.ID != want {
			t.Errorf("TapeByName(%q) = #%d, %v; want #%d", name, got.ID, err, want)
		}
	}
	if _, err := c.TapeByName("MONDAY"); err == nil || !strings.Contains(err.Error(), "2 tapes") {
		t.Errorf("TapeByName(MONDAY) matches two tapes only by case: %v", err)
	}
	if _, err := c.TapeByName("Same"); err == nil || !strings.Contains(err.Error(), same2.Location) {
		t.Errorf("TapeByName(Same): %v", err)
	}
	if _, err := c.TapeByName("Tuesday"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "Tuesday") {
		t.Errorf("TapeByName(Tuesday): %v", err)
	}

	if got, err := c.TapeByLocation(early.Location); err != nil || got.ID != early.ID {
		t.Errorf("TapeByLocation(%s) = #%d, %v", early.Location, got.ID, err)
	}
	if _, err := c.TapeByLocation(early.Location + ".old"); !errors.Is(err, ErrNotFound) {
		t.Errorf("TapeByLocation of an unknown file: %v", err)
	}
	if _, err := c.Tape(1000); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "tape #1000") {
		t.Errorf("Tape(1000): %v", err)
	}
}

func TestDeleteTapeCascades(t *testing.T) {
	c := openTest(t)
	a, b := addTape(t, c, "A"), addTape(t, c, "B")
	var gone []Set
	for i := 1; i <= 3; i++ {
		gone = append(gone, addSet(t, c, newSet(a.ID, i, "EXCH01", "IS", TypeNormal, t0.Add(time.Duration(i)*time.Hour)), newEntries("EXCH01", "IS", 3)))
	}
	kept := addSet(t, c, newSet(b.ID, 1, "EXCH01", "IS", TypeNormal, t0), newEntries("EXCH01", "IS", 2))

	if err := c.DeleteTape(a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Tape(a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted tape: %v", err)
	}
	for _, s := range gone {
		if _, err := c.Set(s.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("set of a deleted tape: %v", err)
		}
		if _, err := c.Entries(s.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("entries of a deleted tape: %v", err)
		}
	}
	if all, _ := c.AllSets(); len(all) != 1 || all[0].ID != kept.ID {
		t.Errorf("AllSets after delete = %+v", all)
	}
	if chain, err := c.ChainFor("EXCH01", "IS"); err != nil || len(chain) != 1 || chain[0].ID != kept.ID {
		t.Errorf("ChainFor after delete = %+v, %v", chain, err)
	}
	if err := c.DeleteTape(a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	// The cleanup's index check proves no row was left behind.
}
