package catalog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// buildByHand writes a bolt file as an older exbackup left it, without this
// package's help: the literal names and values pin the on-disk format.
func buildByHand(t *testing.T, fill func(tx *bolt.Tx) error) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "catalog.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fill); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func be(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func TestMigrationsAreInOrder(t *testing.T) {
	for i, m := range migrations {
		if m.version != i+1 || m.name == "" || m.apply == nil {
			t.Errorf("migration %d is {%d, %q}: versions go 1, 2, … with a name each", i, m.version, m.name)
		}
	}
}

func TestOpenNewCatalog(t *testing.T) {
	c := openTest(t)
	if v, err := c.SchemaVersion(); err != nil || v != latestVersion() {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, latestVersion())
	}
}

// Schema 0 is an empty bolt file.
func TestMigration1(t *testing.T) {
	path := buildByHand(t, func(*bolt.Tx) error { return nil })
	c := openTestAt(t, path)
	if v, _ := c.SchemaVersion(); v != latestVersion() {
		t.Fatalf("version %d after migrating", v)
	}
	c.db.View(func(tx *bolt.Tx) error {
		for _, name := range []string{"meta", "tapes", "sets", "entries", "sets-by-tape"} {
			if tx.Bucket([]byte(name)) == nil {
				t.Errorf("no bucket %s", name)
			}
		}
		return nil
	})
	tp := addTape(t, c, "A")
	addSet(t, c, newSet(tp.ID, 1, "EXCH01", "IS", TypeNormal, t0), newEntries("EXCH01", "IS", 1))
}

