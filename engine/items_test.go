package engine

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"exbackup/exchange"
)

// fakeItemStore is a recovered store in memory.
type fakeItemStore struct {
	mailboxes []exchange.MailboxSummary
	folders   map[string][]exchange.FolderSummary // alias → folders
	messages  map[string][]exchange.ItemSummary   // alias/folder → messages
	data      map[string][]byte                   // alias/folder/uid → bytes
	public    []exchange.FolderSummary
	posts     map[string][]exchange.ItemSummary // folder → posts
	closed    bool
}

func (s *fakeItemStore) Mailboxes() ([]exchange.MailboxSummary, error) { return s.mailboxes, nil }
func (s *fakeItemStore) Folders(alias string) ([]exchange.FolderSummary, error) {
	fs, ok := s.folders[alias]
	if !ok {
		return nil, fmt.Errorf("no mailbox %q", alias)
	}
	return fs, nil
}
func (s *fakeItemStore) Messages(alias, folder string) ([]exchange.ItemSummary, error) {
	return s.messages[alias+"/"+folder], nil
}
func (s *fakeItemStore) Message(alias, folder string, uid uint64) ([]byte, exchange.ItemSummary, error) {
	for _, m := range s.messages[alias+"/"+folder] {
		if m.ID == uid {
			return s.data[fmt.Sprintf("%s/%s/%d", alias, folder, uid)], m, nil
		}
	}
	return nil, exchange.ItemSummary{}, errors.New("no such message")
}
func (s *fakeItemStore) PublicFolders() ([]exchange.FolderSummary, error) { return s.public, nil }
func (s *fakeItemStore) Posts(folder string) ([]exchange.ItemSummary, error) {
	return s.posts[folder], nil
}
func (s *fakeItemStore) Post(folder string, id uint64) (exchange.Post, []byte, exchange.ItemSummary, error) {
	for _, p := range s.posts[folder] {
		if p.ID == id {
			return exchange.Post{Folder: folder, From: p.From, Subject: p.Subject, Date: p.Date, Body: "body of " + p.Subject},
				[]byte("Subject: " + p.Subject + "\r\n\r\nbody of " + p.Subject + "\r\n"), p, nil
		}
	}
	return exchange.Post{}, nil, exchange.ItemSummary{}, errors.New("no such post")
}
func (s *fakeItemStore) Close() error { s.closed = true; return nil }

var day = time.Date(2026, 11, 30, 14, 2, 0, 0, time.UTC)

// newFakeItemStore holds alice (Inbox with three messages, Inbox/Projects
// with one, "#tags" with one), bob (Inbox, one large message each of
// size big) and a public folder Projects with two posts.
func newFakeItemStore(big int) *fakeItemStore {
	s := &fakeItemStore{folders: map[string][]exchange.FolderSummary{}, messages: map[string][]exchange.ItemSummary{},
		data: map[string][]byte{}, posts: map[string][]exchange.ItemSummary{}}
	add := func(alias, folder string, uid uint64, from, subject string, date time.Time, body []byte) {
		data := append([]byte("From: "+from+"\r\nSubject: "+subject+"\r\n\r\n"), body...)
		s.messages[alias+"/"+folder] = append(s.messages[alias+"/"+folder], exchange.ItemSummary{ID: uid, MessageID: fmt.Sprintf("%d@%s", uid, alias),
			Date: date, Received: date.Add(time.Minute), From: from, Subject: subject, Size: int64(len(data)), Flags: []string{`\Seen`}})
		s.data[fmt.Sprintf("%s/%s/%d", alias, folder, uid)] = data
	}
	add("alice", "Inbox", 1, "Carol <carol@example.org>", "Budget 2027", day, []byte("From the start\r\n>From here\r\nend\r\n"))
	add("alice", "Inbox", 2, "dave@example.org", "Lunch", day.Add(24*time.Hour), []byte("noon?\r\n"))
	add("alice", "Inbox", 3, "carol@example.org", "Re: budget 2027", day.Add(48*time.Hour), []byte("yes\r\n"))
	add("alice", "Inbox/Projects", 1, "erin@example.org", "Kick-off", day, []byte("monday\r\n"))
	add("alice", "#tags", 7, "frank@example.org", "Tagged", day, []byte("tag\r\n"))
	for i := range 3 {
		add("bob", "Inbox", uint64(10+i), "gina@example.org", fmt.Sprint("Large ", i), day, bytes.Repeat([]byte("x"), big))
	}
	for _, alias := range []string{"alice", "bob"} {
		mb := exchange.MailboxSummary{Recipient: exchange.Recipient{Alias: alias, DisplayName: strings.ToUpper(alias[:1]) + alias[1:], HomeServer: "EX1"}}
		var paths []string
		for k := range s.messages {
			if a, f, _ := strings.Cut(k, "/"); a == alias {
				paths = append(paths, f)
			}
		}
		sort.Strings(paths)
		for _, f := range paths {
			fs := exchange.FolderSummary{Path: f}
			for _, m := range s.messages[alias+"/"+f] {
				fs.Messages++
				fs.Size += m.Size
			}
			s.folders[alias] = append(s.folders[alias], fs)
			mb.Folders++
			mb.Messages += fs.Messages
			mb.Size += fs.Size
		}
		s.mailboxes = append(s.mailboxes, mb)
	}
	s.public = []exchange.FolderSummary{{Path: "Projects", Messages: 2, Size: 200}}
	s.posts["Projects"] = []exchange.ItemSummary{{ID: 1207, From: "alice", Subject: "Plan", Date: day, Size: 100},
		{ID: 1208, From: "bob", Subject: "Plan v2", Date: day, Size: 100}}
	return s
}

