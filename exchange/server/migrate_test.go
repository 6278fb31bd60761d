package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/xlog"

	bolt "go.etcd.io/bbolt"
)

// applyV1 applies a record as a schema 1 server did: what tapes written
// before schema 2 hold.
func applyV1(tx *bolt.Tx, lsn uint64, o *op) error {
	mbs, err := tx.CreateBucketIfNotExists(bMailboxes)
	if err != nil {
		return err
	}
	alias := ""
	switch o.Kind {
	case opMailbox:
		alias = o.Recipient.Alias
	case opDeliver:
		alias = o.Message.Mailbox
	default:
		return fmt.Errorf("not a schema 1 kind %q", o.Kind)
	}
	mb, err := mbs.CreateBucketIfNotExists([]byte(alias))
	if err != nil {
		return err
	}
	fs, err := mb.CreateBucketIfNotExists(bFolders)
	if err != nil {
		return err
	}
	if o.Kind == opMailbox {
		v, _ := json.Marshal(o.Recipient)
		mb.Put(kInfo, v)
		for _, f := range defaultFolders {
			if _, err := fs.CreateBucketIfNotExists([]byte(f)); err != nil {
				return err
			}
		}
		return nil
	}
	f, err := fs.CreateBucketIfNotExists([]byte(o.Message.Folder))
	if err != nil {
		return err
	}
	v, _ := json.Marshal(o.Message)
	return f.Put(u64(lsn), v)
}

// v1Ops is a schema 1 history: mailboxes, deliveries, a folder made by a
// delivery, an attachment.
func v1Ops() []*op {
	var ops []*op
	date := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	for _, a := range []string{"alice", "bob"} {
		ops = append(ops, &op{Kind: opMailbox, DB: privEDB, Recipient: &exchange.Recipient{Alias: a, DisplayName: strings.ToUpper(a), HomeServer: "EX1"}})
	}
	for i := range 20 {
		m := &exchange.Message{Mailbox: []string{"alice", "bob"}[i%2], Folder: []string{"Inbox", "Projects", "Sent Items"}[i%3],
			From: "carol@fabrikam.com", To: []string{"alice@contoso.local"}, Subject: fmt.Sprintf("Réunion %d", i),
			Date: date.Add(time.Duration(i) * time.Minute), Body: strings.Repeat("ligne\n", i+1)}
		if i%5 == 0 {
			m.Attachments = []exchange.Attachment{{Name: "plan.pdf", Data: []byte(strings.Repeat("%PDF", 100+i))}}
		}
		ops = append(ops, &op{Kind: opDeliver, DB: privEDB, Message: m})
	}
	return ops
}

