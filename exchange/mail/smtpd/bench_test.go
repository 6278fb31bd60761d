package smtpd

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// BenchmarkDeliver: 16 clients on their own STARTTLS connections deliver
// messages of 4 KiB and 100 KiB as fast as the server acknowledges them.
//
//	go test -run '^$' -bench Deliver -benchtime 2000x ./exchange/mail/smtpd/
func BenchmarkDeliver(b *testing.B) {
	for _, size := range []int{4 << 10, 100 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			f := start(b, Config{MaxMessageBytes: 1 << 20})
			body := message(size)
			const clients = 16
			conns := make([]*smtp.Client, clients)
			for i := range conns {
				conns[i] = f.dial(b)
			}
			b.SetBytes(int64(len(body)))
			b.ResetTimer()
			begin := time.Now()
			var wg sync.WaitGroup
			errs := make(chan error, clients)
			for i, c := range conns {
				n := b.N / clients
				if i < b.N%clients {
					n++
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range n {
						if err := deliverOne(c, body); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(begin)
			b.StopTimer()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			if got := f.srv.Stats().Delivered; got != int64(b.N) {
				b.Fatalf("%d delivered of %d", got, b.N)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
		})
	}
}

func deliverOne(c *smtp.Client, body []byte) error {
	if err := c.Mail("carol@elsewhere.net", nil); err != nil {
		return err
	}
	if err := c.Rcpt("alice@example.org", nil); err != nil {
		return err
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

// message is a plausible mail of about size bytes: a header and base64-like
// lines.
func message(size int) []byte {
	var b bytes.Buffer
	b.WriteString("From: Carol <carol@elsewhere.net>\r\nTo: alice@example.org\r\nSubject: figures\r\nMessage-ID: <bench@elsewhere.net>\r\n\r\n")
	line := bytes.Repeat([]byte("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx"), 1)
	for b.Len() < size {
		b.Write(line[:min(len(line), 76)])
		b.WriteString("\r\n")
	}
	return b.Bytes()
}