// fakeRecoverer records what it is asked to recover.
type fakeRecoverer struct {
	mu        sync.Mutex
	big       int
	recovered []string                // dirs, in order
	envs      [][]exchange.RestoreEnv // per Recover
	files     []map[string][]byte     // what each dir held
	reopened  int
	fail      error
}

func (r *fakeRecoverer) Recover(dir string, sets []exchange.RestoreEnv) (ItemStore, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return nil, r.fail
	}
	files := map[string][]byte{}
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		b, _ := os.ReadFile(filepath.Join(dir, de.Name()))
		files[de.Name()] = b
	}
	r.recovered = append(r.recovered, dir)
	r.envs = append(r.envs, sets)
	r.files = append(r.files, files)
	os.WriteFile(filepath.Join(dir, "recovered"), []byte("yes"), 0o600)
	return newFakeItemStore(r.big), nil
}

func (r *fakeRecoverer) Reopen(dir string) (ItemStore, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := os.Stat(filepath.Join(dir, "recovered")); err != nil {
		return nil, errors.New("not recovered")
	}
	r.reopened++
	return newFakeItemStore(r.big), nil
}

// itemsEnv is a fake organization whose EX1 has alice and bob, a tape T
// with a full backup of EX1's Information Store, and a fake recoverer.
func itemsEnv(t *testing.T, big int) (*fakeEnv, *fakeRecoverer) {
	t.Helper()
	f := newFakeEnv(t, "EX1")
	f.org.server("EX1").recipients = []exchange.Recipient{{Alias: "alice", HomeServer: "EX1"}, {Alias: "bob", HomeServer: "EX1"}}
	if _, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreIS)}, TapeName: "T"}, nil); err != nil {
		t.Fatal(err)
	}
	r := &fakeRecoverer{big: big}
	f.e.SetRecoverer(r)
	return f, r
}

func names(nodes []ItemNode) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.Path)
	}
	return out
}

