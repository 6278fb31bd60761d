package imapd

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"exbackup/exchange/mail"
	"exbackup/exchange/mail/internal/memback"
	"exbackup/exchange/mail/smtpd"
)

type fixture struct {
	be        *memback.Backend
	srv       *Server
	addr      string
	smtpAddr  string
	client    *tls.Config
	serverTLS *tls.Config
	throttle  *mail.Throttle
	logs      *bytes.Buffer
}

func start(t testing.TB) *fixture {
	t.Helper()
	be := memback.New("example.org")
	be.AddMailbox("alice", "pw-alice")
	be.AddMailbox("bob", "pw-bob")
	stls, ctls, err := memback.TLSPair()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{be: be, client: ctls, serverTLS: stls, throttle: mail.NewThrottle(), logs: &bytes.Buffer{}}
	log := slog.New(slog.NewTextHandler(f.logs, nil))
	srv, err := New(be, Config{TLS: stls, Throttle: f.throttle, Log: log, SummaryEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	sm := smtpd.New(be, smtpd.Config{Hostname: "exch01.example.org", TLS: stls})
	sln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go sm.Serve(sln)
	t.Cleanup(func() {
		sm.Close()
		srv.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	f.srv, f.addr, f.smtpAddr = srv, ln.Addr().String(), sln.Addr().String()
	return f
}

func (f *fixture) dial(t testing.TB, h *imapclient.UnilateralDataHandler) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialTLS(f.addr, &imapclient.Options{TLSConfig: f.client, UnilateralDataHandler: h})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (f *fixture) login(t testing.TB, h *imapclient.UnilateralDataHandler) *imapclient.Client {
	t.Helper()
	c := f.dial(t, h)
	if err := c.Login("alice", "pw-alice").Wait(); err != nil {
		t.Fatalf("login: %v", err)
	}
	return c
}

func (f *fixture) sendSMTP(t testing.TB, body string) {
	t.Helper()
	c, err := smtp.DialStartTLS(f.smtpAddr, f.client)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail("carol@elsewhere.net", []string{"alice@example.org"}, strings.NewReader(body)); err != nil {
		t.Fatalf("SMTP delivery: %v", err)
	}
}

func mustSelect(t testing.TB, c *imapclient.Client, name string) *imap.SelectData {
	t.Helper()
	d, err := c.Select(name, nil).Wait()
	if err != nil {
		t.Fatalf("select %s: %v", name, err)
	}
	return d
}

func appendMsg(t testing.TB, c *imapclient.Client, folder, body string, flags ...imap.Flag) imap.UID {
	t.Helper()
	cmd := c.Append(folder, int64(len(body)), &imap.AppendOptions{Flags: flags, Time: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)})
	cmd.Write([]byte(body))
	cmd.Close()
	d, err := cmd.Wait()
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return d.UID
}

const multipart = "From: =?ISO-8859-1?Q?Andr=E9?= <andre@elsewhere.net>\r\n" +
	"To: alice@example.org\r\nSubject: =?UTF-8?B?UmVwb3J0IMOcYmVyc2ljaHQ=?=\r\n" +
	"Message-ID: <r1@elsewhere.net>\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=XX\r\n\r\n" +
	"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nQuarterly figures inside.\r\n" +
	"--XX\r\nContent-Type: application/pdf; name=r.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n" +
	"--XX--\r\n"

func TestDeliveredMailReadsBackByteIdentical(t *testing.T) {
	f := start(t)
	f.sendSMTP(t, multipart)
	stored, err := f.be.Folder(context.Background(), "alice", mail.Inbox)
	if err != nil || len(stored.List) != 1 {
		t.Fatalf("inbox: %v %v", stored.List, err)
	}
	want, _ := f.be.Message(context.Background(), "alice", mail.Inbox, stored.List[0].UID)

	c := f.login(t, nil)
	sel := mustSelect(t, c, "INBOX")
	if sel.NumMessages != 1 || sel.UIDValidity != stored.UIDValidity {
		t.Fatalf("select: %+v", sel)
	}
	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.UIDSetNum(imap.UID(stored.List[0].UID)), &imap.FetchOptions{
		UID: true, Flags: true, RFC822Size: true, Envelope: true,
		BodyStructure: &imap.FetchItemBodyStructure{}, BodySection: []*imap.FetchItemBodySection{section},
	}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch: %v %v", msgs, err)
	}
	m := msgs[0]
	if got := m.FindBodySection(section); !bytes.Equal(got, want) {
		t.Fatalf("BODY[] differs from what was delivered:\n%q\nwant\n%q", got, want)
	}
	if m.RFC822Size != int64(len(want)) {
		t.Fatalf("RFC822.SIZE %d, want %d", m.RFC822Size, len(want))
	}
	if m.Envelope == nil || m.Envelope.Subject != "Report Übersicht" || m.Envelope.MessageID != "r1@elsewhere.net" {
		t.Fatalf("envelope: %+v", m.Envelope)
	}
	mp, ok := m.BodyStructure.(*imap.BodyStructureMultiPart)
	if !ok || mp.Subtype != "mixed" || len(mp.Children) != 2 {
		t.Fatalf("bodystructure: %#v", m.BodyStructure)
	}
	if part, ok := mp.Children[1].(*imap.BodyStructureSinglePart); !ok || part.Type != "application" || part.Subtype != "pdf" {
		t.Fatalf("second part: %#v", mp.Children[1])
	}
	if len(m.Flags) != 0 {
		t.Fatalf("a PEEK set flags %v", m.Flags)
	}
}

func TestFetchBodySetsSeen(t *testing.T) {
	f := start(t)
	c := f.login(t, nil)
	uid := appendMsg(t, c, "INBOX", multipart)
	mustSelect(t, c, "INBOX")
	if _, err := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect(); err != nil {
		t.Fatal(err)
	}
	fo, _ := f.be.Folder(context.Background(), "alice", mail.Inbox)
	if len(fo.List) != 1 || len(fo.List[0].Flags) != 1 || fo.List[0].Flags[0] != mail.FlagSeen {
		t.Fatalf("flags after FETCH BODY[]: %+v", fo.List)
	}
}

func TestFlagSearchExpunge(t *testing.T) {
	f := start(t)
	c := f.login(t, nil)
	a := appendMsg(t, c, "INBOX", "Subject: alpha\r\n\r\nfirst\r\n")
	b := appendMsg(t, c, "INBOX", "Subject: beta\r\n\r\nsecond, about budgets\r\n", imap.FlagSeen)
	appendMsg(t, c, "INBOX", "Subject: gamma\r\n\r\nthird\r\n")
	mustSelect(t, c, "INBOX")

	if err := c.Store(imap.UIDSetNum(a, b), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	search := func(crit *imap.SearchCriteria) []imap.UID {
		t.Helper()
		d, err := c.UIDSearch(crit, nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		return d.AllUIDs()
	}
	if got := search(&imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}); len(got) != 2 {
		t.Fatalf("FLAGGED found %v", got)
	}
	if got := search(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}); len(got) != 2 || got[0] != a {
		t.Fatalf("UNSEEN found %v", got)
	}
	if got := search(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "GAMMA"}}}); len(got) != 1 {
		t.Fatalf("SUBJECT gamma found %v", got)
	}
	if got := search(&imap.SearchCriteria{Body: []string{"budget"}}); len(got) != 1 || got[0] != b {
		t.Fatalf("BODY budget found %v", got)
	}

	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	gone, err := c.Expunge().Collect()
	if err != nil || len(gone) != 1 || gone[0] != 1 {
		t.Fatalf("expunge answered %v, %v; want sequence number 1", gone, err)
	}
	fo, _ := f.be.Folder(context.Background(), "alice", mail.Inbox)
	if len(fo.List) != 2 || fo.List[0].UID != mail.UID(b) {
		t.Fatalf("after expunge the store has %+v", fo.List)
	}
	// Numbers moved down: sequence number 1 is now beta.
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{UID: true}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].UID != b {
		t.Fatalf("message 1 after expunge: %v %v", msgs, err)
	}
}

