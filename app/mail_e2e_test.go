package app_test

import (
	"crypto/tls"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// imapView is what an IMAP client sees of a mailbox: every folder with its
// UIDVALIDITY, every message with UID, flags and bytes.
func imapView(t *testing.T, s *server, user, pw string) string {
	t.Helper()
	c, err := imapclient.DialTLS(s.imap, &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, pw).Wait(); err != nil {
		t.Fatal(err)
	}
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range list {
		if !slices.Contains(l.Attrs, imap.MailboxAttrNoSelect) { // Public Folders itself
			names = append(names, l.Mailbox)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		d, err := c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s validity=%d next=%d\n", name, d.UIDValidity, d.UIDNext)
		if d.NumMessages == 0 {
			continue
		}
		msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			fmt.Fprintf(&b, "  %d %v %q\n", m.UID, m.Flags, m.BodySection[0].Bytes)
		}
	}
	return b.String()
}

var validityRE = regexp.MustCompile(` validity=\d+`)

// Mail that came over SMTP and was changed over IMAP is backed up and
// restored by the console: rolled forward the IMAP view is the live one,
// with Erase it is the one at backup time (with new UIDVALIDITY values,
// since clients saw UIDs the restore took back).
func TestMailBackupAndRestoreOverIMAP(t *testing.T) {
	o := newOrg(t, "EXCH01/Redmond")
	s := o.servers["EXCH01"]
	o.exs("mailbox", "--data", s.data, "--alias", "alice", "--password", "alice-pw")
	for i := range 8 {
		c, err := smtp.DialStartTLS(s.smtp, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		msg := fmt.Sprintf("From: carol@fabrikam.com\r\nSubject: note %d\r\n\r\nbody %d\r\n", i, i)
		if err := c.SendMail("carol@fabrikam.com", []string{"alice@first-organization.local"}, strings.NewReader(msg)); err != nil {
			t.Fatal(err)
		}
		c.Quit()
	}
	c, err := imapclient.DialTLS(s.imap, &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice", "alice-pw").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.UIDSetNum(1, 2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	o.ok("backup", "IS", `\\EXCH01`, "/tape:"+tapeName)
	atBackup := imapView(t, s, "alice", "alice-pw")

	if err := c.Create("Kept", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Move(imap.UIDSetNum(3), "Kept").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.UIDSetNum(4, 5, 6), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expunge().Collect(); err != nil {
		t.Fatal(err)
	}
	c.Logout().Wait()
	live := imapView(t, s, "alice", "alice-pw")
	if live == atBackup {
		t.Fatal("the changes over IMAP changed nothing")
	}

	o.ok("restore", "--tape", tapeName, "--set", "1", "--start")
	if got := imapView(t, s, "alice", "alice-pw"); got != live {
		t.Fatalf("restore with roll-forward:\n%s\nwant the live view:\n%s", got, live)
	}
	o.ok("restore", "--tape", tapeName, "--set", "1", "--erase", "--start")
	got := imapView(t, s, "alice", "alice-pw")
	if validityRE.ReplaceAllString(got, "") != validityRE.ReplaceAllString(atBackup, "") {
		t.Fatalf("restore with Erase:\n%s\nwant the view at backup time:\n%s", got, atBackup)
	}
	if got == atBackup {
		t.Fatal("an Erase restore kept the folders' UIDVALIDITY")
	}
}
