package server

import (
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/client"
	"exbackup/exchange/mail"
)

// liveView is what the live store holds of some mailboxes, in the words
// of an offline view: folders, and per message its UID, flags, internal
// date and the SHA-256 of its bytes.
func liveView(t *testing.T, s *Server, boxes ...string) string {
	t.Helper()
	return noValidity(mailView(t, s, boxes...))
}

// offlineView is the same for a recovered store, read through its
// ItemStore methods.
func offlineView(t *testing.T, o *OfflineStore, boxes ...string) string {
	t.Helper()
	var b strings.Builder
	for _, box := range boxes {
		fs, err := o.Folders(box)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			msgs, err := o.Messages(box, f.Path)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != f.Messages {
				t.Fatalf("%s/%s: %d messages listed, %d counted", box, f.Path, len(msgs), f.Messages)
			}
			next := uint64(1)
			if len(msgs) > 0 {
				next = msgs[len(msgs)-1].ID + 1
			}
			fmt.Fprintf(&b, "%s/%s validity=%d next=%d\n", box, f.Path, 0, next)
			for _, m := range msgs {
				raw, it, err := o.Message(box, f.Path, m.ID)
				if err != nil {
					t.Fatal(err)
				}
				if int64(len(raw)) != m.Size || fmt.Sprintf("%x", sha256.Sum256(raw)) != m.SHA256 || it.SHA256 != m.SHA256 {
					t.Fatalf("%s/%s %d: size or hash of the bytes differ from the listing", box, f.Path, m.ID)
				}
				fmt.Fprintf(&b, "  %d %v %s %x\n", m.ID, m.Flags, m.Received.Format(time.RFC3339Nano), sha256.Sum256(raw))
			}
		}
	}
	return noValidity(b.String())
}

