package app

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"exbackup/engine"

	bolt "go.etcd.io/bbolt"
)

// The demo organization is made once, kept across runs, and a damaged
// server of it is reported, never wiped and made anew.
func TestDemoKeptAndNeverWiped(t *testing.T) {
	eng, err := engine.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ctx := context.Background()
	d, err := startDemo(ctx, eng, false)
	if err != nil {
		t.Fatal(err)
	}
	org, err := eng.Organization(ctx)
	d.stop()
	if err != nil || len(org.Topology.Sites) != 2 || len(org.Status) != 3 || !org.Demo {
		t.Fatalf("demo organization: %+v %v", org, err)
	}
	priv := filepath.Join(eng.Home(), "demo", "EXCH02", "mdbdata", "priv.edb")
	before, err := os.Stat(priv)
	if err != nil {
		t.Fatal(err)
	}
	// A second run keeps the same servers, and every one of them answers.
	if d, err = startDemo(ctx, eng, false); err != nil {
		t.Fatal(err)
	}
	org, err = eng.Organization(ctx)
	d.stop()
	if err != nil || len(org.Status) != 3 || len(org.Unreachable) != 0 {
		t.Fatalf("demo organization on its second run: %+v %v", org, err)
	}
	cfg := filepath.Join(eng.Home(), "demo", "EXCH02", "server.json")
	os.WriteFile(cfg, []byte("{damaged"), 0o600)
	if _, err := startDemo(ctx, eng, false); err == nil || !strings.Contains(err.Error(), "server.json") {
		t.Fatalf("a damaged demo server: %v", err)
	}
	if after, err := os.Stat(priv); err != nil || after.Size() < before.Size() {
		t.Fatalf("the damaged demo server's store was removed: %v", err)
	}
}

// A demo server whose port another program took on the next start moves to
// a free port, keeps it, and the organization follows it: every server
// answers, and the console's settings hold the new address.
func TestDemoServerMovesWhenItsPortIsTaken(t *testing.T) {
	eng, err := engine.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ctx := context.Background()
	d, err := startDemo(ctx, eng, false)
	if err != nil {
		t.Fatal(err)
	}
	d.stop()
	old := listenOf(t, eng.Home(), "EXCH02")
	if old == "" {
		t.Fatal("EXCH02 did not keep the address it served on")
	}
	ln, err := net.Listen("tcp", old)
	if err != nil {
		t.Fatalf("taking EXCH02's port %s: %v", old, err)
	}
	defer ln.Close()
	if d, err = startDemo(ctx, eng, false); err != nil {
		t.Fatal(err)
	}
	org, err := eng.Organization(ctx)
	d.stop()
	if err != nil || len(org.Status) != 3 || len(org.Unreachable) != 0 {
		t.Fatalf("demo organization after EXCH02 moved: %+v %v", org, err)
	}
	moved := listenOf(t, eng.Home(), "EXCH02")
	if moved == old || moved == "" {
		t.Fatalf("EXCH02 serves on %q, was %q", moved, old)
	}
	if got := eng.Settings().Servers["EXCH02"].Address; got != moved {
		t.Errorf("the console knows EXCH02 at %q, it serves on %q", got, moved)
	}
}

func listenOf(t *testing.T, home, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(home, "demo", name, "server.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct{ Listen string }
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.Listen
}

// A demo made before mailboxes had passwords gets DemoPassword on every
// mailbox without one when it starts; a password someone set is kept.
func TestDemoGivesPasswordlessMailboxesTheDemoPassword(t *testing.T) {
	eng, err := engine.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ctx := context.Background()
	d, err := startDemo(ctx, eng, false)
	if err != nil {
		t.Fatal(err)
	}
	srv := d.srvs[0]
	rs, err := srv.Recipients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var mine []string
	for _, r := range rs {
		if r.HomeServer == srv.Config().Name {
			mine = append(mine, r.Alias)
		}
	}
	if len(mine) < 2 {
		t.Fatalf("mailboxes of %s: %v", srv.Config().Name, mine)
	}
	if err := srv.SetPassword(ctx, mine[0], "own-pw"); err != nil {
		t.Fatal(err)
	}
	d.stop()
	// As before passwords: the Directory of EXCH01 holds only the one set
	// by hand.
	dir := filepath.Join(eng.Home(), "demo", "EXCH01", "dsadata", "dir.edb")
	db, err := bolt.Open(dir, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		p := tx.Bucket([]byte("passwords"))
		for _, a := range mine[1:] {
			if err := p.Delete([]byte(a)); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if d, err = startDemo(ctx, eng, false); err != nil {
		t.Fatal(err)
	}
	defer d.stop()
	be := d.srvs[0].Mail()
	for _, a := range mine[1:] {
		if _, err := be.Authenticate(ctx, a, DemoPassword); err != nil {
			t.Errorf("%s with the demo password: %v", a, err)
		}
	}
	if _, err := be.Authenticate(ctx, mine[0], "own-pw"); err != nil {
		t.Errorf("%s with its own password: %v", mine[0], err)
	}
	if _, err := be.Authenticate(ctx, mine[0], DemoPassword); err == nil {
		t.Errorf("%s lost its own password to the demo's", mine[0])
	}
}
