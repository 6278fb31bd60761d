package server

import (
	"crypto/tls"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

	"exbackup/exchange"
	"exbackup/exchange/client"
	"exbackup/exchange/mail"
)

// Mail benchmarks against the real store:
//
//	go test -run x -bench 'SMTP|IMAP' -benchtime 1x ./exchange/server

func mailMessage(w, i, size int) []byte {
	return fmt.Appendf(nil, "From: bench@example.net\r\nTo: user%02d@org.local\r\nSubject: bench %d-%d\r\n\r\n%s\r\n",
		w, w, i, strings.Repeat(strings.Repeat("x", 62)+"\r\n", size/64))
}

// smtpMany delivers n messages of size bytes from benchSenders SMTP
// clients, one connection each, and returns messages per second.
func smtpMany(b *testing.B, addr string, n, size int, acked *atomic.Int64, stop chan struct{}) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < benchSenders; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c, err := smtp.DialStartTLS(addr, &tls.Config{InsecureSkipVerify: true})
			if err != nil {
				b.Error(err)
				return
			}
			defer c.Close()
			for i := 0; stop != nil || next.Add(1) <= int64(n); i++ {
				if stop != nil {
					select {
					case <-stop:
						return
					default:
					}
				}
				if err := c.SendMail("bench@example.net", []string{fmt.Sprintf("user%02d@org.local", w)}, strings.NewReader(string(mailMessage(w, i, size)))); err != nil {
					b.Error(err)
					return
				}
				if acked != nil {
					acked.Add(1)
				}
			}
		}(w)
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}

// apiMany does the same through the HTTPS API's Deliver, the path load
// took before SMTP.
func apiMany(b *testing.B, c *client.Client, n, size int) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	body := strings.Repeat(strings.Repeat("x", 63)+"\n", size/64)
	for w := 0; w < benchSenders; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := c.Deliver(bg, exchange.Message{Mailbox: fmt.Sprintf("user%02d", w), Subject: "bench", Body: body}); err != nil {
					b.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}

func mailBenchServer(b *testing.B) (*Server, *client.Client, RunInfo) {
	s := benchServer(b)
	if err := s.SetDomains([]string{"org.local"}); err != nil {
		b.Fatal(err)
	}
	c := benchClient(b, s)
	ri, _ := s.Running()
	return s, c, ri
}

// BenchmarkSMTPDeliver: 16 SMTP clients with STARTTLS into the real store,
// against the HTTPS API's Deliver, for 4 KiB and 100 KiB messages.
func BenchmarkSMTPDeliver(b *testing.B) {
	for _, size := range []int{4 << 10, 100 << 10} {
		n := 2000
		if size > 4<<10 {
			n = 400
		}
		b.Run(fmt.Sprintf("SMTP-%dKiB", size>>10), func(b *testing.B) {
			_, _, ri := mailBenchServer(b)
			var rate float64
			for i := 0; i < b.N; i++ {
				rate = smtpMany(b, ri.SMTP, n, size, nil, nil)
			}
			b.ReportMetric(rate, "msgs/s")
		})
		b.Run(fmt.Sprintf("API-%dKiB", size>>10), func(b *testing.B) {
			_, c, _ := mailBenchServer(b)
			var rate float64
			for i := 0; i < b.N; i++ {
				rate = apiMany(b, c, n, size)
			}
			b.ReportMetric(rate, "msgs/s")
		})
	}
}

// BenchmarkSMTPDuringBackup is BenchmarkDeliverDuringBackup with the mail
// arriving over SMTP from 16 clients: the rate inside Normal backups of a
// ~256 MiB Information Store streamed to a client over HTTPS, against the
// rate in equally long idle windows between them.
func BenchmarkSMTPDuringBackup(b *testing.B) {
	s, c, ri := mailBenchServer(b)
	fill(b, s, 32000, func(i int) (string, []byte) { // ~256 MiB in priv.edb
		return fmt.Sprintf("user%02d", i%benchSenders), mailMessage(i%benchSenders, i, 4<<10)
	})
	var acked atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { smtpMany(b, ri.SMTP, 0, 4<<10, &acked, stop); close(done) }()
	backupWindows(b, c, &acked, b.N*5)
	close(stop)
	<-done
}

