package engine

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"exbackup/catalog"
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

func (f *fakeEnv) tapePath(name string) string {
	return f.e.lib.(*failLibrary).Library.(fileLibrary).lib.Path(name)
}

// A stream that breaks mid-file of an appending backup aborts that set,
// stops the job and leaves the sets before it; the server is never told
// the broken backup succeeded (so it truncates nothing).
func TestBackupStreamBreaksMidFile(t *testing.T) {
	f := newFakeEnv(t, "EX1", "EX2")
	if _, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX2", exchange.StoreDS)}, TapeName: "T"}, nil); err != nil {
		t.Fatal(err)
	}
	ex1 := f.org.server("EX1")
	ex1.breakFile, ex1.breakAt = "pub.edb", 1000
	p := NewProgress("Backup")
	req := BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreDS), ref("EX1", exchange.StoreIS), ref("EX2", exchange.StoreIS)}, TapeName: "T", Append: true}
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
	if n := len(f.org.server("EX2").ended); n != 1 {
		t.Errorf("EX2 was backed up after the failure (%d sessions)", n)
	}
	if sets := f.catalogSets(t, "T"); len(sets) != 2 {
		t.Errorf("catalog lists %d sets, want 2", len(sets))
	}
	tp, err := tape.Open(f.tapePath("T"))
	if err != nil {
		t.Fatal(err)
	}
	all, _ := tp.Sets()
	if len(all) != 3 || all[0].State != tape.SetComplete || all[1].State != tape.SetComplete || all[2].State != tape.SetAborted {
		t.Errorf("tape after the failure: %+v", all)
	}
	if !hasLine(p.Lines(), `Backup of "\\EX1\Microsoft Information Store" failed`) {
		t.Errorf("log: %q", p.Lines())
	}
}

// replaceFixture is a tape T holding one set of EX1's Information Store,
// its bytes and its catalog records.
func replaceFixture(t *testing.T, f *fakeEnv) (before []byte, sets []catalog.Set) {
	t.Helper()
	if _, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreIS)}, TapeName: "T", Description: "old"}, nil); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(f.tapePath("T"))
	if err != nil {
		t.Fatal(err)
	}
	return before, f.catalogSets(t, "T")
}

// assertUntouched checks that tape T, its records and its folder are as
// replaceFixture left them.
func assertUntouched(t *testing.T, f *fakeEnv, before []byte, sets []catalog.Set) {
	t.Helper()
	if after, err := os.ReadFile(f.tapePath("T")); err != nil || !bytes.Equal(before, after) {
		t.Fatalf("the old tape changed (%d → %d bytes, %v)", len(before), len(after), err)
	}
	if got := f.catalogSets(t, "T"); !reflect.DeepEqual(got, sets) {
		t.Fatalf("the old tape's records changed:\n%+v\nwant\n%+v", got, sets)
	}
	if _, err := os.Stat(tape.StagePath(f.tapePath("T"))); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the unfinished new tape is left behind: %v", err)
	}
	tp, err := tape.Open(f.tapePath("T"))
	if err != nil {
		t.Fatal(err)
	}
	if all, err := tp.Sets(); err != nil || len(all) != 1 || all[0].Description != "old" {
		t.Fatalf("the old tape lists %+v, %v", all, err)
	}
}

// A Replace whose second set breaks keeps the old tape and its records:
// the new sets are dropped, and no server is told its backup counted.
func TestReplaceFailureKeepsOldTape(t *testing.T) {
	f := newFakeEnv(t, "EX1", "EX2")
	before, sets := replaceFixture(t, f)
	ex1 := f.org.server("EX1")
	ex1.ended = nil
	ex1.breakFile, ex1.breakAt = "pub.edb", 1000
	req := BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreDS), ref("EX1", exchange.StoreIS)}, TapeName: "T"}
	_, err := f.e.Backup(bg, req, nil)
	if err == nil || !strings.Contains(err.Error(), "pub.edb") || !strings.Contains(err.Error(), `tape "T" was left as it was`) {
		t.Fatalf("replace over a broken stream: %v", err)
	}
	if got := ex1.ended; len(got) != 2 || got[0] || got[1] {
		t.Errorf("EX1's sessions ended with %v, want [false false]: the whole Replace failed", got)
	}
	assertUntouched(t, f, before, sets)

	// A tape write that fails (a full disk) keeps it too.
	ex1.breakFile = ""
	f.lib.failAt, f.lib.addFileErr = 2, errors.New("no space left on device")
	if _, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreIS)}, TapeName: "T"}, nil); err == nil || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("replace onto a full disk: %v", err)
	}
	assertUntouched(t, f, before, sets)
}