func openRaw(t *testing.T, path string) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func applyAll(t *testing.T, db *bolt.DB, ops []*op, first uint64, v1 bool) {
	t.Helper()
	err := db.Update(func(tx *bolt.Tx) error {
		for i, o := range ops {
			lsn := first + uint64(i)
			var err error
			if v1 {
				err = applyV1(tx, lsn, o)
			} else {
				err = o.apply(tx, lsn)
			}
			if err != nil {
				return err
			}
			if err := setApplied(tx, lsn); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// dump lists a schema 2 file as IMAP sees it (folder, UID, flags, date,
// bytes' hash) beside its digest.
func dump(t *testing.T, db *bolt.DB) (string, string) {
	t.Helper()
	var b strings.Builder
	h := sha256.New()
	err := db.View(func(tx *bolt.Tx) error {
		if v, _ := schemaOf(tx); v != 2 {
			return fmt.Errorf("schema %d", v)
		}
		if err := digestPriv(tx, h); err != nil {
			return err
		}
		mbs := tx.Bucket(bMailboxes)
		return mbs.ForEachBucket(func(alias []byte) error {
			mb := mbs.Bucket(alias)
			return mb.Bucket(bNames).ForEach(func(k, _ []byte) error {
				f := openFolder(mb, string(k))
				fmt.Fprintf(&b, "%s/%s next=%d n=%d size=%d\n", alias, k, f.info.UIDNext, f.info.Messages, f.info.Size)
				return f.b.Bucket(bMsgs).ForEach(func(u, v []byte) error {
					fmt.Fprintf(&b, "  %x %s\n", u, v)
					return nil
				})
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String(), hex.EncodeToString(h.Sum(nil))
}

// Migrating at any LSN and then replaying the schema 1 records after it
// gives the file that replaying everything on schema 1 and migrating at
// the end gives: UIDs, flags, dates, bytes and digest.
func TestMigrationCommutesWithReplay(t *testing.T) {
	ops := v1Ops()
	dir := t.TempDir()
	ref := openRaw(t, filepath.Join(dir, "ref.edb"))
	applyAll(t, ref, ops, 1, true)
	var v1Digest string
	ref.View(func(tx *bolt.Tx) error {
		h := sha256.New()
		digestPriv(tx, h)
		v1Digest = hex.EncodeToString(h.Sum(nil))
		return nil
	})
	if err := migratePriv(ref); err != nil {
		t.Fatal(err)
	}
	want, wantDigest := dump(t, ref)
	ref.Close()
	if wantDigest != v1Digest {
		t.Fatal("the digest of a schema 1 file differs from the digest of its migration")
	}
	if !strings.Contains(want, "alice/Projects") || !strings.Contains(want, "bob/Inbox next=") {
		t.Fatalf("migration lost folders:\n%s", want)
	}
	for _, at := range []int{0, 2, 7, 13, len(ops)} {
		db := openRaw(t, filepath.Join(dir, fmt.Sprintf("at%d.edb", at)))
		applyAll(t, db, ops[:at], 1, true)
		if err := migratePriv(db); err != nil {
			t.Fatal(err)
		}
		applyAll(t, db, ops[at:], uint64(at+1), false)
		got, gotDigest := dump(t, db)
		db.Close()
		if got != want || gotDigest != wantDigest {
			t.Fatalf("migrated at LSN %d:\n%s\nwant:\n%s", at, got, want)
		}
	}
}

// A migration that stopped between mailboxes resumes at the next start and
// ends with the same file.
func TestMigrationResumesAfterACrash(t *testing.T) {
	ops := v1Ops()
	dir := t.TempDir()
	ref := openRaw(t, filepath.Join(dir, "ref.edb"))
	applyAll(t, ref, ops, 1, true)
	migratePriv(ref)
	want, _ := dump(t, ref)
	ref.Close()

	path := filepath.Join(dir, privEDB)
	db := openRaw(t, path)
	applyAll(t, db, ops, 1, true)
	if err := db.Update(func(tx *bolt.Tx) error { return migrateMailbox(tx, "alice") }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// The half-migrated file is still of schema 1, and opening it for
	// writing finishes the migration.
	db, err := boltOpen(path, false)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := dump(t, db)
	db.Close()
	if got != want {
		t.Fatalf("resumed migration:\n%s\nwant:\n%s", got, want)
	}
}

// The bytes a schema 1 message becomes are pinned: every server, and every
// later version, must render the same ones, or digests and UIDs of
// migrated stores would differ.
func TestV1RenderingGolden(t *testing.T) {
	m := v1Ops()[2].Message
	raw := v1Render("alice", 3, m)
	sum := sha256.Sum256(raw)
	const want = "be88dc73d2a8672252540e254e7f1da4e10e4401fb5f1a3a9b05b3caa4d8c420"
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("rendering changed: sha256 %s\n%s", got, raw)
	}
}

// toV1 rewrites a priv.edb as a schema 1 server would have written it, by
// replaying the log records it applied with the schema 1 rules.
func toV1(t *testing.T, path, logDir string) {
	t.Helper()
	db := openRaw(t, path)
	var applied uint64
	db.View(func(tx *bolt.Tx) error { applied = appliedLSN(tx); return nil })
	db.Close()
	os.Remove(path)
	db = openRaw(t, path)
	defer db.Close()
	_, err := xlog.Replay(logDir, "", 0, func(r xlog.Record) error {
		o, err := decodeOp(r.Data)
		if err != nil || o.DB != privEDB || r.LSN > applied {
			return err
		}
		return db.Update(func(tx *bolt.Tx) error {
			if err := applyV1(tx, r.LSN, o); err != nil {
				return err
			}
			return setApplied(tx, r.LSN)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { return setApplied(tx, applied) })
}

// A set written before schema 2 holds a schema 1 priv.edb and schema 1 log
// records: restored, it is migrated before hard recovery replays, and
// rolls forward through the live logs as any set does.
func TestRestoreOfASchema1Set(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 10, "a")
	set := takeBackup(t, s, exchange.StoreIS, exchange.Copy)
	atBackup := digest(t, s)
	toV1(t, filepath.Join(set.dir, privEDB), s.is.dir)
	if v, ok := schemaIn(t, filepath.Join(set.dir, privEDB)); ok || v != 1 {
		t.Fatalf("the old set's priv.edb is of schema %d", v)
	}
	deliver(t, s, "bob", 5, "b")
	latest := digest(t, s)

	if _, err := restoreSet(s, set, exchange.RestoreRequest{Erase: true, Private: true, Public: true, Last: true, Start: true}); err != nil {
		t.Fatal(err)
	}
	if d := digest(t, s); d.Priv != atBackup.Priv {
		t.Fatal("the restored schema 1 set is not the backup's state")
	}
	msgs, err := s.Messages(bg, "alice")
	if err != nil || len(msgs) != 10 || msgs[3].Subject != "a 3" {
		t.Fatalf("messages of the migrated set: %d %v", len(msgs), err)
	}
	if _, err := s.Mail().Folder(bg, "alice", "Inbox"); err != nil {
		t.Fatal(err)
	}

	s2 := newTestServer(t, "Org", "Site", "EX2", false)
	deliver(t, s2, "alice", 10, "a")
	set2 := takeBackup(t, s2, exchange.StoreIS, exchange.Copy)
	toV1(t, filepath.Join(set2.dir, privEDB), s2.is.dir)
	deliver(t, s2, "bob", 5, "b")
	latest = digest(t, s2)
	if _, err := restoreSet(s2, set2, exchange.RestoreRequest{Private: true, Public: true, Last: true, Start: true}); err != nil {
		t.Fatal(err)
	}
	if d := digest(t, s2); d.Priv != latest.Priv {
		t.Fatal("a schema 1 set did not roll forward to the present")
	}
	var v uint64
	s2.is.view(privEDB, func(tx *bolt.Tx) error { v, _ = schemaOf(tx); return nil })
	if v != 2 {
		t.Fatalf("restored priv.edb is of schema %d", v)
	}
}
