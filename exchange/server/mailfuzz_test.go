package server

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/mail"

	bolt "go.etcd.io/bbolt"
)

var errRollback = errors.New("rollback")

// FuzzMailRecord decodes arbitrary log records and applies what decodes to
// a store holding a mailbox with mail: a record read from a damaged or
// foreign log is refused or applied, never a panic.
func FuzzMailRecord(f *testing.F) {
	date := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	meta := mail.Metadata{Subject: "s", MessageID: "m@x"}
	for _, o := range []*op{
		{Kind: opMailDeliver, DB: privEDB, Mail: &mailOp{To: []string{"alice"}, Date: date, Data: []byte("Subject: s\r\n\r\nb\r\n"), Meta: &meta}},
		{Kind: opMailAppend, DB: privEDB, Mail: &mailOp{Mailbox: "alice", Folder: "Sent Items", Flags: []string{`\Seen`}, Date: date, Data: []byte("x")}},
		{Kind: opMailFlags, DB: privEDB, Mail: &mailOp{Mailbox: "alice", Folder: "Inbox", UIDs: []uint32{1, 9}, FlagOp: mail.FlagsAdd, Flags: []string{`\Deleted`}}},
		{Kind: opMailExpunge, DB: privEDB, Mail: &mailOp{Mailbox: "alice", Folder: "Inbox", UIDs: []uint32{1}}},
		{Kind: opMailCopy, DB: privEDB, Mail: &mailOp{Mailbox: "alice", Folder: "Inbox", Dest: "Deleted Items", UIDs: []uint32{1}, Move: true}},
		{Kind: opFolderCreate, DB: privEDB, Mail: &mailOp{Mailbox: "alice", Folder: "A/B", Date: date}},
		{Kind: opFolderRename, DB: privEDB, Mail: &mailOp{Mailbox: "alice", Folder: "Inbox", Dest: "Old", Date: date}},
		{Kind: opFolderDelete, DB: privEDB, Mail: &mailOp{Mailbox: "alice", Folder: "Outbox"}},
		{Kind: opRevalidate, DB: privEDB, Mail: &mailOp{Validity: 77}},
		{Kind: opDeliver, DB: privEDB, Message: &exchange.Message{Mailbox: "alice", Folder: "Inbox", Subject: "v1"}},
	} {
		p, _ := encodeOp(o)
		f.Add(p)
	}
	f.Add([]byte(`{"k":"mail.copy","db":"priv.edb","mail":{"mb":"alice","f":"Inbox","d":"Inbox/x","u":[4294967295]}}`))
	f.Add([]byte(`{"k":"folder.rename","db":"priv.edb","mail":{"mb":"alice","f":"Calendar","d":""}}`))
	db, err := bolt.Open(filepath.Join(f.TempDir(), privEDB), 0o600, nil)
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		if err := applyMailbox2(tx, &exchange.Recipient{Alias: "alice"}); err != nil {
			return err
		}
		return (&op{Kind: opDeliver, DB: privEDB, Message: &exchange.Message{Mailbox: "alice", Folder: "Inbox", Subject: "first", Date: date}}).apply(tx, 1)
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := decodeOp(data)
		if err != nil {
			return
		}
		db.Update(func(tx *bolt.Tx) error {
			o.apply(tx, 2)
			return errRollback
		})
	})
}
