package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"exbackup/exchange"
)

var words = strings.Fields(`the quarterly report budget meeting agenda please review attached draft
schedule project server migration backup restore site directory information store mailbox public
folder thanks regards tomorrow morning afternoon update status customer order invoice shipment`)

// body makes readable text of exactly n bytes.
func body(n int, seed int) string {
	var b strings.Builder
	b.Grow(n + 16)
	for i := seed; b.Len() < n; i++ {
		b.WriteString(words[(i*7+seed)%len(words)])
		if i%12 == 11 {
			b.WriteString(".\n")
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()[:n]
}

func cmdLoad(args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	var t target
	t.flags(fs)
	mailboxes := fs.Int("mailboxes", 10, "mailboxes to deliver to (created as user0001… when missing)")
	messages := fs.Int("messages", 100, "messages to deliver in all, spread over the mailboxes")
	size := fs.Int("size", 4096, "body size of each message in bytes")
	public := fs.Int("public", 0, "posts to make in public folders")
	senders := fs.Int("senders", 16, "concurrent senders")
	printAcks := fs.Bool("print-acks", false, "print a line for each message the server acknowledged")
	via := fs.String("via", "smtp", "how messages are delivered: smtp (as mail clients do) or api (the HTTPS API's Deliver)")
	smtpAddr := fs.String("smtp", "", "HOST:PORT of the server's SMTP (default: from --data's run.json)")
	domain := fs.String("domain", "", "the organization's mail domain (default: from --data's run.json)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *via != "smtp" && *via != "api" {
		return fmt.Errorf("--via is smtp or api, not %q", *via)
	}
	if *mailboxes < 1 || *messages < 0 || *size < 0 || *public < 0 || *senders < 1 {
		return errors.New("--mailboxes and --senders must be at least 1; counts and sizes not negative")
	}
	ctx := context.Background()
	c, err := t.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	if rs, err := c.Recipients(ctx); err == nil {
		for _, r := range rs {
			have[r.Alias] = true
		}
	}
	for i := 1; i <= *mailboxes; i++ {
		alias := fmt.Sprintf("user%04d", i)
		if have[alias] {
			continue
		}
		if err := c.CreateMailbox(ctx, exchange.Recipient{Alias: alias, DisplayName: fmt.Sprintf("Test User %d", i), HomeServer: st.Name}); err != nil {
			return fmt.Errorf("creating mailbox %s: %w", alias, err)
		}
	}
	var sm *smtpSender
	if *via == "smtp" && *messages > 0 {
		if sm, err = t.smtpSender(*smtpAddr, *domain); err != nil {
			return err
		}
	}
	var run [4]byte
	rand.Read(run[:])
	runID := hex.EncodeToString(run[:])

	var next, done, posts atomic.Int64
	var out sync.Mutex
	var firstErr error
	var once sync.Once
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < *senders; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var conn *smtpConn
			defer func() {
				if conn != nil {
					conn.close()
				}
			}()
			for {
				n := next.Add(1)
				if n > int64(*messages+*public) {
					return
				}
				var err error
				var what string
				if n <= int64(*messages) {
					alias := fmt.Sprintf("user%04d", (n-1)%int64(*mailboxes)+1)
					what = fmt.Sprintf("%s load %s #%d", alias, runID, n)
					m := exchange.Message{Mailbox: alias, From: "loadgen@" + st.Name,
						To: []string{alias}, Subject: fmt.Sprintf("load %s #%d", runID, n), Body: body(*size, int(n)), Date: time.Now().UTC()}
					if sm != nil {
						conn, err = sm.send(conn, m)
					} else {
						err = c.Deliver(ctx, m)
					}
					if err == nil {
						done.Add(1)
					}
				} else {
					k := n - int64(*messages)
					what = fmt.Sprintf("public load %s #%d", runID, k)
					err = c.Post(ctx, exchange.Post{Folder: fmt.Sprintf("General/Topic %d", k%5+1), From: "loadgen@" + st.Name,
						Subject: fmt.Sprintf("load %s #%d", runID, k), Body: body(*size, int(k))})
					if err == nil {
						posts.Add(1)
					}
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					next.Store(int64(*messages + *public))
					return
				}
				if *printAcks {
					out.Lock()
					fmt.Println("ack", what)
					out.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	total := done.Load() + posts.Load()
	fmt.Fprintf(os.Stdout, "delivered %d messages and %d posts of %d bytes to %s in %.2f s: %.0f per second (mail over %s)\n",
		done.Load(), posts.Load(), *size, st.Name, el, float64(total)/max(el, 1e-9), *via)
	return firstErr
}
