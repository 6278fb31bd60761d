package ui

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"exbackup/engine"
	"exbackup/exchange"
)

// itemsFake is the fake engine with item-level recovery over an
// in-memory store: alice (Inbox with Projects under it, and Big with
// 10,000 messages), bob (Inbox), and the public folder Projects.
type itemsFake struct {
	*fakeEngine
	src *fakeItems

	mu         sync.Mutex
	opens      []engine.ItemOpenRequest
	openErr    error
	openGate   chan struct{} // when set, opening waits for it
	restores   []engine.ItemRestoreRequest
	restoreRes engine.ItemRestoreResult
	exports    []engine.ItemExportRequest
}

type fakeItems struct {
	mu       sync.Mutex
	kids     map[string][]engine.ItemNode
	msgs     map[string][]byte
	browsed  map[string]int
	searches []engine.ItemFilter
	closed   int
}

var itemDay = time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC)

func msgNode(folderPath string, uid uint64, from, subject string, day time.Time) engine.ItemNode {
	sum := &exchange.ItemSummary{ID: uid, From: from, Subject: subject, Date: day, Size: 1200 + int64(uid)}
	kind := engine.ItemMessage
	if strings.HasPrefix(folderPath, engine.RootPublic) {
		kind = engine.ItemPost
	}
	return engine.ItemNode{Kind: kind, Name: subject, Path: fmt.Sprintf("%s/#%d", folderPath, uid), Messages: 1, Size: sum.Size, Item: sum}
}

func newFakeItems() *fakeItems {
	f := &fakeItems{kids: map[string][]engine.ItemNode{}, msgs: map[string][]byte{}, browsed: map[string]int{}}
	mb := func(alias string, folders, msgs int) engine.ItemNode {
		return engine.ItemNode{Kind: engine.ItemMailbox, Name: alias, Path: "Mailboxes/" + alias, Folders: folders, Messages: msgs,
			Mailbox: &exchange.MailboxSummary{Recipient: exchange.Recipient{Alias: alias, DisplayName: strings.ToUpper(alias[:1]) + alias[1:] + " Example"}}}
	}
	folder := func(path string, msgs int) engine.ItemNode {
		return engine.ItemNode{Kind: engine.ItemFolder, Name: path[strings.LastIndexByte(path, '/')+1:], Path: path, Messages: msgs}
	}
	f.kids[""] = []engine.ItemNode{
		{Kind: engine.ItemRoot, Name: engine.RootMailboxes, Path: engine.RootMailboxes, Folders: 2, Messages: 10006},
		{Kind: engine.ItemRoot, Name: engine.RootPublic, Path: engine.RootPublic, Folders: 1, Messages: 1},
	}
	f.kids["Mailboxes"] = []engine.ItemNode{mb("alice", 3, 10005), mb("bob", 1, 1)}
	f.kids["Mailboxes/alice"] = []engine.ItemNode{folder("Mailboxes/alice/Inbox", 3), folder("Mailboxes/alice/Big", 10000)}
	f.kids["Mailboxes/alice/Inbox"] = []engine.ItemNode{
		folder("Mailboxes/alice/Inbox/Projects", 2),
		msgNode("Mailboxes/alice/Inbox", 1, "Carol <carol@example.org>", "Budget 2027", itemDay),
		msgNode("Mailboxes/alice/Inbox", 2, "dave@example.org", "Lunch", itemDay.AddDate(0, 0, 5)),
		msgNode("Mailboxes/alice/Inbox", 3, "Carol <carol@example.org>", "Re: Budget 2027", itemDay.AddDate(0, 0, 12)),
	}
	f.kids["Mailboxes/alice/Inbox/Projects"] = []engine.ItemNode{
		msgNode("Mailboxes/alice/Inbox/Projects", 1, "erin@example.org", "Plan", itemDay),
		msgNode("Mailboxes/alice/Inbox/Projects", 2, "erin@example.org", "Plan v2", itemDay),
	}
	big := make([]engine.ItemNode, 10000)
	for i := range big {
		big[i] = msgNode("Mailboxes/alice/Big", uint64(i+1), "list@example.org", fmt.Sprintf("Digest %d", i+1), itemDay)
	}
	f.kids["Mailboxes/alice/Big"] = big
	f.kids["Mailboxes/bob"] = []engine.ItemNode{folder("Mailboxes/bob/Inbox", 1)}
	f.kids["Mailboxes/bob/Inbox"] = []engine.ItemNode{msgNode("Mailboxes/bob/Inbox", 7, "alice@example.org", "Hello Bob", itemDay)}
	f.kids["Public Folders"] = []engine.ItemNode{folder("Public Folders/Projects", 1)}
	f.kids["Public Folders/Projects"] = []engine.ItemNode{msgNode("Public Folders/Projects", 1207, "alice@example.org", "Kick-off", itemDay)}
	f.msgs["Mailboxes/alice/Inbox/#1"] = []byte(sampleMIME)
	return f
}

