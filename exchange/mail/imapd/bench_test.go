package imapd

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"exbackup/exchange/mail"
)

// BenchmarkFetch10k: one client fetches a folder of 10,000 messages of
// about 4 KiB, headers and flags only (what a client shows in a list) and
// whole (BODY.PEEK[], what a client caches for offline use).
//
//	go test -run '^$' -bench Fetch -benchtime 5x ./exchange/mail/imapd/
func BenchmarkFetch10k(b *testing.B) {
	const n = 10000
	f := start(b)
	body := "From: Carol <carol@elsewhere.net>\r\nTo: alice@example.org\r\nSubject: figures\r\nMessage-ID: <b@x>\r\n\r\n" +
		strings.Repeat(strings.Repeat("z", 76)+"\r\n", 52)
	for i := range n {
		if _, _, err := f.be.Append(context.Background(), "alice", mail.Inbox, []byte(body), nil, time.Unix(int64(i), 0)); err != nil {
			b.Fatal(err)
		}
	}
	c := f.login(b, nil)
	mustSelect(b, c, "INBOX")
	for _, tc := range []struct {
		name string
		opts *imap.FetchOptions
	}{
		{"list", &imap.FetchOptions{UID: true, Flags: true, RFC822Size: true, InternalDate: true, Envelope: true}},
		{"whole", &imap.FetchOptions{UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(n * len(body)))
			begin := time.Now()
			for range b.N {
				cmd := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, tc.opts)
				got := 0
				for m := cmd.Next(); m != nil; m = cmd.Next() {
					if _, err := m.Collect(); err != nil {
						b.Fatal(err)
					}
					got++
				}
				if err := cmd.Close(); err != nil {
					b.Fatal(err)
				}
				if got != n {
					b.Fatalf("fetched %d of %d", got, n)
				}
			}
			b.ReportMetric(float64(n*b.N)/time.Since(begin).Seconds(), "msgs/s")
		})
	}
}
