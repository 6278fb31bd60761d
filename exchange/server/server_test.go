package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"exbackup/exchange"

	"exbackup/exchange/xlog"
)

var bg = context.Background()

// newTestServer creates and starts a server in a temporary folder.
func newTestServer(t testing.TB, org, site, name string, circular bool) *Server {
	t.Helper()
	dir := t.TempDir()
	if _, err := Init(bg, InitOptions{Dir: dir, Organization: org, Site: site, Name: name, Key: testKey, CircularLogging: circular}); err != nil {
		t.Fatal(err)
	}
	return openTestServer(t, dir)
}

func openTestServer(t testing.TB, dir string) *Server {
	t.Helper()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.StartServices(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func deliver(t testing.TB, s *Server, mailbox string, n int, tag string) {
	t.Helper()
	if err := s.CreateMailbox(bg, exchange.Recipient{Alias: mailbox}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := s.Deliver(bg, exchange.Message{Mailbox: mailbox, From: "a@b", Subject: fmt.Sprintf("%s %d", tag, i), Body: strings.Repeat("x", 100+i)}); err != nil {
			t.Fatal(err)
		}
	}
}

func digest(t testing.TB, s *Server) exchange.Digest {
	t.Helper()
	d, err := s.Digest(bg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// backupSet is a backup taken through the Node API into a folder, as a
// tape would hold it.
type backupSet struct {
	info exchange.BackupInfo
	dir  string
}

func takeBackup(t testing.TB, s *Server, id exchange.StoreID, typ exchange.BackupType) backupSet {
	t.Helper()
	info, err := s.BackupPrepare(bg, id, typ)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range info.Files {
		rc, err := s.BackupRead(bg, info.Session, f.Name)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(data)) != f.Size {
			t.Fatalf("%s: read %d bytes, listed %d", f.Name, len(data), f.Size)
		}
		os.WriteFile(filepath.Join(dir, f.Name), data, 0o600)
	}
	if err := s.BackupEnd(bg, info.Session, true); err != nil {
		t.Fatal(err)
	}
	return backupSet{info, dir}
}

func restoreSet(s *Server, set backupSet, req exchange.RestoreRequest) (exchange.RestoreResult, error) {
	req.Env = set.info.Env
	if err := s.StopService(bg, set.info.Env.Store); err != nil {
		return exchange.RestoreResult{}, err
	}
	ri, err := s.RestorePrepare(bg, req)
	if err != nil {
		return exchange.RestoreResult{}, err
	}
	for _, f := range set.info.Files {
		fh, err := os.Open(filepath.Join(set.dir, f.Name))
		if err != nil {
			return exchange.RestoreResult{}, err
		}
		err = s.RestoreWrite(bg, ri.Session, f.Name, fh)
		fh.Close()
		if err != nil {
			return exchange.RestoreResult{}, err
		}
	}
	return s.RestoreComplete(bg, ri.Session)
}

func logGens(t testing.TB, s *Server, id exchange.StoreID) []uint32 {
	st, _ := s.storeOf(id)
	gens, err := xlog.Generations(st.dir, "")
	if err != nil {
		t.Fatal(err)
	}
	var out []uint32
	for _, g := range gens {
		out = append(out, g.Gen)
	}
	return out
}

func TestDeliveredMessagesSurviveRestart(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 50, "m")
	before := digest(t, s)
	dir := s.dir
	s.Close()
	s2 := openTestServer(t, dir)
	msgs, err := s2.Messages(bg, "alice")
	if err != nil || len(msgs) != 50 {
		t.Fatalf("after restart: %d messages, %v", len(msgs), err)
	}
	if after := digest(t, s2); after != before {
		t.Fatalf("digest changed across restart: %v vs %v", before, after)
	}
}

// A crash after the log write and before bbolt applied it: soft recovery
// applies the logged op when the service starts.
func TestSoftRecoveryAppliesLoggedOps(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 3, "m")
	st := s.is
	payload, _ := encodeOp(&op{Kind: opDeliver, DB: privEDB, Message: &exchange.Message{Mailbox: "alice", Folder: "Inbox", Subject: "logged only"}})
	// Append straight to the log, as if the process died before applying.
	if err := st.control(func() error { _, _, err := st.log.Append(payload); return err }); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	close(st.quit)
	<-st.done
	for _, db := range st.dbs {
		db.Close()
	}
	st.log.Close()
	st.running = false
	st.mu.Unlock()
	if err := st.start(); err != nil {
		t.Fatal(err)
	}
	msgs, _ := s.Messages(bg, "alice")
	found := false
	for _, m := range msgs {
		found = found || m.Subject == "logged only"
	}
	if !found || len(msgs) != 4 {
		t.Fatalf("soft recovery did not apply the logged message: %d messages", len(msgs))
	}
}

// When no retired folder can be made (a full disk), the truncated
// generations are deleted at once instead.
func TestTruncationWithoutARetiredFolder(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 10, "m")
	defer func(f func(string, string) (string, error)) { mkdirRetired = f }(mkdirRetired)
	mkdirRetired = func(string, string) (string, error) { return "", syscall.ENOSPC }
	set := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	for _, g := range logGens(t, s, exchange.StoreIS) {
		if g <= set.info.Env.HighGen {
			t.Fatalf("generation %d not truncated (high %d)", g, set.info.Env.HighGen)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(s.is.dir, retiredPrefix+"*")); len(left) != 0 {
		t.Fatalf("retired folders: %v", left)
	}
}

func TestNormalBackupTruncatesAndMarks(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 10, "m")
	set := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	env := set.info.Env
	var names []string
	for _, f := range set.info.Files {
		names = append(names, f.Name)
	}
	if !contains(names, "priv.edb") || !contains(names, "pub.edb") || !contains(names, "restore.env") || !contains(names, genName(env.HighGen)) {
		t.Fatalf("normal backup files: %v", names)
	}
	for _, g := range logGens(t, s, exchange.StoreIS) {
		if g <= env.HighGen {
			t.Fatalf("generation %d not truncated after a normal backup (high %d)", g, env.HighGen)
		}
	}
	mk, _ := readMarks(s.is.dir)
	if mk.LastFull == nil || mk.LastFull.HighGen != env.HighGen || mk.LastBackup == nil {
		t.Fatalf("marks after normal: %+v", mk)
	}
	// The truncated generations' files are deleted in the background; a
	// stop waits for that.
	if err := s.StopService(bg, exchange.StoreIS); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(s.is.dir, retiredPrefix+"*")); len(left) != 0 {
		t.Fatalf("left behind after truncation: %v", left)
	}
	if left, _ := filepath.Glob(filepath.Join(s.is.dir, "*.log")); len(left) != 1 {
		t.Fatalf("log files after truncation and stop: %v", left)
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func TestIncrementalAndDifferentialLogRanges(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	if _, err := s.BackupPrepare(bg, exchange.StoreIS, exchange.Incremental); !errors.Is(err, exchange.ErrRefused) ||
		!strings.Contains(err.Error(), "run a Normal backup before an incremental one") {
		t.Fatalf("incremental with no normal backup: %v", err)
	}
	if _, err := s.BackupPrepare(bg, exchange.StoreIS, exchange.Differential); !errors.Is(err, exchange.ErrRefused) ||
		!strings.Contains(err.Error(), "before a differential one") {
		t.Fatalf("differential with no normal backup: %v", err)
	}
	deliver(t, s, "alice", 5, "a")
	full := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	deliver(t, s, "bob", 5, "b")
	diff1 := takeBackup(t, s, exchange.StoreIS, exchange.Differential)
	if diff1.info.Env.LowGen != full.info.Env.HighGen+1 {
		t.Fatalf("differential starts at %d, want %d", diff1.info.Env.LowGen, full.info.Env.HighGen+1)
	}
	for _, f := range diff1.info.Files {
		if f.Kind == exchange.KindDatabase {
			t.Fatalf("differential holds a database: %s", f.Name)
		}
	}
	gensAfterDiff := logGens(t, s, exchange.StoreIS)
	if gensAfterDiff[0] != full.info.Env.HighGen+1 {
		t.Fatalf("differential truncated logs: %v", gensAfterDiff)
	}
	inc := takeBackup(t, s, exchange.StoreIS, exchange.Incremental)
	if inc.info.Env.LowGen != full.info.Env.HighGen+1 {
		t.Fatalf("first incremental starts at %d, want %d", inc.info.Env.LowGen, full.info.Env.HighGen+1)
	}
	if g := logGens(t, s, exchange.StoreIS); g[0] != inc.info.Env.HighGen+1 {
		t.Fatalf("incremental did not truncate: %v", g)
	}
	deliver(t, s, "carol", 2, "c")
	inc2 := takeBackup(t, s, exchange.StoreIS, exchange.Incremental)
	if inc2.info.Env.LowGen != inc.info.Env.HighGen+1 {
		t.Fatalf("second incremental starts at %d, want %d", inc2.info.Env.LowGen, inc.info.Env.HighGen+1)
	}
	// A differential now needs generations the incrementals truncated.
	if _, err := s.BackupPrepare(bg, exchange.StoreIS, exchange.Differential); !errors.Is(err, exchange.ErrRefused) || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("differential after truncating incrementals: %v", err)
	}
}