// Schema 1 had no sets-by-store: version 2 builds it from the sets.
func TestMigration2(t *testing.T) {
	path := buildByHand(t, func(tx *bolt.Tx) error {
		b := map[string]*bolt.Bucket{}
		for _, name := range []string{"meta", "tapes", "sets", "entries", "sets-by-tape"} {
			var err error
			if b[name], err = tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		b["meta"].Put([]byte("version"), be(1))
		b["tapes"].SetSequence(1)
		b["tapes"].Put(be(1), []byte(`{"ID":1,"FamilyID":4660,"Sequence":1,"Name":"Monday","Created":"2026-11-23T22:00:00Z","Owner":"FIRSTORG\\admin","Location":"/tapes/monday.bkf","Software":"exbackup"}`))
		sets := []string{
			1: `{"ID":1,"TapeID":1,"Number":1,"Type":"normal","Created":"2026-11-23T22:00:00Z","Organization":"First Organization","Site":"Redmond","Server":"EXCH01","Stores":["IS"],"BaseLSN":77,"LowGen":1,"HighGen":3,"HighLSN":99,"Bytes":4096,"Files":1,"State":"complete"}`,
			2: `{"ID":2,"TapeID":1,"Number":2,"Type":"normal","Created":"2026-11-23T22:01:00Z","Server":"EXCH01","Stores":["DS"],"Files":1,"State":"complete"}`,
			3: `{"ID":3,"TapeID":1,"Number":3,"Type":"incremental","Created":"2026-11-24T22:00:00Z","Server":"EXCH01","Stores":["IS"],"Files":1,"State":"complete","Verified":"2026-11-25T08:00:00Z"}`,
			4: `{"ID":4,"TapeID":1,"Number":4,"Name":"C: drive","Created":"2026-11-24T23:00:00Z","Stores":["C:"],"State":"complete","Foreign":true}`,
			5: `{"ID":5,"TapeID":1,"Number":5,"Type":"incremental","Created":"2026-11-25T22:00:00Z","Server":"EXCH01","Stores":["IS"],"State":"aborted"}`,
		}
		b["sets"].SetSequence(5)
		for id := 1; id <= 5; id++ {
			b["sets"].Put(be(uint64(id)), []byte(sets[id]))
			b["sets-by-tape"].Put(append(append(be(1), be(uint64(id))...), be(uint64(id))...), nil)
			eb, err := b["entries"].CreateBucket(be(uint64(id)))
			if err != nil {
				return err
			}
			if id != 4 {
				eb.SetSequence(1)
				eb.Put(be(1), []byte(`{"Volume":"\\\\EXCH01\\Microsoft Information Store","Path":"priv.edb","Size":4096,"FLA":12,"Hash":"sha256:ab"}`))
			}
		}
		return nil
	})

	c := openTestAt(t, path)
	if v, _ := c.SchemaVersion(); v != latestVersion() {
		t.Fatalf("version %d after migrating", v)
	}
	var rows int
	c.db.View(func(tx *bolt.Tx) error {
		rows = tx.Bucket([]byte("sets-by-store")).Stats().KeyN
		return nil
	})
	if rows != 4 {
		t.Errorf("sets-by-store has %d rows, want 4 (every set but the foreign one)", rows)
	}
	chain, err := c.ChainFor("EXCH01", "IS")
	if err != nil || len(chain) != 2 || chain[0].ID != 1 || chain[1].ID != 3 {
		t.Fatalf("ChainFor(EXCH01, IS) = %+v, %v; want sets 1 and 3", chain, err)
	}
	if chain[0].BaseLSN != 77 || chain[0].Organization != "First Organization" || chain[1].Verified.IsZero() {
		t.Errorf("fields lost: %+v", chain)
	}
	if chain, err := c.ChainFor("exch01", "DS"); err != nil || len(chain) != 1 || chain[0].ID != 2 {
		t.Errorf("ChainFor(exch01, DS) = %+v, %v", chain, err)
	}
	e, err := c.Entries(1)
	if err != nil || len(e) != 1 || e[0] != (Entry{Volume: `\\EXCH01\Microsoft Information Store`, Path: "priv.edb", Size: 4096, FLA: 12, Hash: "sha256:ab"}) {
		t.Errorf("Entries(1) = %+v, %v", e, err)
	}
	tp, err := c.TapeByName("monday")
	if err != nil || tp.Owner != `FIRSTORG\admin` || tp.FamilyID != 0x1234 {
		t.Errorf("tape = %+v, %v", tp, err)
	}
	if s := addSet(t, c, newSet(1, 6, "EXCH01", "IS", TypeIncremental, t0), nil); s.ID != 6 {
		t.Errorf("a new set after migrating got id %d, want 6", s.ID)
	}
}

// Schema 2 did not say which member of its media family a set starts on:
// version 3 gives each set its tape's sequence (1 for a tape whose header
// says 0), and leaves the rest of the record as it was.
func TestMigration3(t *testing.T) {
	path := buildByHand(t, func(tx *bolt.Tx) error {
		b := map[string]*bolt.Bucket{}
		for _, name := range []string{"meta", "tapes", "sets", "entries", "sets-by-tape", "sets-by-store"} {
			var err error
			if b[name], err = tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		b["meta"].Put([]byte("version"), be(2))
		b["tapes"].SetSequence(3)
		b["tapes"].Put(be(1), []byte(`{"ID":1,"FamilyID":4001,"Sequence":1,"Name":"Family 1","Created":"2003-03-04T05:06:07Z","Location":"/old/family-1.bkf"}`))
		b["tapes"].Put(be(2), []byte(`{"ID":2,"FamilyID":4001,"Sequence":2,"Name":"Family 2","Created":"2003-03-04T05:06:07Z","Location":"/old/family-2.bkf"}`))
		b["tapes"].Put(be(3), []byte(`{"ID":3,"FamilyID":77,"Name":"No sequence","Created":"2003-03-04T05:06:07Z","Location":"/old/zero.bkf"}`))
		sets := []string{
			1: `{"ID":1,"TapeID":1,"Number":1,"Name":"Spanning","Created":"2003-03-04T05:06:07Z","Stores":["E:"],"Files":2,"Bytes":20017,"State":"aborted","Damage":"goes on","Foreign":true}`,
			2: `{"ID":2,"TapeID":2,"Number":1,"Name":"Spanning","Created":"2003-03-04T05:06:07Z","Stores":["E:"],"Files":2,"State":"complete","Foreign":true}`,
			3: `{"ID":3,"TapeID":3,"Number":1,"Created":"2003-03-04T05:06:07Z","Stores":["C:"],"State":"complete","Foreign":true}`,
		}
		b["sets"].SetSequence(3)
		for id, tapeID := range []uint64{1: 1, 2: 2, 3: 3} {
			if id == 0 {
				continue
			}
			b["sets"].Put(be(uint64(id)), []byte(sets[id]))
			b["sets-by-tape"].Put(append(append(be(tapeID), be(1)...), be(uint64(id))...), nil)
			eb, err := b["entries"].CreateBucket(be(uint64(id)))
			if err != nil {
				return err
			}
			eb.SetSequence(1)
			eb.Put(be(1), []byte(`{"Volume":"E:","Path":"Big/head.txt","Size":17,"FLA":4}`))
		}
		return nil
	})
	c := openTestAt(t, path)
	if v, _ := c.SchemaVersion(); v != 3 {
		t.Fatalf("version %d after migrating", v)
	}
	for id, want := range map[uint64]uint16{1: 1, 2: 2, 3: 1} {
		s, err := c.Set(id)
		if err != nil || s.Member != want || s.LastMember != 0 || s.Continued {
			t.Errorf("set id %d: member %d (last %d, continued %v), %v; want member %d", id, s.Member, s.LastMember, s.Continued, err, want)
		}
	}
	if s, _ := c.Set(1); s.Damage != "goes on" || s.Files != 2 || s.Bytes != 20017 || s.State != StateAborted || !s.Foreign {
		t.Errorf("set 1 lost fields: %+v", s)
	}
	if e, err := c.Entries(2); err != nil || len(e) != 1 || e[0] != (Entry{Volume: "E:", Path: "Big/head.txt", Size: 17, FLA: 4}) {
		t.Errorf("Entries(2) = %+v, %v", e, err)
	}
	// A set added since records its member, and one that spans says so.
	s := addSet(t, c, Set{TapeID: 2, Number: 2, Created: t0, State: StateComplete, Foreign: true, LastMember: 3}, []Entry{{Path: "a", Member: 3}})
	if got, _ := c.Set(s.ID); got.Member != 2 || got.LastMember != 3 || got.MemberText() != "on members 2\u20133" {
		t.Errorf("a new spanning set: member %d, last %d, %q", got.Member, got.LastMember, got.MemberText())
	}
	if e, _ := c.Entries(s.ID); len(e) != 1 || e[0].Member != 3 {
		t.Errorf("a new set's entry: %+v", e)
	}
	gone := Set{State: StateAborted, Damage: `tape "Family 1", set 1 needs member 2 of media family 00000FA1`}
	if got := gone.StateText(); got != `incomplete: tape "Family 1", set 1 needs member 2 of media family 00000FA1` {
		t.Errorf("a set whose member is missing: %q", got)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	newer := latestVersion() + 1
	path := buildByHand(t, func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		return meta.Put([]byte("version"), be(uint64(newer)))
	})
	before, _ := os.ReadFile(path)
	c, err := Open(path)
	if err == nil {
		c.Close()
		t.Fatal("a newer catalog was opened")
	}
	if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), fmt.Sprintf("catalog.db was written by a newer exbackup (schema %d", newer)) {
		t.Errorf("error %q", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the newer catalog was changed")
	}
	// The file lock was released: the newer exbackup may open it.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: openTimeout})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
}

// A migration that fails leaves the catalog at the last version it reached.
func TestFailedMigrationKeepsVersion(t *testing.T) {
	path := buildByHand(t, func(*bolt.Tx) error { return nil })
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	boom := errors.New("disk on fire")
	list := []migration{migrations[0], {2, "half done", func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucket([]byte("half")); err != nil {
			return err
		}
		return boom
	}}}
	if err := migrate(db, list); !errors.Is(err, boom) || !strings.Contains(err.Error(), "schema 2 (half done)") {
		t.Fatalf("migrate: %v", err)
	}
	db.View(func(tx *bolt.Tx) error {
		if v, _ := schemaVersion(tx); v != 1 {
			t.Errorf("version %d after a failed migration to 2, want 1", v)
		}
		if tx.Bucket([]byte("half")) != nil {
			t.Error("the failed migration left a bucket")
		}
		return nil
	})
}

func TestOpenErrors(t *testing.T) {
	c := openTest(t)
	path := c.db.Path()
	if _, err := Open(path); !errors.Is(err, berrors.ErrTimeout) || !strings.Contains(err.Error(), "another exbackup has it open") {
		t.Errorf("second Open of %s: %v", path, err)
	}

	junk := filepath.Join(t.TempDir(), "catalog.db")
	os.WriteFile(junk, bytes.Repeat([]byte("not a catalog "), 1000), 0o600)
	if _, err := Open(junk); err == nil || !strings.Contains(err.Error(), junk) {
		t.Errorf("Open of a file that is not a catalog: %v", err)
	}
}