// backupWindows runs rounds Normal backups of the IS through c, each
// followed by an idle window as long as it took, and reports the rate of
// acknowledgements counted by acked inside both kinds of window. A first
// backup, not counted, truncates the logs of the store's filling, so that
// each counted one deletes only what the windows before it logged.
func backupWindows(b *testing.B, c *client.Client, acked *atomic.Int64, rounds int) {
	buf := make([]byte, 1<<20)
	backup := func() int64 {
		info, err := c.BackupPrepare(bg, exchange.StoreIS, exchange.Normal)
		if err != nil {
			b.Fatal(err)
		}
		err = inBackground(func() error {
			for _, f := range info.Files {
				rc, err := c.BackupRead(bg, info.Session, f.Name)
				if err != nil {
					return err
				}
				_, err = io.CopyBuffer(struct{ io.Writer }{io.Discard}, rc, buf)
				rc.Close()
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.BackupEnd(bg, info.Session, true); err != nil {
			b.Fatal(err)
		}
		var size int64
		for _, f := range info.Files {
			size += f.Size
		}
		return size
	}
	backup()
	var idleN, busyN, size int64
	var idleT, busyT time.Duration
	for range rounds {
		t0, n0 := time.Now(), acked.Load()
		size = backup()
		window := time.Since(t0)
		busyN, busyT = busyN+acked.Load()-n0, busyT+window
		t1, n1 := time.Now(), acked.Load()
		time.Sleep(window)
		idleN, idleT = idleN+acked.Load()-n1, idleT+time.Since(t1)
	}
	idle, busy := float64(idleN)/idleT.Seconds(), float64(busyN)/busyT.Seconds()
	b.ReportMetric(idle, "idle-msgs/s")
	b.ReportMetric(busy, "during-backup-msgs/s")
	b.ReportMetric(100*busy/idle, "%-of-idle")
	b.ReportMetric(busyT.Seconds()/float64(rounds), "backup-s")
	b.ReportMetric(float64(size)/(1<<20), "backup-MiB")
}

// BenchmarkIMAPFetch10000 fetches a folder of 10,000 messages as a client
// drawing it does (UID, FLAGS, ENVELOPE, size), over IMAP on TLS.
func BenchmarkIMAPFetch10000(b *testing.B) {
	s, _, ri := mailBenchServer(b)
	if err := s.SetPassword(bg, "user00", "pw"); err != nil {
		b.Fatal(err)
	}
	fill(b, s, 10000, func(i int) (string, []byte) { return "user00", mailMessage(0, i, 2<<10) })
	c, err := imapclient.DialTLS(ri.IMAP, &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("user00", "pw").Wait(); err != nil {
		b.Fatal(err)
	}
	var rate float64
	for i := 0; i < b.N; i++ {
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true, Envelope: true, RFC822Size: true}).Collect()
		if err != nil || len(msgs) != 10000 {
			b.Fatalf("%d messages, %v", len(msgs), err)
		}
		rate = 10000 / time.Since(start).Seconds()
	}
	b.ReportMetric(rate, "msgs/s")
}

// fill delivers n messages through the Backend from benchSenders
// goroutines, so that they share fsyncs.
func fill(b *testing.B, s *Server, n int, msg func(i int) (string, []byte)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range benchSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)); i <= n; i = int(next.Add(1)) {
				box, data := msg(i)
				meta, _ := mail.Parse(data)
				if err := s.Mail().Deliver(bg, mail.Delivery{Mailboxes: []string{box}, Data: data, Meta: meta, ReceivedAt: time.Now()}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