const sampleMIME = "From: Carol Example <carol@example.org>\r\n" +
	"To: Alice Example <alice@example.org>, bob@example.org\r\n" +
	"Subject: =?utf-8?q?Budget_2027_=E2=80=93_draft?=\r\n" +
	"Date: Tue, 10 Nov 2026 09:00:00 +0000\r\n" +
	"Message-ID: <budget@example.org>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n" +
	"\r\n" +
	"--b1\r\n" +
	"Content-Type: multipart/alternative; boundary=\"b2\"\r\n" +
	"\r\n" +
	"--b2\r\n" +
	"Content-Type: text/plain; charset=iso-8859-1\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Here is the budget, caf=E9 included.\r\n" +
	"--b2\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"\r\n" +
	"<p>Here is the <b>budget</b>.</p>\r\n" +
	"--b2--\r\n" +
	"--b1\r\n" +
	"Content-Type: application/vnd.ms-excel\r\n" +
	"Content-Disposition: attachment; filename=\"budget.xls\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"AAEC\r\n" +
	"--b1--\r\n"

func (f *fakeItems) Browse(path string) ([]engine.ItemNode, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.browsed[path]++
	kids, ok := f.kids[path]
	if !ok {
		return nil, fmt.Errorf("folder %q: no such folder", path)
	}
	return slices.Clone(kids), nil
}

func (f *fakeItems) Search(flt engine.ItemFilter) ([]engine.ItemNode, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.searches = append(f.searches, flt)
	var out []engine.ItemNode
	for _, path := range []string{"Mailboxes/alice/Inbox", "Mailboxes/alice/Inbox/Projects", "Mailboxes/bob/Inbox"} {
		for _, n := range f.kids[path] {
			if !n.Leaf() {
				continue
			}
			s := n.Item
			if flt.From != "" && !strings.Contains(strings.ToLower(s.From), strings.ToLower(flt.From)) ||
				flt.Subject != "" && !strings.Contains(strings.ToLower(s.Subject), strings.ToLower(flt.Subject)) ||
				!flt.Since.IsZero() && s.Date.Before(flt.Since) || !flt.Before.IsZero() && !s.Date.Before(flt.Before) {
				continue
			}
			out = append(out, n)
		}
	}
	return out, nil
}

func (f *fakeItems) Open(path string) ([]byte, exchange.ItemSummary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	data, ok := f.msgs[path]
	if !ok {
		return nil, exchange.ItemSummary{}, fmt.Errorf("message %q: not in the set", path)
	}
	return data, exchange.ItemSummary{ID: 1, Subject: "Budget 2027"}, nil
}

func (f *fakeItems) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed++
	return nil
}

func (f *fakeItems) browses(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.browsed[path]
}

func (f *itemsFake) openItemSource(ctx context.Context, req engine.ItemOpenRequest, p *engine.Progress) (itemSource, itemSetInfo, error) {
	f.mu.Lock()
	f.opens = append(f.opens, req)
	gate, err := f.openGate, f.openErr
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, itemSetInfo{}, ctx.Err()
		}
	}
	if err != nil {
		return nil, itemSetInfo{}, err
	}
	return f.src, itemSetInfo{Bytes: 48 << 20, Chain: []engine.SetRef{{Tape: req.Tape, Set: req.Set}}}, nil
}

func (f *itemsFake) RestoreItems(ctx context.Context, req engine.ItemRestoreRequest, p *engine.Progress) (engine.ItemRestoreResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.restores = append(f.restores, req)
	return f.restoreRes, nil
}

func (f *itemsFake) ExportItems(ctx context.Context, req engine.ItemExportRequest, p *engine.Progress) (engine.ItemExportResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exports = append(f.exports, req)
	return engine.ItemExportResult{Files: 3, Messages: 3, Bytes: 3600}, nil
}

