package main

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// pinned trusts the server's own certificate, by its fingerprint, as a
// mail client told to accept it would.
func pinned(t *testing.T, fp string) *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, VerifyConnection: func(cs tls.ConnectionState) error {
		sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
		if got := "sha256:" + hex.EncodeToString(sum[:]); got != fp {
			return fmt.Errorf("certificate %s, want %s", got, fp)
		}
		return nil
	}}
}

func sendMail(p *proc, tc *tls.Config, to, subject, body string) error {
	c, err := smtp.DialStartTLS(p.smtp, tc)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Mail("carol@fabrikam.com", nil); err != nil {
		return err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "From: carol@fabrikam.com\r\nTo: %s\r\nSubject: %s\r\n\r\n%s\r\n", to, subject, body)
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func imapLogin(t *testing.T, p *proc, user, pw string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialTLS(p.imap, &imapclient.Options{TLSConfig: pinned(t, p.fp)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, pw).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

// fetchAll answers the messages of a folder: UID → flags and whole bytes.
func fetchAll(t *testing.T, c *imapclient.Client, folder string) map[imap.UID]*imapclient.FetchMessageBuffer {
	t.Helper()
	d, err := c.Select(folder, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	out := map[imap.UID]*imapclient.FetchMessageBuffer{}
	if d.NumMessages == 0 {
		return out
	}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		out[m.UID] = m
	}
	return out
}

func mailServer(t *testing.T) (string, *proc) {
	t.Helper()
	data := filepath.Join(t.TempDir(), "EXCH01")
	out := exs(t, "init", "--data", data, "--org", "Contoso Ltd", "--site", "Redmond", "--name", "EXCH01", "--domain", "contoso.example")
	if !strings.Contains(out, "mail domain: contoso.example") {
		t.Fatalf("init did not name the mail domain: %s", out)
	}
	exs(t, "mailbox", "--data", data, "--alias", "alice", "--name", "Alice Andersen", "--password", "alice-pw")
	p := runServer(t, data, "127.0.0.1:0")
	if p.smtp == "" || p.imap == "" {
		t.Fatal("the ready line names no mail listeners")
	}
	return data, p
}

// Mail delivered over SMTP is read, flagged, moved and deleted over IMAP,
// by real clients against the exserver binary; a mailbox made while the
// server runs gets its password through the API.
func TestMailOverSMTPAndIMAP(t *testing.T) {
	data, p := mailServer(t)
	tc := pinned(t, p.fp)
	exs(t, "mailbox", "--data", data, "--alias", "bob", "--password", "bob-pw")
	if out := exs(t, "mailbox", "--data", data); !strings.Contains(out, "Alice Andersen") || !strings.Contains(out, "bob") {
		t.Fatalf("mailbox list: %s", out)
	}
	for i := range 3 {
		if err := sendMail(p, tc, "Alice@contoso.example", fmt.Sprintf("hello %d", i), "body"); err != nil {
			t.Fatal(err)
		}
	}
	if err := sendMail(p, tc, "alice@elsewhere.example", "relay", "x"); err == nil {
		t.Fatal("the server relayed mail for another domain")
	}
	c := imapLogin(t, p, "alice", "alice-pw")
	in := fetchAll(t, c, "INBOX")
	if len(in) != 3 || !strings.Contains(string(in[1].BodySection[0].Bytes), "Subject: hello 0") {
		t.Fatalf("inbox: %d messages", len(in))
	}
	if err := c.Store(imap.UIDSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("Archive", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Move(imap.UIDSetNum(2), "Archive").Wait(); err != nil {
		t.Fatal(err)
	}
	arch := fetchAll(t, c, "Archive")
	if len(arch) != 1 {
		t.Fatalf("archive: %d messages", len(arch))
	}
	if err := c.Delete("Archive").Wait(); err != nil {
		t.Fatal(err)
	}
	in = fetchAll(t, c, "INBOX")
	if len(in) != 2 || !slices.Contains(in[1].Flags, imap.FlagFlagged) || slices.Contains(in[3].Flags, imap.FlagFlagged) {
		t.Fatalf("inbox after flag and move: %d messages, UID 1 flags %v", len(in), in[1].Flags)
	}
	// The other mailbox sees none of it, and a wrong password is refused.
	if got := fetchAll(t, imapLogin(t, p, "bob", "bob-pw"), "INBOX"); len(got) != 0 {
		t.Fatal("bob sees alice's mail")
	}
	bad, err := imapclient.DialTLS(p.imap, &imapclient.Options{TLSConfig: tc})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if err := bad.Login("alice", "guess").Wait(); err == nil {
		t.Fatal("a wrong password logged in")
	}
	// Posts made through the API are read over IMAP by every mailbox,
	// under Public Folders.
	exs(t, "load", "--data", data, "--mailboxes", "1", "--messages", "1", "--public", "5")
	pub := fetchAll(t, imapLogin(t, p, "bob", "bob-pw"), "Public Folders/General/Topic 3")
	if len(pub) != 1 {
		t.Fatalf("Public Folders/General/Topic 3: %d posts, want 1", len(pub))
	}
	for _, m := range pub {
		if b := string(m.BodySection[0].Bytes); !strings.Contains(b, "Subject: load ") || len(m.Flags) != 0 {
			t.Fatalf("the post over IMAP (flags %v):\n%s", m.Flags, b)
		}
	}
	p.term(t)
}

// wholeMessage reports whether stored bytes are a message as a client sent
// it: nothing cut off.
func wholeMessage(b []byte) bool {
	return strings.HasPrefix(string(b), "Return-Path:") || strings.HasPrefix(string(b), "Received:") ||
		strings.HasSuffix(string(b), "end of message\r\n")
}

// kill -9 while 8 clients deliver: every message the server acknowledged
// is there after the restart, and every message there is whole.
func TestKillDuringSMTPDelivery(t *testing.T) {
	data, p := mailServer(t)
	tc := pinned(t, p.fp)
	var mu sync.Mutex
	acked := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				subj := fmt.Sprintf("w%d-%d", w, i)
				if err := sendMail(p, tc, "alice@contoso.example", subj, strings.Repeat("0123456789abcdef0123456789abcdef\r\n", 64)+"end of message"); err != nil {
					select {
					case <-stop:
					default:
						t.Errorf("delivery before the kill: %v", err)
					}
					return
				}
				mu.Lock()
				acked[subj] = true
				mu.Unlock()
			}
		}()
	}
	for deadline := time.Now().Add(time.Minute); ; {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 60 {
			break
		}
		if time.Now().After(deadline) || t.Failed() {
			t.Fatalf("%d deliveries acknowledged", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	p.kill()
	wg.Wait()

	p = runServer(t, data, "127.0.0.1:0")
	in := fetchAll(t, imapLogin(t, p, "alice", "alice-pw"), "INBOX")
	have := map[string]bool{}
	for _, m := range in {
		b := m.BodySection[0].Bytes
		if !wholeMessage(b) || !strings.Contains(string(b), "end of message") {
			t.Fatalf("a message is half there after kill -9: %q", b)
		}
		i := strings.Index(string(b), "Subject: ")
		have[strings.Fields(string(b[i+9:]))[0]] = true
	}
	for subj := range acked {
		if !have[subj] {
			t.Errorf("acknowledged message %s is missing after kill -9", subj)
		}
	}
	t.Logf("%d acknowledged, %d stored", len(acked), len(have))
}

// kill -9 while a client expunges: every expunge the server answered OK is
// done after the restart, and every message left is whole.
func TestKillDuringIMAPExpunge(t *testing.T) {
	data, p := mailServer(t)
	tc := pinned(t, p.fp)
	const n = 120
	for i := range n {
		if err := sendMail(p, tc, "alice@contoso.example", fmt.Sprintf("m%d", i), "end of message"); err != nil {
			t.Fatal(err)
		}
	}
	c := imapLogin(t, p, "alice", "alice-pw")
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.UIDSet{{Start: 1, Stop: n}}, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	var expunged []imap.UID
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u := imap.UID(1); u <= n; u++ {
			if _, err := c.UIDExpunge(imap.UIDSetNum(u)).Collect(); err != nil {
				return
			}
			expunged = append(expunged, u)
		}
	}()
	time.Sleep(50 * time.Millisecond)
	p.kill()
	<-done
	if len(expunged) == n {
		t.Fatal("every expunge finished before the kill")
	}
	p = runServer(t, data, "127.0.0.1:0")
	in := fetchAll(t, imapLogin(t, p, "alice", "alice-pw"), "INBOX")
	for _, u := range expunged {
		if in[u] != nil {
			t.Errorf("UID %d was expunged and is back after kill -9", u)
		}
	}
	for u, m := range in {
		if !strings.Contains(string(m.BodySection[0].Bytes), "end of message") {
			t.Errorf("UID %d is half there: %q", u, m.BodySection[0].Bytes)
		}
	}
	if len(in)+len(expunged) > n {
		t.Fatalf("%d left and %d expunged of %d", len(in), len(expunged), n)
	}
	t.Logf("%d expunged before the kill, %d left", len(expunged), len(in))
}