func TestCopyAndFailedBackupsChangeNothing(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 5, "a")
	takeBackup(t, s, exchange.StoreIS, exchange.Copy)
	if mk, _ := readMarks(s.is.dir); mk.LastFull != nil {
		t.Fatal("copy backup marked the store")
	}
	if g := logGens(t, s, exchange.StoreIS); g[0] != 1 {
		t.Fatalf("copy backup truncated: %v", g)
	}
	info, err := s.BackupPrepare(bg, exchange.StoreIS, exchange.Normal)
	if err != nil {
		t.Fatal(err)
	}
	// Success claimed without reading the files: refused, nothing truncated.
	if err := s.BackupEnd(bg, info.Session, true); !errors.Is(err, exchange.ErrRefused) {
		t.Fatalf("unread backup ended as success: %v", err)
	}
	info, err = s.BackupPrepare(bg, exchange.StoreIS, exchange.Normal)
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := s.BackupRead(bg, info.Session, "priv.edb")
	io.CopyN(io.Discard, rc, 10)
	rc.Close()
	if err := s.BackupEnd(bg, info.Session, false); err != nil {
		t.Fatal(err)
	}
	if g := logGens(t, s, exchange.StoreIS); g[0] != 1 {
		t.Fatalf("failed backup truncated: %v", g)
	}
	if mk, _ := readMarks(s.is.dir); mk.LastFull != nil {
		t.Fatal("failed backup marked the store")
	}
}

