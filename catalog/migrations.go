package catalog

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// A migration brings the schema from version-1 to version. Once shipped, a
// migration never changes: catalogs in the field were migrated by it. Any
// later change of layout, including of storeKey, which version 2 uses, is a
// new migration.
type migration struct {
	version int
	name    string
	apply   func(tx *bolt.Tx) error
}

// migrations are in version order, from 1 with no gap.
var migrations = []migration{
	{1, "create the tapes, sets and entries buckets", createBuckets},
	{2, "index sets by server and store", indexByStore},
	{3, "record the member of its media family each set starts on", recordSetMembers},
}

// latestVersion is the schema this exbackup writes.
func latestVersion() int { return migrations[len(migrations)-1].version }

func createBuckets(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketMeta, bucketTapes, bucketSets, bucketEntries, bucketSetsByTape} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

func indexByStore(tx *bolt.Tx) error {
	idx, err := tx.CreateBucketIfNotExists(bucketSetsByStore)
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketSetsByStore, err)
	}
	return tx.Bucket(bucketSets).ForEach(func(k, v []byte) error {
		var s Set
		if err := decodeSet(k, v, &s); err != nil {
			return err
		}
		return putStoreRows(idx, s)
	})
}

// recordSetMembers gives each set the member of its tape's media family it
// starts on. Sets cataloged before it lay on their one tape: that tape's
// sequence.
func recordSetMembers(tx *bolt.Tx) error {
	sets := tx.Bucket(bucketSets)
	type update struct {
		k []byte
		s Set
	}
	var ups []update
	err := sets.ForEach(func(k, v []byte) error {
		var s Set
		if err := decodeSet(k, v, &s); err != nil {
			return err
		}
		if s.Member != 0 {
			return nil
		}
		t, err := getTape(tx, s.TapeID)
		if err != nil {
			return fmt.Errorf("%s: %w", s.label(), err)
		}
		s.Member = memberOf(t)
		ups = append(ups, update{append([]byte(nil), k...), s})
		return nil
	})
	if err != nil {
		return err
	}
	// Written after the walk: putting under a bolt cursor skips keys.
	for _, u := range ups {
		if err := putJSON(sets, u.k, u.s); err != nil {
			return fmt.Errorf("%s: %w", u.s.label(), err)
		}
	}
	return nil
}

// migrate applies the migrations the catalog lacks, each in its own
// transaction, so that a failure leaves the catalog at the last version it
// reached.
func migrate(db *bolt.DB, list []migration) error {
	var have int
	if err := db.View(func(tx *bolt.Tx) error {
		var err error
		have, err = schemaVersion(tx)
		return err
	}); err != nil {
		return err
	}
	if latest := list[len(list)-1].version; have > latest {
		return &newerSchemaError{path: db.Path(), have: have, known: latest}
	}
	for _, m := range list {
		if m.version <= have {
			continue
		}
		err := db.Update(func(tx *bolt.Tx) error {
			if err := m.apply(tx); err != nil {
				return err
			}
			return setSchemaVersion(tx, m.version)
		})
		if err != nil {
			return fmt.Errorf("migrate to schema %d (%s): %w", m.version, m.name, err)
		}
		have = m.version
	}
	return nil
}

// schemaVersion is 0 for a new, empty file.
func schemaVersion(tx *bolt.Tx) (int, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0, nil
	}
	v := meta.Get(keyVersion)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("catalog schema version is %d bytes long, want 8", len(v))
	}
	return int(binary.BigEndian.Uint64(v)), nil
}

func setSchemaVersion(tx *bolt.Tx, v int) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	return meta.Put(keyVersion, idKey(uint64(v)))
}

type newerSchemaError struct {
	path        string
	have, known int
}

func (e *newerSchemaError) Error() string {
	return fmt.Sprintf("%s was written by a newer exbackup (schema %d; this one knows up to schema %d)", e.path, e.have, e.known)
}

func (e *newerSchemaError) Is(target error) bool { return target == ErrNewerSchema }
