package server

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"exbackup/exchange"

	bolt "go.etcd.io/bbolt"
)

// migratePriv brings a priv.edb of schema 1 (mailboxes/<alias>/folders/
// <name>/<lsn> = Message) to schema 2, one bbolt transaction per mailbox
// so that a large store never builds one huge transaction. A mailbox is
// wholly old or wholly new (schema 2 mailboxes have a seq), so a crash in
// between leaves a file the next start resumes; meta/schema = 2 is written
// last. The result depends on the file alone: no log record is written and
// meta/applied does not move.
//
// Folders get ids 1…n in name order and UIDVALIDITY 1 (no client has seen
// them); messages get UIDs 1…m in LSN order, which is delivery order, their
// bytes rendered by mail.Compose exactly as a schema 1 record replayed on
// schema 2 renders them (v1Record).
func migratePriv(db *bolt.DB) error {
	var aliases []string
	err := db.View(func(tx *bolt.Tx) error {
		mbs := tx.Bucket(bMailboxes)
		if mbs == nil {
			return nil
		}
		return mbs.ForEachBucket(func(k []byte) error {
			if mbs.Bucket(k).Get(kSeq) == nil {
				aliases = append(aliases, string(k))
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, alias := range aliases {
		if err := db.Update(func(tx *bolt.Tx) error { return migrateMailbox(tx, alias) }); err != nil {
			return fmt.Errorf("migrating mailbox %s to schema 2: %w", alias, err)
		}
	}
	return db.Update(func(tx *bolt.Tx) error {
		m, err := tx.CreateBucketIfNotExists(bMeta)
		if err != nil {
			return err
		}
		return m.Put(kSchema, u64(2))
	})
}

type v1Folder struct {
	name string
	lsns []uint64
	msgs []exchange.Message
}

// readV1Mailbox reads the folders of a schema 1 mailbox in name order,
// their messages in LSN order.
func readV1Mailbox(mb *bolt.Bucket) ([]v1Folder, error) {
	var out []v1Folder
	fs := mb.Bucket(bFolders)
	if fs == nil {
		return nil, nil
	}
	err := fs.ForEachBucket(func(name []byte) error {
		f := v1Folder{name: string(name)}
		err := fs.Bucket(name).ForEach(func(k, v []byte) error {
			if len(k) != 8 || v == nil {
				return nil
			}
			var m exchange.Message
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("folder %s, message %x: %w", name, k, err)
			}
			f.lsns = append(f.lsns, binary.BigEndian.Uint64(k))
			f.msgs = append(f.msgs, m)
			return nil
		})
		out = append(out, f)
		return err
	})
	return out, err
}

func migrateMailbox(tx *bolt.Tx, alias string) error {
	mb := tx.Bucket(bMailboxes).Bucket([]byte(alias))
	if mb.Get(kSeq) != nil {
		return nil
	}
	folders, err := readV1Mailbox(mb)
	if err != nil {
		return err
	}
	if mb.Bucket(bFolders) != nil {
		if err := mb.DeleteBucket(bFolders); err != nil {
			return err
		}
	}
	if _, err := createMailbox2(tx, alias); err != nil {
		return err
	}
	for _, vf := range folders {
		f, err := newFolder(mb, vf.name, time.Time{}, 1)
		if err != nil {
			return err
		}
		for i := range vf.msgs {
			rec, raw := v1Record(alias, vf.lsns[i], &vf.msgs[i])
			if _, err := f.putMessage(rec, raw); err != nil {
				return err
			}
		}
		if err := f.save(); err != nil {
			return err
		}
	}
	return nil
}
