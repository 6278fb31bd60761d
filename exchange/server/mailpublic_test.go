package server

import (
	"crypto/tls"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"exbackup/exchange"
	"exbackup/exchange/mail"
)

// Every mailbox reads the public folders over IMAP under "Public
// Folders/", the shared namespace: posts as RFC 5322 messages that FETCH,
// SEARCH and COPY take; every change to them is refused with NO [CANNOT];
// a new post shows up in a session that has the folder selected.
func TestPublicFoldersOverIMAP(t *testing.T) {
	s := newTestServer(t, "Contoso Ltd", "Redmond", "EXCH01", false)
	if err := s.CreateMailbox(bg, exchange.Recipient{Alias: "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(bg, "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	date := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	for _, p := range []exchange.Post{
		{Folder: "General", From: "Alice Johnson", Subject: "Welcome", Date: date, Body: "Hello, everyone.\n"},
		{Folder: "IT/Change Log", From: "it@contoso-ltd.local", Subject: "Patch night", Date: date, Body: "Servers restart at 22:00.\n"},
	} {
		if err := s.Post(bg, p); err != nil {
			t.Fatal(err)
		}
	}
	benchClient(t, s)
	ri, _ := s.Running()
	updates := make(chan uint32, 8)
	c, err := imapclient.DialTLS(ri.IMAP, &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true},
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				updates <- *d.NumMessages
			}
		}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice", "alice-pw").Wait(); err != nil {
		t.Fatal(err)
	}

	ns, err := c.Namespace().Wait()
	if err != nil || len(ns.Shared) != 1 || ns.Shared[0].Prefix != "Public Folders/" {
		t.Fatalf("NAMESPACE: %+v %v", ns, err)
	}
	list, err := c.List("", "Public Folders*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	noSelect := map[string]bool{}
	for _, d := range list {
		names = append(names, d.Mailbox)
		noSelect[d.Mailbox] = slices.Contains(d.Attrs, imap.MailboxAttrNoSelect)
	}
	want := []string{"Public Folders", "Public Folders/General", "Public Folders/IT", "Public Folders/IT/Change Log"}
	if !slices.Equal(names, want) {
		t.Fatalf("LIST: %v, want %v", names, want)
	}
	if !noSelect["Public Folders"] || !noSelect["Public Folders/IT"] || noSelect["Public Folders/General"] {
		t.Fatalf("\\Noselect: %v", noSelect)
	}

	sel, err := c.Select("Public Folders/General", nil).Wait()
	if err != nil || sel.NumMessages != 1 || sel.UIDValidity == 0 || len(sel.PermanentFlags) != 0 {
		t.Fatalf("SELECT: %+v %v", sel, err)
	}
	section := &imap.FetchItemBodySection{}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{UID: true, Envelope: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("FETCH: %v %v", msgs, err)
	}
	body := msgs[0].FindBodySection(section)
	meta, err := mail.Parse(body)
	if err != nil || meta.Subject != "Welcome" || !strings.Contains(string(body), "Hello, everyone.") {
		t.Fatalf("the post as a message: %+v %v\n%s", meta, err, body)
	}
	if env := msgs[0].Envelope; env == nil || len(env.From) != 1 || env.From[0].Name != "Alice Johnson" || msgs[0].RFC822Size != int64(len(body)) {
		t.Fatalf("envelope %+v, size %d of %d", env, msgs[0].RFC822Size, len(body))
	}
	if got, err := c.UIDSearch(&imap.SearchCriteria{Body: []string{"everyone"}}, nil).Wait(); err != nil || len(got.AllUIDs()) != 1 {
		t.Fatalf("SEARCH: %v %v", got, err)
	}

	cannot := func(what string, err error) {
		t.Helper()
		var ie *imap.Error
		if !errors.As(err, &ie) || ie.Type != imap.StatusResponseTypeNo || ie.Code != imap.ResponseCodeCannot {
			t.Errorf("%s: %v, want NO [CANNOT]", what, err)
		}
	}
	cannot("STORE", c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close())
	_, err = c.Expunge().Collect()
	cannot("EXPUNGE", err)
	_, err = c.Move(imap.SeqSetNum(1), "INBOX").Wait()
	cannot("MOVE", err)
	cannot("CREATE", c.Create("Public Folders/Mine", nil).Wait())
	cannot("DELETE", c.Delete("Public Folders/General").Wait())
	cannot("RENAME", c.Rename("INBOX/x", "Public Folders/x", nil).Wait())
	a := c.Append("Public Folders/General", 3, nil)
	a.Write([]byte("x\r\n"))
	a.Close()
	_, err = a.Wait()
	cannot("APPEND", err)

	// A post is copied into the mailbox as a message of its own.
	if _, err := c.Copy(imap.SeqSetNum(1), "INBOX").Wait(); err != nil {
		t.Fatalf("COPY out of a public folder: %v", err)
	}
	inbox, err := s.Mail().Folder(bg, "alice", mail.Inbox)
	if err != nil || len(inbox.List) != 1 {
		t.Fatalf("inbox after COPY: %+v %v", inbox, err)
	}
	if got, _ := s.Mail().Message(bg, "alice", mail.Inbox, inbox.List[0].UID); string(got) != string(body) {
		t.Fatalf("the copy differs:\n%s\nwant\n%s", got, body)
	}

	// A new post reaches the session that has the folder selected.
	if err := s.Post(bg, exchange.Post{Folder: "General", From: "Bob", Subject: "Lunch"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for n := uint32(1); n != 2; {
		if err := c.Noop().Wait(); err != nil {
			t.Fatal(err)
		}
		select {
		case n = <-updates:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatal("the new post never showed in the selected folder")
		}
	}
	st, err := c.Status("Public Folders/IT/Change Log", &imap.StatusOptions{NumMessages: true, UIDNext: true}).Wait()
	if err != nil || st.NumMessages == nil || *st.NumMessages != 1 {
		t.Fatalf("STATUS: %+v %v", st, err)
	}
	if _, err := c.Select("Public Folders/IT", nil).Wait(); err == nil {
		t.Fatal("a level that is no folder could be selected")
	}
}
