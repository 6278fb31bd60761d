package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"exbackup/exchange"
	"exbackup/tape"
)

func hasLine(lines []string, part string) bool {
	for _, l := range lines {
		if strings.Contains(l, part) {
			return true
		}
	}
	return false
}

func ref(server string, store exchange.StoreID) StoreRef {
	return StoreRef{Server: server, Store: store}
}

// A stream that breaks mid-file aborts that set, stops the job, and the
// server is never told the backup succeeded (so it truncates nothing).
func TestBackupStreamBreaksMidFile(t *testing.T) {
	f := newFakeEnv(t, "EX1", "EX2")
	ex1 := f.org.server("EX1")
	ex1.breakFile, ex1.breakAt = "pub.edb", 1000
	p := NewProgress("Backup")
	req := BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreDS), ref("EX1", exchange.StoreIS), ref("EX2", exchange.StoreIS)}, TapeName: "T"}
	res, err := f.e.Backup(bg, req, p)
	if err == nil || !strings.Contains(err.Error(), "pub.edb") || !errors.Is(err, errConnReset) {
		t.Fatalf("backup over a broken stream: %v", err)
	}
	if len(res.Sets) != 1 {
		t.Errorf("sets written: %v, want only the Directory's", res.Sets)
	}
	if got := ex1.ended; len(got) != 2 || !got[0] || got[1] {
		t.Errorf("EX1's sessions ended with %v, want [true false]", got)
	}
	if n := len(f.org.server("EX2").ended); n != 0 {
		t.Errorf("EX2 was backed up after the failure (%d sessions)", n)
	}
	if sets := f.catalogSets(t, "T"); len(sets) != 1 {
		t.Errorf("catalog lists %d sets, want 1", len(sets))
	}
	tp, err := tape.Open(f.e.lib.(*failLibrary).Library.(fileLibrary).lib.Path("T"))
	if err != nil {
		t.Fatal(err)
	}
	all, _ := tp.Sets()
	if len(all) != 2 || all[0].State != tape.SetComplete || all[1].State != tape.SetAborted {
		t.Errorf("tape after the failure: %+v", all)
	}
	if !hasLine(p.Lines(), `Backup of "\\EX1\Microsoft Information Store" failed`) {
		t.Errorf("log: %q", p.Lines())
	}
}

// A tape whose write fails aborts the set; the server is told the backup
// failed, and the catalog records nothing.
func TestBackupTapeWriteFails(t *testing.T) {
	f := newFakeEnv(t)
	f.lib.failAt, f.lib.addFileErr = 2, errors.New("no space left on device")
	_, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreIS)}, TapeName: "T"}, nil)
	if err == nil || !strings.Contains(err.Error(), "no space left on device") || !strings.Contains(err.Error(), "pub.edb") {
		t.Fatalf("backup onto a failing tape: %v", err)
	}
	if got := f.org.server("EX1").ended; len(got) != 1 || got[0] {
		t.Errorf("session ended with %v, want [false]", got)
	}
	if sets := f.catalogSets(t, "T"); len(sets) != 0 {
		t.Errorf("catalog lists %d sets after a failed write", len(sets))
	}
}

// A set whose catalog record fails is still on tape: the backup succeeds
// and its log says to catalog the tape again.
func TestBackupCatalogAddFails(t *testing.T) {
	f := newFakeEnv(t)
	f.cat.addSetErr = errors.New("catalog.db: disk I/O error")
	p := NewProgress("Backup")
	res, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreIS)}, TapeName: "T"}, p)
	if err != nil || len(res.Sets) != 1 {
		t.Fatalf("backup: %v %+v", err, res)
	}
	if !hasLine(p.Lines(), "catalog could not record it (catalog.db: disk I/O error)") {
		t.Errorf("log: %q", p.Lines())
	}
}

// A verify whose catalog update fails says so in the job log.
func TestVerifyCatalogUpdateFails(t *testing.T) {
	f := newFakeEnv(t)
	if _, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreIS)}, TapeName: "T"}, nil); err != nil {
		t.Fatal(err)
	}
	f.cat.updateErr = errors.New("catalog.db: disk I/O error")
	p := NewProgress("Verify")
	res, err := f.e.Verify(bg, VerifyRequest{Tape: "T"}, p)
	if err != nil || res.Sets != 1 || res.Files != 3 {
		t.Fatalf("verify: %v %+v", err, res)
	}
	if !hasLine(p.Lines(), "catalog could not record the verify of set #1 (catalog.db: disk I/O error)") {
		t.Errorf("log: %q", p.Lines())
	}
	f.cat.updateErr = nil
	if _, err := f.e.Verify(bg, VerifyRequest{Tape: "T"}, nil); err != nil {
		t.Fatal(err)
	}
	if s := f.catalogSets(t, "T")[0]; s.Verified.IsZero() {
		t.Error("a verify with a working catalog did not record it")
	}
}

