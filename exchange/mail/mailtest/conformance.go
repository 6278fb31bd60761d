// Package mailtest holds the contract tests every mail.Backend must pass.
// The store runs them against its bbolt Backend, the front ends' tests run
// them against their in-memory one, so both keep the same promises.
package mailtest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"exbackup/exchange/mail"
)

// Org is what a Backend under test holds to begin with: two mailboxes with
// the given passwords, reachable as ALIAS@Domain, each with the default
// folders Inbox, "Sent Items" and "Deleted Items".
type Org struct {
	Backend            mail.Backend
	Domain             string
	Alice, AlicePass   string
	Bob, BobPass       string
	OtherDomainAddress string // an address the Backend must call ErrNotLocal
}

// Run runs the contract tests; fresh makes a new organization for each.
func Run(t *testing.T, fresh func(t *testing.T) Org) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Org)
	}{
		{"Authenticate", testAuthenticate},
		{"Resolve", testResolve},
		{"Deliver", testDeliver},
		{"UIDs", testUIDs},
		{"Flags", testFlags},
		{"AppendCopyMove", testCopyMove},
		{"Folders", testFolders},
		{"RenameInbox", testRenameInbox},
		{"Watch", testWatch},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, fresh(t)) })
	}
}

var bg = context.Background()

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func folder(t *testing.T, o Org, alias, name string) mail.Folder {
	t.Helper()
	f, err := o.Backend.Folder(bg, alias, name)
	must(t, err)
	return f
}

func deliver(t *testing.T, o Org, data string, to ...string) {
	t.Helper()
	meta, _ := mail.Parse([]byte(data))
	must(t, o.Backend.Deliver(bg, mail.Delivery{From: "carol@elsewhere.net", Mailboxes: to, Data: []byte(data), Meta: meta, ReceivedAt: time.Now()}))
}

func testAuthenticate(t *testing.T, o Org) {
	alias, err := o.Backend.Authenticate(bg, o.Alice, o.AlicePass)
	if err != nil || alias != o.Alice {
		t.Fatalf("right password: %q %v", alias, err)
	}
	if _, err := o.Backend.Authenticate(bg, o.Alice, o.AlicePass+"x"); !errors.Is(err, mail.ErrAuthFailed) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := o.Backend.Authenticate(bg, "nobody", o.AlicePass); !errors.Is(err, mail.ErrAuthFailed) {
		t.Fatalf("unknown mailbox: %v", err)
	}
	if _, err := o.Backend.Authenticate(bg, o.Alice, o.BobPass); !errors.Is(err, mail.ErrAuthFailed) {
		t.Fatalf("another mailbox's password: %v", err)
	}
}

func testResolve(t *testing.T, o Org) {
	if a, err := o.Backend.Resolve(bg, o.Alice+"@"+o.Domain); err != nil || a != o.Alice {
		t.Fatalf("%q %v", a, err)
	}
	if _, err := o.Backend.Resolve(bg, "nobody@"+o.Domain); !errors.Is(err, mail.ErrNoMailbox) {
		t.Fatalf("unknown alias: %v", err)
	}
	if _, err := o.Backend.Resolve(bg, o.OtherDomainAddress); !errors.Is(err, mail.ErrNotLocal) {
		t.Fatalf("other domain: %v", err)
	}
}

func testDeliver(t *testing.T, o Org) {
	data := "Subject: both\r\n\r\nto both\r\n"
	deliver(t, o, data, o.Alice, o.Bob)
	for _, who := range []string{o.Alice, o.Bob} {
		in := folder(t, o, who, mail.Inbox)
		if len(in.List) != 1 || in.List[0].Size != int64(len(data)) || len(in.List[0].Flags) != 0 {
			t.Fatalf("%s's inbox: %+v", who, in.List)
		}
		got, err := o.Backend.Message(bg, who, mail.Inbox, in.List[0].UID)
		if err != nil || string(got) != data {
			t.Fatalf("%s's copy: %q %v", who, got, err)
		}
	}
	err := o.Backend.Deliver(bg, mail.Delivery{Mailboxes: []string{o.Alice, "nobody"}, Data: []byte(data), ReceivedAt: time.Now()})
	if err == nil {
		t.Fatal("a delivery to an unknown mailbox succeeded")
	}
	if n := len(folder(t, o, o.Alice, mail.Inbox).List); n != 1 {
		t.Fatalf("a failed delivery left alice %d messages: all or none", n)
	}
}

