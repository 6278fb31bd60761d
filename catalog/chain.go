package catalog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// ChainFor returns the sets that restore one store of a server to its latest
// backed-up state, in the order to restore them: the latest complete Normal
// or Copy set, then every complete Incremental after it; or, when the latest
// later backup is a Differential, that Differential (after the Incrementals
// taken before it, if any). Aborted and damaged sets are never part of a
// chain. With no complete full backup the chain is empty and the error wraps
// ErrNotFound.
//
// Incremental backups truncate the server's logs and Differential ones do
// not, so a Differential holds the logs since the last Normal or
// Incremental: earlier Differentials are redundant, earlier Incrementals are
// not.
func (c *Catalog) ChainFor(server, store string) ([]Set, error) {
	name := `\\` + strings.TrimLeft(server, `\`) + " " + store
	var full *Set
	var later []Set // newest first
	err := c.db.View(func(tx *bolt.Tx) error {
		prefix := storePrefix(server, store)
		cur := tx.Bucket(bucketSetsByStore).Cursor()
		// Walk back from the newest backup: the sets before the latest
		// full one are never read.
		for k := lastWithPrefix(cur, prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Prev() {
			s, err := getSet(tx, binary.BigEndian.Uint64(k[len(k)-8:]))
			if err != nil {
				return fmt.Errorf("%s: index: %w", name, err)
			}
			if s.State != StateComplete || s.Foreign {
				continue
			}
			if s.Type == TypeNormal || s.Type == TypeCopy {
				full = &s
				return nil
			}
			later = append(later, s)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if full == nil {
		return nil, fmt.Errorf("%s: no complete normal or copy backup: %w", name, ErrNotFound)
	}
	slices.Reverse(later)
	chain := []Set{*full}
	for _, s := range later {
		if s.Type == TypeIncremental {
			chain = append(chain, s)
		}
	}
	if n := len(later); n > 0 && later[n-1].Type == TypeDifferential {
		chain = append(chain, later[n-1])
	}
	return chain, nil
}

// lastWithPrefix positions cur on the last key that may start with prefix,
// which ends in 0x00: every such key sorts before prefix with its last byte
// made 0x01. The caller checks that the key does start with prefix.
func lastWithPrefix(cur *bolt.Cursor, prefix []byte) []byte {
	past := append(slices.Clone(prefix[:len(prefix)-1]), 1)
	if k, _ := cur.Seek(past); k == nil {
		k, _ = cur.Last()
		return k
	}
	k, _ := cur.Prev()
	return k
}