// Erasing the last tape forgets it in the settings; when the settings
// cannot be written, the erase says so.
func TestEraseSettingsSaveFails(t *testing.T) {
	f := newFakeEnv(t)
	if _, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreIS)}, TapeName: "T"}, nil); err != nil {
		t.Fatal(err)
	}
	if f.e.Settings().LastTape != "T" {
		t.Fatalf("last tape = %q", f.e.Settings().LastTape)
	}
	// A folder where the settings file goes: no rename replaces it.
	path := filepath.Join(f.e.Home(), settingsFile)
	os.Remove(path)
	if err := os.MkdirAll(filepath.Join(path, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	err := f.e.Erase(bg, "T")
	if err == nil || !strings.Contains(err.Error(), `tape "T" was erased, but the settings`) {
		t.Fatalf("erase with unwritable settings: %v", err)
	}
	if _, err := f.cat.TapeByName("T"); err == nil {
		t.Error("the erased tape is still cataloged")
	}
}

// An organization with a server that does not answer lists it as
// unreachable, with the reason, and the others with their status.
func TestOrganizationUnreachableServer(t *testing.T) {
	f := newFakeEnv(t, "EX1", "EX2", "EX3")
	f.org.down[addrOf("EX3")] = true
	org, err := f.e.Organization(bg)
	if err != nil {
		t.Fatal(err)
	}
	if len(org.Status) != 2 || org.Status["EX1"].Name != "EX1" || org.Status["EX2"].Name != "EX2" {
		t.Errorf("status: %+v", org.Status)
	}
	if why := org.Unreachable["EX3"]; !strings.Contains(why, "EX3") || !strings.Contains(why, "connection refused") {
		t.Errorf("unreachable: %+v", org.Unreachable)
	}
	if len(org.Topology.Sites) != 1 || len(org.Topology.Sites[0].Servers) != 3 {
		t.Errorf("topology: %+v", org.Topology)
	}
}

// A restore to a server whose upload breaks mid-file stops there: the set
// is not completed and no later set is restored.
func TestRestoreStreamBreaksMidFile(t *testing.T) {
	f := newFakeEnv(t, "EX1", "EX2")
	if _, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreIS), ref("EX2", exchange.StoreIS)}, TapeName: "T"}, nil); err != nil {
		t.Fatal(err)
	}
	ex1 := f.org.server("EX1")
	ex1.writeFail = "pub.edb"
	_, err := f.e.Restore(bg, RestoreRequest{Sets: []RestoreSet{
		{Tape: "T", Set: 1, Private: true, Public: true},
		{Tape: "T", Set: 2, Private: true, Public: true},
	}}, nil)
	if err == nil || !strings.Contains(err.Error(), "pub.edb") || !errors.Is(err, errConnReset) {
		t.Fatalf("restore over a broken upload: %v", err)
	}
	if ex1.completed != 0 || len(f.org.server("EX2").prepared) != 0 {
		t.Errorf("completed %d on EX1, %d sets prepared on EX2", ex1.completed, len(f.org.server("EX2").prepared))
	}
}

// A chain is one store on one destination across the whole restore: the
// full set of EX1 and its incremental recover once, at the incremental,
// though EX2's set comes between them. (Adjacent-only chains recovered
// EX1 at its full, and the server then refused the incremental.)
func TestRestoreChainsAcrossTheRestore(t *testing.T) {
	f := newFakeEnv(t, "EX1", "EX2")
	is := []StoreRef{ref("EX1", exchange.StoreIS), ref("EX2", exchange.StoreIS)}
	if _, err := f.e.Backup(bg, BackupRequest{Stores: is, TapeName: "T"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.e.Backup(bg, BackupRequest{Stores: is[:1], TapeName: "T", Append: true, Type: exchange.Incremental}, nil); err != nil {
		t.Fatal(err)
	}
	req := RestoreRequest{Sets: []RestoreSet{
		{Tape: "T", Set: 1, Private: true, Public: true, Start: true},
		{Tape: "T", Set: 2, Private: true, Public: true, Start: true},
		{Tape: "T", Set: 3, Start: true}, // an incremental: Private and Public are its full's
	}}
	w, err := f.e.CheckRestore(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range w {
		if strings.Contains(s, "restore the full set") || strings.Contains(s, "Set 2 is not the last") {
			t.Errorf("warning %q", s)
		}
	}
	if !hasLine(w, "Set 1 is not the last of its chain") {
		t.Errorf("no warning for Start on set 1, which is not the last of EX1's chain: %q", w)
	}
	if _, err := f.e.Restore(bg, req, nil); err != nil {
		t.Fatal(err)
	}
	ex1, ex2 := f.org.server("EX1"), f.org.server("EX2")
	if len(ex1.prepared) != 2 || ex1.prepared[0].Last || !ex1.prepared[1].Last || !ex1.prepared[1].Start || ex1.prepared[0].Start {
		t.Errorf("EX1's chain: %+v", ex1.prepared)
	}
	if len(ex2.prepared) != 1 || !ex2.prepared[0].Last || !ex2.prepared[0].Start {
		t.Errorf("EX2's chain: %+v", ex2.prepared)
	}
	if len(ex1.stopped) != 1 {
		t.Errorf("EX1's service was stopped %d times, want once, at its chain's start", len(ex1.stopped))
	}
	if got := string(ex1.written["edb00001.log"]); got != string(fakeData("edb00001.log")) {
		t.Errorf("restored log differs")
	}
}
