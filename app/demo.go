package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	addrs  []string // where each of srvs serves
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
		srv, url, err := serveDemo(ctx, dctx, d, data, i, log.With("server", s.name))
		if err != nil {
			d.stop()
			return nil, fmt.Errorf("demo server %s: %w", s.name, err)
		}
		if i == 0 {
			first.addr = strings.TrimPrefix(url, "https://")
			first.fp = srv.Fingerprint()
			first.key = srv.Config().Key
		}
		d.srvs = append(d.srvs, srv)
		d.addrs = append(d.addrs, strings.TrimPrefix(url, "https://"))
	}
	// A server that had to move to another port told only the servers
	// started before it; the others still hold its old address.
	d.introduce(ctx)
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
	if err := d.givePasswords(ctx); err != nil {
		d.stop()
		return nil, fmt.Errorf("demo mailboxes: %w", err)
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

// demoPort is where the first demo server listens on its first run; the
// others take the ports after it. Each keeps the address it served on
// (server.json "listen"), so the organization knows every server where it
// was the last time.
const demoPort = 7401

// serveDemo opens a demo server and serves it on the address it used
// before, or on its own loopback port the first time. When that port is
// taken by another program, it moves to a free one and keeps that.
func serveDemo(ctx, dctx context.Context, d *demo, data string, i int, log *slog.Logger) (*server.Server, string, error) {
	var lastErr error
	for attempt := 0; attempt < 4; attempt++ {
		srv, err := server.Open(data, log)
		if err != nil {
			return nil, "", err
		}
		// Each command of the console starts the demo anew: a restore
		// staged by one (without Start Service) waits for the next set
		// or a Start Service, as on a server that keeps running.
		srv.KeepStagedRestores()
		addr := srv.Config().Listen
		if addr == "" {
			addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(demoPort+i))
		}
		if attempt > 0 || !portFree(addr) {
			if addr, err = freeLoopbackAddr(); err != nil {
				srv.Close()
				return nil, "", err
			}
		}
		ready := make(chan string, 1)
		errc := make(chan error, 1)
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			errc <- srv.Serve(dctx, addr, func(_, url, _ string) { ready <- url })
		}()
		select {
		case url := <-ready:
			return srv, url, nil
		case err := <-errc:
			// Another program took the port between the look and the
			// listen: Serve closed the server; open it again elsewhere.
			lastErr = err
		case <-ctx.Done():
			return nil, "", ctx.Err()
		}
	}
	return nil, "", lastErr
}

func portFree(addr string) bool {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// introduce tells every demo server where the others serve now, so that
// none keeps an address a server no longer listens on.
func (d *demo) introduce(ctx context.Context) {
	infos := make([]exchange.ServerInfo, len(d.srvs))
	for i, srv := range d.srvs {
		infos[i] = exchange.ServerInfo{Name: srv.Config().Name, Site: srv.Config().Site, Address: d.addrs[i], Fingerprint: srv.Fingerprint()}
	}
	for _, srv := range d.srvs {
		topo, err := srv.Topology(ctx)
		if err != nil {
			continue
		}
		for _, in := range infos {
			if in.Name == srv.Config().Name {
				continue
			}
			if known, ok := topo.Find(in.Name); ok && known.Address == in.Address {
				continue
			}
			srv.UpdateServer(ctx, in)
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
