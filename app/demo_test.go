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