func TestCircularLoggingRefusesIncremental(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", true)
	deliver(t, s, "alice", 5, "a")
	takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	for _, typ := range []exchange.BackupType{exchange.Incremental, exchange.Differential} {
		if _, err := s.BackupPrepare(bg, exchange.StoreIS, typ); !errors.Is(err, exchange.ErrRefused) || !strings.Contains(err.Error(), "circular") {
			t.Fatalf("%s with circular logging: %v", typ, err)
		}
	}
}

func TestBackupNeedsRunningService(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	s.StopService(bg, exchange.StoreDS)
	if _, err := s.BackupPrepare(bg, exchange.StoreDS, exchange.Normal); !errors.Is(err, exchange.ErrNotRunning) {
		t.Fatalf("backup of a stopped directory: %v", err)
	}
}

func TestMissingGenerationRefusesIncremental(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 5, "a")
	full := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	deliver(t, s, "bob", 5, "b")
	s.is.control(func() error { _, err := s.is.log.Roll(); return err })
	os.Remove(filepath.Join(s.is.dir, genName(full.info.Env.HighGen+1)))
	if _, err := s.BackupPrepare(bg, exchange.StoreIS, exchange.Incremental); !errors.Is(err, exchange.ErrRefused) || !strings.Contains(err.Error(), genName(full.info.Env.HighGen+1)) {
		t.Fatalf("incremental with a missing generation: %v", err)
	}
}

