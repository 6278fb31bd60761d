package catalog

import (
	"errors"
	"fmt"
	"hash/fnv"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// t0 is a round date, in UTC as the catalog stores it.
var t0 = time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)

// openTest opens a new catalog in a temporary folder (one level deeper than
// exists, so that Open must create it). At cleanup it checks the bolt file
// and the catalog's own indexes, then closes it.
func openTest(tb testing.TB) *Catalog {
	tb.Helper()
	return openTestAt(tb, filepath.Join(tb.TempDir(), "home", "catalog.db"))
}

func openTestAt(tb testing.TB, path string) *Catalog {
	tb.Helper()
	c, err := Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		err := c.db.View(func(tx *bolt.Tx) error {
			for err := range tx.Check() {
				tb.Errorf("bolt check of %s: %v", path, err)
			}
			for _, err := range checkIndexes(tx) {
				tb.Errorf("catalog check of %s: %v", path, err)
			}
			return nil
		})
		if errors.Is(err, berrors.ErrDatabaseNotOpen) {
			return // the test closed it
		}
		if err != nil {
			tb.Error(err)
		}
		if err := c.Close(); err != nil {
			tb.Error(err)
		}
	})
	return c
}

// checkIndexes finds rows that point nowhere and sets that lack a row: what
// a transaction that was not atomic would leave behind.
func checkIndexes(tx *bolt.Tx) []error { return checkRecords(tx) }

func familyID(name string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return h.Sum32()
}

func addTape(tb testing.TB, c *Catalog, name string) Tape {
	tb.Helper()
	t, err := c.PutTape(Tape{
		FamilyID: familyID(name), Sequence: 1,
		Name: name, Description: "weekly", Created: t0,
		Owner: `FIRSTORG\admin`, Location: filepath.Join(tb.TempDir(), name+".bkf"),
		Software: "exbackup",
	})
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// newSet is an exbackup set of one store, complete.
func newSet(tapeID uint64, number int, server, store, typ string, created time.Time) Set {
	return Set{
		TapeID: tapeID, Number: number, Type: typ,
		Name:         fmt.Sprintf("Set created %s", created.Format("1/2/2006 at 3:04 PM")),
		Description:  "nightly",
		Created:      created,
		Owner:        `FIRSTORG\admin`,
		Organization: "First Organization", Site: "Redmond", Server: server,
		Stores:  []string{store},
		BaseLSN: 1000 * uint64(number), LowGen: uint32(number), HighGen: uint32(number) + 2, HighLSN: 1000*uint64(number) + 999,
		Bytes: 3 << 20, Files: 4,
		State: StateComplete,
	}
}

func newEntries(server, store string, n int) []Entry {
	vol := `\\` + server + `\Microsoft Information Store`
	if store == "DS" {
		vol = `\\` + server + `\Microsoft Directory`
	}
	entries := make([]Entry, n)
	for i := range entries {
		entries[i] = Entry{
			Volume: vol, Path: fmt.Sprintf("logs/EDB%05X.log", i+1),
			Size: 1 << 20, FLA: uint64(100 * (i + 1)), Hash: fmt.Sprintf("sha256:%064x", i+1),
		}
	}
	return entries
}

func addSet(tb testing.TB, c *Catalog, s Set, entries []Entry) Set {
	tb.Helper()
	s, err := c.AddSet(s, entries)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