func TestItemsBrowsePaths(t *testing.T) {
	f, _ := itemsEnv(t, 10)
	it, err := f.e.OpenItems(bg, "T", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	cases := []struct {
		path string
		want []string
	}{
		{"", []string{"Mailboxes", "Public Folders"}},
		{"Mailboxes", []string{"Mailboxes/alice", "Mailboxes/bob"}},
		{"Mailboxes/alice", []string{"Mailboxes/alice/Inbox", "Mailboxes/alice/##tags"}},
		{"Mailboxes/alice/Inbox", []string{"Mailboxes/alice/Inbox/Projects", "Mailboxes/alice/Inbox/#1", "Mailboxes/alice/Inbox/#2", "Mailboxes/alice/Inbox/#3"}},
		{"Mailboxes/alice/##tags", []string{"Mailboxes/alice/##tags/#7"}},
		{"Public Folders", []string{"Public Folders/Projects"}},
		{"Public Folders/Projects", []string{"Public Folders/Projects/#1207", "Public Folders/Projects/#1208"}},
	}
	for _, c := range cases {
		got, err := it.Browse(c.path)
		if err != nil {
			t.Errorf("Browse(%q): %v", c.path, err)
			continue
		}
		if !reflect.DeepEqual(names(got), c.want) {
			t.Errorf("Browse(%q) = %q, want %q", c.path, names(got), c.want)
		}
	}
	inbox, _ := it.Browse("Mailboxes/alice/Inbox")
	if inbox[0].Kind != ItemFolder || inbox[1].Kind != ItemMessage || inbox[1].Item.Subject != "Budget 2027" {
		t.Errorf("Inbox: %+v", inbox)
	}
	if s := inbox[0].String(); !strings.HasPrefix(s, "Projects/  (1 message, ") {
		t.Errorf("folder line %q", s)
	}
	if s := inbox[1].String(); !strings.Contains(s, "Carol <carol@example.org>") || !strings.Contains(s, "Budget 2027") || !strings.Contains(s, day.Local().Format("2006-01-02 15:04")) || !strings.HasSuffix(s, "#1") {
		t.Errorf("message line %q", s)
	}
	roots, _ := it.Browse("")
	if roots[0].String() != "Mailboxes/  (2 mailboxes, 8 messages, "+FormatBytes(roots[0].Size)+")" {
		t.Errorf("root line %q", roots[0].String())
	}
	for _, bad := range []string{"Mailboxes/carol", "Mailboxes/alice/Nope", "Mailboxes/alice/Inbox/#1", "Elsewhere", "Mailboxes/alice/#3", "Mailboxes/alice/Inbox/#x"} {
		if _, err := it.Browse(bad); err == nil {
			t.Errorf("Browse(%q) succeeded", bad)
		}
	}
	b, sum, err := it.Open("Mailboxes/alice/##tags/#7")
	if err != nil || sum.Subject != "Tagged" || !bytes.Contains(b, []byte("Subject: Tagged")) {
		t.Errorf("Open of a message in #tags: %q %+v %v", b, sum, err)
	}
	if _, _, err := it.Open("Public Folders/Projects/#1208"); err != nil {
		t.Errorf("Open of a post: %v", err)
	}
	if _, _, err := it.Open("Mailboxes/alice/Inbox"); err == nil {
		t.Error("Open of a folder succeeded")
	}
}

func TestItemsSearch(t *testing.T) {
	f, _ := itemsEnv(t, 10)
	it, err := f.e.OpenItems(bg, "T", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	cases := []struct {
		f    ItemFilter
		want []string
	}{
		{ItemFilter{From: "CAROL"}, []string{"Mailboxes/alice/Inbox/#1", "Mailboxes/alice/Inbox/#3"}},
		{ItemFilter{Subject: "budget"}, []string{"Mailboxes/alice/Inbox/#1", "Mailboxes/alice/Inbox/#3"}},
		{ItemFilter{Subject: "budget", Since: day.Add(time.Hour)}, []string{"Mailboxes/alice/Inbox/#3"}},
		{ItemFilter{Before: day.Add(time.Hour), Under: "Mailboxes/alice/Inbox"}, []string{"Mailboxes/alice/Inbox/#1", "Mailboxes/alice/Inbox/Projects/#1"}},
		{ItemFilter{Under: "Mailboxes/alice/Inbox/Projects"}, []string{"Mailboxes/alice/Inbox/Projects/#1"}},
		{ItemFilter{Text: "plan"}, []string{"Public Folders/Projects/#1207", "Public Folders/Projects/#1208"}},
		{ItemFilter{Under: "Mailboxes/bob", From: "carol"}, nil},
	}
	for _, c := range cases {
		got, err := it.Search(c.f)
		if err != nil {
			t.Errorf("Search(%+v): %v", c.f, err)
			continue
		}
		if !reflect.DeepEqual(names(got), c.want) {
			t.Errorf("Search(%+v) = %q, want %q", c.f, names(got), c.want)
		}
	}
}

// The first open reads every file of the set from tape with its bytes
// and recovers it; the second reuses the staged copy; a tape replaced
// since makes the copy stale and a new one is staged.
func TestItemsStagedCopyReusedAndInvalidated(t *testing.T) {
	f, r := itemsEnv(t, 10)
	p := NewProgress("Browse")
	it, err := f.e.OpenItems(bg, "T", 1, p)
	if err != nil {
		t.Fatal(err)
	}
	if it.Cached || len(r.recovered) != 1 || it.Bytes <= 0 || !strings.HasPrefix(it.Dir, filepath.Join(f.e.Home(), "items")+"/") {
		t.Fatalf("first open: %+v, recovered %d", it, len(r.recovered))
	}
	for _, name := range fakeFiles[exchange.StoreIS] {
		if !bytes.Equal(r.files[0][name], fakeData(name)) {
			t.Errorf("%s staged with other bytes than on tape", name)
		}
	}
	if !reflect.DeepEqual(it.Chain, []SetRef{{Tape: "T", Set: 1, Type: exchange.Normal}}) {
		t.Errorf("chain %+v", it.Chain)
	}
	if s := p.Snapshot(); s.Bytes < int64(len(fakeData("priv.edb"))) || !s.Done || !hasLine(p.Lines(), "recovered in") {
		t.Errorf("progress %+v %q", s, p.Lines())
	}
	it.Close()
	p2 := NewProgress("Browse")
	again, err := f.e.OpenItems(bg, "T", 1, p2)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cached || again.Dir != it.Dir || len(r.recovered) != 1 || r.reopened != 1 || again.Bytes != it.Bytes {
		t.Errorf("second open: cached %v, recovered %d times, reopened %d", again.Cached, len(r.recovered), r.reopened)
	}
	if !hasLine(p2.Lines(), "Using the copy") {
		t.Errorf("second open said %q", p2.Lines())
	}
	again.Close()
	// The tape is written anew: same name, another set 1.
	if _, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreIS)}, TapeName: "T"}, nil); err != nil {
		t.Fatal(err)
	}
	third, err := f.e.OpenItems(bg, "T", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	if third.Cached || third.Dir == it.Dir || len(r.recovered) != 2 {
		t.Errorf("open after the tape was replaced: cached %v, dir %s", third.Cached, third.Dir)
	}
	if _, err := os.Stat(it.Dir); !os.IsNotExist(err) {
		t.Errorf("the copy of the replaced tape's set stays: %v", err)
	}
}