func newItemsConsole(t *testing.T) (*Console, *uiQueue, *itemsFake) {
	t.Helper()
	f := &itemsFake{fakeEngine: newFakeEngine(), src: newFakeItems()}
	a := test.NewTempApp(t)
	q := newUIQueue()
	c := newConsole(a, f, Options{Version: "1.2.3", LogFile: filepath.Join(t.TempDir(), "Backup.log")}, q.do)
	c.now = func() time.Time { return testNow }
	c.settle = 0
	c.win.Resize(fyne.NewSize(1180, 760))
	t.Cleanup(func() {
		q.drain()
		if c.ctx.Err() == nil {
			c.win.Close()
		}
	})
	q.until(t, "the organization and the catalog", func() bool { return c.orgLoaded && c.tapeLoaded })
	return c, q, f
}

// openStoreSet highlights set 2 of tape 2 (a normal backup of EXCH01's
// Information Store) and browses it.
func openStoreSet(t *testing.T, c *Console, q *uiQueue) *itemPane {
	t.Helper()
	c.tapes.selectTape(2)
	c.tapes.setsTable.OnSelected(widget.TableCellID{Row: 1, Col: 2})
	p := c.tapes.files.store
	if !c.tapes.files.content.Visible() || !p.content.Visible() || c.tapes.files.files.Visible() {
		t.Fatal("a store set does not show its items pane")
	}
	test.Tap(p.browse)
	q.until(t, "the set opened", func() bool { return p.src != nil || !p.opening })
	if p.src == nil {
		t.Fatalf("the set did not open: %q", p.status.Text)
	}
	return p
}

func itemRowOf(p *itemPane, id string) *itemRow {
	r := newItemRow()
	p.updateRow(id, r, false)
	return r
}

// A store set opens, off the UI goroutine, into Mailboxes and Public
// Folders; a branch is read when it is first opened, a "Reading…" row
// standing in meanwhile.
func TestItemTreeOpensLazily(t *testing.T) {
	c, q, f := newItemsConsole(t)
	c.tapes.selectTape(2)
	c.tapes.setsTable.OnSelected(widget.TableCellID{Row: 1, Col: 2})
	p := c.tapes.files.store
	if !strings.Contains(p.intro.Text, "Set 2 holds the Information Store of EXCH01") || !p.browse.Visible() {
		t.Fatalf("before opening: %q", p.intro.Text)
	}
	f.locked(func() {}) // the fake opens nothing until asked
	if len(f.opens) != 0 {
		t.Fatal("highlighting a set read it from tape")
	}

	f.openGate = make(chan struct{})
	test.Tap(p.browse)
	q.until(t, "the reading state", func() bool {
		return strings.Contains(p.status.Text, "Reading set 2 from tape \u201cTape created on 11/24/2026\u201d")
	})
	if !p.spinner.Visible() || p.browse.Visible() || !p.abort.Visible() {
		t.Error("no progress while the set is read")
	}
	close(f.openGate)
	q.until(t, "the set opened", func() bool { return p.src != nil })
	if got := f.opens[0]; got.Tape != "Tape created on 11/24/2026" || got.Set != 2 {
		t.Errorf("opened %+v", got)
	}
	if got := p.tree.ChildUIDs(""); !slices.Equal(got, []string{"Mailboxes", "Public Folders"}) {
		t.Fatalf("roots %v", got)
	}
	if got := p.tree.ChildUIDs("Mailboxes"); !slices.Equal(got, []string{"Mailboxes/alice", "Mailboxes/bob"}) {
		t.Fatalf("mailboxes %v", got)
	}
	if r := itemRowOf(p, "Mailboxes/alice"); r.name.Text != "alice (Alice Example)" || r.size.Text != "10,005 messages" {
		t.Errorf("alice row %q %q", r.name.Text, r.size.Text)
	}
	if !strings.Contains(p.status.Text, "2 mailboxes, 10,007 messages") {
		t.Errorf("status %q", p.status.Text)
	}
	if n := f.src.browses("Mailboxes/alice"); n != 0 {
		t.Fatalf("alice read %d times before being opened", n)
	}

	p.tree.OpenBranch("Mailboxes/alice")
	if got := p.tree.ChildUIDs("Mailboxes/alice"); len(got) != 1 || !placeholder(got[0]) {
		t.Fatalf("while reading: %v", got)
	}
	if r := itemRowOf(p, "Mailboxes/alice"+loadingSuffix); r.name.Text != "Reading…" || r.check.Visible() {
		t.Errorf("placeholder row %q", r.name.Text)
	}
	q.until(t, "alice's folders", func() bool { _, ok := p.kids["Mailboxes/alice"]; return ok })
	if got := p.tree.ChildUIDs("Mailboxes/alice"); !slices.Equal(got, []string{"Mailboxes/alice/Inbox", "Mailboxes/alice/Big"}) {
		t.Fatalf("alice's folders %v", got)
	}
	p.tree.OpenBranch("Mailboxes/alice/Inbox")
	q.until(t, "the Inbox", func() bool { _, ok := p.kids["Mailboxes/alice/Inbox"]; return ok })
	r := itemRowOf(p, "Mailboxes/alice/Inbox/#1")
	if r.name.Text != "Budget 2027" || r.from.Text != "Carol <carol@example.org>" || r.date.Text != "11/10/2026 9:00 AM" || r.size.Text != humanBytes(1201) {
		t.Errorf("message row %q %q %q %q", r.name.Text, r.from.Text, r.date.Text, r.size.Text)
	}
	if !p.tree.IsBranch("Mailboxes/alice/Inbox/Projects") || p.tree.IsBranch("Mailboxes/alice/Inbox/#1") {
		t.Error("a folder is not a branch, or a message is")
	}
	for _, path := range []string{"Mailboxes/alice", "Mailboxes/alice/Inbox"} {
		if n := f.src.browses(path); n != 1 {
			t.Errorf("%s read %d times", path, n)
		}
	}

	// Another set closes the one open.
	c.tapes.setsTable.OnSelected(widget.TableCellID{Row: 0, Col: 2})
	q.until(t, "the set closed", func() bool { f.src.mu.Lock(); defer f.src.mu.Unlock(); return f.src.closed == 1 })
	if p.src != nil || c.tapes.files.content.Visible() {
		t.Error("a Directory set still shows the items")
	}
}

