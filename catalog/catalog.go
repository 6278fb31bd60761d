package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrNotFound is wrapped by every lookup that finds nothing.
var ErrNotFound = errors.New("not in the catalog")

// ErrNewerSchema is wrapped when catalog.db was written by a newer exbackup.
var ErrNewerSchema = errors.New("catalog schema is newer than this exbackup")

// openTimeout bounds the wait for the file lock: a second exbackup holding
// the catalog should give an error, not a hang.
const openTimeout = 2 * time.Second

// initialMmap is the size bbolt first maps the catalog with (see Open).
const initialMmap = 1 << 30

// Catalog is an open catalog.db.
type Catalog struct {
	db *bolt.DB
}

// Open opens the catalog at path, creating it and its folder if need be,
// and brings its schema up to date. A damaged file is refused with a
// *DamageError (errors.Is ErrDamaged); OpenOrReset starts a new one.
func Open(path string) (*Catalog, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open catalog %s: %w", path, err)
	}
	db, err := openChecked(path)
	if err != nil {
		return nil, err
	}
	if err := migrateChecked(db); err != nil {
		closeQuietly(db)
		var de *DamageError
		if errors.Is(err, ErrNewerSchema) || errors.As(err, &de) {
			return nil, err
		}
		return nil, fmt.Errorf("open catalog %s: %w", path, err)
	}
	return &Catalog{db: db}, nil
}

// Close closes the catalog file.
func (c *Catalog) Close() error {
	if err := c.db.Close(); err != nil {
		return fmt.Errorf("close catalog %s: %w", c.db.Path(), err)
	}
	return nil
}

// SchemaVersion is the catalog's schema version.
func (c *Catalog) SchemaVersion() (int, error) {
	var v int
	err := c.db.View(func(tx *bolt.Tx) error {
		var err error
		v, err = schemaVersion(tx)
		return err
	})
	return v, err
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// migrateChecked runs the migrations, the first write transaction, where
// bbolt panics on some damage its checks let through.
func migrateChecked(db *bolt.DB) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = damaged(db.Path(), "bbolt failed writing it: %v", r)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return migrate(db, migrations)
}
