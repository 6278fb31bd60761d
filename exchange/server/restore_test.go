package server

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/client"
)

// stageSet restores a set without starting the service: it only stages.
func stageSet(t *testing.T, s *Server, set backupSet, req exchange.RestoreRequest) exchange.RestoreResult {
	t.Helper()
	res, err := restoreSet(s, set, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Recovered || res.Started {
		t.Fatalf("a set without Start Service recovered: %+v", res)
	}
	return res
}

func stagedSets(t *testing.T, s *Server, id exchange.StoreID) []exchange.StagedSet {
	t.Helper()
	st, err := s.Status(bg)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := st.Restore(id)
	if !ok {
		return nil
	}
	if st.Service(id) != exchange.RestorePending {
		t.Fatalf("%s with a staged restore is %s", id, st.Service(id))
	}
	return r.Sets
}

// A full set staged in one operation and an incremental added in a later
// one, from another "tape", recover together when Start Service comes with
// the last set: rolled forward to the live state.
func TestChainStagedAcrossOperationsRecoversOnStart(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 5, "a")
	full := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	deliver(t, s, "bob", 5, "b")
	inc := takeBackup(t, s, exchange.StoreIS, exchange.Incremental)
	deliver(t, s, "carol", 5, "c")
	live := digest(t, s)

	res := stageSet(t, s, full, exchange.RestoreRequest{Private: true, Public: true, Last: true})
	if res.Staged != 1 || !strings.Contains(strings.Join(res.Messages, " "), "restore-pending") {
		t.Fatalf("staging result %+v", res)
	}
	if sets := stagedSets(t, s, exchange.StoreIS); len(sets) != 1 || sets[0].Type != exchange.Normal {
		t.Fatalf("staged sets %+v", sets)
	}
	// The live files are untouched while the chain is staged.
	if d := digest(t, s); d != live {
		t.Fatal("staging changed the live data")
	}
	res, err := restoreSet(s, inc, exchange.RestoreRequest{Last: true, Start: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Recovered || !res.Started || !res.RolledForward || len(res.Warnings) != 0 {
		t.Fatalf("result %+v", res)
	}
	if d := digest(t, s); d.Priv != live.Priv || d.Pub != live.Pub {
		t.Fatalf("recovered chain is not the live state: %v", res.Messages)
	}
	if sets := stagedSets(t, s, exchange.StoreIS); sets != nil {
		t.Fatalf("after recovery still staged: %+v", sets)
	}
}

// The same chain staged and then started by the console's service
// control, or by the server's next start.
func TestStagedChainRecoversOnServiceStartAndOnServerStart(t *testing.T) {
	for _, how := range []string{"service", "server"} {
		t.Run(how, func(t *testing.T) {
			s := newTestServer(t, "Org", "Site", "EX1", false)
			deliver(t, s, "alice", 5, "a")
			full := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
			deliver(t, s, "bob", 5, "b")
			inc := takeBackup(t, s, exchange.StoreIS, exchange.Incremental)
			atInc := digest(t, s)
			deliver(t, s, "carol", 5, "c")

			stageSet(t, s, full, exchange.RestoreRequest{Erase: true, Private: true, Public: true})
			stageSet(t, s, inc, exchange.RestoreRequest{Last: true})
			if sets := stagedSets(t, s, exchange.StoreIS); len(sets) != 2 || sets[1].Type != exchange.Incremental {
				t.Fatalf("staged sets %+v", sets)
			}
			if how == "service" {
				res, err := s.StartService(bg, exchange.StoreIS)
				if err != nil {
					t.Fatal(err)
				}
				if !res.Recovered || !res.Started || res.RolledForward || res.LastLSN == 0 {
					t.Fatalf("start result %+v", res)
				}
			} else {
				dir := s.dir
				s.Close()
				s = openTestServer(t, dir)
			}
			if d := digest(t, s); d.Priv != atInc.Priv || d.Pub != atInc.Pub {
				t.Fatal("erase chain is not the state of the incremental")
			}
		})
	}
}

// A full set replaces a staged chain, saying so; a full set that fails
// part-way leaves the staged chain as it was.
func TestFullSetReplacesStagedChainOnlyWhenComplete(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 5, "a")
	full := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	deliver(t, s, "bob", 5, "b")
	inc := takeBackup(t, s, exchange.StoreIS, exchange.Incremental)
	stageSet(t, s, full, exchange.RestoreRequest{Erase: true, Private: true, Public: true})
	stageSet(t, s, inc, exchange.RestoreRequest{})
	before, _ := os.ReadFile(filepath.Join(s.is.dir, restoreMarker))

	// The full set again, cut off in its database.
	req := exchange.RestoreRequest{Env: full.info.Env, Erase: true, Private: true, Public: true}
	ri, err := s.RestorePrepare(bg, req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(ri.Warnings, " "), "discarded") {
		t.Fatalf("no warning that the staged chain goes: %v", ri.Warnings)
	}
	err = s.RestoreWrite(bg, ri.Session, privEDB, io.MultiReader(strings.NewReader("partial"), failingReader{}))
	if err == nil {
		t.Fatal("a cut-off database was accepted")
	}
	after, _ := os.ReadFile(filepath.Join(s.is.dir, restoreMarker))
	if string(after) != string(before) {
		t.Fatal("a failed full set changed the marker")
	}
	if sets := stagedSets(t, s, exchange.StoreIS); len(sets) != 2 {
		t.Fatalf("staged chain after the failed set: %+v", sets)
	}
	if left, _ := filepath.Glob(filepath.Join(s.is.dir, stagingPrefix+"*")); len(left) != 1 {
		t.Fatalf("staging folders after the failed set: %v", left)
	}
	// The whole full set replaces the chain.
	res := stageSet(t, s, full, exchange.RestoreRequest{Erase: true, Private: true, Public: true})
	if !strings.Contains(strings.Join(res.Messages, " "), "discarded") {
		t.Fatalf("completion does not say the chain was discarded: %v", res.Messages)
	}
	if sets := stagedSets(t, s, exchange.StoreIS); len(sets) != 1 {
		t.Fatalf("staged sets after a new full: %+v", sets)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("tape block damaged") }

// An incremental that fails part-way is aborted: its logs are cleared and
// the staged full set stays restorable; a full set that fails leaves
// nothing staged and the service starts on its old data at once.
func TestFailedSetRollsTheMarkerBack(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 5, "a")
	full := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	atFull := digest(t, s)
	deliver(t, s, "bob", 5, "b")
	takeBackup(t, s, exchange.StoreIS, exchange.Copy) // rolls the log: the incremental holds two generations
	deliver(t, s, "bob2", 5, "b")
	inc := takeBackup(t, s, exchange.StoreIS, exchange.Incremental)
	live := digest(t, s)

	// A full set that fails: nothing staged, the service starts at once.
	s.StopService(bg, exchange.StoreIS)
	ri, err := s.RestorePrepare(bg, exchange.RestoreRequest{Env: full.info.Env, Erase: true, Private: true, Public: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.RestoreWrite(bg, ri.Session, privEDB, failingReader{}) == nil {
		t.Fatal("a failing read was accepted")
	}
	if err := s.RestoreWrite(bg, ri.Session, pubEDB, strings.NewReader("x")); !errors.Is(err, exchange.ErrNotFound) {
		t.Fatalf("the aborted session still takes files: %v", err)
	}
	if _, err := s.StartService(bg, exchange.StoreIS); err != nil {
		t.Fatalf("start after a failed full set: %v", err)
	}
	if d := digest(t, s); d != live {
		t.Fatal("a failed set changed the live data")
	}

	// A staged full, then an incremental that fails in its second log.
	stageSet(t, s, full, exchange.RestoreRequest{Erase: true, Private: true, Public: true})
	ri, err = s.RestorePrepare(bg, exchange.RestoreRequest{Env: inc.info.Env})
	if err != nil {
		t.Fatal(err)
	}
	var wrote int
	for _, f := range inc.info.Files {
		if f.Kind != exchange.KindLog {
			continue
		}
		var r io.Reader
		if wrote == 0 {
			fh, _ := os.Open(filepath.Join(inc.dir, f.Name))
			defer fh.Close()
			r = fh
		} else {
			r = failingReader{}
		}
		err := s.RestoreWrite(bg, ri.Session, f.Name, r)
		if wrote++; wrote == 1 && err != nil {
			t.Fatal(err)
		}
		if wrote == 2 {
			break
		}
	}
	if wrote < 2 {
		t.Fatal("the incremental holds one log generation")
	}
	if sets := stagedSets(t, s, exchange.StoreIS); len(sets) != 1 {
		t.Fatalf("staged after a failed incremental: %+v", sets)
	}
	mk, _ := readMarker(s.is.dir)
	logs, _ := os.ReadDir(filepath.Join(mk.staging(s.is.dir), "logs"))
	for _, e := range logs {
		if g, ok := parseGen(e.Name()); !ok || g > mk.HighGen {
			t.Errorf("the failed incremental left %s staged", e.Name())
		}
	}
	// The staged full recovers on start.
	res, err := s.StartService(bg, exchange.StoreIS)
	if err != nil || !res.Recovered {
		t.Fatalf("start: %+v, %v", res, err)
	}
	if d := digest(t, s); d.Priv != atFull.Priv {
		t.Fatal("the staged full did not recover to its state")
	}
}

// A restore session that receives nothing for restoreIdle is aborted by
// the server, between files and inside an upload that stalls.
func TestIdleRestoreSessionIsAborted(t *testing.T) {
	old := restoreIdle
	restoreIdle = 200 * time.Millisecond
	t.Cleanup(func() { restoreIdle = old })
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 5, "a")
	full := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	s.StopService(bg, exchange.StoreIS)
	req := exchange.RestoreRequest{Env: full.info.Env, Erase: true, Private: true, Public: true}

	// Between files: nothing arrives after the prepare.
	ri, err := s.RestorePrepare(bg, req)
	if err != nil {
		t.Fatal(err)
	}
	waitNotReceiving(t, s)
	if err := s.RestoreWrite(bg, ri.Session, privEDB, strings.NewReader("x")); !errors.Is(err, exchange.ErrNotFound) {
		t.Fatalf("write to an abandoned session: %v", err)
	}

	// Inside an upload over the API: the console stops sending but keeps
	// its connection open.
	ts := serveTestAPI(t, s) // starts the services
	s.StopService(bg, exchange.StoreIS)
	c, err := client.Dial(bg, ts.addr, s.Config().Key, s.Fingerprint())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ri, err = c.RestorePrepare(bg, req)
	if err != nil {
		t.Fatal(err)
	}
	unblock := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- c.RestoreWrite(bg, ri.Session, privEDB, &stallingReader{first: []byte("some bytes"), unblock: unblock})
	}()
	waitNotReceiving(t, s)
	close(unblock)
	if err := <-done; err == nil {
		t.Fatal("a stalled upload succeeded")
	}
	// The next restore works at once.
	if _, err := restoreSet(s, full, exchange.RestoreRequest{Erase: true, Private: true, Public: true, Start: true}); err != nil {
		t.Fatalf("restore after an abandoned one: %v", err)
	}
}

type stallingReader struct {
	first   []byte
	unblock chan struct{}
}

func (r *stallingReader) Read(p []byte) (int, error) {
	if len(r.first) > 0 {
		n := copy(p, r.first)
		r.first = r.first[n:]
		return n, nil
	}
	<-r.unblock
	return 0, errors.New("the console went away")
}

func waitNotReceiving(t *testing.T, s *Server) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		s.is.smu.Lock()
		busy := s.is.restore != nil
		s.is.smu.Unlock()
		if !busy {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the idle restore session was never aborted")
}

type testAPI struct{ addr string }

func serveTestAPI(t *testing.T, s *Server) testAPI {
	t.Helper()
	ctx, cancel := context.WithCancel(bg)
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- s.Serve(ctx, "127.0.0.1:0", func(_, url, _ string) { ready <- strings.TrimPrefix(url, "https://") })
	}()
	t.Cleanup(func() { cancel(); <-errc })
	select {
	case addr := <-ready:
		return testAPI{addr}
	case err := <-errc:
		t.Fatal(err)
	}
	return testAPI{}
}