func TestMoveAndCopy(t *testing.T) {
	f := start(t)
	c := f.login(t, nil)
	a := appendMsg(t, c, "INBOX", multipart, imap.FlagFlagged)
	b := appendMsg(t, c, "INBOX", "Subject: two\r\n\r\n2\r\n")
	if err := c.Create("Archive", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	mustSelect(t, c, "INBOX")
	cp, err := c.Copy(imap.UIDSetNum(b), "Sent Items").Wait()
	if err != nil || len(cp.DestUIDs) != 1 {
		t.Fatalf("copy: %+v %v", cp, err)
	}
	mv, err := c.Move(imap.UIDSetNum(a), "Archive").Wait()
	if err != nil {
		t.Fatalf("move: %v", err)
	}
	dst, _ := mv.DestUIDs.(imap.UIDSet).Nums()
	if len(dst) != 1 {
		t.Fatalf("COPYUID of move: %+v", mv)
	}
	in, _ := f.be.Folder(context.Background(), "alice", mail.Inbox)
	ar, _ := f.be.Folder(context.Background(), "alice", "Archive")
	if len(in.List) != 1 || in.List[0].UID != mail.UID(b) {
		t.Fatalf("inbox after move: %+v", in.List)
	}
	if len(ar.List) != 1 || ar.List[0].UID != mail.UID(dst[0]) || ar.List[0].Flags[0] != mail.FlagFlagged || mv.UIDValidity != ar.UIDValidity {
		t.Fatalf("archive after move: %+v (COPYUID %+v)", ar, mv)
	}
	data, _ := f.be.Message(context.Background(), "alice", "Archive", ar.List[0].UID)
	if string(data) != multipart {
		t.Fatal("the moved message changed")
	}
	if n := c.Mailbox().NumMessages; n != 1 {
		t.Fatalf("the client counts %d messages after MOVE, want 1", n)
	}
}

func TestFolders(t *testing.T) {
	f := start(t)
	c := f.login(t, nil)
	if err := c.Create("Projects/2026", nil).Wait(); err != nil {
		t.Fatalf("create with a missing parent: %v", err)
	}
	if err := c.Create("Projects", nil).Wait(); !isCode(err, imap.ResponseCodeAlreadyExists) {
		t.Fatalf("creating an existing folder: %v", err)
	}
	if err := c.Rename("Projects", "Work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	attrs := map[string][]imap.MailboxAttr{}
	for _, l := range list {
		names = append(names, l.Mailbox)
		attrs[l.Mailbox] = l.Attrs
	}
	if strings.Join(names, ",") != "Deleted Items,INBOX,Sent Items,Work,Work/2026" {
		t.Fatalf("LIST: %v", names)
	}
	if !hasAttr(attrs["Sent Items"], imap.MailboxAttrSent) || !hasAttr(attrs["Work"], imap.MailboxAttrHasChildren) {
		t.Fatalf("attributes: %v", attrs)
	}
	if err := c.Delete("Work").Wait(); err == nil {
		t.Fatal("a folder with subfolders was deleted")
	}
	appendMsg(t, c, "Work/2026", "Subject: x\r\n\r\nx\r\n")
	if err := c.Delete("Work/2026").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.be.Folder(context.Background(), "alice", "Work/2026"); !errors.Is(err, mail.ErrNoFolder) {
		t.Fatalf("deleted folder still there: %v", err)
	}
	if err := c.Delete("INBOX").Wait(); err == nil {
		t.Fatal("INBOX was deleted")
	}
	if _, err := c.Select("Nowhere", nil).Wait(); !isCode(err, imap.ResponseCodeNonExistent) {
		t.Fatalf("selecting a missing folder: %v", err)
	}
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true, UIDNext: true}).Wait()
	if err != nil || st.NumMessages == nil || *st.NumMessages != 0 || st.UIDNext != 1 {
		t.Fatalf("status: %+v %v", st, err)
	}
}