// A folder of 10,000 messages is read once and drawn as the rows in view.
func TestItemTreeLargeFolder(t *testing.T) {
	c, q, f := newItemsConsole(t)
	c.mdi.toggleMaximized(c.mdi.wins[1])
	p := openStoreSet(t, c, q)
	p.tree.OpenBranch("Mailboxes/alice")
	q.until(t, "alice", func() bool { _, ok := p.kids["Mailboxes/alice"]; return ok })
	p.tree.OpenBranch("Mailboxes/alice/Big")
	q.until(t, "Big", func() bool { _, ok := p.kids["Mailboxes/alice/Big"]; return ok })
	p.tree.Refresh()
	if n := len(p.tree.ChildUIDs("Mailboxes/alice/Big")); n != 10000 {
		t.Fatalf("%d messages listed", n)
	}
	if rows := len(find[*itemRow](p.tree)); rows == 0 || rows > 200 {
		t.Errorf("%d rows drawn for 10,000 messages", rows)
	}
	p.tick("Mailboxes/alice/Big", true)
	if got := p.items(); !slices.Equal(got, []string{"Mailboxes/alice/Big"}) {
		t.Errorf("ticked %v", got)
	}
	if n := f.src.browses("Mailboxes/alice/Big"); n != 1 {
		t.Errorf("Big read %d times", n)
	}
}

