package smtpd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"exbackup/exchange/mail"
	"exbackup/exchange/mail/internal/memback"
)

type fixture struct {
	be     *memback.Backend
	srv    *Server
	addr   string
	client *tls.Config
}

func start(t testing.TB, cfg Config) *fixture {
	t.Helper()
	be := memback.New("example.org")
	be.AddMailbox("alice", "pw-alice")
	be.AddMailbox("bob", "pw-bob")
	stls, ctls, err := memback.TLSPair()
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLS = stls
	if cfg.Hostname == "" {
		cfg.Hostname = "exch01.example.org"
	}
	srv := New(be, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &fixture{be: be, srv: srv, addr: ln.Addr().String(), client: ctls}
}

func (f *fixture) dial(t testing.TB) *smtp.Client {
	t.Helper()
	c, err := smtp.DialStartTLS(f.addr, f.client)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (f *fixture) send(t testing.TB, from string, to []string, body []byte) error {
	t.Helper()
	c := f.dial(t)
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		return err
	}
	return w.Close()
}

func inbox(t testing.TB, be *memback.Backend, alias string) mail.Folder {
	t.Helper()
	f, err := be.Folder(context.Background(), alias, mail.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func code(err error) (int, smtp.EnhancedCode) {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code, se.EnhancedCode
	}
	return 0, smtp.EnhancedCode{}
}

const letter = "From: Carol <carol@elsewhere.net>\r\nTo: alice@example.org\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nMessage-ID: <1@elsewhere.net>\r\n\r\nHello Alice.\r\n.leading dot\r\n"

func TestDeliverStoresTheBytesBehindTraceHeaders(t *testing.T) {
	f := start(t, Config{})
	if err := f.send(t, "carol@elsewhere.net", []string{"Alice@Example.org"}, []byte(letter)); err != nil {
		t.Fatalf("send: %v", err)
	}
	in := inbox(t, f.be, "alice")
	if len(in.List) != 1 {
		t.Fatalf("inbox has %d messages, want 1", len(in.List))
	}
	data, err := f.be.Message(context.Background(), "alice", mail.Inbox, in.List[0].UID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(data, []byte(letter)) {
		t.Fatalf("stored message does not end with the bytes sent:\n%q", data)
	}
	head := string(data[:len(data)-len(letter)])
	if !strings.HasPrefix(head, "Return-Path: <carol@elsewhere.net>\r\nReceived: from localhost ([127.0.0.1])\r\n\tby exch01.example.org (exserver) with ESMTPS id ") ||
		!strings.Contains(head, "\r\n\tfor <Alice@Example.org>;\r\n\t") {
		t.Fatalf("trace headers:\n%s", head)
	}
	m, err := mail.Parse(data)
	if err != nil || m.Subject != "Grüße" || m.MessageID != "1@elsewhere.net" {
		t.Fatalf("stored message parses as %+v, %v", m, err)
	}
	if got := f.srv.Stats().Delivered; got != 1 {
		t.Fatalf("delivered = %d", got)
	}
}

func TestOneDeliveryForSeveralMailboxes(t *testing.T) {
	f := start(t, Config{})
	to := []string{"alice@example.org", "bob@example.org", "ALICE@example.org"}
	if err := f.send(t, "", to, []byte(letter)); err != nil {
		t.Fatal(err)
	}
	if n := len(inbox(t, f.be, "alice").List); n != 1 {
		t.Fatalf("alice has %d copies, want 1", n)
	}
	if n := len(inbox(t, f.be, "bob").List); n != 1 {
		t.Fatalf("bob has %d copies, want 1", n)
	}
	if f.be.Deliveries != 1 {
		t.Fatalf("%d deliveries, want one for both mailboxes", f.be.Deliveries)
	}
}

func TestRelayingRefused(t *testing.T) {
	var logs bytes.Buffer
	f := start(t, Config{Log: slog.New(slog.NewTextHandler(&logs, nil)), SummaryEvery: time.Hour})
	for range 3 {
		err := f.send(t, "alice@example.org", []string{"someone@elsewhere.net"}, []byte(letter))
		if c, e := code(err); c != 550 || e != (smtp.EnhancedCode{5, 7, 1}) {
			t.Fatalf("relay attempt answered %v, want 550 5.7.1", err)
		}
	}
	if f.be.Deliveries != 0 {
		t.Fatal("a relayed message was stored")
	}
	if logs.Len() != 0 {
		t.Fatalf("refusals were logged one by one: %s", logs.String())
	}
	f.srv.logSummary()
	if out := logs.String(); strings.Count(out, "\n") != 1 || !strings.Contains(out, "relaying refused") || !strings.Contains(out, "refused=3 addresses=1 top1.addr=127.0.0.1") {
		t.Fatalf("summary: %s", out)
	}
}

func TestUnknownMailboxRefused(t *testing.T) {
	f := start(t, Config{})
	err := f.send(t, "carol@elsewhere.net", []string{"nobody@example.org"}, []byte(letter))
	if c, e := code(err); c != 550 || e != (smtp.EnhancedCode{5, 1, 1}) {
		t.Fatalf("unknown mailbox answered %v, want 550 5.1.1", err)
	}
}

func TestOversizedMessageRefused(t *testing.T) {
	f := start(t, Config{MaxMessageBytes: 4096})
	big := letter + strings.Repeat(strings.Repeat("x", 76)+"\r\n", 100)
	err := f.send(t, "carol@elsewhere.net", []string{"alice@example.org"}, []byte(big))
	if c, _ := code(err); c != 552 {
		t.Fatalf("oversized message answered %v, want 552", err)
	}
	if f.be.Deliveries != 0 || len(inbox(t, f.be, "alice").List) != 0 {
		t.Fatal("an oversized message was stored")
	}
	// The session stays usable for a message that fits.
	if err := f.send(t, "carol@elsewhere.net", []string{"alice@example.org"}, []byte(letter)); err != nil {
		t.Fatal(err)
	}
}

func TestStoreFailureIsTemporary(t *testing.T) {
	f := start(t, Config{})
	f.be.DeliverErr = fmt.Errorf("priv.edb: %w", mail.ErrUnavailable)
	err := f.send(t, "carol@elsewhere.net", []string{"alice@example.org"}, []byte(letter))
	if c, _ := code(err); c != 451 {
		t.Fatalf("a store that cannot take mail answered %v, want 451", err)
	}
	if f.srv.Stats().Delivered != 0 {
		t.Fatal("a failed delivery was counted as delivered")
	}
}

// A client that goes away in the middle of DATA leaves nothing behind.
func TestDisconnectMidDataStoresNothing(t *testing.T) {
	f := start(t, Config{})
	conn, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	expect := func(code string) {
		t.Helper()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %s: %v", code, err)
			}
			if !strings.HasPrefix(line, code) {
				t.Fatalf("got %q, want %s", line, code)
			}
			if len(line) > 3 && line[3] == ' ' {
				return
			}
		}
	}
	expect("220")
	for _, step := range []struct{ cmd, code string }{
		{"EHLO client.test", "250"}, {"MAIL FROM:<carol@elsewhere.net>", "250"},
		{"RCPT TO:<alice@example.org>", "250"}, {"DATA", "354"},
	} {
		fmt.Fprintf(conn, "%s\r\n", step.cmd)
		expect(step.code)
	}
	fmt.Fprintf(conn, "Subject: half\r\n\r\nthe first half of the body\r\n")
	conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for f.srv.Stats().Aborted == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the server never noticed the client leave")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if f.be.Deliveries != 0 || len(inbox(t, f.be, "alice").List) != 0 {
		t.Fatal("a message cut off mid-DATA was stored")
	}
}

