package server

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"exbackup/exchange"

	bolt "go.etcd.io/bbolt"
)

// dbListing lists a recovered folder's messages and public folders' posts
// straight from the databases, as listings read them before the index.
func dbListing(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	for _, name := range []string{privEDB, pubEDB} {
		db, err := bolt.Open(filepath.Join(dir, name), 0o600, &bolt.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		err = db.View(func(tx *bolt.Tx) error {
			if name == pubEDB {
				fs := tx.Bucket(bFolders)
				return fs.ForEachBucket(func(k []byte) error {
					fmt.Fprintf(&b, "public %s\n", k)
					return fs.Bucket(k).ForEach(func(lk, v []byte) error {
						var p exchange.Post
						if err := json.Unmarshal(v, &p); err != nil {
							return err
						}
						it, _ := postItem(binary.BigEndian.Uint64(lk), p)
						j, _ := json.Marshal(it)
						fmt.Fprintf(&b, "  %s\n", j)
						return nil
					})
				})
			}
			mbs := tx.Bucket(bMailboxes)
			return mbs.ForEachBucket(func(alias []byte) error {
				var err error
				eachFolderInfo(mbs.Bucket(alias), func(folder string, fi folderInfo) {
					fmt.Fprintf(&b, "%s/%s %d %d\n", alias, folder, fi.Messages, fi.Size)
					f := openFolder(mbs.Bucket(alias), folder)
					err = f.b.Bucket(bMsgs).ForEach(func(k, v []byte) error {
						var r msgRecord
						if err := json.Unmarshal(v, &r); err != nil {
							return err
						}
						j, _ := json.Marshal(itemOf(binary.BigEndian.Uint32(k), r))
						fmt.Fprintf(&b, "  %s\n", j)
						return nil
					})
				})
				return err
			})
		})
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// indexListing is the same read through the store's listings.
func indexListing(t *testing.T, o *OfflineStore) string {
	t.Helper()
	var b strings.Builder
	mbs, err := o.Mailboxes()
	if err != nil {
		t.Fatal(err)
	}
	for _, mb := range mbs {
		fs, err := o.Folders(mb.Alias)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			fmt.Fprintf(&b, "%s/%s %d %d\n", mb.Alias, f.Path, f.Messages, f.Size)
			msgs, err := o.Messages(mb.Alias, f.Path)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				j, _ := json.Marshal(m)
				fmt.Fprintf(&b, "  %s\n", j)
			}
		}
	}
	pfs, err := o.PublicFolders()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range pfs {
		fmt.Fprintf(&b, "public %s\n", f.Path)
		posts, err := o.Posts(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		if len(posts) != f.Messages {
			t.Fatalf("public folder %s: %d posts listed, %d counted", f.Path, len(posts), f.Messages)
		}
		for _, p := range posts {
			j, _ := json.Marshal(p)
			fmt.Fprintf(&b, "  %s\n", j)
		}
	}
	return b.String()
}

// Listings read from the index say what the databases say, also when the
// index is built across many reopenings of the databases (a few records
// each), which keeps what the build maps small.
func TestOfflineIndexListsWhatTheDatabasesHold(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	if err := s.CreateMailbox(bg, exchange.Recipient{Alias: "alice", DisplayName: "Alice Andersen"}); err != nil {
		t.Fatal(err)
	}
	mailTraffic(t, s, "alice", 9)
	deliver(t, s, "bob", 11, "b")
	if err := s.CreateMailbox(bg, exchange.Recipient{Alias: "empty"}); err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		if err := s.Post(bg, exchange.Post{Folder: fmt.Sprintf("Projects/%d", i%2), From: "alice", Subject: fmt.Sprintf("plan %d", i), Body: "text"}); err != nil {
			t.Fatal(err)
		}
	}
	set := takeBackup(t, s, exchange.StoreIS, exchange.Normal)

	for _, every := range []int{1024, 3, 1} {
		t.Run(fmt.Sprintf("reopen every %d", every), func(t *testing.T) {
			defer func(n int) { indexReopen = n }(indexReopen)
			indexReopen = every
			dir, envs := stageChain(t, set)
			o, err := RecoverOffline(dir, envs)
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			got, want := indexListing(t, o), dbListing(t, dir)
			if got != want {
				t.Fatalf("from the index:\n%s\nfrom the databases:\n%s", got, want)
			}
			if !strings.Contains(got, "bob/Inbox 11") || strings.Count(got, "\"plan ") != 7 {
				t.Fatalf("listing:\n%s", got)
			}
		})
	}
}

// A folder whose index is missing, damaged, or written by a version
// without one is refused, by name, and never listed from a part.
func TestReopenOfflineChecksTheIndex(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 5, "a")
	set := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	dir, envs := stageChain(t, set)
	o, err := RecoverOffline(dir, envs)
	if err != nil {
		t.Fatal(err)
	}
	o.Close()
	path := filepath.Join(dir, offlineIndexFile)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	put := func(data []byte) {
		t.Helper()
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(path, fi.ModTime(), fi.ModTime()) // as it was recovered
	}

	// A byte of a message's summary changed, size and time kept.
	bad := []byte(strings.Replace(string(good), `"subject":"a 3"`, `"subject":"a 4"`, 1))
	if string(bad) == string(good) {
		t.Fatal("the index holds no summary of message a 3")
	}
	put(bad)
	if _, err := ReopenOffline(dir); err == nil || !strings.Contains(err.Error(), "index (items.idx) is damaged") {
		t.Fatalf("reopening with a damaged index: %v", err)
	}
	// Its section damaged after the store opened: that listing refuses.
	put(good)
	o, err = ReopenOffline(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if msgs, err := o.Messages("alice", "Inbox"); err == nil || !strings.Contains(err.Error(), "damaged at folder Inbox of mailbox alice") {
		t.Fatalf("listing a damaged section: %d messages, %v", len(msgs), err)
	}
	o.Close()
	// Missing.
	os.Remove(path)
	if _, err := ReopenOffline(dir); err == nil || !strings.Contains(err.Error(), "items.idx is missing: recover it again") {
		t.Fatalf("reopening without the index: %v", err)
	}
	// Recovered by a version that wrote none.
	put(good)
	marker := filepath.Join(dir, offlineMarker)
	data, _ := os.ReadFile(marker)
	var info map[string]any
	json.Unmarshal(data, &info)
	info["version"] = 1
	delete(info, "index")
	data, _ = json.Marshal(info)
	os.WriteFile(marker, data, 0o600)
	if _, err := ReopenOffline(dir); err == nil || !strings.Contains(err.Error(), "another version") {
		t.Fatalf("reopening a folder of version 1: %v", err)
	}
	// Recovering again writes the index again.
	os.Remove(path)
	o2, err := RecoverOffline(dir, envs)
	if err != nil {
		t.Fatal(err)
	}
	o2.Close()
	o2, err = ReopenOffline(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer o2.Close()
	if msgs, err := o2.Messages("alice", "Inbox"); err != nil || len(msgs) != 5 {
		t.Fatalf("after recovering again: %d messages, %v", len(msgs), err)
	}
}

// A message record that does not read fails its folder's listing, by
// message, and no other.
func TestOfflineIndexOfAnUnreadableRecord(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 4, "a")
	deliver(t, s, "bob", 3, "b")
	set := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	dir, envs := stageChain(t, set)
	db, err := bolt.Open(filepath.Join(dir, privEDB), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return openFolder(mailbox2(tx, "alice"), "Inbox").b.Bucket(bMsgs).Put(u32(2), []byte("{not json"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	o, err := RecoverOffline(dir, envs)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if _, err := o.Messages("alice", "Inbox"); err == nil || !strings.Contains(err.Error(), "message 2 of alice/Inbox") {
		t.Fatalf("listing a folder with an unreadable record: %v", err)
	}
	if msgs, err := o.Messages("bob", "Inbox"); err != nil || len(msgs) != 3 {
		t.Fatalf("another mailbox: %d messages, %v", len(msgs), err)
	}
}