// A service whose backup streams refuses to stop, naming the backup; so
// does the Directory while the Information Store's backup streams.
func TestStopRefusedDuringBackup(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 5, "a")
	info, err := s.BackupPrepare(bg, exchange.StoreIS, exchange.Normal)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []exchange.StoreID{exchange.StoreIS, exchange.StoreDS} {
		err := s.StopService(bg, id)
		if !errors.Is(err, exchange.ErrConflict) || !strings.Contains(err.Error(), "Normal backup") {
			t.Fatalf("stopping %s under a backup: %v", id, err)
		}
	}
	if st, _ := s.Status(bg); st.IS != exchange.Running || len(st.Backups) != 1 || st.Backups[0].Type != exchange.Normal {
		t.Fatalf("status under a backup: %+v", st)
	}
	// A restore from a second console cannot prepare either: the service runs.
	if _, err := s.RestorePrepare(bg, exchange.RestoreRequest{Env: info.Env, Private: true, Public: true}); !errors.Is(err, exchange.ErrConflict) {
		t.Fatalf("restore prepare under a running backup: %v", err)
	}
	if err := s.BackupEnd(bg, info.Session, false); err != nil {
		t.Fatal(err)
	}
	if err := s.StopService(bg, exchange.StoreIS); err != nil {
		t.Fatalf("stop after the backup ended: %v", err)
	}
}