// A staging that stops part-way leaves nothing that passes for a copy.
func TestItemsFailedRecoveryLeavesNoCopy(t *testing.T) {
	f, r := itemsEnv(t, 10)
	r.fail = errors.New("log generation 2 is missing")
	if _, err := f.e.OpenItems(bg, "T", 1, nil); err == nil || !strings.Contains(err.Error(), "generation 2") || !strings.Contains(err.Error(), `tape "T"`) {
		t.Fatalf("open with a failing recovery: %v", err)
	}
	if n, _ := f.e.StagedItems(); n != 0 {
		t.Errorf("%d staged copies after a failed recovery", n)
	}
	r.fail = nil
	it, err := f.e.OpenItems(bg, "T", 1, nil)
	if err != nil || it.Cached {
		t.Fatalf("open after the failure: %v", err)
	}
	it.Close()
}

func TestItemsChainAcrossTapes(t *testing.T) {
	f, r := itemsEnv(t, 10)
	if _, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreIS)}, TapeName: "B", Type: exchange.Incremental}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreIS)}, TapeName: "B", Append: true, Type: exchange.Incremental}, nil); err != nil {
		t.Fatal(err)
	}
	it, err := f.e.OpenItems(bg, "B", 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	want := []SetRef{{"T", 1, exchange.Normal}, {"B", 1, exchange.Incremental}, {"B", 2, exchange.Incremental}}
	if !reflect.DeepEqual(it.Chain, want) {
		t.Errorf("chain %+v, want %+v", it.Chain, want)
	}
	if len(r.envs[0]) != 3 || r.envs[0][0].Type != exchange.Normal || r.envs[0][2].HighGen != 3 {
		t.Errorf("recovered with %+v", r.envs[0])
	}
	if _, ok := r.files[0]["priv.edb"]; !ok {
		t.Error("the full set's database was not staged")
	}
}

func TestItemsIncrementalWithoutFull(t *testing.T) {
	f := newFakeEnv(t, "EX1")
	f.e.SetRecoverer(&fakeRecoverer{})
	if _, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreIS)}, TapeName: "B", Type: exchange.Incremental}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.e.OpenItems(bg, "B", 1, nil); err == nil || !strings.Contains(err.Error(), "no full backup before it") {
		t.Fatalf("open of an incremental without its full: %v", err)
	}
}