func TestWrongPasswordIsThrottledAndSummarized(t *testing.T) {
	f := start(t)
	c := f.dial(t, nil)
	err := c.Login("alice", "guess").Wait()
	if !isCode(err, imap.ResponseCodeAuthenticationFailed) {
		t.Fatalf("wrong password answered %v", err)
	}
	if d := f.throttle.Delay("127.0.0.1"); d <= 0 {
		t.Fatal("a wrong password did not slow down the next attempt")
	}
	if err := c.Login("nobody", "pw-alice").Wait(); !isCode(err, imap.ResponseCodeAuthenticationFailed) {
		t.Fatalf("unknown mailbox answered %v", err)
	}
	f.throttle.LogSummary(f.srv.log, "imap")
	if out := f.logs.String(); !strings.Contains(out, "wrong passwords refused") || !strings.Contains(out, "refused=2") || !strings.Contains(out, "127.0.0.1") {
		t.Fatalf("summary: %s", out)
	}
	// The right password still works, after the wait, and clears it.
	if err := c.Login("alice", "pw-alice").Wait(); err != nil {
		t.Fatal(err)
	}
	if d := f.throttle.Delay("127.0.0.1"); d != 0 {
		t.Fatalf("a right password left a delay of %v", d)
	}
}

func TestAuthenticatePlain(t *testing.T) {
	f := start(t)
	c := f.dial(t, nil)
	if err := c.Authenticate(sasl.NewPlainClient("", "bob", "pw-bob")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestExamineIsReadOnly(t *testing.T) {
	f := start(t)
	c := f.login(t, nil)
	appendMsg(t, c, "INBOX", "Subject: x\r\n\r\nx\r\n")
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
	if err == nil {
		t.Fatal("STORE worked on an EXAMINEd folder")
	}
	if _, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect(); err != nil {
		t.Fatal(err)
	}
	fo, _ := f.be.Folder(context.Background(), "alice", mail.Inbox)
	if len(fo.List[0].Flags) != 0 {
		t.Fatalf("EXAMINE changed flags: %v", fo.List[0].Flags)
	}
}

// A client idling on INBOX hears of mail delivered by SMTP, and a second
// session hears of the first one's expunge.
func TestIdleAndOtherSessionsSeeChanges(t *testing.T) {
	f := start(t)
	exists := make(chan uint32, 8)
	expunged := make(chan uint32, 8)
	h := &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				exists <- *d.NumMessages
			}
		},
		Expunge: func(seq uint32) { expunged <- seq },
	}
	watcher := f.login(t, h)
	mustSelect(t, watcher, "INBOX")
	idle, err := watcher.Idle()
	if err != nil {
		t.Fatal(err)
	}
	f.sendSMTP(t, "Subject: news\r\n\r\nnews\r\n")
	select {
	case n := <-exists:
		if n != 1 {
			t.Fatalf("EXISTS %d, want 1", n)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the idling client never heard of the delivery")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}

	other := f.login(t, nil)
	mustSelect(t, other, "INBOX")
	if err := other.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Expunge().Collect(); err != nil {
		t.Fatal(err)
	}
	if err := watcher.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case seq := <-expunged:
		if seq != 1 {
			t.Fatalf("EXPUNGE %d, want 1", seq)
		}
	default:
		t.Fatal("the other session was not told of the expunge at its next command")
	}
}