func testUIDs(t *testing.T, o Org) {
	var uids []mail.UID
	for range 3 {
		deliver(t, o, "Subject: n\r\n\r\nn\r\n", o.Alice)
	}
	in := folder(t, o, o.Alice, mail.Inbox)
	for _, m := range in.List {
		uids = append(uids, m.UID)
	}
	if !slices.IsSorted(uids) || len(uids) != 3 || in.UIDNext <= uids[2] {
		t.Fatalf("uids %v, uidnext %d", uids, in.UIDNext)
	}
	must(t, o.Backend.Expunge(bg, o.Alice, mail.Inbox, []mail.UID{uids[2], 9999}))
	deliver(t, o, "Subject: n\r\n\r\nn\r\n", o.Alice)
	after := folder(t, o, o.Alice, mail.Inbox)
	last := after.List[len(after.List)-1].UID
	if len(after.List) != 3 || last <= uids[2] || after.UIDValidity != in.UIDValidity {
		t.Fatalf("after expunge and delivery: %+v (a UID was reused or validity changed)", after)
	}
	if _, err := o.Backend.Message(bg, o.Alice, mail.Inbox, uids[2]); !errors.Is(err, mail.ErrNoMessage) {
		t.Fatalf("expunged message: %v", err)
	}
}

func testFlags(t *testing.T, o Org) {
	deliver(t, o, "Subject: f\r\n\r\nf\r\n", o.Alice)
	uid := folder(t, o, o.Alice, mail.Inbox).List[0].UID
	flags := func() []string {
		f := slices.Clone(folder(t, o, o.Alice, mail.Inbox).List[0].Flags)
		slices.Sort(f)
		return f
	}
	step := func(op mail.FlagOp, fl []string, want ...string) {
		t.Helper()
		must(t, o.Backend.SetFlags(bg, o.Alice, mail.Inbox, []mail.UID{uid, 9999}, op, fl))
		if got := flags(); !slices.Equal(got, want) {
			t.Fatalf("flags %v, want %v", got, want)
		}
	}
	step(mail.FlagsAdd, []string{mail.FlagSeen, "$Label1"}, "$Label1", mail.FlagSeen)
	step(mail.FlagsAdd, []string{mail.FlagSeen}, "$Label1", mail.FlagSeen)
	step(mail.FlagsRemove, []string{"$Label1"}, mail.FlagSeen)
	step(mail.FlagsReplace, []string{mail.FlagFlagged, mail.FlagDeleted}, mail.FlagDeleted, mail.FlagFlagged)
}

func testCopyMove(t *testing.T, o Org) {
	date := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	data := []byte("Subject: a\r\n\r\nappended\r\n")
	validity, uid, err := o.Backend.Append(bg, o.Alice, "Sent Items", data, []string{mail.FlagSeen}, date)
	must(t, err)
	sent := folder(t, o, o.Alice, "Sent Items")
	if validity != sent.UIDValidity || len(sent.List) != 1 || sent.List[0].UID != uid || !sent.List[0].InternalDate.Equal(date) {
		t.Fatalf("append answered %d/%d, folder %+v", validity, uid, sent)
	}
	if _, _, err := o.Backend.Append(bg, o.Alice, "Nowhere", data, nil, date); !errors.Is(err, mail.ErrNoFolder) {
		t.Fatalf("append to a missing folder: %v", err)
	}
	v, src, dst, err := o.Backend.Copy(bg, o.Alice, "Sent Items", []mail.UID{uid, 9999}, "Deleted Items", false)
	must(t, err)
	del := folder(t, o, o.Alice, "Deleted Items")
	if v != del.UIDValidity || !slices.Equal(src, []mail.UID{uid}) || len(dst) != 1 || len(del.List) != 1 || del.List[0].UID != dst[0] {
		t.Fatalf("copy answered %d %v %v; folder %+v", v, src, dst, del)
	}
	if !slices.Equal(del.List[0].Flags, []string{mail.FlagSeen}) || !del.List[0].InternalDate.Equal(date) {
		t.Fatalf("copy lost flags or date: %+v", del.List[0])
	}
	_, _, moved, err := o.Backend.Copy(bg, o.Alice, "Sent Items", []mail.UID{uid}, mail.Inbox, true)
	must(t, err)
	if len(folder(t, o, o.Alice, "Sent Items").List) != 0 {
		t.Fatal("move left the source")
	}
	got, err := o.Backend.Message(bg, o.Alice, mail.Inbox, moved[0])
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("moved message: %q %v", got, err)
	}
}