func TestItemsRefused(t *testing.T) {
	f := newFakeEnv(t, "EX1")
	if _, err := f.e.OpenItems(bg, "T", 1, nil); err == nil || !strings.Contains(err.Error(), "no recovery engine") {
		t.Errorf("open without a recoverer: %v", err)
	}
	f.e.SetRecoverer(&fakeRecoverer{})
	if _, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreDS), ref("EX1", exchange.StoreIS)}, TapeName: "T", Restrict: true}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.e.OpenItems(bg, "T", 1, nil); err == nil || !strings.Contains(err.Error(), "holds no mailboxes") {
		t.Errorf("open of a Directory set: %v", err)
	}
	f.e.owner = "mallory@elsewhere"
	if _, err := f.e.OpenItems(bg, "T", 2, nil); err == nil || !strings.Contains(err.Error(), "restricted") {
		t.Errorf("open of a restricted set by another user: %v", err)
	}
	if _, err := f.e.RestoreItems(bg, ItemRestoreRequest{Tape: "T", Set: 2, Items: []string{"Mailboxes/alice"}}, nil); err == nil || !strings.Contains(err.Error(), "restricted") {
		t.Errorf("restore from a restricted set by another user: %v", err)
	}
	f.e.admin = func() bool { return true }
	it, err := f.e.OpenItems(bg, "T", 2, nil)
	if err != nil {
		t.Fatalf("open by an administrator: %v", err)
	}
	it.Close()
}

// A restore sends each folder in batches of a few MiB, and a second one
// finds every message already there.
func TestRestoreItemsBatchesAndDuplicates(t *testing.T) {
	f, _ := itemsEnv(t, importBatch*6/10)
	ex1 := f.org.server("EX1")
	p := NewProgress("Restore")
	req := ItemRestoreRequest{Tape: "T", Set: 1, Items: []string{"Mailboxes/bob/Inbox", "Mailboxes/alice/Inbox/#2", "Mailboxes/alice/Inbox"}}
	res, err := f.e.RestoreItems(bg, req, p)
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 7 || res.Duplicates != 0 {
		t.Errorf("first restore: %+v", res.ImportResult)
	}
	// bob's three messages of 0.6 batch each go as two batches; alice's Inbox and
	// Inbox/Projects one each.
	if len(ex1.batches) != 4 || len(ex1.batches[0].Messages) != 2 || len(ex1.batches[1].Messages) != 1 {
		t.Errorf("%d batches: %d, %d messages", len(ex1.batches), len(ex1.batches[0].Messages), len(ex1.batches[1].Messages))
	}
	m := ex1.batches[2].Messages[0]
	if m.Mailbox != "alice" || m.Folder != "Inbox" || !reflect.DeepEqual(m.Flags, []string{`\Seen`}) || !m.Date.Equal(day.Add(24*time.Hour+time.Minute)) {
		t.Errorf("first of alice's Inbox: %+v", m)
	}
	if len(ex1.batches[2].Messages) != 3 {
		t.Errorf("alice's Inbox went as %d messages: one chosen twice must go once", len(ex1.batches[2].Messages))
	}
	if !hasLine(p.Lines(), "Restored 3 messages into bob/Inbox") || !hasLine(p.Lines(), "Restored 1 message into alice/Inbox/Projects") {
		t.Errorf("log %q", p.Lines())
	}
	p2 := NewProgress("Restore")
	res, err = f.e.RestoreItems(bg, req, p2)
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 0 || res.Duplicates != 7 || !hasLine(p2.Lines(), "Restored 0 messages into alice/Inbox; 3 already there") {
		t.Errorf("second restore: %+v %q", res.ImportResult, p2.Lines())
	}
	log, _ := os.ReadFile(filepath.Join(f.e.Home(), "Backup.log"))
	if !bytes.Contains(log, []byte("Restored 3 messages into bob/Inbox")) {
		t.Errorf("Backup.log lacks the restore: %s", log)
	}
}

