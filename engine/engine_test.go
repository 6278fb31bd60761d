package engine

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"exbackup/catalog"
	"exbackup/exchange"
	"exbackup/tape"
)

var isEX1 = []StoreRef{{Server: "EX1", Store: exchange.StoreIS}}

func TestBackupRequestChecks(t *testing.T) {
	e, _ := newEnv(t)
	for _, c := range []struct {
		req  BackupRequest
		want string
	}{
		{BackupRequest{}, "nothing to back up"},
		{BackupRequest{Stores: isEX1, HardwareCompression: true}, "hardware compression"},
		{BackupRequest{Stores: isEX1, Type: "weekly"}, "unknown backup type"},
		{BackupRequest{Stores: append(isEX1, isEX1...)}, "selected twice"},
		{BackupRequest{Stores: []StoreRef{{Server: "NOPE", Store: exchange.StoreIS}}}, "NOPE"},
	} {
		if _, err := e.Backup(bg, c.req, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.req, err, c.want)
		}
	}
}

func TestRestrictedTapeRefusedToOthers(t *testing.T) {
	e, _ := newEnv(t)
	res, err := e.Backup(bg, BackupRequest{Stores: isEX1, TapeName: "Secret", Restrict: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.owner = "mallory@elsewhere"
	e.admin = func() bool { return false }
	if _, err := e.Verify(bg, VerifyRequest{Tape: res.Tape}, nil); err == nil || !strings.Contains(err.Error(), "restricted") {
		t.Fatalf("verify by another user: %v", err)
	}
	if _, err := e.CheckRestore(RestoreRequest{Sets: []RestoreSet{{Tape: res.Tape, Set: 1, Private: true, Public: true}}}); err == nil || !strings.Contains(err.Error(), "restricted") {
		t.Fatalf("restore by another user: %v", err)
	}
	if err := e.Erase(bg, res.Tape); err == nil {
		t.Fatal("erase by another user succeeded")
	}
	e.admin = func() bool { return true }
	if _, err := e.Verify(bg, VerifyRequest{Tape: res.Tape}, nil); err != nil {
		t.Fatalf("verify by an administrator: %v", err)
	}
}

func TestLogLevels(t *testing.T) {
	e, _ := newEnv(t)
	dir := t.TempDir()
	for _, c := range []struct {
		name  string
		log   LogOptions
		has   []string
		hasnt []string
	}{
		{"full", LogOptions{Level: LogFull}, []string{"Backup set #1 on tape #1", "priv.edb", "Processed"}, nil},
		{"summary", LogOptions{Level: LogSummary}, []string{"Backup of \"\\\\EX1\\Microsoft Information Store\"", "Backup Type: Normal"}, []string{"  priv.edb"}},
		{"exceptions", LogOptions{Level: LogSummary, ExceptionsOnly: true}, nil, []string{"Backup Type"}},
	} {
		c.log.Path = filepath.Join(dir, c.name+".log")
		if _, err := e.Backup(bg, BackupRequest{Stores: isEX1, TapeName: c.name, Log: c.log}, nil); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(c.log.Path)
		for _, w := range c.has {
			if !strings.Contains(string(data), w) {
				t.Errorf("%s log lacks %q:\n%s", c.name, w, data)
			}
		}
		for _, w := range c.hasnt {
			if strings.Contains(string(data), w) {
				t.Errorf("%s log has %q:\n%s", c.name, w, data)
			}
		}
	}
	if _, err := e.Backup(bg, BackupRequest{Stores: isEX1, TapeName: "none", Log: LogOptions{Level: LogNone, Path: filepath.Join(dir, "none.log")}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "none.log")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("Don't Log wrote a log")
	}
}

func TestCancelledBackupAbortsItsSetOnly(t *testing.T) {
	e, srv := newEnv(t)
	if _, err := e.Backup(bg, BackupRequest{Stores: isEX1, TapeName: "T"}, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	p := NewProgress("Backup")
	p.OnLog = func(line string) {
		if strings.HasPrefix(line, "Backup set #2") {
			cancel()
		}
	}
	if _, err := e.Backup(ctx, BackupRequest{Stores: isEX1, TapeName: "T", Append: true}, p); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled backup: %v", err)
	}
	ct, _ := e.cat.TapeByName("T")
	sets, _ := e.cat.Sets(ct.ID)
	if len(sets) != 1 {
		t.Fatalf("catalog lists %d sets after a cancelled backup", len(sets))
	}
	tp, _ := tape.Open(ct.Location)
	all, _ := tp.Sets()
	if len(all) != 2 || all[1].State != tape.SetAborted || all[0].State != tape.SetComplete {
		t.Fatalf("tape after a cancelled backup: %d sets", len(all))
	}
	// The server marked nothing: an incremental still follows the first full.
	if _, err := e.Backup(bg, BackupRequest{Stores: isEX1, TapeName: "T", Append: true, Type: exchange.Incremental}, nil); err != nil {
		t.Fatal(err)
	}
	_ = srv
}

func TestCatalogRebuildEqualsBackupRecords(t *testing.T) {
	e, _ := newEnv(t)
	req := BackupRequest{Stores: []StoreRef{{"EX1", exchange.StoreDS}, {"EX1", exchange.StoreIS}}, TapeName: "R", Description: "d"}
	if _, err := e.Backup(bg, req, nil); err != nil {
		t.Fatal(err)
	}
	records := func() []catalog.SetWithEntries {
		ct, err := e.cat.TapeByName("R")
		if err != nil {
			t.Fatal(err)
		}
		sets, _ := e.cat.Sets(ct.ID)
		var out []catalog.SetWithEntries
		for _, s := range sets {
			es, _ := e.cat.(*catalog.Catalog).Entries(s.ID)
			out = append(out, catalog.SetWithEntries{Set: s, Entries: es})
		}
		return out
	}
	before := records()
	if err := e.CatalogTape(bg, "R", nil); err != nil {
		t.Fatal(err)
	}
	if after := records(); !catalog.EqualRecords(before, after) {
		t.Fatalf("rebuilt records differ:\n%+v\n%+v", before, after)
	}
}

func TestCheckRestoreWarnsAboutChainOrder(t *testing.T) {
	e, srv := newEnv(t)
	if _, err := e.Backup(bg, BackupRequest{Stores: isEX1, TapeName: "C"}, nil); err != nil {
		t.Fatal(err)
	}
	srv.Deliver(bg, exchange.Message{Mailbox: "alice", Subject: "more"})
	if _, err := e.Backup(bg, BackupRequest{Stores: isEX1, TapeName: "C", Append: true, Type: exchange.Incremental}, nil); err != nil {
		t.Fatal(err)
	}
	w, err := e.CheckRestore(RestoreRequest{Sets: []RestoreSet{{Tape: "C", Set: 2}}})
	if err != nil || len(w) == 0 || !strings.Contains(w[0], "restore the full set") {
		t.Fatalf("incremental alone: %v %v", w, err)
	}
	w, err = e.CheckRestore(RestoreRequest{Sets: []RestoreSet{{Tape: "C", Set: 1, Private: true, Public: true, Start: true}}})
	if err != nil || len(w) == 0 || !strings.Contains(strings.Join(w, " "), "later backup") {
		t.Fatalf("full without the later incremental: %v %v", w, err)
	}
	if _, err := e.CheckRestore(RestoreRequest{Sets: []RestoreSet{{Tape: "C", Set: 1}}}); err == nil {
		t.Fatal("IS restore with neither Private nor Public was accepted")
	}
}

// A backup reads every file's stream to its end: the server's trailer is
// checked, and the files of a store share one stream connection instead of
// opening one each.
func TestBackupReadsEachStreamToItsEnd(t *testing.T) {
	e, srv := newEnv(t)
	target := e.Settings().Servers["EX1"].Address
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	if err := e.Connect(bg, ln.Addr().String(), srv.Config().Key, srv.Fingerprint()); err != nil {
		t.Fatal(err)
	}
	before := conns.Load() // Connect's own
	res, err := e.Backup(bg, BackupRequest{Stores: isEX1, TapeName: "T"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// One connection for the calls, one for the streams.
	if n := conns.Load() - before; res.Files < 4 || n > 2 {
		t.Errorf("%d files backed up over %d connections, want at most 2", res.Files, n)
	}
}