// Ticks are tri-state: a ticked mailbox covers what was never read; an
// item unticked inside it leaves the rest ticked; a branch whose every
// child is ticked is ticked itself.
func TestItemTicks(t *testing.T) {
	c, q, _ := newItemsConsole(t)
	p := openStoreSet(t, c, q)
	state := func(id string) string {
		r := itemRowOf(p, id)
		switch {
		case r.check.Checked:
			return "on"
		case r.check.Partial:
			return "some"
		}
		return "off"
	}
	p.tick("Mailboxes/alice", true)
	if state("Mailboxes/alice") != "on" || state("Mailboxes") != "some" || state("Mailboxes/bob") != "off" {
		t.Fatalf("alice %s, Mailboxes %s, bob %s", state("Mailboxes/alice"), state("Mailboxes"), state("Mailboxes/bob"))
	}
	if p.restore.Disabled() || !strings.Contains(p.status.Text, "1 item ticked") {
		t.Errorf("status %q", p.status.Text)
	}
	p.tree.OpenBranch("Mailboxes/alice")
	q.until(t, "alice", func() bool { _, ok := p.kids["Mailboxes/alice"]; return ok })
	p.tree.OpenBranch("Mailboxes/alice/Inbox")
	q.until(t, "Inbox", func() bool { _, ok := p.kids["Mailboxes/alice/Inbox"]; return ok })
	if state("Mailboxes/alice/Inbox/#2") != "on" {
		t.Fatal("a message of a ticked mailbox is not ticked")
	}
	p.tick("Mailboxes/alice/Inbox/#2", false)
	if state("Mailboxes/alice/Inbox") != "some" || state("Mailboxes/alice") != "some" || state("Mailboxes/alice/Big") != "on" || state("Mailboxes/alice/Inbox/#2") != "off" {
		t.Fatalf("after unticking #2: Inbox %s alice %s Big %s", state("Mailboxes/alice/Inbox"), state("Mailboxes/alice"), state("Mailboxes/alice/Big"))
	}
	want := []string{"Mailboxes/alice/Big", "Mailboxes/alice/Inbox/#1", "Mailboxes/alice/Inbox/#3", "Mailboxes/alice/Inbox/Projects"}
	if got := p.items(); !slices.Equal(got, want) {
		t.Fatalf("items %v, want %v", got, want)
	}
	p.tick("Mailboxes/alice/Inbox/#2", true)
	if got := p.items(); !slices.Equal(got, []string{"Mailboxes/alice"}) {
		t.Fatalf("ticking the last one back: %v", got)
	}
	p.tick("Mailboxes/alice", false)
	if got := p.items(); len(got) != 0 || state("Mailboxes") != "off" || !p.restore.Disabled() {
		t.Fatalf("unticked: %v", got)
	}
	// Space ticks the highlighted row, and unticks it.
	p.tree.Select("Mailboxes/bob")
	p.tree.TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
	if got := p.items(); !slices.Equal(got, []string{"Mailboxes/bob"}) {
		t.Fatalf("Space on bob: %v", got)
	}
	p.tree.TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
	if !p.ticks.none() {
		t.Fatalf("Space again: %v", p.items())
	}
	// A tap on a row's check box ticks it.
	r := itemRowOf(p, "Mailboxes/bob")
	test.Tap(r.check)
	if got := p.items(); !slices.Equal(got, []string{"Mailboxes/bob"}) {
		t.Fatalf("tapped bob: %v", got)
	}
}

// The search box lists the matching messages (sender, subject, dates, the
// To date included), which tick like the tree's; a date that is not one
// is said so.
func TestItemSearch(t *testing.T) {
	c, q, f := newItemsConsole(t)
	p := openStoreSet(t, c, q)
	test.Type(p.sender, "carol")
	p.since.SetText("11/1/2026")
	p.before.SetText("2026-11-15")
	test.Tap(p.search)
	q.until(t, "the results", func() bool { return p.searched })
	flt := f.src.searches[0]
	if flt.From != "carol" || !flt.Since.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) || !flt.Before.Equal(time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("filter %+v", flt)
	}
	if !slices.Equal(p.results, []string{"Mailboxes/alice/Inbox/#1"}) || !p.list.Visible() || p.tree.Visible() {
		t.Fatalf("results %v", p.results)
	}
	if !strings.Contains(p.status.Text, "1 message matches") {
		t.Errorf("status %q", p.status.Text)
	}
	r := newItemRow()
	p.updateRow(p.results[0], r, true)
	if r.name.Text != "Budget 2027  \u2014 alice/Inbox" {
		t.Errorf("result row %q", r.name.Text)
	}
	p.tick(p.results[0], true)
	if got := p.items(); !slices.Equal(got, []string{"Mailboxes/alice/Inbox/#1"}) {
		t.Fatalf("ticked %v", got)
	}
	// Unticking a result inside a ticked mailbox never opened reads the
	// folders between them.
	p.tick("Mailboxes/bob", true)
	p.tick("Mailboxes/alice", true)
	p.tick("Mailboxes/alice/Inbox/#1", false)
	want := []string{"Mailboxes/alice/Big", "Mailboxes/alice/Inbox/#2", "Mailboxes/alice/Inbox/#3", "Mailboxes/alice/Inbox/Projects", "Mailboxes/bob"}
	if got := p.items(); !slices.Equal(got, want) {
		t.Fatalf("items %v, want %v", got, want)
	}

	test.Tap(p.clear)
	if p.list.Visible() || !p.tree.Visible() || p.searched {
		t.Error("Clear does not go back to the tree")
	}
	p.before.SetText("45/11/2026")
	test.Tap(p.search)
	if p.status.Importance != widget.DangerImportance || !strings.Contains(p.status.Text, `"45/11/2026" is not a date`) {
		t.Errorf("bad date: %q", p.status.Text)
	}
}