// A long restore opens the staged store again every so many bytes, so
// that the pages it read through the mapping leave the console's memory.
func TestRestoreItemsRemapsTheStore(t *testing.T) {
	f, r := itemsEnv(t, 3<<20)
	defer func(n int64) { remapAfter = n }(remapAfter)
	remapAfter = 4 << 20
	if _, err := f.e.RestoreItems(bg, ItemRestoreRequest{Tape: "T", Set: 1, Items: []string{"Mailboxes/bob/Inbox"}}, nil); err != nil {
		t.Fatal(err)
	}
	if r.reopened != 1 {
		t.Errorf("the store was opened again %d times over 9 MiB, want once every 4 MiB", r.reopened)
	}
	if n := len(f.org.server("EX1").imported["bob/Inbox"]); n != 3 {
		t.Errorf("%d messages restored across the reopening, want 3", n)
	}
}

func TestRestoreItemsElsewhere(t *testing.T) {
	f, _ := itemsEnv(t, 10)
	ex1 := f.org.server("EX1")
	_, err := f.e.RestoreItems(bg, ItemRestoreRequest{Tape: "T", Set: 1, Items: []string{"Mailboxes/alice/Inbox/Projects", "Public Folders/Projects/#1208"}, To: "bob", Recovered: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := RecoveredFolder(time.Now()) + "/Inbox/Projects"
	if m := ex1.batches[0].Messages[0]; m.Mailbox != "bob" || m.Folder != want {
		t.Errorf("restored to %s/%s, want bob/%s", m.Mailbox, m.Folder, want)
	}
	if ps := ex1.batches[1].Posts; len(ps) != 1 || ps[0].Folder != "Projects" || ps[0].Subject != "Plan v2" {
		t.Errorf("posts %+v", ps)
	}
	if _, err := f.e.RestoreItems(bg, ItemRestoreRequest{Tape: "T", Set: 1, Items: []string{"Mailboxes/alice"}, To: "zed"}, nil); err == nil || !strings.Contains(err.Error(), `"zed" does not exist on EX1`) {
		t.Errorf("restore into a missing mailbox: %v", err)
	}
}

func TestRestoreItemsDeletedMailbox(t *testing.T) {
	f, _ := itemsEnv(t, 10)
	ex1 := f.org.server("EX1")
	ex1.recipients = ex1.recipients[1:] // alice was deleted
	_, err := f.e.RestoreItems(bg, ItemRestoreRequest{Tape: "T", Set: 1, Items: []string{"Mailboxes/alice/Inbox/#1"}}, nil)
	if err == nil || !strings.Contains(err.Error(), `mailbox "alice" no longer exists on EX1`) || !strings.Contains(err.Error(), "--recreate") {
		t.Fatalf("restore into a deleted mailbox: %v", err)
	}
	if len(ex1.batches) != 0 {
		t.Errorf("%d batches sent before the refusal", len(ex1.batches))
	}
	res, err := f.e.RestoreItems(bg, ItemRestoreRequest{Tape: "T", Set: 1, Items: []string{"Mailboxes/alice/Inbox/#1"}, Recreate: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := ex1.batches[0].Create; len(c) != 1 || c[0].Alias != "alice" || c[0].DisplayName != "Alice" || !reflect.DeepEqual(res.MailboxesCreated, []string{"alice"}) {
		t.Errorf("created %+v, result %+v", c, res.ImportResult)
	}
}

func TestRestoreItemsStoppedService(t *testing.T) {
	f, _ := itemsEnv(t, 10)
	ex1 := f.org.server("EX1")
	ex1.status.IS = exchange.Stopped
	if _, err := f.e.RestoreItems(bg, ItemRestoreRequest{Tape: "T", Set: 1, Items: []string{"Mailboxes/alice"}}, nil); err == nil || !strings.Contains(err.Error(), "running store") {
		t.Errorf("restore into a stopped store: %v", err)
	}
	ex1.status.IS = exchange.Running
	ex1.importErr = errors.New("disk full")
	if _, err := f.e.RestoreItems(bg, ItemRestoreRequest{Tape: "T", Set: 1, Items: []string{"Mailboxes/alice/Inbox"}}, nil); err == nil || !strings.Contains(err.Error(), "alice/Inbox on EX1") || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("restore the server refuses: %v", err)
	}
}

func TestExportItems(t *testing.T) {
	f, _ := itemsEnv(t, 10)
	dir := t.TempDir()
	it, _ := f.e.OpenItems(bg, "T", 1, nil)
	want, _, _ := it.Open("Mailboxes/alice/Inbox/#1")
	it.Close()
	res, err := f.e.ExportItems(bg, ItemExportRequest{Tape: "T", Set: 1, Items: []string{"Mailboxes/alice"}, Dir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != 5 || res.Files != 5 {
		t.Errorf("exported %+v", res)
	}
	got, err := os.ReadFile(filepath.Join(dir, "alice", "Inbox", "1-1.eml"))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("1-1.eml: %q, %v", got, err)
	}
	for _, p := range []string{"alice/Inbox/Projects/1-1.eml", "alice/#tags/1-7.eml", "alice/Inbox/3-3.eml"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Error(err)
		}
	}
	// Again: nothing is overwritten.
	os.WriteFile(filepath.Join(dir, "alice", "Inbox", "1-1.eml"), []byte("mine"), 0o644)
	res, err = f.e.ExportItems(bg, ItemExportRequest{Tape: "T", Set: 1, Items: []string{"Mailboxes/alice/Inbox/#1"}, Dir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "alice", "Inbox", "1-1.eml")); string(b) != "mine" {
		t.Error("an existing file was overwritten")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "alice", "Inbox", "1-1 (2).eml")); !bytes.Equal(b, want) || len(res.Renamed) != 1 {
		t.Errorf("renamed %q", res.Renamed)
	}
	res, err = f.e.ExportItems(bg, ItemExportRequest{Tape: "T", Set: 1, Items: []string{"Mailboxes/alice/Inbox", "Public Folders/Projects"}, Dir: dir, Format: "mbox"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mbox, err := os.ReadFile(filepath.Join(dir, "alice", "Inbox.mbox"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(mbox, []byte("From carol@example.org Mon Nov 30 14:03:00 2026\n")) ||
		!bytes.Contains(mbox, []byte("\n>From the start\n>>From here\n")) || bytes.Count(mbox, []byte("\nFrom ")) != 2 {
		t.Errorf("mbox:\n%s", mbox)
	}
	if _, err := os.Stat(filepath.Join(dir, "Public Folders", "Projects.mbox")); err != nil {
		t.Error(err)
	}
	if _, err := f.e.ExportItems(bg, ItemExportRequest{Tape: "T", Set: 1, Items: []string{"Mailboxes/alice"}, Dir: dir, Format: "pst"}, nil); err == nil {
		t.Error("export as pst succeeded")
	}
}

func TestCleanItems(t *testing.T) {
	f, _ := itemsEnv(t, 10)
	for range 4 {
		if _, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreIS)}, TapeName: "T", Append: true}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var dirs []string
	for set := 1; set <= 5; set++ {
		it, err := f.e.OpenItems(bg, "T", set, nil)
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, it.Dir)
		if set < 5 {
			it.Close()
		}
		// Each copy used a moment before the next.
		past := time.Now().Add(time.Duration(set-10) * time.Minute)
		os.Chtimes(filepath.Join(it.Dir, stageStamp), past, past)
	}
	if n, _ := f.e.StagedItems(); n != keepStaged {
		t.Errorf("%d staged copies, want %d", n, keepStaged)
	}
	for _, d := range dirs[:2] {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("the oldest copy %s stays", d)
		}
	}
	// A copy unused for a day goes when the next is made.
	old := time.Now().Add(-25 * time.Hour)
	os.Chtimes(filepath.Join(dirs[2], stageStamp), old, old)
	it, err := f.e.OpenItems(bg, "T", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	it.Close()
	if _, err := os.Stat(dirs[2]); !os.IsNotExist(err) {
		t.Error("a copy unused for a day stays")
	}
	freed, err := f.e.CleanItems()
	if err != nil || freed <= 0 {
		t.Fatalf("clean: %d, %v", freed, err)
	}
	if _, err := os.Stat(dirs[4]); err != nil {
		t.Error("clean removed a copy still open")
	}
	if n, _ := f.e.StagedItems(); n != 1 {
		t.Errorf("%d staged copies after clean, want the open one", n)
	}
}

func TestItemPathsRoundTrip(t *testing.T) {
	for _, c := range []struct{ alias, folder string }{{"alice", "Inbox"}, {"#ops", "##x/#y"}, {"bob", "Projects/2026"}} {
		p, err := parseItemPath(ItemPath(c.alias, c.folder, 42))
		if err != nil || p.mailbox != c.alias || p.folder != c.folder || p.id != 42 {
			t.Errorf("%q/%q: %+v %v", c.alias, c.folder, p, err)
		}
	}
}