func TestRestoreRollsForwardUnlessErase(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 10, "a")
	full := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	atBackup := digest(t, s)
	deliver(t, s, "bob", 10, "b")
	latest := digest(t, s)

	res, err := restoreSet(s, full, exchange.RestoreRequest{Private: true, Public: true, Last: true, Start: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Recovered || !res.Started {
		t.Fatalf("restore result %+v", res)
	}
	if d := digest(t, s); d.Priv != latest.Priv || d.Pub != latest.Pub {
		t.Fatalf("roll-forward did not reach the present:\n%v\n%v\n%v", d, latest, res.Messages)
	}
	// Still usable: more mail, and a normal backup works after the restore.
	deliver(t, s, "carol", 1, "c")

	s2 := newTestServer(t, "Org", "Site", "EX2", false)
	_ = s2
	res, err = restoreSet(s, full, exchange.RestoreRequest{Erase: true, Private: true, Public: true, Last: true, Start: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := digest(t, s); d.Priv != atBackup.Priv || d.Pub != atBackup.Pub {
		t.Fatalf("erase restore is not the backup's state")
	}
	if _, err := s.BackupPrepare(bg, exchange.StoreIS, exchange.Incremental); !errors.Is(err, exchange.ErrRefused) {
		t.Fatalf("incremental right after a restore: %v", err)
	}
	deliver(t, s, "dave", 3, "d")
	takeBackup(t, s, exchange.StoreIS, exchange.Normal)
}

func TestRestoreChainFullPlusIncrementals(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 5, "a")
	full := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	deliver(t, s, "bob", 5, "b")
	inc1 := takeBackup(t, s, exchange.StoreIS, exchange.Incremental)
	deliver(t, s, "carol", 5, "c")
	inc2 := takeBackup(t, s, exchange.StoreIS, exchange.Incremental)
	atInc2 := digest(t, s)
	deliver(t, s, "dave", 5, "d")

	if _, err := restoreSet(s, inc1, exchange.RestoreRequest{Last: true}); err == nil || !strings.Contains(err.Error(), "You cannot restore an incremental backup until a full backup has been restored") {
		t.Fatalf("incremental first: %v", err)
	}
	if _, err := restoreSet(s, full, exchange.RestoreRequest{Erase: true, Private: true, Public: true}); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Status(bg); st.IS != exchange.RestorePending {
		t.Fatalf("between sets of a chain the IS is %s", st.IS)
	} else if r, ok := st.Restore(exchange.StoreIS); !ok || len(r.Sets) != 1 || r.Sets[0].Type != exchange.Normal {
		t.Fatalf("status of the staged chain: %+v", st.Restores)
	}
	if _, err := restoreSet(s, inc2, exchange.RestoreRequest{}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("skipping an incremental: %v", err)
	}
	if _, err := restoreSet(s, inc1, exchange.RestoreRequest{}); err != nil {
		t.Fatal(err)
	}
	res, err := restoreSet(s, inc2, exchange.RestoreRequest{Last: true, Start: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := digest(t, s); d.Priv != atInc2.Priv || d.Pub != atInc2.Pub || !res.Started {
		t.Fatalf("chain with erase: %v want %v (%v)", d, atInc2, res.Messages)
	}
}

func TestRestoreRulesBetweenServers(t *testing.T) {
	a := newTestServer(t, "Org", "Redmond", "EX1", false)
	b := newTestServer(t, "Org", "Redmond", "EX2", false)
	c := newTestServer(t, "Org", "Dublin", "EX3", false)
	o := newTestServer(t, "Other", "Redmond", "EX4", false)
	deliver(t, a, "alice", 5, "a")
	want := digest(t, a)
	is := takeBackup(t, a, exchange.StoreIS, exchange.Normal)
	ds := takeBackup(t, a, exchange.StoreDS, exchange.Normal)

	if _, err := restoreSet(b, ds, exchange.RestoreRequest{Last: true}); !errors.Is(err, exchange.ErrRefused) || !strings.Contains(err.Error(), "original server") {
		t.Fatalf("DS to another server: %v", err)
	}
	if _, err := restoreSet(c, is, exchange.RestoreRequest{Erase: true, Private: true, Public: true, Last: true}); !errors.Is(err, exchange.ErrRefused) || !strings.Contains(err.Error(), "site") {
		t.Fatalf("IS to another site: %v", err)
	}
	if _, err := restoreSet(o, is, exchange.RestoreRequest{Erase: true, Private: true, Public: true, Last: true}); !errors.Is(err, exchange.ErrRefused) || !strings.Contains(err.Error(), "organization") {
		t.Fatalf("IS to another organization: %v", err)
	}
	if _, err := restoreSet(b, is, exchange.RestoreRequest{Private: true, Public: true, Last: true}); !errors.Is(err, exchange.ErrRefused) || !strings.Contains(err.Error(), "Erase") {
		t.Fatalf("IS to another server without erase: %v", err)
	}
	if _, err := restoreSet(b, is, exchange.RestoreRequest{Erase: true, Private: true, Last: true}); !errors.Is(err, exchange.ErrRefused) {
		t.Fatalf("IS to another server with Private only: %v", err)
	}
	if _, err := restoreSet(b, is, exchange.RestoreRequest{Erase: true, Private: true, Public: true, Last: true, Start: true}); err != nil {
		t.Fatal(err)
	}
	if d := digest(t, b); d.Priv != want.Priv || d.Pub != want.Pub {
		t.Fatalf("IS on another server differs: %v vs %v", d, want)
	}
	// The DS restores onto its own server.
	if _, err := restoreSet(a, ds, exchange.RestoreRequest{Last: true, Start: true}); err != nil {
		t.Fatal(err)
	}
	if d := digest(t, a); d.DS != want.DS {
		t.Fatal("DS restore changed the directory")
	}
}

func TestRestorePrivateOnlyLeavesPublic(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 3, "a")
	s.Post(bg, exchange.Post{Folder: "General", Subject: "one"})
	full := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	atBackup := digest(t, s)
	deliver(t, s, "bob", 3, "b")
	s.Post(bg, exchange.Post{Folder: "General", Subject: "two"})
	later := digest(t, s)
	res, err := restoreSet(s, full, exchange.RestoreRequest{Erase: true, Private: true, Last: true, Start: true})
	if err != nil {
		t.Fatal(err)
	}
	d := digest(t, s)
	if d.Priv != atBackup.Priv || d.Pub != later.Pub {
		t.Fatalf("private-only restore: priv restored %v, pub kept %v", d.Priv == atBackup.Priv, d.Pub == later.Pub)
	}
	if !strings.Contains(strings.Join(res.Messages, " "), "public information store was not restored") {
		t.Fatalf("messages do not say public was left: %v", res.Messages)
	}
	// The kept public store keeps working and survives a restart.
	s.Post(bg, exchange.Post{Folder: "General", Subject: "three"})
	dir := s.dir
	before := digest(t, s)
	s.Close()
	s2 := openTestServer(t, dir)
	if digest(t, s2) != before {
		t.Fatal("restart after a private-only restore lost data")
	}
}

func TestFailedRestoreLeavesLiveData(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 5, "a")
	full := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	deliver(t, s, "bob", 5, "b")
	want := digest(t, s)
	// Damage the log on "tape": hard recovery must fail before any swap.
	logName := genName(full.info.Env.HighGen)
	p := filepath.Join(full.dir, logName)
	data, _ := os.ReadFile(p)
	if len(data) > 200 {
		data[len(data)/2] ^= 0xff
		os.WriteFile(p, data, 0o600)
	} else {
		os.WriteFile(p, []byte("garbage that is not a log"), 0o600)
	}
	_, err := restoreSet(s, full, exchange.RestoreRequest{Private: true, Public: true, Last: true, Start: true})
	if err == nil {
		t.Fatal("restore from a damaged log succeeded")
	}
	if st, _ := s.Status(bg); st.IS != exchange.RestorePending {
		t.Fatalf("after a failed recovery the IS is %s, want restore-pending", st.IS)
	} else if r, _ := st.Restore(exchange.StoreIS); r.Error == "" {
		t.Fatalf("the staged restore does not say why it did not recover: %+v", r)
	}
	// The live files were untouched: cancel the staged restore and check.
	if _, err := s.CancelRestore(bg, exchange.StoreIS); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartService(bg, exchange.StoreIS); err != nil {
		t.Fatal(err)
	}
	if d := digest(t, s); d != want {
		t.Fatal("failed restore changed live data")
	}
}

// swapInterrupted restores a Normal backup of the IS over later mail, runs
// its recovery (which swaps the files in), then marks the restore as
// swapping again, as a process that died during the swap leaves it. It
// returns the stopped server and the digest the restore must reach.
func swapInterrupted(t *testing.T) (*Server, exchange.Digest, string) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 5, "a")
	full := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	want := digest(t, s)
	deliver(t, s, "bob", 5, "b")
	s.StopService(bg, exchange.StoreIS)
	req := exchange.RestoreRequest{Env: full.info.Env, Erase: true, Private: true, Public: true, Last: true}
	rs, _, err := s.is.restorePrepare(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range full.info.Files {
		fh, _ := os.Open(filepath.Join(full.dir, f.Name))
		if err := rs.write(f.Name, fh); err != nil {
			t.Fatal(err)
		}
		fh.Close()
	}
	if _, err := rs.complete(); err != nil {
		t.Fatal(err)
	}
	staged, err := readMarker(s.is.dir)
	if err != nil || staged == nil {
		t.Fatalf("no marker after staging: %v", err)
	}
	if _, err := s.is.recoverStaged(staged); err != nil {
		t.Fatal(err)
	}
	mk := staged.copy()
	mk.Phase = phaseSwap
	writeMarker(s.is.dir, mk)
	os.MkdirAll(mk.staging(s.is.dir), 0o700)
	return s, want, mk.staging(s.is.dir)
}

func TestInterruptedSwapFinishesOnStart(t *testing.T) {
	// Recover, then pretend the process died after moving one database.
	s, want, _ := swapInterrupted(t)
	if _, err := s.StartService(bg, exchange.StoreIS); err != nil {
		t.Fatal(err)
	}
	if d := digest(t, s); d.Priv != want.Priv {
		t.Fatal("finished swap does not hold the restored data")
	}
}

func TestConcurrentDeliveriesAllAcknowledgedArePresent(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	s.CreateMailbox(bg, exchange.Recipient{Alias: "alice"})
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if err := s.Deliver(bg, exchange.Message{Mailbox: "alice", Subject: fmt.Sprintf("%d-%d", w, i)}); err != nil {
					t.Error(err)
				}
			}
		}(w)
	}
	// A backup in the middle of the traffic.
	set := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	wg.Wait()
	msgs, _ := s.Messages(bg, "alice")
	if len(msgs) != 320 {
		t.Fatalf("%d messages, want 320", len(msgs))
	}
	_ = set
}