// A message opens in a viewer window: decoded headers, the first
// text/plain part in its charset, attachment names; no HTML.
func TestItemViewer(t *testing.T) {
	v := parseViewed([]byte(sampleMIME), exchange.ItemSummary{})
	if v.From != "Carol Example <carol@example.org>" || v.To != "Alice Example <alice@example.org>, bob@example.org" ||
		v.Subject != "Budget 2027 \u2013 draft" || v.Date != "11/10/2026 9:00 AM" {
		t.Errorf("headers %+v", v)
	}
	if strings.TrimSpace(v.Body) != "Here is the budget, café included." || strings.Contains(v.Body, "<p>") {
		t.Errorf("body %q", v.Body)
	}
	if !slices.Equal(v.Attachments, []string{"budget.xls"}) || v.Note != "" {
		t.Errorf("attachments %v, note %q", v.Attachments, v.Note)
	}
	html := parseViewed([]byte("From: a@example.org\r\nSubject: x\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n"), exchange.ItemSummary{})
	if html.Body != "" || !strings.Contains(html.Note, "no plain-text part") {
		t.Errorf("HTML only: %+v", html)
	}

	c, q, _ := newItemsConsole(t)
	p := openStoreSet(t, c, q)
	p.tree.OpenBranch("Mailboxes/alice")
	q.until(t, "alice", func() bool { _, ok := p.kids["Mailboxes/alice"]; return ok })
	p.tree.OpenBranch("Mailboxes/alice/Inbox")
	q.until(t, "Inbox", func() bool { _, ok := p.kids["Mailboxes/alice/Inbox"]; return ok })
	if !p.open.Disabled() {
		t.Error("Open enabled with no message highlighted")
	}
	p.tree.Select("Mailboxes/alice/Inbox/#1")
	if p.open.Disabled() {
		t.Fatal("Open disabled on a message")
	}
	p.tree.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	q.until(t, "the viewer", func() bool { return len(c.viewers) == 1 })
	vw := c.viewers[0]
	if vw.win.Title() != "Budget 2027 \u2013 draft \u2014 Message" || !strings.Contains(vw.body.Text, "café") {
		t.Errorf("viewer %q: %q", vw.win.Title(), vw.body.Text)
	}
	var texts []string
	for _, l := range find[*widget.Label](vw.win.Content()) {
		texts = append(texts, l.Text)
	}
	for _, want := range []string{"Carol Example <carol@example.org>", "budget.xls", "alice/Inbox"} {
		if !slices.Contains(texts, want) {
			t.Errorf("viewer lacks %q: %q", want, texts)
		}
	}
	vw.win.Close()
	if len(c.viewers) != 0 {
		t.Error("a closed viewer is still listed")
	}
	// A message the set cannot give says why.
	p.tree.Select("Mailboxes/alice/Inbox/#2")
	test.Tap(p.open)
	q.until(t, "the error", func() bool { return overlayTop(c) != nil })
	found := false
	for _, l := range find[*widget.Label](overlayTop(c)) {
		found = found || strings.Contains(l.Text, "not in the set")
	}
	if !found {
		t.Error("no error for a message that cannot be read")
	}
}