func TestConnectionsBounded(t *testing.T) {
	f := start(t, Config{MaxConns: 1})
	first := f.dial(t) // holds the only slot
	conn, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "421 4.7.0") {
		t.Fatalf("connection over the limit got %q, %v; want 421", line, err)
	}
	if err := first.Noop(); err != nil {
		t.Fatalf("the connection within the limit broke: %v", err)
	}
}

func TestStartTLSOffered(t *testing.T) {
	f := start(t, Config{})
	c := f.dial(t)
	if _, ok := c.TLSConnectionState(); !ok {
		t.Fatal("STARTTLS did not give a TLS connection")
	}
}

// gated is a Backend whose deliveries wait until the test lets them
// through, as a store waits for its log's fsync.
type gated struct {
	*memback.Backend
	entered chan struct{}
	release chan struct{}
}

func (g *gated) Deliver(ctx context.Context, d mail.Delivery) error {
	g.entered <- struct{}{}
	<-g.release
	return g.Backend.Deliver(ctx, d)
}

func TestAcknowledgedOnlyAfterDurableDelivery(t *testing.T) {
	f := start(t, Config{})
	g := &gated{Backend: f.be, entered: make(chan struct{}), release: make(chan struct{})}
	f.srv.be = g
	sent := make(chan error, 1)
	go func() { sent <- f.send(t, "carol@elsewhere.net", []string{"alice@example.org"}, []byte(letter)) }()
	<-g.entered // the store has the message but has not made it durable
	select {
	case err := <-sent:
		t.Fatalf("the client was answered (%v) before the store returned", err)
	default:
	}
	close(g.release)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if n := len(inbox(t, f.be, "alice").List); n != 1 {
		t.Fatalf("%d messages", n)
	}
}

func TestIdleClientTimesOut(t *testing.T) {
	f := start(t, Config{ReadTimeout: 100 * time.Millisecond})
	conn, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(conn)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "220") {
		t.Fatalf("greeting %q %v", line, err)
	}
	// Say nothing: the server must hang up rather than hold the slot.
	for {
		if _, err := r.ReadString('\n'); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the server kept a silent client for 30 s")
			}
			return
		}
	}
}