// A swap moves the replaced database aside before moving the restored one
// in; a crash between the two leaves no live database, and the next start
// must still finish with the restored one and delete the replaced one.
func TestSwapInterruptedAfterMovingTheLiveDatabaseAside(t *testing.T) {
	// Recovery swaps the files in; put the state back to where the process
	// died: the restored database still staged, the replaced one aside.
	s, want, staging := swapInterrupted(t)
	if err := os.Rename(filepath.Join(s.is.dir, privEDB), filepath.Join(staging, privEDB)); err != nil {
		t.Fatal(err)
	}
	retired := filepath.Join(s.is.dir, retiredPrefix+"crash")
	os.MkdirAll(retired, 0o700)
	if err := os.WriteFile(filepath.Join(retired, privEDB), []byte("the replaced database"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartService(bg, exchange.StoreIS); err != nil {
		t.Fatal(err)
	}
	if d := digest(t, s); d.Priv != want.Priv || d.Pub != want.Pub {
		t.Fatalf("finished swap does not hold the restored data: %+v, want %+v", d, want)
	}
	if err := s.StopService(bg, exchange.StoreIS); err != nil { // waits for the deletion
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(s.is.dir, retiredPrefix+"*")); len(left) != 0 {
		t.Errorf("replaced databases left behind: %v", left)
	}
}

// A restore's swap leaves nothing of the replaced databases behind.
func TestRestoreDeletesTheReplacedDatabases(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 5, "a")
	full := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	want := digest(t, s)
	deliver(t, s, "bob", 5, "b")
	if _, err := restoreSet(s, full, exchange.RestoreRequest{Erase: true, Private: true, Public: true, Last: true, Start: true}); err != nil {
		t.Fatal(err)
	}
	if d := digest(t, s); d.Priv != want.Priv {
		t.Fatal("restore does not hold the backup's data")
	}
	if err := s.StopService(bg, exchange.StoreIS); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(s.is.dir, retiredPrefix+"*")); len(left) != 0 {
		t.Errorf("replaced databases left behind: %v", left)
	}
}

