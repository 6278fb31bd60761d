package catalog

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrDamaged is wrapped by Open when catalog.db fails its checks.
var ErrDamaged = errors.New("the catalog is damaged")

// DamageError tells what is wrong with a catalog file.
type DamageError struct {
	Path   string
	Reason string // "meta page 1 fails its checksum", …
}

func (e *DamageError) Error() string {
	return fmt.Sprintf("catalog %s is damaged: %s", e.Path, e.Reason)
}

func (e *DamageError) Is(target error) bool { return target == ErrDamaged }

func damaged(path string, format string, args ...any) error {
	return &DamageError{Path: path, Reason: fmt.Sprintf(format, args...)}
}

// Reset tells that OpenOrReset found the catalog damaged and started a new
// one: the caller rebuilds it from the tapes.
type Reset struct {
	Reason  string // what was wrong
	MovedTo string // where the damaged file now is
}

// OpenOrReset opens the catalog like Open; when it is damaged, it moves the
// file aside to catalog.db.damaged-YYYYMMDD-HHMMSS, creates an empty
// catalog in its place and says so in the Reset. Nothing is deleted: the
// damaged file stays for whoever wants to look at it.
func OpenOrReset(path string) (*Catalog, *Reset, error) {
	c, err := Open(path)
	var de *DamageError
	if !errors.As(err, &de) {
		return c, nil, err
	}
	aside := path + ".damaged-" + time.Now().Format("20060102-150405")
	for i := 2; ; i++ {
		if _, err := os.Lstat(aside); errors.Is(err, os.ErrNotExist) {
			break
		}
		aside = fmt.Sprintf("%s.damaged-%s-%d", path, time.Now().Format("20060102-150405"), i)
	}
	if err := os.Rename(path, aside); err != nil {
		return nil, nil, fmt.Errorf("%v; moving it aside: %w", de, err)
	}
	syncDir(path)
	c, err = Open(path)
	if err != nil {
		return nil, nil, err
	}
	return c, &Reset{Reason: de.Reason, MovedTo: aside}, nil
}

// openChecked opens the bolt file after checking it, so that a damaged file
// gives a DamageError and never a SIGBUS or a panic: the pages are checked
// from a copy read with plain reads before bbolt maps the file; then
// bbolt's own check and a decode of every record run in a read
// transaction.
func openChecked(path string) (db *bolt.DB, err error) {
	if err := precheck(path); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			if db != nil {
				closeQuietly(db)
			}
			db, err = nil, damaged(path, "bbolt failed on it: %v", r)
		}
	}()
	// A fault on the mapped file becomes a panic, recovered above, rather
	// than the death of the process.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	// Never NoSync: the catalog must survive a crash as well as the tapes
	// do. NoFreelistSync: the freelist is rebuilt from the tree at open
	// rather than trusted from disk, and each commit writes a page less.
	// InitialMmapSize: the mapping is address space, not memory, and not
	// the file's size; mapped large from the start, a transaction that
	// grows the file (the 100,000 entries of a large tape) does not remap
	// it again and again, each time copying every node it touched.
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: openTimeout, NoFreelistSync: true, InitialMmapSize: initialMmap})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("open catalog %s: another exbackup has it open: %w", path, err)
		}
		if errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrChecksum) || errors.Is(err, berrors.ErrVersionMismatch) {
			return nil, damaged(path, "%v", err)
		}
		return nil, fmt.Errorf("open catalog %s: %w", path, err)
	}
	if err := db.View(func(tx *bolt.Tx) error {
		// Drain the check: it runs on a goroutine of its own, which must
		// be done before the transaction ends.
		var first error
		for err := range tx.Check() {
			if first == nil {
				first = damaged(path, "%v", err)
			}
		}
		if first != nil {
			return first
		}
		if errs := checkRecords(tx); len(errs) > 0 {
			return damaged(path, "%v", errs[0])
		}
		return nil
	}); err != nil {
		closeQuietly(db)
		return nil, err
	}
	return db, nil
}

func closeQuietly(db *bolt.DB) {
	defer func() { recover() }()
	db.Close()
}