// Cancel drops a staged chain; the service then starts on its old data.
func TestCancelDropsTheStagedRestore(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 5, "a")
	full := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	deliver(t, s, "bob", 5, "b")
	live := digest(t, s)
	stageSet(t, s, full, exchange.RestoreRequest{Erase: true, Private: true, Public: true})
	if _, err := s.CancelRestore(bg, exchange.StoreIS); err != nil {
		t.Fatal(err)
	}
	if sets := stagedSets(t, s, exchange.StoreIS); sets != nil {
		t.Fatalf("still staged: %+v", sets)
	}
	res, err := s.StartService(bg, exchange.StoreIS)
	if err != nil || res.Recovered {
		t.Fatalf("start after cancel: %+v, %v", res, err)
	}
	if d := digest(t, s); d != live {
		t.Fatal("cancel changed the live data")
	}
	// A session being received is aborted by cancel too.
	s.StopService(bg, exchange.StoreIS)
	if _, err := s.RestorePrepare(bg, exchange.RestoreRequest{Env: full.info.Env, Erase: true, Private: true, Public: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartService(bg, exchange.StoreIS); !errors.Is(err, exchange.ErrConflict) {
		t.Fatalf("start while a set is received: %v", err)
	}
	if _, err := s.CancelRestore(bg, exchange.StoreIS); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartService(bg, exchange.StoreIS); err != nil {
		t.Fatal(err)
	}
}

// A restore without Erase whose roll-forward cannot reach the server's
// logs (a later Normal backup truncated them) warns.
func TestRollForwardThatCannotHappenWarns(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 5, "a")
	old := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	for i := 0; i < 3; i++ {
		deliver(t, s, "bob"+string(rune('a'+i)), 5, "b")
		takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	}
	res, err := restoreSet(s, old, exchange.RestoreRequest{Private: true, Public: true, Start: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Recovered || res.RolledForward || len(res.Warnings) == 0 || !strings.Contains(res.Warnings[0], "not in it") {
		t.Fatalf("result %+v", res)
	}
}

// A Copy set carries every log generation on the server; only those that
// recovery replays are staged, and the chain still recovers exactly.
func TestFullSetStagesOnlyTheLogsRecoveryReplays(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	for i := 0; i < 4; i++ {
		deliver(t, s, "m"+string(rune('a'+i)), 5, "x")
		takeBackup(t, s, exchange.StoreIS, exchange.Copy) // each rolls the log
	}
	set := takeBackup(t, s, exchange.StoreIS, exchange.Copy)
	want := digest(t, s)
	if n := set.info.Env.HighGen - set.info.Env.LowGen + 1; n < 4 {
		t.Fatalf("the Copy set holds %d generations", n)
	}
	deliver(t, s, "later", 5, "y")
	stageSet(t, s, set, exchange.RestoreRequest{Erase: true, Private: true, Public: true})
	mk, _ := readMarker(s.is.dir)
	logs, _ := os.ReadDir(filepath.Join(mk.staging(s.is.dir), "logs"))
	if len(logs) != 1 || logs[0].Name() != genName(set.info.Env.HighGen) {
		var names []string
		for _, e := range logs {
			names = append(names, e.Name())
		}
		t.Fatalf("staged logs %v, want only %s", names, genName(set.info.Env.HighGen))
	}
	if _, err := s.StartService(bg, exchange.StoreIS); err != nil {
		t.Fatal(err)
	}
	if d := digest(t, s); d.Priv != want.Priv || d.Pub != want.Pub {
		t.Fatal("the recovered Copy set is not the state of the backup")
	}
}

// A console may leave out the generations recovery never replays; the
// server checks that claim when the set completes.
func TestFullSetWithSkippedLogs(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	for i := 0; i < 3; i++ {
		deliver(t, s, "m"+string(rune('a'+i)), 5, "x")
		takeBackup(t, s, exchange.StoreIS, exchange.Copy)
	}
	set := takeBackup(t, s, exchange.StoreIS, exchange.Copy)
	want := digest(t, s)
	env := set.info.Env
	restoreSkipping := func(skip []string, start bool) (exchange.RestoreResult, error) {
		s.StopService(bg, exchange.StoreIS)
		ri, err := s.RestorePrepare(bg, exchange.RestoreRequest{Env: env, Erase: true, Private: true, Public: true, Skip: skip, Start: start})
		if err != nil {
			return exchange.RestoreResult{}, err
		}
	files:
		for _, f := range set.info.Files {
			for _, sk := range skip {
				if sk == f.Name {
					continue files
				}
			}
			fh, _ := os.Open(filepath.Join(set.dir, f.Name))
			err := s.RestoreWrite(bg, ri.Session, f.Name, fh)
			fh.Close()
			if err != nil {
				return exchange.RestoreResult{}, err
			}
		}
		return s.RestoreComplete(bg, ri.Session)
	}
	// Leaving out the last generation, which recovery starts from: refused.
	if _, err := restoreSkipping([]string{genName(env.HighGen)}, false); !errors.Is(err, exchange.ErrRefused) || !strings.Contains(err.Error(), "recovery needs it") {
		t.Fatalf("skipping the needed generation: %v", err)
	}
	if sets := stagedSets(t, s, exchange.StoreIS); sets != nil {
		t.Fatalf("a refused set was staged: %+v", sets)
	}
	var skip []string
	for g := env.LowGen; g < env.HighGen; g++ {
		skip = append(skip, genName(g))
	}
	if _, err := restoreSkipping(skip, true); err != nil {
		t.Fatal(err)
	}
	if d := digest(t, s); d.Priv != want.Priv || d.Pub != want.Pub {
		t.Fatal("the set restored without its older logs is not the state of the backup")
	}
}
