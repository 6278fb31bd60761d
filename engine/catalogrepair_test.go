package engine

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"exbackup/catalog"
	"exbackup/exchange"
	"exbackup/tape"
	"exbackup/tape/mtf"
)

var dsisEX1 = []StoreRef{{"EX1", exchange.StoreDS}, {"EX1", exchange.StoreIS}}

// reopen closes the engine and opens a new one on the same home.
func reopen(t *testing.T, e *Engine) *Engine {
	t.Helper()
	e.Close()
	e2, err := Open(e.home)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e2.Close() })
	return e2
}

func catalogSets(t *testing.T, e *Engine, name string) []catalog.Set {
	t.Helper()
	ct, err := e.cat.TapeByName(name)
	if err != nil {
		t.Fatal(err)
	}
	sets, err := e.cat.Sets(ct.ID)
	if err != nil {
		t.Fatal(err)
	}
	return sets
}

func TestDamagedCatalogIsRebuiltFromTheTapes(t *testing.T) {
	e, _ := newEnv(t)
	for _, name := range []string{"Monday", "Tuesday"} {
		if _, err := e.Backup(bg, BackupRequest{Stores: dsisEX1, TapeName: name}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Verify(bg, VerifyRequest{Tape: "Monday", Set: 2}, nil); err != nil {
		t.Fatal(err)
	}
	home := e.home
	e.Close()
	db := filepath.Join(home, "catalog.db")
	data, _ := os.ReadFile(db)
	if err := os.WriteFile(db, data[:16<<10], 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := Open(home)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	n := e.CatalogNotice()
	if !strings.HasPrefix(n, "The catalog was damaged (") || !strings.Contains(n, "moved aside to "+db+".damaged-") || !strings.HasSuffix(n, "rebuilt from 2 tapes.") {
		t.Fatalf("notice %q", n)
	}
	aside, _ := filepath.Glob(db + ".damaged-*")
	if len(aside) != 1 {
		t.Fatalf("moved aside: %v", aside)
	}
	for _, name := range []string{"Monday", "Tuesday"} {
		sets := catalogSets(t, e, name)
		if len(sets) != 2 || sets[0].State != catalog.StateComplete || sets[1].State != catalog.StateComplete {
			t.Fatalf("%s: %+v", name, sets)
		}
		if verified := !sets[1].Verified.IsZero(); verified != (name == "Monday") {
			t.Fatalf("%s set 2: verified %v", name, sets[1].Verified)
		}
	}
	if _, err := e.cat.ChainFor("EX1", "IS"); err != nil {
		t.Fatal(err)
	}
	// Nothing more to say at the next open.
	if e = reopen(t, e); e.CatalogNotice() != "" {
		t.Fatalf("second open: %q", e.CatalogNotice())
	}
}

// TestCatalogCatchesUpWithTheTapes opens a home whose catalog is sound but
// behind: a tape copied into the library, a set on tape that the catalog
// never recorded (a console killed between the two).
func TestCatalogCatchesUpWithTheTapes(t *testing.T) {
	e, _ := newEnv(t)
	if _, err := e.Backup(bg, BackupRequest{Stores: isEX1, TapeName: "A"}, nil); err != nil {
		t.Fatal(err)
	}
	ct, _ := e.cat.TapeByName("A")
	if err := copyFile(ct.Location, filepath.Join(e.lib.Dir(), "Copied in.bkf")); err != nil {
		t.Fatal(err)
	}
	// The set reaches the tape; the catalog forgets it.
	if _, err := e.Backup(bg, BackupRequest{Stores: isEX1, TapeName: "A", Append: true}, nil); err != nil {
		t.Fatal(err)
	}
	sets := catalogSets(t, e, "A")
	if _, err := e.cat.ReplaceTape(ct, asRecords(sets[:1])); err != nil {
		t.Fatal(err)
	}
	e = reopen(t, e)
	if n := e.CatalogNotice(); !strings.Contains(n, "cataloged 2 tapes again") {
		t.Fatalf("notice %q", n)
	}
	if ct, err := e.cat.TapeByLocation(ct.Location); err != nil {
		t.Fatal(err)
	} else if sets, _ := e.cat.Sets(ct.ID); len(sets) != 2 {
		t.Fatalf("%d sets on A", len(sets))
	}
	tapes, _ := e.cat.Tapes()
	if len(tapes) != 2 {
		t.Fatalf("%d tapes", len(tapes))
	}
}

func asRecords(sets []catalog.Set) []catalog.SetWithEntries {
	var out []catalog.SetWithEntries
	for _, s := range sets {
		out = append(out, catalog.SetWithEntries{Set: s})
	}
	return out
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

// TestDamagedCopyKeepsTheOriginal catalogs a damaged copy of a tape (same
// media family): the real tape keeps its record, lists and restores.
func TestDamagedCopyKeepsTheOriginal(t *testing.T) {
	e, _ := newEnv(t)
	if _, err := e.Backup(bg, BackupRequest{Stores: isEX1, TapeName: "Real"}, nil); err != nil {
		t.Fatal(err)
	}
	orig, _ := e.cat.TapeByName("Real")
	data, _ := os.ReadFile(orig.Location)
	cp := filepath.Join(t.TempDir(), "copy.bkf")
	os.WriteFile(cp, data[:len(data)/2], 0o644)
	if err := e.CatalogTape(bg, cp, nil); err != nil {
		t.Fatal(err)
	}
	got, err := e.cat.Tape(orig.ID)
	if err != nil || got.Location != orig.Location || !e.TapePresent(got) {
		t.Fatalf("original after cataloging the copy: %+v, %v", got, err)
	}
	if sets, _ := e.cat.Sets(orig.ID); len(sets) != 1 || sets[0].State != catalog.StateComplete {
		t.Fatalf("original's sets: %+v", sets)
	}
	copied, err := e.cat.TapeByLocation(cp)
	if err != nil || copied.ID == orig.ID {
		t.Fatalf("copy: %+v, %v", copied, err)
	}
	if sets, _ := e.cat.Sets(copied.ID); len(sets) != 1 || sets[0].State != catalog.StateDamaged || !strings.HasPrefix(sets[0].Damage, "ends at byte ") {
		t.Fatalf("copy's sets: %+v", sets)
	}
	if _, err := e.Restore(bg, RestoreRequest{Sets: []RestoreSet{{Tape: "Real", Set: 1, Private: true, Public: true, Erase: true, Start: true}}}, nil); err != nil {
		t.Fatalf("restore from the original: %v", err)
	}
}

// TestFailedVerifyIsRecorded flips a byte of file data, which only a
// verify sees: the set is marked damaged with the file, and keeps the mark
// when the catalog is rebuilt.
func TestFailedVerifyIsRecorded(t *testing.T) {
	e, _ := newEnv(t)
	if _, err := e.Backup(bg, BackupRequest{Stores: isEX1, TapeName: "V"}, nil); err != nil {
		t.Fatal(err)
	}
	ct, _ := e.cat.TapeByName("V")
	b, _ := os.ReadFile(ct.Location)
	i := bytes.Index(b, []byte("mail mail mail"))
	if i < 0 {
		t.Fatal("no mail on tape")
	}
	b[i] ^= 0x20
	os.WriteFile(ct.Location, b, 0o644)
	if _, err := e.Verify(bg, VerifyRequest{Tape: "V"}, nil); err == nil {
		t.Fatal("verify passed")
	}
	check := func(when string) {
		sets := catalogSets(t, e, "V")
		if len(sets) != 1 || sets[0].State != catalog.StateDamaged || !strings.HasPrefix(sets[0].Damage, `file "`) ||
			!strings.HasPrefix(sets[0].StateText(), `damaged: file "`) || !sets[0].Verified.IsZero() {
			t.Fatalf("%s: %+v", when, sets)
		}
		if _, err := e.cat.ChainFor("EX1", "IS"); err == nil {
			t.Fatalf("%s: a damaged set is in a restore chain", when)
		}
	}
	check("after the verify")
	if err := e.CatalogTape(bg, "V", nil); err != nil {
		t.Fatal(err)
	}
	check("after cataloging the tape again")
	// Put the byte back: a verify passes and says so.
	b[i] ^= 0x20
	os.WriteFile(ct.Location, b, 0o644)
	if _, err := e.Verify(bg, VerifyRequest{Tape: "V"}, nil); err != nil {
		t.Fatal(err)
	}
	if sets := catalogSets(t, e, "V"); sets[0].State != catalog.StateComplete || sets[0].Verified.IsZero() {
		t.Fatalf("after a passed verify: %+v", sets)
	}
}

// TestCutTapeIsDamaged cuts a tape in the middle of its second set: that
// set is damaged and says where the tape ends; the first stays complete.
func TestCutTapeIsDamaged(t *testing.T) {
	e, _ := newEnv(t)
	if _, err := e.Backup(bg, BackupRequest{Stores: dsisEX1, TapeName: "Cut"}, nil); err != nil {
		t.Fatal(err)
	}
	ct, _ := e.cat.TapeByName("Cut")
	tp, _ := tape.Open(ct.Location)
	sets, _ := tp.Sets()
	cut := sets[1].Entries[0].Offset + mtf.HeaderSize + 100
	if err := os.Truncate(ct.Location, cut); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Verify(bg, VerifyRequest{Tape: "Cut", Set: 2}, nil); err == nil {
		t.Fatal("verify of a cut set passed")
	}
	if err := e.CatalogTape(bg, "Cut", nil); err != nil {
		t.Fatal(err)
	}
	got := catalogSets(t, e, "Cut")
	want := "damaged (ends at byte " + strconv.FormatInt(cut, 10) + ")"
	if got[0].State != catalog.StateComplete || got[1].State != catalog.StateDamaged || got[1].StateText() != want {
		t.Fatalf("%s / %s, want complete / %s", got[0].StateText(), got[1].StateText(), want)
	}
}

// TestVerifyOfSetCutAfterAWholeBlock: the tape now lists the set aborted
// where the catalog had it complete; the verify brings the catalog in line.
func TestVerifyOfSetCutAfterAWholeBlock(t *testing.T) {
	e, _ := newEnv(t)
	if _, err := e.Backup(bg, BackupRequest{Stores: isEX1, TapeName: "Cut"}, nil); err != nil {
		t.Fatal(err)
	}
	ct, _ := e.cat.TapeByName("Cut")
	tp, _ := tape.Open(ct.Location)
	sets, _ := tp.Sets()
	if err := os.Truncate(ct.Location, sets[0].Entries[1].Offset); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Verify(bg, VerifyRequest{Tape: "Cut"}, nil); err == nil {
		t.Fatal("verify of a cut set passed")
	}
	if got := catalogSets(t, e, "Cut"); got[0].State != catalog.StateAborted {
		t.Fatalf("after the verify: %s", got[0].StateText())
	}
}
