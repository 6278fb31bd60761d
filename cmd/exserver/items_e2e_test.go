package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"exbackup/exchange"
	"exbackup/exchange/server"

	"github.com/emersion/go-imap/v2"
)

// Against the exserver binary: mail delivered over SMTP is backed up
// through the API, then expunged and its folder deleted over IMAP; the
// set is recovered offline (the live server untouched) and those items
// put back through the API while the service runs. The server is killed
// at once after: restarted, an IMAP client sees the messages byte for
// byte, in their folders, with their flags, and nothing twice.
func TestItemRestoreSurvivesKill(t *testing.T) {
	data, p := mailServer(t)
	tc := pinned(t, p.fp)
	for i := range 12 {
		if err := sendMail(p, tc, "alice@contoso.example", fmt.Sprintf("m%d", i), fmt.Sprintf("body %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	c := imapLogin(t, p, "alice", "alice-pw")
	if err := c.Create("Projects/2026", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Copy(imap.SeqSet{{Start: 1, Stop: 4}}, "Projects/2026").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	snapshot := func(folder string) map[[32]byte]int {
		out := map[[32]byte]int{}
		for _, m := range fetchAll(t, c, folder) {
			out[sha256.Sum256(m.BodySection[0].Bytes)]++
		}
		return out
	}
	wantInbox, wantProjects := snapshot("INBOX"), snapshot("Projects/2026")

	// A Normal backup through the API, each file into a folder as a tape
	// holds it.
	k := key(t, data)
	api := dial(t, p, k)
	ctx := context.Background()
	info, err := api.BackupPrepare(ctx, exchange.StoreIS, exchange.Normal)
	if err != nil {
		t.Fatal(err)
	}
	stage := t.TempDir()
	for _, f := range info.Files {
		rc, err := api.BackupRead(ctx, info.Session, f.Name)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := os.Create(filepath.Join(stage, f.Name))
		_, err = io.Copy(out, rc)
		rc.Close()
		out.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := api.BackupEnd(ctx, info.Session, true); err != nil {
		t.Fatal(err)
	}

	// The losses, over IMAP.
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSet{{Start: 1, Stop: 5}}, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete("Projects/2026").Wait(); err != nil {
		t.Fatal(err)
	}

	o, err := server.RecoverOffline(stage, []exchange.RestoreEnv{info.Env})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	var batch []exchange.ImportMessage
	for _, folder := range []string{"Inbox", "Projects/2026"} {
		msgs, err := o.Messages("alice", folder)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			raw, _, err := o.Message("alice", folder, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			batch = append(batch, exchange.ImportMessage{Mailbox: "alice", Folder: folder, Data: raw, Flags: m.Flags, Date: m.Received})
		}
	}
	res, err := api.ImportItems(ctx, exchange.ImportRequest{Messages: batch})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 5+4 || res.Duplicates != 12-5 {
		t.Fatalf("restore: %+v", res)
	}
	p.kill() // acknowledged means logged: the restart replays it

	p = runServer(t, data, "127.0.0.1:0")
	c = imapLogin(t, p, "alice", "alice-pw")
	for folder, want := range map[string]map[[32]byte]int{"INBOX": wantInbox, "Projects/2026": wantProjects} {
		got := snapshot(folder)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s after the restore and a kill: %d messages, want %d (or other bytes)", folder, len(got), len(want))
		}
	}
	flagged := 0
	for _, m := range fetchAll(t, c, "INBOX") {
		for _, f := range m.Flags {
			if f == imap.FlagFlagged {
				flagged++
			}
		}
	}
	if flagged != 1 {
		t.Errorf("%d flagged messages in the Inbox, want 1", flagged)
	}
	// Restoring again changes nothing.
	api = dial(t, p, k)
	res, err = api.ImportItems(ctx, exchange.ImportRequest{Messages: batch})
	if err != nil || res.Imported != 0 || res.Duplicates != len(batch) {
		t.Fatalf("second restore: %+v %v", res, err)
	}
}