// Restore Information for items builds the request each choice asks for
// and runs it under Restore Status with a result line.
func TestItemRestoreDialog(t *testing.T) {
	c, q, f := newItemsConsole(t)
	p := openStoreSet(t, c, q)
	p.tick("Mailboxes/alice", true)
	p.tick("Public Folders/Projects", true)
	p.tree.OpenBranch("Public Folders/Projects")
	q.until(t, "the posts", func() bool { _, ok := p.kids["Public Folders/Projects"]; return ok })
	for _, tc := range []struct {
		where, alias, server string
		recreate             bool
		want                 engine.ItemRestoreRequest
		err                  string
	}{
		{where: itemsToOriginal, alias: "ignored", want: engine.ItemRestoreRequest{Server: "EXCH01"}},
		{where: itemsToOther, alias: "bob", server: "EXCH02", recreate: true, want: engine.ItemRestoreRequest{Server: "EXCH02", To: "bob", Recreate: true}},
		{where: itemsToOther, err: "Give the alias of the mailbox to restore into."},
		{where: "recovered", want: engine.ItemRestoreRequest{Server: "EXCH01", Recovered: true}},
		{where: "recovered", alias: "carol", want: engine.ItemRestoreRequest{Server: "EXCH01", Recovered: true, To: "carol"}},
	} {
		d := c.newItemsDialog(p, p.items())
		if !strings.Contains(d.recLabel, "Recovered Items 2026-11-25") {
			t.Fatalf("recovered choice %q", d.recLabel)
		}
		if tc.where == "recovered" {
			tc.where = d.recLabel
		}
		d.where.SetSelected(tc.where)
		d.mailbox.SetText(tc.alias)
		if tc.server != "" {
			d.dest.SetText(tc.server)
		}
		d.recreate.SetChecked(tc.recreate)
		req, msg := d.request()
		if msg != tc.err {
			t.Errorf("%s: message %q, want %q", tc.where, msg, tc.err)
			continue
		}
		if msg != "" {
			continue
		}
		tc.want.Tape, tc.want.Set = "Tape created on 11/24/2026", 2
		tc.want.Items = []string{"Mailboxes/alice", "Public Folders/Projects"}
		req.Log = engine.LogOptions{}
		if fmt.Sprintf("%+v", req) != fmt.Sprintf("%+v", tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.where, req, tc.want)
		}
	}
	if got := p.shownItems([]string{"Mailboxes/alice", "Public Folders/Projects/#1207", "Mailboxes/bob/Inbox", "Mailboxes/bob"}); got != "alice, \u201cKick-off\u201d in Public Folders/Projects, bob/Inbox, and 1 more" {
		t.Errorf("selected %q", got)
	}
	if s, m := c.siteServers("EXCH01"), p.aliases(); !slices.Equal(s, []string{"EXCH01", "EXCH02"}) || !slices.Equal(m, []string{"alice", "bob"}) {
		t.Errorf("servers %v, mailboxes %v", s, m)
	}

	f.restoreRes = engine.ItemRestoreResult{ImportResult: exchange.ImportResult{Imported: 12, Duplicates: 3, FoldersCreated: []string{"alice/Projects"}}}
	c.Restore()
	if len(c.keys) == 0 || c.keys[len(c.keys)-1].ok == nil {
		t.Fatal("Operations > Restore… opened no dialog")
	}
	c.keys[len(c.keys)-1].ok()
	sd := c.running
	q.until(t, "the restore", func() bool { return sd != nil && sd.done })
	if sd.err != nil || !strings.Contains(sd.summary.Text, "12 messages restored, 3 already there; folder alice/Projects recreated.") {
		t.Errorf("result %v: %q", sd.err, sd.summary.Text)
	}
	if len(f.restores) != 1 || f.restores[0].Server != "EXCH01" || f.restores[0].Log.Level != engine.LogSummary {
		t.Errorf("restores %+v", f.restores)
	}
}

// Export to Folder… asks a folder and a format and runs ExportItems.
func TestItemExportDialog(t *testing.T) {
	c, q, f := newItemsConsole(t)
	if it := c.menuItems["export-items"]; it == nil || it.Label != "Export to Folder…" {
		t.Fatal("no Export to Folder… menu item")
	}
	c.ExportItems()
	if top := overlayTop(c); top == nil {
		t.Fatal("Export with nothing ticked says nothing")
	}
	c.keys[len(c.keys)-1].cancel()
	p := openStoreSet(t, c, q)
	p.tick("Mailboxes/bob", true)
	d := c.openItemExport()
	if d == nil {
		t.Fatal("no export dialog")
	}
	d.dir.SetText("relative/dir")
	if _, msg := d.request(); !strings.Contains(msg, "full path") {
		t.Errorf("relative folder: %q", msg)
	}
	dir := t.TempDir()
	d.dir.SetText(dir)
	d.format.SetSelected(exportMbox)
	req, msg := d.request()
	if msg != "" || req.Dir != dir || req.Format != "mbox" || req.Tape != "Tape created on 11/24/2026" || req.Set != 2 || !slices.Equal(req.Items, []string{"Mailboxes/bob"}) {
		t.Fatalf("request %+v %q", req, msg)
	}
	d.submit()
	sd := c.running
	q.until(t, "the export", func() bool { return sd != nil && sd.done })
	if !strings.Contains(sd.summary.Text, "Exported 3 messages into 3 files") || len(f.exports) != 1 {
		t.Errorf("export: %q %+v", sd.summary.Text, f.exports)
	}
	if !p.export.Disabled() {
		test.Tap(p.export)
		if d := c.keys[len(c.keys)-1]; d == nil {
			t.Error("the pane's Export to folder… opens nothing")
		}
	}
}

