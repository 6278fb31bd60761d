package server

import (
	"crypto/tls"
	"slices"
	"testing"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/mail"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// An IMAP client idling in a folder sees messages an item-level restore
// puts there, with their bytes, flags and internal dates.
func TestImportItemsSeenByAnIMAPClient(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	if err := s.CreateMailbox(bg, exchange.Recipient{Alias: "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDomains([]string{"org.local"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(bg, "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	api := serveTestAPI(t, s)
	ri, _ := s.Running()
	exists := make(chan uint32, 16)
	c, err := imapclient.DialTLS(ri.IMAP, &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}, // the test's own server
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				exists <- *d.NumMessages
			}
		}}})
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
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC)
	data := mailWithAttachment("restored", "report.pdf")
	res, err := dialTestAPI(t, s, api).ImportItems(bg, exchange.ImportRequest{Messages: []exchange.ImportMessage{
		{Mailbox: "alice", Folder: "Inbox", Data: data, Flags: []string{mail.FlagSeen, mail.FlagFlagged}, Date: date}}})
	if err != nil || res.Imported != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	select {
	case n := <-exists:
		if n != 1 {
			t.Fatalf("EXISTS %d", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the idling client was not told of the restored message")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("%d messages, %v", len(msgs), err)
	}
	m := msgs[0]
	if string(m.FindBodySection(section)) != string(data) {
		t.Fatal("the restored bytes differ")
	}
	if !m.InternalDate.Equal(date) || !slices.Contains(m.Flags, imap.FlagSeen) || !slices.Contains(m.Flags, imap.FlagFlagged) {
		t.Fatalf("flags %v, internal date %v", m.Flags, m.InternalDate)
	}
}