// A Replace that succeeds swaps in the new tape and its records together,
// and only then tells the servers their backups counted.
func TestReplaceSwapsAtTheEnd(t *testing.T) {
	f := newFakeEnv(t, "EX1")
	replaceFixture(t, f)
	old, _ := f.cat.TapeByName("T")
	ex1 := f.org.server("EX1")
	ex1.ended = nil
	res, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreDS), ref("EX1", exchange.StoreIS)}, TapeName: "T", Description: "new", Verify: true}, nil)
	if err != nil || len(res.Sets) != 2 || !res.Verified {
		t.Fatalf("replace: %v %+v", err, res)
	}
	if got := ex1.ended; len(got) != 2 || !got[0] || !got[1] {
		t.Errorf("sessions ended with %v", got)
	}
	ct, err := f.cat.TapeByName("T")
	if err != nil || ct.Location != f.tapePath("T") || ct.FamilyID == old.FamilyID {
		t.Fatalf("catalog tape %+v (was %+v), %v", ct, old, err)
	}
	sets := f.catalogSets(t, "T")
	if len(sets) != 2 || sets[0].Description != "new" || sets[1].Description != "new" {
		t.Fatalf("catalog sets %+v", sets)
	}
	tp, _ := tape.Open(f.tapePath("T"))
	if all, _ := tp.Sets(); len(all) != 2 || tp.Info().FamilyID != ct.FamilyID {
		t.Fatalf("tape sets %+v", all)
	}
	if _, err := os.Stat(tape.StagePath(f.tapePath("T"))); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("staged file left: %v", err)
	}
}

// What the servers would refuse is refused before any tape is touched: a
// mistyped server, a store that is not running, a server that is down.
func TestReplaceRefusedBeforeWriting(t *testing.T) {
	f := newFakeEnv(t, "EX1")
	before, sets := replaceFixture(t, f)
	f.lib.staged = 0
	defer func() {
		if f.lib.staged != 0 {
			t.Errorf("%d new tapes were begun for backups refused before writing", f.lib.staged)
		}
	}()
	ex1 := f.org.server("EX1")
	ex1.ended = nil
	if _, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EXCH09", exchange.StoreIS)}, TapeName: "T"}, nil); err == nil || !strings.Contains(err.Error(), "EXCH09") {
		t.Fatalf("backup of a mistyped server: %v", err)
	}
	assertUntouched(t, f, before, sets)

	ex1.mu.Lock()
	ex1.status.IS = exchange.Stopped
	ex1.mu.Unlock()
	_, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreDS), ref("EX1", exchange.StoreIS)}, TapeName: "T"}, nil)
	if err == nil || !strings.Contains(err.Error(), "The Information Store of EX1 is stopped") {
		t.Fatalf("backup of a stopped store: %v", err)
	}
	if len(ex1.ended) != 0 {
		t.Fatalf("a session was opened (%v) before the check", ex1.ended)
	}
	assertUntouched(t, f, before, sets)

	ex1.mu.Lock()
	ex1.status.IS = exchange.Running
	ex1.mu.Unlock()
	f.e.dropClients()
	f.org.mu.Lock()
	f.org.down[addrOf("EX1")] = true
	f.org.mu.Unlock()
	if _, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreIS)}, TapeName: "T"}, nil); err == nil || !strings.Contains(err.Error(), "EX1") {
		t.Fatalf("backup of a server that is down: %v", err)
	}
	assertUntouched(t, f, before, sets)
}

// lockedLibrary is a library whose tapes another process holds.
type lockedLibrary struct {
	*failLibrary
	staged bool
}

func (l *lockedLibrary) Lock(name, job string) (func(), error) {
	return nil, &tape.BusyError{Tape: name, PID: 4242, Host: "console2", Job: "backup"}
}

func (l *lockedLibrary) Stage(name string, o tape.CreateOptions) (StagedTape, error) {
	l.staged = true
	return l.failLibrary.Stage(name, o)
}

