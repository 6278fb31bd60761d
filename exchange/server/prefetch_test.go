package server

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// freedDB makes a closed database whose synced freelist spans several
// pages: it writes pages of data and deletes them again.
func freedDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "priv.edb")
	db, err := bolt.Open(path, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType})
	if err != nil {
		t.Fatal(err)
	}
	v := bytes.Repeat([]byte{7}, 3000)
	for round := 0; round < 2; round++ {
		if err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("b"))
			if err != nil {
				return err
			}
			for i := 0; i < 3000; i++ {
				if err := b.Put(u64(uint64(round*10000+i)), v); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("b"))
		for i := 0; i < 3000; i++ {
			if err := b.Delete(u64(uint64(i))); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// bboltFreelist asks bbolt itself where the file's freelist is.
func bboltFreelist(t *testing.T, path string) (off, n int64) {
	t.Helper()
	// Read-write: a read-only open does not load the freelist Page needs.
	db, err := bolt.Open(path, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ps := int64(db.Info().PageSize)
	db.View(func(tx *bolt.Tx) error {
		for id := 0; id < int(tx.Size()/ps); id++ {
			if p, err := tx.Page(id); err == nil && p != nil && p.Type == "freelist" {
				off, n = int64(p.ID)*ps, int64(p.OverflowCount+1)*ps
				return nil
			}
		}
		return nil
	})
	if n == 0 {
		t.Fatal("bbolt reports no freelist page")
	}
	return off, n
}

func rangeOf(t *testing.T, path string) (off, n int64, ok bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	return freelistRange(f, st.Size())
}

// damage flips a byte of a meta page's body, so its checksum no longer
// matches.
func damage(t *testing.T, path string, at int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	f.ReadAt(b, at)
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, at); err != nil {
		t.Fatal(err)
	}
}

func metaAt(t *testing.T, path string, off int64) (boltMeta, bool) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parseBoltMeta(raw[off:])
}

// The range read before open is the freelist bbolt reads at open: the
// page of the meta with the higher txid, and all its overflow pages.
func TestFreelistRangeIsBboltsFreelist(t *testing.T) {
	path := freedDB(t)
	wantOff, wantN := bboltFreelist(t, path)
	off, n, ok := rangeOf(t, path)
	if !ok || off != wantOff || n != wantN {
		t.Fatalf("freelist range %d+%d (ok %v), bbolt's freelist is at %d+%d", off, n, ok, wantOff, wantN)
	}
	if n <= 4096 {
		t.Fatalf("the test's freelist is one page (%d bytes): it needs overflow pages", n)
	}
	if got := prefetchFreelist(path); got != wantN {
		t.Fatalf("prefetch read %d bytes, want the freelist's %d", got, wantN)
	}
}

// Both metas are valid and differ by one transaction; the newer is the
// one bbolt trusts. With it damaged, bbolt falls back to the older one,
// and so does the prefetch; with both damaged there is nothing to trust,
// so it reads nothing, and bbolt's own open reports the damage.
func TestFreelistRangeDamagedMeta(t *testing.T) {
	path := freedDB(t)
	ps := int64(os.Getpagesize())
	m0, ok0 := metaAt(t, path, 0)
	m1, ok1 := metaAt(t, path, ps)
	if !ok0 || !ok1 {
		t.Fatalf("a fresh file's metas: valid %v and %v", ok0, ok1)
	}
	if d := int64(m0.txid) - int64(m1.txid); d != 1 && d != -1 {
		t.Fatalf("metas' txids %d and %d: want consecutive", m0.txid, m1.txid)
	}
	newer, older, newerAt := m0, m1, int64(0)
	if m1.txid > m0.txid {
		newer, older, newerAt = m1, m0, ps
	}
	if off, _, ok := rangeOf(t, path); !ok || off != int64(newer.freelist)*ps {
		t.Fatalf("range at %d (ok %v), want the newer meta's freelist at page %d", off, ok, newer.freelist)
	}

	damage(t, path, newerAt+boltPageHeader+20) // inside the root bucket
	if _, ok := metaAt(t, path, newerAt); ok {
		t.Fatal("a damaged meta parses as valid")
	}
	off, _, ok := rangeOf(t, path)
	if older.freelist == newer.freelist {
		t.Fatal("both metas name the same freelist page: the test cannot tell them apart")
	}
	if !ok || off != int64(older.freelist)*ps {
		// The older meta's freelist page may since have been reused; then
		// there is nothing to read, which is also right.
		if ok {
			t.Fatalf("with the newer meta damaged, range at %d, want the older meta's freelist at page %d", off, older.freelist)
		}
	}

	damage(t, path, (ps-newerAt)+boltPageHeader+20)
	if off, n, ok := rangeOf(t, path); ok {
		t.Fatalf("both metas damaged, yet a range %d+%d", off, n)
	}
	if got := prefetchFreelist(path); got != 0 {
		t.Fatalf("both metas damaged, yet the prefetch read %d bytes", got)
	}
	if _, err := boltOpen(path, false); err == nil {
		t.Fatal("bbolt opened a file with both metas damaged")
	}
}

// A file too short for its metas, an empty file, a freelist pgid past the
// end, a missing file and one without a synced freelist give nothing to
// read and no error.
func TestFreelistRangeShortOrOdd(t *testing.T) {
	path := freedDB(t)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ps := os.Getpagesize()
	flOff, _ := bboltFreelist(t, path)
	cases := map[string]string{
		"empty":         write("empty", nil),
		"header only":   write("header", raw[:100]),
		"metas only":    write("metas", raw[:2*ps]),
		"freelist torn": write("torn", raw[:int(flOff)+ps]),
		"missing":       filepath.Join(dir, "nothing-here"),
	}
	// A copy that never synced its freelist (pgid all ones in both metas,
	// checksums made good again) makes bbolt scan instead: nothing to read.
	nofl := append([]byte(nil), raw...)
	for _, at := range []int{0, ps} {
		m := nofl[at+boltPageHeader:]
		binary.NativeEndian.PutUint64(m[32:], boltNoFreelist)
		binary.NativeEndian.PutUint64(m[boltMetaSummed:], fnv64a(m[:boltMetaSummed]))
	}
	cases["no synced freelist"] = write("nofl", nofl)
	if _, ok := parseBoltMeta(nofl); !ok {
		t.Fatal("the rewritten meta does not parse: the case tests nothing")
	}
	for what, p := range cases {
		if f, err := os.Open(p); err == nil {
			st, _ := f.Stat()
			if off, n, ok := freelistRange(f, st.Size()); ok {
				t.Errorf("%s: range %d+%d", what, off, n)
			}
			f.Close()
		}
		if got := prefetchFreelist(p); got != 0 {
			t.Errorf("%s: the prefetch read %d bytes", what, got)
		}
	}
}

func fnv64a(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}