func testFolders(t *testing.T, o Org) {
	b := o.Backend
	if err := b.CreateFolder(bg, o.Alice, "A/B"); !errors.Is(err, mail.ErrNoFolder) {
		t.Fatalf("create without its parent: %v", err)
	}
	must(t, b.CreateFolder(bg, o.Alice, "A"))
	must(t, b.CreateFolder(bg, o.Alice, "A/B"))
	if err := b.CreateFolder(bg, o.Alice, "A"); !errors.Is(err, mail.ErrFolderExists) {
		t.Fatalf("create twice: %v", err)
	}
	first := folder(t, o, o.Alice, "A/B").UIDValidity
	_, _, err := b.Append(bg, o.Alice, "A/B", []byte("Subject: x\r\n\r\nx\r\n"), nil, time.Now())
	must(t, err)
	if err := b.DeleteFolder(bg, o.Alice, "A"); !errors.Is(err, mail.ErrFolderInUse) {
		t.Fatalf("delete with a subfolder: %v", err)
	}
	if err := b.DeleteFolder(bg, o.Alice, mail.Inbox); !errors.Is(err, mail.ErrFolderInUse) {
		t.Fatalf("delete the Inbox: %v", err)
	}
	must(t, b.RenameFolder(bg, o.Alice, "A", "C"))
	moved := folder(t, o, o.Alice, "C/B")
	if len(moved.List) != 1 || moved.UIDValidity != first {
		t.Fatalf("rename moved the subfolder to %+v", moved)
	}
	if _, err := b.Folder(bg, o.Alice, "A/B"); !errors.Is(err, mail.ErrNoFolder) {
		t.Fatalf("old name after rename: %v", err)
	}
	if err := b.RenameFolder(bg, o.Alice, "C", "Sent Items"); !errors.Is(err, mail.ErrFolderExists) {
		t.Fatalf("rename onto a folder: %v", err)
	}
	must(t, b.DeleteFolder(bg, o.Alice, "C/B"))
	must(t, b.CreateFolder(bg, o.Alice, "C/B"))
	again := folder(t, o, o.Alice, "C/B")
	if again.UIDValidity == first || len(again.List) != 0 {
		t.Fatalf("a folder made again kept validity %d or messages %v", again.UIDValidity, again.List)
	}
	list, err := b.Folders(bg, o.Alice)
	must(t, err)
	var names []string
	for _, f := range list {
		names = append(names, f.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"C", "C/B", "Deleted Items", mail.Inbox, "Sent Items"}) {
		t.Fatalf("folders %v", names)
	}
	if n := len(folder(t, o, o.Bob, mail.Inbox).List); n != 0 {
		t.Fatal("bob sees alice's mail")
	}
}

func testRenameInbox(t *testing.T, o Org) {
	deliver(t, o, "Subject: old\r\n\r\nold\r\n", o.Alice)
	before := folder(t, o, o.Alice, mail.Inbox)
	must(t, o.Backend.RenameFolder(bg, o.Alice, mail.Inbox, "Old Inbox"))
	if in := folder(t, o, o.Alice, mail.Inbox); len(in.List) != 0 || in.UIDNext < before.UIDNext {
		t.Fatalf("the Inbox after its rename: %+v (UIDs must not be reused)", in)
	}
	if old := folder(t, o, o.Alice, "Old Inbox"); len(old.List) != 1 {
		t.Fatalf("the renamed Inbox: %+v", old)
	}
}

func testWatch(t *testing.T, o Org) {
	var mu sync.Mutex
	var seen []mail.Change
	counts := map[string]int{}
	stop := o.Backend.Watch(func(c mail.Change) {
		// A change is visible to reads by the time it is reported.
		f, err := o.Backend.Folder(bg, c.Mailbox, c.Folder)
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, c)
		if err == nil {
			counts[c.Folder] = len(f.List)
		}
	})
	deliver(t, o, "Subject: w\r\n\r\nw\r\n", o.Alice)
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := counts[mail.Inbox]
		mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no change reported for the delivery (saw %v)", seen)
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	mu.Lock()
	before := len(seen)
	mu.Unlock()
	deliver(t, o, "Subject: w\r\n\r\nw\r\n", o.Alice)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != before {
		t.Fatal("changes reported after stop")
	}
}
