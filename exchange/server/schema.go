package server

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// schemaVersion is the highest version of the .edb bucket trees this server
// reads, drawn in the package doc. A change to a tree that an older server
// would misread takes the next number, and the code that brings a file of
// the version before up to it (migrate.go).
const schemaVersion = 2

// schemaOfFile is the version each database is written in: priv.edb holds
// mail as RFC 5322 bytes with UIDs since version 2, dir.edb passwords and
// mail domains; pub.edb is as it was.
func schemaOfFile(name string) uint64 {
	if name == pubEDB {
		return 1
	}
	return schemaVersion
}

// kSchema is the key of the version in the meta bucket. Files written
// before versions were recorded have none and are of version 1.
var kSchema = []byte("schema")

// schemaOf returns the schema version of an open database.
func schemaOf(tx *bolt.Tx) (uint64, error) {
	m := tx.Bucket(bMeta)
	if m == nil {
		return 1, nil
	}
	v := m.Get(kSchema)
	switch len(v) {
	case 0:
		return 1, nil
	case 8:
		return binary.BigEndian.Uint64(v), nil
	}
	return 0, fmt.Errorf("its schema version is unreadable (%d bytes where 8 belong)", len(v))
}

// checkSchema refuses a database of a version this server does not know,
// before anything reads or writes it; opened for writing, a file that
// records no version is given the current one, which is what it holds.
func checkSchema(db *bolt.DB, name string, readOnly bool) error {
	want := schemaOfFile(name)
	var v uint64
	recorded := false
	err := db.View(func(tx *bolt.Tx) error {
		var err error
		v, err = schemaOf(tx)
		if m := tx.Bucket(bMeta); m != nil {
			recorded = m.Get(kSchema) != nil
		}
		return err
	})
	if err != nil {
		return err
	}
	if v > want {
		return fmt.Errorf("schema version %d is newer than this server knows (up to %d): the file was written by a newer exserver and is left as it is", v, want)
	}
	if v < 1 {
		return fmt.Errorf("schema version %d is not valid", v)
	}
	if readOnly || (recorded && v == want) {
		return nil
	}
	if v < want && name == privEDB {
		// A file without a version may be new and empty; migrating an
		// empty file only records the version.
		return migratePriv(db)
	}
	return db.Update(func(tx *bolt.Tx) error {
		m, err := tx.CreateBucketIfNotExists(bMeta)
		if err != nil {
			return err
		}
		return m.Put(kSchema, u64(want))
	})
}