// The next= of a view is the live folder's UIDNEXT; a listing only knows
// the last UID, so views compare without it.
func noNext(view string) string {
	var out []string
	for _, l := range strings.Split(view, "\n") {
		if i := strings.Index(l, " next="); i >= 0 {
			l = l[:i]
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// stageChain copies the files of sets into one folder, as the console
// stages a chain read from tape: later sets' files over earlier ones'.
func stageChain(t testing.TB, sets ...backupSet) (string, []exchange.RestoreEnv) {
	t.Helper()
	dir := t.TempDir()
	var envs []exchange.RestoreEnv
	for _, set := range sets {
		envs = append(envs, set.info.Env)
		for _, f := range set.info.Files {
			data, err := os.ReadFile(filepath.Join(set.dir, f.Name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f.Name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir, envs
}

// mailWithAttachment is an RFC 5322 message with one attachment.
func mailWithAttachment(subject, name string) []byte {
	return mail.Compose(mail.Draft{From: "Carol <carol@contoso.local>", To: []string{"alice@contoso.local"}, Subject: subject,
		Date: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC), MessageID: subject + "@contoso.local", Body: "see attached",
		Attachments: []mail.Attachment{{Name: name, Data: []byte("PK\x03\x04 not really a zip")}}})
}

// A set recovered offline holds what the live store held at backup time:
// the same folders, messages, bytes, flags and internal dates, and the
// same public folders; the live server is left alone.
func TestRecoverOfflineMatchesTheStoreAtBackup(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	if err := s.CreateMailbox(bg, exchange.Recipient{Alias: "alice", DisplayName: "Alice Andersen"}); err != nil {
		t.Fatal(err)
	}
	mailTraffic(t, s, "alice", 6)
	be := s.Mail()
	data := mailWithAttachment("budget", "budget.xlsx")
	if _, _, err := be.Append(bg, "alice", "Inbox", data, []string{mail.FlagFlagged}, time.Date(2026, 11, 30, 11, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	deliver(t, s, "bob", 3, "b") // a schema 1 delivery, rendered by the store
	for i := range 3 {
		if err := s.Post(bg, exchange.Post{Folder: "Projects/2026", From: "alice", Subject: fmt.Sprintf("plan %d", i), Body: "text"}); err != nil {
			t.Fatal(err)
		}
	}
	want := liveView(t, s, "alice", "bob")
	set := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	deliver(t, s, "carol", 2, "after") // after the backup: not in it
	liveBefore := digest(t, s)

	dir, envs := stageChain(t, set)
	o, err := RecoverOffline(dir, envs)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if got := offlineView(t, o, "alice", "bob"); noNext(got) != noNext(want) {
		t.Fatalf("offline:\n%s\nlive at backup:\n%s", got, want)
	}
	mbs, err := o.Mailboxes()
	if err != nil {
		t.Fatal(err)
	}
	var aliases []string
	for _, mb := range mbs {
		aliases = append(aliases, mb.Alias)
	}
	if !slices.Equal(aliases, []string{"alice", "bob"}) || mbs[0].DisplayName != "Alice Andersen" || mbs[0].Messages == 0 || mbs[0].Size == 0 {
		t.Fatalf("mailboxes: %+v", mbs)
	}
	msgs, _ := o.Messages("alice", "Inbox")
	last := msgs[len(msgs)-1]
	if last.Subject != "budget" || last.From != "Carol <carol@contoso.local>" || last.MessageID != "budget@contoso.local" ||
		!slices.Equal(last.To, []string{"alice@contoso.local"}) || !slices.Equal(last.Flags, []string{mail.FlagFlagged}) || len(last.Attachments) != 0 {
		t.Fatalf("listing of the last message: %+v", last)
	}
	raw, it, err := o.Message("alice", "Inbox", last.ID)
	if err != nil || string(raw) != string(data) || !slices.Equal(it.Attachments, []string{"budget.xlsx"}) {
		t.Fatalf("message: %v %+v", err, it)
	}
	if _, err := o.Messages("carol", "Inbox"); !errors.Is(err, exchange.ErrNotFound) || !strings.Contains(err.Error(), "mailbox carol") {
		t.Fatalf("a mailbox made after the backup: %v", err)
	}
	if _, _, err := o.Message("alice", "Inbox", 1<<32+last.ID); !errors.Is(err, exchange.ErrNotFound) {
		t.Fatalf("an ID past any UID: %v", err)
	}
	if _, err := o.Messages("alice", "Nowhere"); !errors.Is(err, exchange.ErrNotFound) || !strings.Contains(err.Error(), "folder Nowhere") {
		t.Fatalf("a folder not there: %v", err)
	}

	pfs, err := o.PublicFolders()
	if err != nil || len(pfs) != 1 || pfs[0].Path != "Projects/2026" || pfs[0].Messages != 3 {
		t.Fatalf("public folders: %+v %v", pfs, err)
	}
	posts, err := o.Posts("Projects/2026")
	if err != nil || len(posts) != 3 || posts[1].Subject != "plan 1" || posts[1].From != "alice" {
		t.Fatalf("posts: %+v %v", posts, err)
	}
	p, rendered, pit, err := o.Post("Projects/2026", posts[1].ID)
	if err != nil || p.Subject != "plan 1" || pit.Size != int64(len(rendered)) {
		t.Fatalf("post: %+v %v", p, err)
	}
	if meta, _ := mail.Parse(rendered); meta.Subject != "plan 1" || meta.MessageID != pit.MessageID {
		t.Fatalf("rendered post: %+v", meta)
	}
	if digest(t, s) != liveBefore {
		t.Fatal("the live store changed")
	}
}

// A chain (full, then incrementals) recovers the changes made between
// its sets; a set missing from the chain, or a generation missing from
// the folder, is refused by name.
func TestRecoverOfflineChain(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	if err := s.CreateMailbox(bg, exchange.Recipient{Alias: "alice"}); err != nil {
		t.Fatal(err)
	}
	mailTraffic(t, s, "alice", 4)
	full := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	mailTraffic(t, s, "alice", 3)
	deliver(t, s, "bob", 2, "between")
	inc1 := takeBackup(t, s, exchange.StoreIS, exchange.Incremental)
	want := liveView(t, s, "alice", "bob")
	mailTraffic(t, s, "alice", 2)
	inc2 := takeBackup(t, s, exchange.StoreIS, exchange.Incremental)
	want2 := liveView(t, s, "alice", "bob")

	dir, envs := stageChain(t, full, inc1)
	o, err := RecoverOffline(dir, envs)
	if err != nil {
		t.Fatal(err)
	}
	if got := offlineView(t, o, "alice", "bob"); noNext(got) != noNext(want) {
		t.Fatalf("offline:\n%s\nlive at the incremental:\n%s", got, want)
	}
	o.Close()

	dir, envs = stageChain(t, full, inc1, inc2)
	o, err = RecoverOffline(dir, envs)
	if err != nil {
		t.Fatal(err)
	}
	if got := offlineView(t, o, "alice", "bob"); noNext(got) != noNext(want2) {
		t.Fatalf("offline:\n%s\nlive at the second incremental:\n%s", got, want2)
	}
	o.Close()

	// The middle set left out.
	dir, envs = stageChain(t, full, inc2)
	_, err = RecoverOffline(dir, envs)
	if err == nil || !strings.Contains(err.Error(), "missing between set 1 and set 2") || !strings.Contains(err.Error(), genName(inc1.info.Env.LowGen)) {
		t.Fatalf("a chain without its middle set: %v", err)
	}
	// A generation missing from the folder.
	dir, envs = stageChain(t, full, inc1, inc2)
	gone := genName(inc1.info.Env.HighGen)
	os.Remove(filepath.Join(dir, gone))
	_, err = RecoverOffline(dir, envs)
	if err == nil || !strings.Contains(err.Error(), "log generation "+gone+" is missing") {
		t.Fatalf("a missing generation: %v", err)
	}
	// A set of another log set.
	other := inc1.info.Env
	other.Signature = strings.Repeat("0", 32)
	_, err = RecoverOffline(dir, []exchange.RestoreEnv{full.info.Env, other})
	if err == nil || !strings.Contains(err.Error(), "does not belong to the log set") {
		t.Fatalf("a set of another log set: %v", err)
	}
	// An incremental alone.
	if _, err := RecoverOffline(dir, []exchange.RestoreEnv{inc1.info.Env}); err == nil || !strings.Contains(err.Error(), "cannot be recovered alone") {
		t.Fatalf("an incremental alone: %v", err)
	}
	// A Directory set.
	ds := takeBackup(t, s, exchange.StoreDS, exchange.Normal)
	dsDir, dsEnvs := stageChain(t, ds)
	if _, err := RecoverOffline(dsDir, dsEnvs); err == nil || !strings.Contains(err.Error(), "holds no mailboxes") {
		t.Fatalf("a Directory set: %v", err)
	}
}

// A finished folder reopens as it was; an unfinished or changed one is
// refused.
func TestReopenOffline(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	if err := s.CreateMailbox(bg, exchange.Recipient{Alias: "alice"}); err != nil {
		t.Fatal(err)
	}
	mailTraffic(t, s, "alice", 5)
	set := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	dir, envs := stageChain(t, set)

	if _, err := ReopenOffline(dir); err == nil || !strings.Contains(err.Error(), "not recovered to the end") {
		t.Fatalf("reopening a folder never recovered: %v", err)
	}
	o, err := RecoverOffline(dir, envs)
	if err != nil {
		t.Fatal(err)
	}
	want := offlineView(t, o, "alice")
	o.Close()
	o, err = ReopenOffline(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := offlineView(t, o, "alice"); got != want {
		t.Fatalf("reopened:\n%s\nrecovered:\n%s", got, want)
	}
	if sets := o.Sets(); len(sets) != 1 || sets[0].Signature != envs[0].Signature {
		t.Fatalf("sets: %+v", sets)
	}
	o.Close()

	// Touched after recovery: refused.
	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(dir, privEDB), later, later)
	if _, err := ReopenOffline(dir); err == nil || !strings.Contains(err.Error(), "changed since it was recovered") {
		t.Fatalf("reopening a changed folder: %v", err)
	}
	// A recovery that starts again and does not finish leaves the folder
	// unfinished.
	os.Remove(filepath.Join(dir, genName(envs[0].HighGen)))
	if _, err := RecoverOffline(dir, envs); err == nil {
		t.Fatal("recovered without its log")
	}
	if _, err := os.Stat(filepath.Join(dir, offlineMarker)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a failed recovery left the folder marked finished")
	}
}

// A set written before schema 2 is migrated as it is recovered.
func TestRecoverOfflineOfASchema1Set(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 10, "a")
	set := takeBackup(t, s, exchange.StoreIS, exchange.Copy)
	toV1(t, filepath.Join(set.dir, privEDB), s.is.dir)
	if v, ok := schemaIn(t, filepath.Join(set.dir, privEDB)); ok || v != 1 {
		t.Fatalf("the old set's priv.edb is of schema %d", v)
	}
	dir, envs := stageChain(t, set)
	o, err := RecoverOffline(dir, envs)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	msgs, err := o.Messages("alice", "Inbox")
	if err != nil || len(msgs) != 10 || msgs[3].Subject != "a 3" || msgs[3].MessageID == "" {
		t.Fatalf("messages of the migrated set: %d %v", len(msgs), err)
	}
	if got, want := offlineView(t, o, "alice"), liveView(t, s, "alice"); noNext(got) != noNext(want) {
		t.Fatalf("migrated offline:\n%s\nlive:\n%s", got, want)
	}
}

// importOf turns a recovered folder's messages into an import batch.
func importOf(t *testing.T, o *OfflineStore, box, folder, to, toFolder string) []exchange.ImportMessage {
	t.Helper()
	msgs, err := o.Messages(box, folder)
	if err != nil {
		t.Fatal(err)
	}
	var out []exchange.ImportMessage
	for _, m := range msgs {
		raw, _, err := o.Message(box, folder, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, exchange.ImportMessage{Mailbox: to, Folder: toFolder, Data: raw, Flags: m.Flags, Date: m.Received})
	}
	return out
}

// Items restored from a backup go back into their folder (recreated with
// its parents), with their bytes, flags and internal dates; a message the
// folder holds already is not duplicated, one with the same Message-ID
// but other bytes is; every change survives a replay of the log; IMAP
// sessions watching are told.
func TestImportItems(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	if err := s.CreateMailbox(bg, exchange.Recipient{Alias: "alice"}); err != nil {
		t.Fatal(err)
	}
	be := s.Mail()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(be.CreateFolder(bg, "alice", "Projects"))
	must(be.CreateFolder(bg, "alice", "Projects/2026"))
	for i := range 4 {
		_, _, err := be.Append(bg, "alice", "Projects/2026", mailWithAttachment(fmt.Sprintf("p%d", i), "f.pdf"), []string{mail.FlagSeen, "$Work"}, time.Date(2026, 1, 2, 3, 4, i, 0, time.UTC))
		must(err)
	}
	mailTraffic(t, s, "alice", 4)
	set := takeBackup(t, s, exchange.StoreIS, exchange.Copy) // a Copy truncates nothing: the log replays from its start below
	dir, envs := stageChain(t, set)
	o, err := RecoverOffline(dir, envs)
	must(err)
	defer o.Close()

	// The folder is deleted, and two inbox messages expunged.
	must(be.DeleteFolder(bg, "alice", "Projects/2026"))
	must(be.DeleteFolder(bg, "alice", "Projects"))
	in, _ := be.Folder(bg, "alice", "Inbox")
	must(be.Expunge(bg, "alice", "Inbox", []mail.UID{in.List[0].UID, in.List[1].UID}))

	var mu sync.Mutex
	var changes []mail.Change
	stop := be.Watch(func(c mail.Change) { mu.Lock(); changes = append(changes, c); mu.Unlock() })
	defer stop()

	batch := importOf(t, o, "alice", "Projects/2026", "alice", "Projects/2026")
	res, err := s.ImportItems(bg, exchange.ImportRequest{Messages: batch})
	must(err)
	if res.Imported != 4 || res.Duplicates != 0 || !slices.Equal(res.FoldersCreated, []string{"alice/Projects", "alice/Projects/2026"}) {
		t.Fatalf("import into a deleted folder: %+v", res)
	}
	f, err := be.Folder(bg, "alice", "Projects/2026")
	must(err)
	if len(f.List) != 4 {
		t.Fatalf("restored folder holds %d messages", len(f.List))
	}
	for i, m := range f.List {
		raw, _ := be.Message(bg, "alice", "Projects/2026", m.UID)
		if string(raw) != string(batch[i].Data) || !slices.Equal(m.Flags, []string{"$Work", mail.FlagSeen}) || !m.InternalDate.Equal(batch[i].Date) {
			t.Fatalf("restored message %d: flags %v date %v", i, m.Flags, m.InternalDate)
		}
	}
	mu.Lock()
	if !slices.Contains(changes, mail.Change{Mailbox: "alice", Folder: "Projects/2026"}) {
		t.Fatalf("watchers were told %v", changes)
	}
	mu.Unlock()

	// Again: all duplicates. The whole Inbox: only the expunged come back.
	res, err = s.ImportItems(bg, exchange.ImportRequest{Messages: batch})
	must(err)
	if res.Imported != 0 || res.Duplicates != 4 || len(res.FoldersCreated) != 0 {
		t.Fatalf("second import: %+v", res)
	}
	inbox := importOf(t, o, "alice", "Inbox", "alice", "Inbox")
	res, err = s.ImportItems(bg, exchange.ImportRequest{Messages: inbox})
	must(err)
	if res.Imported != 2 || res.Duplicates != len(inbox)-2 {
		t.Fatalf("inbox import: %+v", res)
	}
	// Same Message-ID, other bytes: imported; the same message twice in a
	// batch: once.
	other := slices.Clone(batch[0].Data)
	other = append(other, []byte("changed\r\n")...)
	res, err = s.ImportItems(bg, exchange.ImportRequest{Messages: []exchange.ImportMessage{
		{Mailbox: "alice", Folder: "Projects/2026", Data: other},
		{Mailbox: "alice", Folder: "Projects/2026", Data: other}}})
	must(err)
	if res.Imported != 1 || res.Duplicates != 1 {
		t.Fatalf("same Message-ID, other bytes: %+v", res)
	}
	f, _ = be.Folder(bg, "alice", "Projects/2026")
	if len(f.List) != 5 {
		t.Fatalf("folder holds %d messages, want 5", len(f.List))
	}

	// Everything survives a replay of the whole log.
	view, d := liveView(t, s, "alice"), digest(t, s)
	dataDir := s.dir
	s.Close()
	for _, f := range []string{"priv.edb", "pub.edb", "edb.chk"} {
		os.Remove(filepath.Join(dataDir, "mdbdata", f))
	}
	s2 := openTestServer(t, dataDir)
	if got := liveView(t, s2, "alice"); got != view {
		t.Fatalf("after replay:\n%s\nwant:\n%s", got, view)
	}
	if digest(t, s2) != d {
		t.Fatal("digest changed across replay")
	}
}

// A mailbox deleted since the backup is recreated when the batch asks for
// it, its Directory entry restored and without a password, which the
// result says; a mailbox neither there nor asked for is refused by name
// and nothing of the batch is applied.
func TestImportItemsRecreatesAMailbox(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	if err := s.CreateMailbox(bg, exchange.Recipient{Alias: "alice"}); err != nil {
		t.Fatal(err)
	}
	msg := exchange.ImportMessage{Mailbox: "carol", Folder: "Inbox", Data: mailWithAttachment("hello", "a.txt"), Flags: []string{mail.FlagSeen}}
	before := digest(t, s)
	_, err := s.ImportItems(bg, exchange.ImportRequest{Messages: []exchange.ImportMessage{{Mailbox: "alice", Folder: "Inbox", Data: msg.Data}, msg}})
	if !errors.Is(err, exchange.ErrNotFound) || !strings.Contains(err.Error(), "no mailbox carol on EX1") {
		t.Fatalf("import into a missing mailbox: %v", err)
	}
	if digest(t, s) != before {
		t.Fatal("a refused batch changed the store")
	}
	res, err := s.ImportItems(bg, exchange.ImportRequest{Create: []exchange.Recipient{{Alias: "carol", DisplayName: "Carol C", HomeServer: "OLD"}, {Alias: "alice"}},
		Messages: []exchange.ImportMessage{msg}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.MailboxesCreated, []string{"carol"}) || res.Imported != 1 || len(res.Messages) != 1 ||
		!strings.Contains(res.Messages[0], "exserver mailbox --data "+s.dir+" --alias carol --password") {
		t.Fatalf("result: %+v", res)
	}
	rs, _ := s.Recipients(bg)
	if !slices.ContainsFunc(rs, func(r exchange.Recipient) bool {
		return r.Alias == "carol" && r.DisplayName == "Carol C" && r.HomeServer == "EX1"
	}) {
		t.Fatalf("recipients: %+v", rs)
	}
	if _, err := s.Mail().Authenticate(bg, "carol", ""); !errors.Is(err, mail.ErrAuthFailed) {
		t.Fatalf("a recreated mailbox without a password: %v", err)
	}
	f, err := s.Mail().Folder(bg, "carol", "Inbox")
	if err != nil || len(f.List) != 1 {
		t.Fatalf("carol's Inbox: %+v %v", f, err)
	}
	// Clients may have cached the old mailbox's folders: the new ones
	// have UIDVALIDITY values of their own.
	fs, _ := s.Mail().Folders(bg, "carol")
	if len(fs) != len(defaultFolders) {
		t.Fatalf("carol's folders: %+v", fs)
	}
	for _, fi := range fs {
		if fi.UIDValidity <= 1 {
			t.Fatalf("recreated folder %s has UIDVALIDITY %d", fi.Name, fi.UIDValidity)
		}
	}
	// A batch that only recreates a mailbox is a batch too.
	res, err = s.ImportItems(bg, exchange.ImportRequest{Create: []exchange.Recipient{{Alias: "dave"}}})
	if err != nil || !slices.Equal(res.MailboxesCreated, []string{"dave"}) {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := s.Mail().Folder(bg, "dave", "Inbox"); err != nil {
		t.Fatal(err)
	}
}

// Posts go back into their public folder unless an equal one is there;
// a stopped store refuses; bad batches are refused by name.
func TestImportItemsPostsAndRefusals(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	p := exchange.Post{Folder: "General", From: "alice", Subject: "Welcome", Date: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Body: "Hello"}
	if err := s.Post(bg, p); err != nil {
		t.Fatal(err)
	}
	p2 := p
	p2.Subject = "Second"
	var mu sync.Mutex
	var changes []mail.Change
	stop := s.Mail().Watch(func(c mail.Change) { mu.Lock(); changes = append(changes, c); mu.Unlock() })
	res, err := s.ImportItems(bg, exchange.ImportRequest{Posts: []exchange.Post{p, p2, {Folder: "Old/Gone", From: "bob", Subject: "x", Date: p.Date}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 2 || res.Duplicates != 1 || !slices.Equal(res.FoldersCreated, []string{"Public Folders/Old/Gone"}) {
		t.Fatalf("posts: %+v", res)
	}
	stop()
	mu.Lock()
	if !slices.Contains(changes, mail.Change{Folder: "General"}) || !slices.Contains(changes, mail.Change{Folder: "Old/Gone"}) {
		t.Fatalf("watchers were told %v", changes)
	}
	mu.Unlock()
	if f, err := s.Mail().PublicFolder(bg, "General"); err != nil || len(f.List) != 2 {
		t.Fatalf("General over IMAP: %+v %v", f, err)
	}
	// Many posts share group commits and keep their order.
	var many []exchange.Post
	for i := range 50 {
		many = append(many, exchange.Post{Folder: "Archive", From: "bob", Subject: fmt.Sprintf("post %02d", i), Date: p.Date.Add(time.Duration(i) * time.Minute)})
	}
	if res, err := s.ImportItems(bg, exchange.ImportRequest{Posts: many}); err != nil || res.Imported != 50 {
		t.Fatalf("50 posts: %+v %v", res, err)
	}
	arch, err := s.Mail().PublicFolder(bg, "Archive")
	if err != nil || len(arch.List) != 50 {
		t.Fatalf("Archive: %d posts, %v", len(arch.List), err)
	}
	for i, m := range arch.List {
		raw, _ := s.Mail().PublicMessage(bg, "Archive", m.UID)
		if meta, _ := mail.Parse(raw); meta.Subject != fmt.Sprintf("post %02d", i) {
			t.Fatalf("post %d of Archive is %q", i, meta.Subject)
		}
	}
	d := digest(t, s)
	s.Close()
	s = openTestServer(t, s.dir)
	if digest(t, s) != d {
		t.Fatal("imported posts changed across a restart")
	}

	for _, c := range []struct {
		req  exchange.ImportRequest
		want string
	}{
		{exchange.ImportRequest{Messages: []exchange.ImportMessage{{Mailbox: "a b", Folder: "Inbox", Data: []byte("x")}}}, "may not contain spaces"},
		{exchange.ImportRequest{Messages: []exchange.ImportMessage{{Mailbox: "alice", Folder: "/x/", Data: []byte("x")}}}, "folder name \"/x/\" is not valid"},
		{exchange.ImportRequest{Messages: []exchange.ImportMessage{{Mailbox: "alice", Folder: "Inbox"}}}, "is empty"},
		{exchange.ImportRequest{Messages: []exchange.ImportMessage{{Mailbox: "alice", Folder: "Inbox", Data: make([]byte, exchange.MaxImportBytes/2+1)},
			{Mailbox: "alice", Folder: "Inbox", Data: make([]byte, exchange.MaxImportBytes/2+1)}}}, "more than the 16 MiB a server takes at once"},
		{exchange.ImportRequest{Messages: []exchange.ImportMessage{{Mailbox: "alice", Folder: "Inbox", Data: make([]byte, exchange.MaxImportMessage+1)}}}, "larger than the 32 MiB a store takes"},
	} {
		if _, err := s.ImportItems(bg, c.req); !errors.Is(err, exchange.ErrBadRequest) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want %q, got %v", c.want, err)
		}
	}
	if err := s.StopService(bg, exchange.StoreIS); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportItems(bg, exchange.ImportRequest{Posts: []exchange.Post{p}}); !errors.Is(err, exchange.ErrNotRunning) {
		t.Fatalf("a stopped store: %v", err)
	}
}

// The API serves ImportItems, and refuses a body above its limit before
// reading it all.
func TestImportItemsOverTheAPI(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	if err := s.CreateMailbox(bg, exchange.Recipient{Alias: "alice"}); err != nil {
		t.Fatal(err)
	}
	api := serveTestAPI(t, s)
	c := dialTestAPI(t, s, api)
	req := exchange.ImportRequest{Messages: []exchange.ImportMessage{{Mailbox: "alice", Folder: "Restored", Data: mailWithAttachment("x", "y.txt"), Flags: []string{mail.FlagAnswered}}}}
	res, err := c.ImportItems(bg, req)
	if err != nil || res.Imported != 1 || !slices.Equal(res.FoldersCreated, []string{"alice/Restored"}) {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := c.ImportItems(bg, exchange.ImportRequest{Messages: []exchange.ImportMessage{{Mailbox: "nobody", Folder: "Inbox", Data: []byte("x")}}}); !errors.Is(err, exchange.ErrNotFound) || !strings.Contains(err.Error(), "nobody") {
		t.Fatalf("unknown mailbox over the API: %v", err)
	}
	// A message larger than a batch may be, alone: every message the
	// store takes in can go back.
	large := append(mailWithAttachment("large", "scan.tiff"), []byte(strings.Repeat("0123456789abcdef\r\n", 24<<20/18))...)
	res, err = c.ImportItems(bg, exchange.ImportRequest{Messages: []exchange.ImportMessage{{Mailbox: "alice", Folder: "Inbox", Data: large}}})
	if err != nil || res.Imported != 1 {
		t.Fatalf("a %d MiB message alone: %+v %v", len(large)>>20, res, err)
	}
	if got, _ := s.Mail().Folder(bg, "alice", "Inbox"); len(got.List) != 1 || got.List[0].Size != int64(len(large)) {
		t.Fatalf("the large message: %+v", got.List)
	}
	// A body past the route's limit, sent raw.
	big := strings.NewReader(`{"messages":[{"mailbox":"alice","folder":"Inbox","data":"` + strings.Repeat("A", 49<<20) + `"}]}`)
	status, body := postRaw(t, s, api, "/v1/items", big)
	if status != 413 || !strings.Contains(body, "send fewer messages per batch") {
		t.Fatalf("oversized body: %d %s", status, body)
	}
}

func dialTestAPI(t *testing.T, s *Server, api testAPI) *client.Client {
	t.Helper()
	c, err := client.Dial(bg, api.addr, s.Config().Key, s.Fingerprint())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// postRaw posts a body as it is, with the key, and answers the status and
// the answer's body.
func postRaw(t *testing.T, s *Server, api testAPI, path string, body io.Reader) (int, string) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // the test's own server
	defer hc.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPost, "https://"+api.addr+path, body)
	req.Header.Set("Authorization", "Bearer "+s.Config().Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
