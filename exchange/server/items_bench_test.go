package server

import (
	"fmt"
	"testing"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/mail"
)

// BenchmarkImportItems10000 restores a 10,000-message folder (4 KiB
// messages) over the HTTPS API on loopback, in batches of about 4 MiB of
// messages, each one log record with one fsync, into a folder that does
// not exist yet; then the same again, all duplicates. Run it with
//
//	go test -run x -bench ImportItems -benchtime 1x ./exchange/server
func BenchmarkImportItems10000(b *testing.B) {
	const n, batchBytes = 10000, 4 << 20
	msgs := make([]exchange.ImportMessage, n)
	for i := range msgs {
		data := mail.Compose(mail.Draft{From: "sender@contoso.local", To: []string{"alice@contoso.local"}, Subject: fmt.Sprintf("message %d", i),
			Date: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), MessageID: fmt.Sprintf("%d.bench@contoso.local", i), Body: body4K})
		msgs[i] = exchange.ImportMessage{Mailbox: "alice", Folder: "Restored/Inbox", Data: data, Flags: []string{mail.FlagSeen}, Date: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC)}
	}
	var batches [][]exchange.ImportMessage
	for start := 0; start < n; {
		end, size := start, 0
		for end < n && size+len(msgs[end].Data) <= batchBytes {
			size += len(msgs[end].Data)
			end++
		}
		batches = append(batches, msgs[start:end])
		start = end
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := newTestServer(b, "Org", "Site", "EX1", false)
		if err := s.CreateMailbox(bg, exchange.Recipient{Alias: "alice"}); err != nil {
			b.Fatal(err)
		}
		c := benchClient(b, s)
		b.StartTimer()
		run := func(wantImported int) float64 {
			start := time.Now()
			got := 0
			for _, batch := range batches {
				res, err := c.ImportItems(bg, exchange.ImportRequest{Messages: batch})
				if err != nil {
					b.Fatal(err)
				}
				got += res.Imported
			}
			if got != wantImported {
				b.Fatalf("imported %d messages, want %d", got, wantImported)
			}
			return float64(n) / time.Since(start).Seconds()
		}
		b.ReportMetric(run(n), "msgs/s")
		b.ReportMetric(run(0), "dup-msgs/s")
		b.ReportMetric(float64(len(batches)), "batches")
	}
}

// BenchmarkRecoverOffline10000 recovers offline a chain whose incremental
// holds 10,000 messages (4 KiB) put into a mailbox after the full set, and
// then reopens the finished folder and lists its biggest folder, as a
// second browse of the same set does:
//
//	go test -run x -bench RecoverOffline -benchtime 1x ./exchange/server
func BenchmarkRecoverOffline10000(b *testing.B) {
	const n = 10000
	s := newTestServer(b, "Org", "Site", "EX1", false)
	if err := s.CreateMailbox(bg, exchange.Recipient{Alias: "alice"}); err != nil {
		b.Fatal(err)
	}
	full := takeBackup(b, s, exchange.StoreIS, exchange.Normal)
	var batch []exchange.ImportMessage
	for i := range n {
		data := mail.Compose(mail.Draft{From: "sender@contoso.local", To: []string{"alice@contoso.local"}, Subject: fmt.Sprintf("message %d", i),
			MessageID: fmt.Sprintf("%d.bench@contoso.local", i), Body: body4K})
		batch = append(batch, exchange.ImportMessage{Mailbox: "alice", Folder: "Inbox", Data: data})
		if len(batch) == 1000 || i == n-1 {
			if _, err := s.ImportItems(bg, exchange.ImportRequest{Messages: batch}); err != nil {
				b.Fatal(err)
			}
			batch = nil
		}
	}
	inc := takeBackup(b, s, exchange.StoreIS, exchange.Incremental)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir, envs := stageChain(b, full, inc)
		b.StartTimer()
		start := time.Now()
		o, err := RecoverOffline(dir, envs)
		if err != nil {
			b.Fatal(err)
		}
		recovered := time.Since(start)
		o.Close()
		start = time.Now()
		o, err = ReopenOffline(dir)
		if err != nil {
			b.Fatal(err)
		}
		msgs, err := o.Messages("alice", "Inbox")
		if err != nil || len(msgs) != n {
			b.Fatalf("%d messages, %v", len(msgs), err)
		}
		reopened := time.Since(start)
		o.Close()
		b.ReportMetric(recovered.Seconds(), "recover-s")
		b.ReportMetric(reopened.Seconds(), "reopen+list-s")
	}
}