func isCode(err error, code imap.ResponseCode) bool {
	var ie *imap.Error
	return errors.As(err, &ie) && ie.Code == code
}

func hasAttr(attrs []imap.MailboxAttr, a imap.MailboxAttr) bool {
	for _, x := range attrs {
		if x == a {
			return true
		}
	}
	return false
}

func TestAppendTooBigAndMissingFolder(t *testing.T) {
	f := start(t)
	f.srv.cfg.AppendLimit = 1024
	c := f.login(t, nil)
	cmd := c.Append("Nowhere", 3, nil)
	cmd.Write([]byte("x\r\n"))
	cmd.Close()
	if _, err := cmd.Wait(); !isCode(err, imap.ResponseCodeTryCreate) {
		t.Fatalf("APPEND to a missing folder answered %v", err)
	}
	big := strings.Repeat("x", 2048)
	cmd = c.Append("INBOX", int64(len(big)), nil)
	cmd.Write([]byte(big))
	cmd.Close()
	if _, err := cmd.Wait(); !isCode(err, imap.ResponseCodeTooBig) {
		t.Fatalf("oversized APPEND answered %v", err)
	}
	if fo, _ := f.be.Folder(context.Background(), "alice", mail.Inbox); len(fo.List) != 0 {
		t.Fatal("a refused APPEND stored something")
	}
}

