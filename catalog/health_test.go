package catalog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// filledCatalog writes a catalog of a few tapes and sets at path, with
// bbolt's default options so that its freelist is on disk, as in catalogs
// written before NoFreelistSync, and returns the file's bytes.
func filledCatalog(t *testing.T, path string) []byte {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o700)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(db, migrations); err != nil {
		t.Fatal(err)
	}
	c := &Catalog{db: db}
	for i, name := range []string{"Monday", "Tuesday", "Wednesday"} {
		tp := addTape(t, c, name)
		for n := 1; n <= 4; n++ {
			addSet(t, c, newSet(tp.ID, n, "EXCH01", "IS", TypeNormal, t0.AddDate(0, 0, i*7+n)), newEntries("EXCH01", "IS", 30))
		}
	}
	// Replacing a tape frees pages: the freelist then lists some.
	if err := c.DeleteTape(2); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// openDamaged writes data at path and opens it: it must be refused as
// damaged, and OpenOrReset must move it aside and give an empty catalog.
func openDamaged(t *testing.T, path string, data []byte, why string) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Open(path)
	if err == nil {
		c.Close()
		t.Fatalf("%s: a damaged catalog opened", why)
	}
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("%s: %v, want ErrDamaged", why, err)
	}
	c, reset, err := OpenOrReset(path)
	if err != nil {
		t.Fatalf("%s: %v", why, err)
	}
	defer c.Close()
	if reset == nil || !strings.HasPrefix(reset.MovedTo, path+".damaged-") {
		t.Fatalf("%s: reset %+v", why, reset)
	}
	if moved, err := os.ReadFile(reset.MovedTo); err != nil || !bytes.Equal(moved, data) {
		t.Fatalf("%s: the damaged file was not kept as it was: %v", why, err)
	}
	os.Remove(reset.MovedTo)
	if tapes, err := c.Tapes(); err != nil || len(tapes) != 0 {
		t.Fatalf("%s: new catalog: %d tapes, %v", why, len(tapes), err)
	}
	if _, err := c.PutTape(Tape{Name: "new"}); err != nil {
		t.Fatalf("%s: new catalog: %v", why, err)
	}
}

func pageSizeOf(data []byte) int { return int(binary.LittleEndian.Uint32(data[pageHeaderSize+8:])) }

func newerMeta(data []byte) boltMeta {
	ps := pageSizeOf(data)
	m0, m1 := readMeta(data, 0, ps), readMeta(data, 1, ps)
	if m1.txid > m0.txid {
		return m1
	}
	return m0
}

// pagesWith returns the ids of the pages whose flags are flags.
func pagesWith(data []byte, flags uint16) []int {
	ps := pageSizeOf(data)
	var ids []int
	for id := 2; (id+1)*ps <= len(data); id++ {
		if binary.LittleEndian.Uint16(data[id*ps+8:]) == flags && binary.LittleEndian.Uint64(data[id*ps:]) == uint64(id) {
			ids = append(ids, id)
		}
	}
	return ids
}

func TestDamagedCatalogIsRefusedAndReset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	good := filledCatalog(t, path)
	ps := pageSizeOf(good)
	flip := func(at int) []byte {
		b := bytes.Clone(good)
		b[at] ^= 0x5a
		return b
	}
	m := newerMeta(good)
	if m.freelist == noFreelist || m.freelist*uint64(ps) >= uint64(len(good)) {
		t.Fatalf("no freelist page to damage: %+v", m)
	}
	leaves := pagesWith(good, leafPage)
	if len(leaves) < 3 {
		t.Fatalf("%d leaf pages", len(leaves))
	}
	// Every record's first byte, stale copies in free pages too: the live
	// ones no longer decode.
	records := bytes.Clone(good)
	for i := range records {
		if bytes.HasPrefix(records[i:], []byte(`{"ID":`)) {
			records[i] = '['
		}
	}
	cases := []struct {
		why  string
		data []byte
	}{
		{"cut to 16 KiB", good[:16<<10]},
		{"cut inside its pages", good[:int(m.hwm-1)*ps]},
		{"freelist page flipped", flip(int(m.freelist)*ps + pageHeaderSize + 3)},
		{"freelist header flipped", flip(int(m.freelist)*ps + 10)},
		{"leaf element table flipped", flip(leaves[1]*ps + pageHeaderSize + 5)},
		{"leaf page id flipped", flip(leaves[2]*ps + 1)},
		{"records flipped", records},
		{"newer meta flipped", flip(m.page*ps + pageHeaderSize + 44)},
		{"older meta flipped", flip((1-m.page)*ps + pageHeaderSize + 20)},
		{"not a bolt file", bytes.Repeat([]byte("x"), 3*ps)},
	}
	for _, c := range cases {
		openDamaged(t, path, c.data, c.why)
	}
	// The untouched file still opens, with its records.
	os.WriteFile(path, good, 0o600)
	c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if tapes, err := c.Tapes(); err != nil || len(tapes) != 2 {
		t.Fatalf("%d tapes, %v", len(tapes), err)
	}
}

// TestFlippedBytesNeverPanic flips bytes all over the file: every open
// either succeeds on a catalog that then reads and writes, or says the
// catalog is damaged; none panics or faults.
func TestFlippedBytesNeverPanic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	good := filledCatalog(t, path)
	ps := pageSizeOf(good)
	rng := rand.New(rand.NewPCG(1, 2))
	refused := 0
	for page := 0; page*ps < len(good); page++ {
		for k := 0; k < 12; k++ {
			at := page*ps + rng.IntN(ps)
			if k < 4 {
				at = page*ps + rng.IntN(pageHeaderSize+2*elementSize)
			}
			b := bytes.Clone(good)
			b[at] ^= byte(1 << rng.IntN(8))
			os.WriteFile(path, b, 0o600)
			c, err := Open(path)
			if err != nil {
				if !errors.Is(err, ErrDamaged) {
					t.Fatalf("byte %d: %v", at, err)
				}
				refused++
				continue
			}
			if _, err := c.AllSets(); err == nil {
				if _, err := c.PutTape(Tape{Name: "after"}); err != nil {
					t.Errorf("byte %d: opened, but a write fails: %v", at, err)
				}
			}
			c.Close()
		}
	}
	if refused == 0 {
		t.Fatal("no flip was found")
	}
}
