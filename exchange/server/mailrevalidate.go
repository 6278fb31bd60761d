package server

import (
	"encoding/binary"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

// UIDVALIDITY after a restore (docs/mail-store.md): a restore that did not
// roll forward through the server's own logs marks priv.edb, and the next
// start gives every folder a new value.

// applyRevalidate gives every folder a new UIDVALIDITY above base, in
// mailbox and folder id order, and clears the mark a restore left.
func applyRevalidate(tx *bolt.Tx, base uint32) error {
	if mbs := tx.Bucket(bMailboxes); mbs != nil {
		i := uint32(0)
		err := mbs.ForEachBucket(func(alias []byte) error {
			mb := mbs.Bucket(alias)
			if mb.Get(kSeq) == nil {
				return nil
			}
			q := readSeq(mb)
			err := mb.Bucket(bFolders).ForEachBucket(func(id []byte) error {
				f := &folderRef{id: binary.BigEndian.Uint64(id), b: mb.Bucket(bFolders).Bucket(id)}
				json.Unmarshal(f.b.Get(kInfo), &f.info)
				i++
				f.info.UIDValidity = max(base+i, q.LastValidity+1)
				q.LastValidity = f.info.UIDValidity
				return f.save()
			})
			if err != nil {
				return err
			}
			v, _ := json.Marshal(q)
			return mb.Put(kSeq, v)
		})
		if err != nil {
			return err
		}
	}
	if m := tx.Bucket(bMeta); m != nil {
		return m.Delete(kRevalidate)
	}
	return nil
}

var kRevalidate = []byte("revalidate")

// markRevalidate records in a restored priv.edb that clients' caches of it
// are stale: a restore that did not roll forward through the server's own
// logs takes folders back to before UIDs clients have seen, and the next
// deliveries would reuse them.
func markRevalidate(db *bolt.DB, stale bool) error {
	if db == nil || !stale {
		return nil
	}
	return db.Update(func(tx *bolt.Tx) error {
		m, err := tx.CreateBucketIfNotExists(bMeta)
		if err != nil {
			return err
		}
		return m.Put(kRevalidate, []byte{})
	})
}

// revalidateIfMarked gives every folder a new UIDVALIDITY when a restore
// marked the file, before the store takes mail, and clears the mark in the
// same transaction, so a crash in between only repeats it. It is not
// logged: a restore that marks starts a new log set, so no backup taken
// before it rolls forward across it, and what follows depends only on the
// file.
func revalidateIfMarked(db *bolt.DB) error {
	return db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		if m == nil || m.Get(kRevalidate) == nil {
			return nil
		}
		return applyRevalidate(tx, uint32(time.Now().Unix()))
	})
}
