package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"exbackup/engine"
	"exbackup/exchange"
	"exbackup/exchange/server"
)

// The built-in demo organization: three real servers on loopback, run in
// this process, with their data under $EXBACKUP_HOME/demo.
var demoServers = []struct{ name, site string }{
	{"EXCH01", "Redmond"},
	{"EXCH02", "Redmond"},
	{"EXCH03", "Dublin"},
}

const demoOrg = "First Organization"

var demoPeople = []string{
	"Administrator", "Alice Johnson", "Bob Miller", "Carol Smith", "David Brown", "Eve Davis",
	"Frank Wilson", "Grace Moore", "Henry Taylor", "Irene Anderson", "Jack Thomas", "Karen Jackson",
}

var demoSubjects = []string{
	"Quarterly budget review", "Server migration schedule", "Lunch on Friday?", "Re: Backup window",
	"Updated org chart", "Customer visit next week", "Meeting notes", "Holiday rota", "Invoice 4711",
	"Re: Directory replication", "Welcome to the team", "Status report",
}

// demo runs the demo organization until stopped.
type demo struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	srvs   []*server.Server
}

// startDemo starts the demo servers (creating them on first run), waits until
// they serve, and connects the engine to EXCH01. With traffic, a little mail
// keeps flowing so that backups are truly online.
func startDemo(ctx context.Context, eng *engine.Engine, traffic bool) (*demo, error) {
	dir := filepath.Join(eng.Home(), "demo")
	logf, err := os.OpenFile(filepath.Join(eng.Home(), "demo.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(logf, nil))
	dctx, cancel := context.WithCancel(context.Background())
	d := &demo{cancel: cancel}
	var first struct{ addr, fp, key string }
	fresh := false
	for i, s := range demoServers {
		data := filepath.Join(dir, s.name)
		if _, err := os.Stat(filepath.Join(data, "server.json")); errors.Is(err, os.ErrNotExist) {
			fresh = true
			o := server.InitOptions{Dir: data, Organization: demoOrg, Site: s.site, Name: s.name}
			if i > 0 {
				o.Organization, o.Key, o.Join, o.JoinFingerprint = "", first.key, first.addr, first.fp
			}
			// Without server.json nothing was stored yet (init writes it
			// before any database): what is there is a half-made server
			// from an interrupted first run. A damaged server.json is not
			// this case: Open reports it and nothing is removed.
			os.RemoveAll(data)
			if _, err := server.Init(ctx, o); err != nil {
				d.stop()
				return nil, fmt.Errorf("creating demo server %s: %w", s.name, err)
			}
		}
		srv, err := server.Open(data, log.With("server", s.name))
		if err != nil {
			d.stop()
			return nil, err
		}
		ready := make(chan string, 1)
		errc := make(chan error, 1)
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			errc <- srv.Serve(dctx, "127.0.0.1:0", func(_, url, _ string) { ready <- url })
		}()
		select {
		case url := <-ready:
			if i == 0 {
				first.addr = url[len("https://"):]
				first.fp = srv.Fingerprint()
				first.key = srv.Config().Key
			}
		case err := <-errc:
			d.stop()
			return nil, fmt.Errorf("demo server %s: %w", s.name, err)
		case <-ctx.Done():
			d.stop()
			return nil, ctx.Err()
		}
		d.srvs = append(d.srvs, srv)
	}
	if err := eng.ConnectDemo(ctx, first.addr, first.key, first.fp); err != nil {
		d.stop()
		return nil, fmt.Errorf("connecting to the demo organization: %w", err)
	}
	if fresh {
		if err := d.populate(ctx); err != nil {
			d.stop()
			return nil, fmt.Errorf("filling the demo organization: %w", err)
		}
	}
	if traffic {
		d.wg.Add(1)
		go d.traffic(dctx)
	}
	return d, nil
}

// populate gives each server mailboxes with mail and public folders.
func (d *demo) populate(ctx context.Context) error {
	for si, srv := range d.srvs {
		name := srv.Config().Name
		for pi, person := range demoPeople {
			if pi%len(d.srvs) != si && pi != 0 {
				continue
			}
			alias := aliasOf(person, name)
			if err := srv.CreateMailbox(ctx, exchange.Recipient{Alias: alias, DisplayName: person, HomeServer: name}); err != nil {
				return err
			}
			if err := srv.SetPassword(ctx, alias, DemoPassword); err != nil {
				return err
			}
			for k := 0; k < 12; k++ {
				if err := srv.Deliver(ctx, demoMessage(alias, k+pi)); err != nil {
					return err
				}
			}
		}
		for k := 0; k < 8; k++ {
			folder := []string{"General", "Announcements", "IT/Change Log"}[k%3]
			p := exchange.Post{Folder: folder, From: demoPeople[k%len(demoPeople)], Subject: demoSubjects[(k+si)%len(demoSubjects)],
				Body: "Posted to " + folder + " on " + name + ".\n"}
			if err := srv.Post(ctx, p); err != nil {
				return err
			}
		}
	}
	return nil
}

func aliasOf(person, server string) string {
	a := []rune{}
	for _, r := range person {
		if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' {
			a = append(a, r|0x20)
		}
	}
	if person == "Administrator" {
		return "admin-" + server
	}
	return string(a)
}

func demoMessage(alias string, k int) exchange.Message {
	subj := demoSubjects[k%len(demoSubjects)]
	from := demoPeople[(k*5+1)%len(demoPeople)]
	folder := "Inbox"
	if k%5 == 4 {
		folder = "Sent Items"
	}
	body := fmt.Sprintf("Hello,\n\nA note about %q.\n\nPlease have a look before the end of the week and let me know what you think.\n\nRegards,\n%s\n", subj, from)
	m := exchange.Message{Mailbox: alias, Folder: folder, From: from, To: []string{alias}, Subject: subj, Body: body}
	if k%4 == 0 {
		m.Attachments = []exchange.Attachment{{Name: "notes.txt", Data: []byte(body)}}
	}
	return m
}

// traffic delivers a message somewhere every second or two.
func (d *demo) traffic(ctx context.Context) {
	defer d.wg.Done()
	for k := 0; ; k++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(1000+rand.IntN(1500)) * time.Millisecond):
		}
		srv := d.srvs[rand.IntN(len(d.srvs))]
		rs, err := srv.Recipients(ctx)
		if err != nil || len(rs) == 0 {
			continue
		}
		var local []exchange.Recipient
		for _, r := range rs {
			if r.HomeServer == srv.Config().Name {
				local = append(local, r)
			}
		}
		if len(local) == 0 {
			continue
		}
		m := demoMessage(local[rand.IntN(len(local))].Alias, k)
		m.Date = time.Now().UTC()
		err = demoSMTP(srv, m)
		if err != nil && !errors.Is(err, exchange.ErrNotRunning) {
			continue
		}
	}
}

func (d *demo) stop() {
	if d == nil {
		return
	}
	d.cancel()
	d.wg.Wait()
}
