package app

import (
	"context"
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
	// A second run keeps the same servers.
	if d, err = startDemo(ctx, eng, false); err != nil {
		t.Fatal(err)
	}
	d.stop()
	cfg := filepath.Join(eng.Home(), "demo", "EXCH02", "server.json")
	os.WriteFile(cfg, []byte("{damaged"), 0o600)
	if _, err := startDemo(ctx, eng, false); err == nil || !strings.Contains(err.Error(), "server.json") {
		t.Fatalf("a damaged demo server: %v", err)
	}
	if after, err := os.Stat(priv); err != nil || after.Size() < before.Size() {
		t.Fatalf("the damaged demo server's store was removed: %v", err)
	}
}