// A change is acknowledged once logged and applied to bbolt behind; a read
// that starts after the acknowledgement must still see it.
func TestAcknowledgedChangesAreReadAtOnce(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			box := fmt.Sprintf("user%02d", w)
			if err := s.CreateMailbox(bg, exchange.Recipient{Alias: box}); err != nil {
				t.Error(err)
				return
			}
			for i := 1; i <= 15; i++ {
				if err := s.Deliver(bg, exchange.Message{Mailbox: box, Subject: fmt.Sprint(i), Body: strings.Repeat("x", 4096)}); err != nil {
					t.Error(err)
					return
				}
				msgs, err := s.Messages(bg, box)
				if err != nil || len(msgs) != i {
					t.Errorf("%s after %d acknowledged deliveries reads %d messages (%v)", box, i, len(msgs), err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
}

// testKey is an access key as init makes them.
const testKey = "q8Zr3vN1xW0bT5mK7pL2sA9dF4gH6jE-yU_cI0oRtQw"

// The files a restore replaced are deleted only once the store has opened
// the restored ones: their deletion can keep the disk busy, and the start
// reads a cold database.
func TestRestoreDeletesTheReplacedFilesAfterTheStart(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 5, "a")
	full := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	deliver(t, s, "bob", 5, "b")
	st := s.is
	running := make(chan bool, 1)
	var once sync.Once
	// The backups' log truncation deletes in the background too: let it
	// end before the hook is put in, and take the hook out only when no
	// deletion can still read it.
	idle := func() { s.ds.retiring.Wait(); st.retiring.Wait() }
	idle()
	defer func(f func(string) error) { idle(); removeAll = f }(removeAll)
	removeAll = func(dir string) error {
		once.Do(func() { running <- st.running })
		return os.RemoveAll(dir)
	}
	if _, err := restoreSet(s, full, exchange.RestoreRequest{Erase: true, Private: true, Public: true, Last: true, Start: true}); err != nil {
		t.Fatal(err)
	}
	select {
	case ok := <-running:
		if !ok {
			t.Fatal("the replaced files were being deleted before the store had opened the restored ones")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the replaced files were never deleted")
	}
	if err := s.StopService(bg, exchange.StoreIS); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(s.is.dir, retiredPrefix+"*")); len(left) != 0 {
		t.Errorf("replaced files left behind: %v", left)
	}
}

// A server told to keep staged restores (the demo organization, started
// anew by each command of a console) leaves a store whose restore is
// staged restore-pending when it starts, and the chain's recovery waits
// for a Start Service; a server that is not runs the recovery at start.
func TestKeepStagedRestoresLeavesTheChainStaged(t *testing.T) {
	dir := t.TempDir()
	if _, err := Init(bg, InitOptions{Dir: dir, Organization: "Org", Site: "Site", Name: "EX1", Key: testKey}); err != nil {
		t.Fatal(err)
	}
	s := openTestServer(t, dir)
	deliver(t, s, "alice", 3, "a")
	full := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	if _, err := restoreSet(s, full, exchange.RestoreRequest{Erase: true, Private: true, Public: true, Last: true}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	kept, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	kept.KeepStagedRestores()
	if err := kept.StartServices(); err != nil {
		t.Fatal(err)
	}
	if st := kept.is.state(); st != exchange.RestorePending {
		t.Fatalf("kept: the Information Store is %v after the start, want restore-pending", st)
	}
	if st := kept.ds.state(); st != exchange.Running {
		t.Fatalf("kept: the Directory is %v, want running", st)
	}
	res, err := kept.StartService(bg, exchange.StoreIS)
	if err != nil || !res.Recovered {
		t.Fatalf("Start Service of the staged store: %+v %v", res, err)
	}
	kept.Close()

	// Staged again, and a server that does not keep it recovers at start.
	s = openTestServer(t, dir)
	if _, err := restoreSet(s, full, exchange.RestoreRequest{Erase: true, Private: true, Public: true, Last: true}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTestServer(t, dir)
	if st := s.is.state(); st != exchange.Running {
		t.Fatalf("a plain start left the Information Store %v, want running", st)
	}
}