// A set that cannot be opened says why in plain words, and can be tried
// again; the opening can be cancelled.
func TestItemOpenErrors(t *testing.T) {
	c, q, f := newItemsConsole(t)
	f.openErr = errors.New(`set 3 of tape "Tape created on 11/24/2026" is an incremental: its full set is on tape "Old tape", which is missing`)
	c.tapes.selectTape(2)
	c.tapes.setsTable.OnSelected(widget.TableCellID{Row: 1, Col: 2})
	p := c.tapes.files.store
	test.Tap(p.browse)
	q.until(t, "the error", func() bool { return !p.opening })
	if p.status.Importance != widget.DangerImportance || !strings.Contains(p.status.Text, `its full set is on tape "Old tape", which is missing`) || p.browse.Text != "Try Again" {
		t.Errorf("error %q, button %q", p.status.Text, p.browse.Text)
	}
	f.openErr = nil
	f.openGate = make(chan struct{})
	test.Tap(p.browse)
	q.until(t, "reading", func() bool { return p.abort.Visible() })
	test.Tap(p.abort)
	q.until(t, "cancelled", func() bool { return !p.opening })
	if !strings.Contains(p.status.Text, "cancelled") || p.src != nil {
		t.Errorf("cancel: %q", p.status.Text)
	}
}

// The tick set alone: fold, untick inside, clear under.
func TestTickSet(t *testing.T) {
	tree := map[string][]string{"": {"a", "b"}, "a": {"a/1", "a/2"}, "a/2": {"a/2/x", "a/2/y"}}
	reads := 0
	ts := newTickSet(func(id string) ([]string, error) {
		reads++
		if ks, ok := tree[id]; ok {
			return ks, nil
		}
		return nil, fmt.Errorf("%s: unreadable", id)
	}, func(id string) ([]string, bool) { ks, ok := tree[id]; return ks, ok })
	ts.set("a", true)
	ts.set("a/2/x", false)
	if got := ts.ticked(); !slices.Equal(got, []string{"a/1", "a/2/y"}) || reads != 2 {
		t.Fatalf("untick inside: %v (%d reads)", got, reads)
	}
	if all, some := ts.state("a/2"); all || !some {
		t.Error("a/2 not partly ticked")
	}
	ts.set("a/2/x", true)
	if got := ts.ticked(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("fold: %v", got)
	}
	ts.set("b", true)
	if got := ts.ticked(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("the root is never ticked: %v", got)
	}
	ts.set("a/2/x", true)
	ts.set("b", false)
	ts.set("a", false)
	if !ts.none() || len(ts.under) != 0 {
		t.Fatalf("left %v %v", ts.on, ts.under)
	}
	ts.set("c", true)
	if err := ts.set("c/9/z", false); err == nil {
		t.Error("an unreadable branch gave no error")
	}
	if got := ts.ticked(); !slices.Equal(got, []string{"c"}) {
		t.Errorf("a failed read changed the ticks: %v", got)
	}
}

// A branch that cannot be read says why, in its place and in the status.
func TestItemBranchError(t *testing.T) {
	c, q, f := newItemsConsole(t)
	p := openStoreSet(t, c, q)
	f.src.mu.Lock()
	delete(f.src.kids, "Mailboxes/bob")
	f.src.mu.Unlock()
	p.tree.OpenBranch("Mailboxes/bob")
	q.until(t, "the failure", func() bool { _, ok := p.failed["Mailboxes/bob"]; return ok })
	kids := p.tree.ChildUIDs("Mailboxes/bob")
	if len(kids) != 1 || !strings.HasSuffix(kids[0], failedSuffix) {
		t.Fatalf("children %v", kids)
	}
	r := itemRowOf(p, kids[0])
	if !strings.Contains(r.name.Text, `"Mailboxes/bob": no such folder`) || r.name.Importance != widget.DangerImportance || r.check.Visible() {
		t.Errorf("failed row %q", r.name.Text)
	}
	if p.status.Importance != widget.DangerImportance || !strings.Contains(p.status.Text, "no such folder") {
		t.Errorf("status %q", p.status.Text)
	}
	p.tick(kids[0], true)
	if !p.ticks.none() {
		t.Error("a failed row can be ticked")
	}
}