// precheck reads the whole file (a catalog is megabytes, not gigabytes)
// and checks its pages. It holds a shared lock meanwhile, so that it never
// reads a file another exbackup is writing: that one holds it exclusively.
func precheck(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open catalog %s: %w", path, err)
	}
	defer f.Close()
	if err := lockShared(f, openTimeout); err != nil {
		return fmt.Errorf("open catalog %s: another exbackup has it open: %w", path, err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("open catalog %s: %w", path, err)
	}
	if len(data) == 0 {
		return nil // bbolt makes a new catalog of it
	}
	if err := checkImage(data); err != nil {
		return damaged(path, "%v", err)
	}
	return nil
}

// checkRecords decodes every record and follows every index row: what
// bbolt's check cannot see (a byte flipped inside a value) and what a
// transaction that was not atomic would leave.
func checkRecords(tx *bolt.Tx) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if tx.Bucket(bucketMeta) == nil {
		if tx.Bucket(bucketTapes) != nil {
			fail("the meta bucket is missing")
		}
		return errs // a new file, before its first migration
	}
	v, err := schemaVersion(tx)
	if err != nil {
		return []error{err}
	}
	if v > latestVersion() {
		return nil // Open refuses it with ErrNewerSchema: not damage
	}
	want := [][]byte{bucketTapes, bucketSets, bucketEntries, bucketSetsByTape}
	if v >= 2 {
		want = append(want, bucketSetsByStore)
	}
	for _, b := range want {
		if tx.Bucket(b) == nil {
			fail("bucket %s is missing", b)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	tapes := map[uint64]bool{}
	tx.Bucket(bucketTapes).ForEach(func(k, v []byte) error {
		var t Tape
		if len(k) != 8 {
			fail("a tape key of %d bytes", len(k))
		} else if err := decodeTape(k, v, &t); err != nil {
			fail("%v", err)
		} else {
			tapes[t.ID] = true
		}
		return nil
	})
	byTape, entries := tx.Bucket(bucketSetsByTape), tx.Bucket(bucketEntries)
	byStore := tx.Bucket(bucketSetsByStore)
	sets := map[uint64]bool{}
	storeRows := 0
	tx.Bucket(bucketSets).ForEach(func(k, v []byte) error {
		var s Set
		if len(k) != 8 {
			fail("a set key of %d bytes", len(k))
			return nil
		}
		if err := decodeSet(k, v, &s); err != nil {
			fail("%v", err)
			return nil
		}
		sets[s.ID] = true
		if !tapes[s.TapeID] {
			fail("%s: tape #%d is not in the catalog", s.label(), s.TapeID)
		}
		if byTape.Get(tapeSetKey(s.TapeID, s.Number, s.ID)) == nil {
			fail("%s: no sets-by-tape row", s.label())
		}
		eb := entries.Bucket(k)
		if eb == nil {
			fail("%s: no entries bucket", s.label())
			return nil
		}
		eb.ForEach(func(ek, ev []byte) error {
			var e Entry
			if err := json.Unmarshal(ev, &e); err != nil || len(ek) != 8 {
				fail("%s: entry %x: bad record", s.label(), ek)
			}
			return nil
		})
		if byStore != nil && !s.Foreign {
			for _, store := range s.Stores {
				storeRows++
				if byStore.Get(storeKey(s.Server, store, s.Created, s.ID)) == nil {
					fail("%s: no sets-by-store row for %s %s", s.label(), s.Server, store)
				}
			}
		}
		return nil
	})
	byTape.ForEach(func(k, _ []byte) error {
		if len(k) != 24 {
			fail("a sets-by-tape row of %d bytes", len(k))
		} else if id := binary.BigEndian.Uint64(k[16:]); !sets[id] {
			fail("sets-by-tape row for set id %d, which is gone", id)
		}
		return nil
	})
	if byStore != nil {
		n := 0
		byStore.ForEach(func(k, _ []byte) error {
			n++
			if len(k) < 18 {
				fail("a sets-by-store row of %d bytes", len(k))
			} else if id := binary.BigEndian.Uint64(k[len(k)-8:]); !sets[id] {
				fail("sets-by-store row %q for set id %d, which is gone", bytes.TrimRight(k[:len(k)-16], "\x00"), id)
			}
			return nil
		})
		if n != storeRows {
			fail("sets-by-store has %d rows, want %d", n, storeRows)
		}
	}
	entries.ForEachBucket(func(k []byte) error {
		if len(k) != 8 || !sets[binary.BigEndian.Uint64(k)] {
			fail("entries of set %x, which is gone", k)
		}
		return nil
	})
	return errs
}