func TestRenameInboxMovesItsMessages(t *testing.T) {
	f := start(t)
	c := f.login(t, nil)
	appendMsg(t, c, "INBOX", "Subject: old\r\n\r\nold\r\n")
	if err := c.Rename("INBOX", "Old Mail", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	in, _ := f.be.Folder(context.Background(), "alice", mail.Inbox)
	old, err := f.be.Folder(context.Background(), "alice", "Old Mail")
	if err != nil || len(in.List) != 0 || len(old.List) != 1 {
		t.Fatalf("after RENAME INBOX: inbox %d, Old Mail %+v %v", len(in.List), old, err)
	}
}

func TestConnectionsBounded(t *testing.T) {
	f := start(t)
	f.srv.Close()
	// A server of its own with room for one connection.
	srv, err := New(f.be, Config{TLS: f.serverTLS, MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Close()
	f.addr = ln.Addr().String()
	first := f.login(t, nil)
	conn, err := tls.Dial("tcp", f.addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 64)
	n, _ := conn.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "* BYE Too many connections") {
		t.Fatalf("connection over the limit got %q", buf[:n])
	}
	if err := first.Noop().Wait(); err != nil {
		t.Fatalf("the connection within the limit broke: %v", err)
	}
}

// Sessions stay consistent with the store while mail pours in from several
// SMTP clients and another session expunges.
func TestConcurrentDeliveriesAndExpunges(t *testing.T) {
	f := start(t)
	watcher := f.login(t, nil)
	mustSelect(t, watcher, "INBOX")
	const senders, each = 4, 25
	errs := make(chan error, senders)
	for i := range senders {
		go func() {
			c, err := smtp.DialStartTLS(f.smtpAddr, f.client)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for j := range each {
				body := strings.NewReader("Subject: load " + strings.Repeat("x", i) + "\r\n\r\n" + strings.Repeat("y", j) + "\r\n")
				if err := c.SendMail("carol@elsewhere.net", []string{"alice@example.org"}, body); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 20 { // the watcher keeps talking while mail arrives
		if err := watcher.Noop().Wait(); err != nil {
			t.Fatal(err)
		}
	}
	for range senders {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	other := f.login(t, nil)
	mustSelect(t, other, "INBOX")
	if err := other.Store(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 50}}, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Expunge().Collect(); err != nil {
		t.Fatal(err)
	}
	want := senders*each - 50
	deadline := time.Now().Add(20 * time.Second)
	for watcher.Mailbox().NumMessages != uint32(want) {
		if time.Now().After(deadline) {
			t.Fatalf("the watcher counts %d messages, want %d", watcher.Mailbox().NumMessages, want)
		}
		if err := watcher.Noop().Wait(); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := watcher.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	fo, _ := f.be.Folder(context.Background(), "alice", mail.Inbox)
	if len(msgs) != want || len(fo.List) != want {
		t.Fatalf("fetched %d, store has %d, want %d", len(msgs), len(fo.List), want)
	}
	for i, m := range msgs {
		if m.SeqNum != uint32(i+1) || m.UID != imap.UID(fo.List[i].UID) {
			t.Fatalf("message %d: seq %d uid %d, store uid %d", i+1, m.SeqNum, m.UID, fo.List[i].UID)
		}
	}
}

// A folder deleted under a session that has it selected empties for that
// session, and a folder made again under the same name is a new folder.
func TestSelectedFolderDeletedAndMadeAgain(t *testing.T) {
	f := start(t)
	expunged := make(chan uint32, 4)
	a := f.login(t, &imapclient.UnilateralDataHandler{Expunge: func(seq uint32) { expunged <- seq }})
	if err := a.Create("Tmp", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	appendMsg(t, a, "Tmp", "Subject: x\r\n\r\nx\r\n")
	first := mustSelect(t, a, "Tmp")
	b := f.login(t, nil)
	if err := b.Delete("Tmp").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := b.Create("Tmp", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	second := mustSelect(t, b, "Tmp")
	if second.UIDValidity == first.UIDValidity || second.NumMessages != 0 {
		t.Fatalf("the new Tmp: %+v, the old: %+v", second, first)
	}
	deadline := time.Now().Add(20 * time.Second)
	for a.Mailbox().NumMessages != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the session on the deleted folder still counts its message")
		}
		if err := a.Noop().Wait(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUIDExpungeTakesOnlyTheNamedMessages(t *testing.T) {
	f := start(t)
	c := f.login(t, nil)
	a := appendMsg(t, c, "INBOX", "Subject: a\r\n\r\na\r\n", imap.FlagDeleted)
	b := appendMsg(t, c, "INBOX", "Subject: b\r\n\r\nb\r\n", imap.FlagDeleted)
	mustSelect(t, c, "INBOX")
	if _, err := c.UIDExpunge(imap.UIDSetNum(b)).Collect(); err != nil {
		t.Fatal(err)
	}
	fo, _ := f.be.Folder(context.Background(), "alice", mail.Inbox)
	if len(fo.List) != 1 || fo.List[0].UID != mail.UID(a) {
		t.Fatalf("after UID EXPUNGE %d: %+v", b, fo.List)
	}
}

func TestNonASCIIFolderNames(t *testing.T) {
	f := start(t)
	c := f.login(t, nil)
	if err := c.Create("Entwürfe/Ärger", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.be.Folder(context.Background(), "alice", "Entwürfe/Ärger"); err != nil {
		t.Fatalf("the store did not get the UTF-8 name: %v", err)
	}
	list, err := c.List("", "Entw*", nil).Collect()
	if err != nil || len(list) != 2 || list[1].Mailbox != "Entwürfe/Ärger" {
		t.Fatalf("LIST: %+v %v", list, err)
	}
}