// The tape's lock is taken before anything else: a tape another process
// writes is refused, naming it, before any server or tape is touched.
func TestBackupRefusedWhileAnotherProcessWrites(t *testing.T) {
	f := newFakeEnv(t, "EX1")
	before, sets := replaceFixture(t, f)
	ll := &lockedLibrary{failLibrary: f.lib}
	f.e.lib = ll
	ex1 := f.org.server("EX1")
	ex1.ended = nil
	for _, appendTo := range []bool{false, true} {
		_, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreIS)}, TapeName: "T", Append: appendTo}, nil)
		if err == nil || err.Error() != `tape "T" is being written by another backup (pid 4242 on console2)` {
			t.Fatalf("backup (append %v) of a tape another process writes: %v", appendTo, err)
		}
	}
	if err := f.e.Erase(bg, "T"); err == nil || !errors.Is(err, tape.ErrBusy) {
		t.Fatalf("erase of a tape another process writes: %v", err)
	}
	if err := f.e.CatalogTape(bg, "T", nil); err == nil || !errors.Is(err, tape.ErrBusy) {
		t.Fatalf("catalog of a tape another process writes: %v", err)
	}
	if ll.staged || len(ex1.ended) != 0 {
		t.Fatalf("staged %v, sessions %v: touched before the lock", ll.staged, ex1.ended)
	}
	f.e.lib = f.lib
	assertUntouched(t, f, before, sets)
}

// A set whose catalog record fails is still on tape: the backup succeeds
// and its log says to catalog the tape again.
func TestBackupCatalogAddFails(t *testing.T) {
	f := newFakeEnv(t)
	replaceFixture(t, f)
	f.cat.addSetErr = errors.New("catalog.db: disk I/O error")
	p := NewProgress("Backup")
	res, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreIS)}, TapeName: "T", Append: true}, p)
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

// A set that fails leaves the server to abort it; a service this restore
// stopped is started again when nothing is staged, and stays stopped,
// restore-pending, when earlier sets are.
func TestFailedSetStartsTheStoppedServiceAgain(t *testing.T) {
	f := newFakeEnv(t, "EX1")
	if _, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreIS)}, TapeName: "T"}, nil); err != nil {
		t.Fatal(err)
	}
	ex1 := f.org.server("EX1")
	ex1.writeFail = "priv.edb"
	res, err := f.e.Restore(bg, RestoreRequest{Sets: []RestoreSet{{Tape: "T", Set: 1, Private: true, Public: true, Erase: true, Start: true}}}, nil)
	if err == nil {
		t.Fatal("a failed upload succeeded")
	}
	if len(ex1.stopped) != 1 || len(ex1.started) != 1 || ex1.started[0] != exchange.StoreIS || !strings.Contains(strings.Join(res.Messages, " "), "started again") {
		t.Fatalf("stopped %v, started %v, messages %v", ex1.stopped, ex1.started, res.Messages)
	}

	// With an earlier set staged, the store stays as the server keeps it.
	ex1.started = nil
	ex1.staged = []exchange.StagedRestore{{Store: exchange.StoreIS, Sets: []exchange.StagedSet{{Type: exchange.Normal}}}}
	res, err = f.e.Restore(bg, RestoreRequest{Sets: []RestoreSet{{Tape: "T", Set: 1, Private: true, Public: true, Erase: true}}}, nil)
	if err == nil || len(ex1.started) != 0 || !strings.Contains(strings.Join(res.Messages, " "), "stays restore-pending") {
		t.Fatalf("with a staged set: err %v, started %v, messages %v", err, ex1.started, res.Messages)
	}
}

// A roll-forward that could not happen comes back as a warning, not as a
// message among others.
func TestRestoreWarningsAreKeptApart(t *testing.T) {
	f := newFakeEnv(t, "EX1")
	if _, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreIS)}, TapeName: "T"}, nil); err != nil {
		t.Fatal(err)
	}
	f.org.server("EX1").warn = "Roll-forward stopped."
	res, err := f.e.Restore(bg, RestoreRequest{Sets: []RestoreSet{{Tape: "T", Set: 1, Private: true, Public: true, Start: true}}}, nil)
	if err != nil || len(res.Warnings) != 1 || res.Warnings[0] != "Roll-forward stopped." {
		t.Fatalf("warnings %v, %v", res.Warnings, err)
	}
}
