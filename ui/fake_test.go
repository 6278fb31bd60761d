package ui

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"exbackup/catalog"
	"exbackup/engine"
	"exbackup/exchange"
)

func TestMain(m *testing.M) {
	time.Local = time.UTC // dates in masters and messages do not depend on the machine
	os.Exit(m.Run())
}

// testNow is "today" in the tests.
var testNow = time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)

// fakeEngine records what the console asks and answers what a test set.
type fakeEngine struct {
	mu sync.Mutex

	org      engine.Org
	orgErr   error
	orgCalls int

	tapes   []catalog.Tape
	sets    map[uint64][]catalog.Set
	missing map[uint64]bool

	fingerprint string
	fetchErr    error
	connectErr  error
	fetched     []string
	connects    [][3]string

	backups   []engine.BackupRequest
	backupRun func(ctx context.Context, p *engine.Progress) (engine.BackupResult, error)

	checks        []engine.RestoreRequest
	checkWarnings []string
	checkErr      error
	restores      []engine.RestoreRequest
	restoreErr    error
	restoreMsgs   []string // what the servers say: logged, and returned in Messages, as the engine does
	restoreRes    engine.RestoreResult

	services    []string // "start IS EXCH01", "stop DS EXCH01", "cancel IS EXCH01", "stop-after-backup IS EXCH01"
	serviceRes  exchange.RestoreResult
	serviceErr  error
	backupEnds  chan error                   // StopServiceAfterBackup returns what it gets (service_test.go)
	restoreBusy *engine.BackupStreamingError // Restore asks OnBackupStreaming about it first

	verifies []engine.VerifyRequest
	catalogs []string
	erased   []string
}

func (f *fakeEngine) Organization(ctx context.Context) (engine.Org, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.orgCalls++
	return f.org, f.orgErr
}

func (f *fakeEngine) FetchFingerprint(ctx context.Context, addr string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fetched = append(f.fetched, addr)
	return f.fingerprint, f.fetchErr
}

func (f *fakeEngine) Connect(ctx context.Context, addr, key, fp string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.connects = append(f.connects, [3]string{addr, key, fp})
	return f.connectErr
}

func (f *fakeEngine) Backup(ctx context.Context, req engine.BackupRequest, p *engine.Progress) (engine.BackupResult, error) {
	f.mu.Lock()
	f.backups = append(f.backups, req)
	run := f.backupRun
	f.mu.Unlock()
	if run != nil {
		return run(ctx, p)
	}
	return engine.BackupResult{Tape: req.TapeName, Sets: []int{1}}, nil
}

func (f *fakeEngine) CheckRestore(req engine.RestoreRequest) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks = append(f.checks, req)
	return f.checkWarnings, f.checkErr
}

func (f *fakeEngine) Restore(ctx context.Context, req engine.RestoreRequest, p *engine.Progress) (engine.RestoreResult, error) {
	if f.restoreBusy != nil && (req.OnBackupStreaming == nil || !req.OnBackupStreaming(ctx, f.restoreBusy)) {
		return engine.RestoreResult{}, f.restoreBusy
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rec := req
	rec.OnBackupStreaming = nil // asked above; a func does not compare
	f.restores = append(f.restores, rec)
	for _, m := range f.restoreMsgs {
		p.OnLog(m)
	}
	res := f.restoreRes
	res.Sets = len(req.Sets)
	if res.Messages == nil {
		res.Messages = f.restoreMsgs
	}
	return res, f.restoreErr
}

func (f *fakeEngine) service(what, server string, id exchange.StoreID) (exchange.RestoreResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.services = append(f.services, what+" "+string(id)+" "+server)
	return f.serviceRes, f.serviceErr
}

func (f *fakeEngine) StartService(ctx context.Context, server string, id exchange.StoreID) (exchange.RestoreResult, error) {
	return f.service("start", server, id)
}

func (f *fakeEngine) StopService(ctx context.Context, server string, id exchange.StoreID) error {
	_, err := f.service("stop", server, id)
	return err
}

func (f *fakeEngine) CancelRestore(ctx context.Context, server string, id exchange.StoreID) (exchange.RestoreResult, error) {
	return f.service("cancel", server, id)
}

func (f *fakeEngine) Verify(ctx context.Context, req engine.VerifyRequest, p *engine.Progress) (engine.VerifyResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verifies = append(f.verifies, req)
	return engine.VerifyResult{Sets: 1}, nil
}

func (f *fakeEngine) CatalogTape(ctx context.Context, nameOrPath string, p *engine.Progress) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.catalogs = append(f.catalogs, nameOrPath)
	return nil
}

func (f *fakeEngine) Erase(ctx context.Context, tape string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.erased = append(f.erased, tape)
	return nil
}

func (f *fakeEngine) Tapes() ([]catalog.Tape, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]catalog.Tape(nil), f.tapes...), nil
}

func (f *fakeEngine) Sets(id uint64) ([]catalog.Set, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]catalog.Set(nil), f.sets[id]...), nil
}

func (f *fakeEngine) TapePresent(t catalog.Tape) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.missing[t.ID]
}

func (f *fakeEngine) Owner() string { return "admin@backup01" }

// locked reads the fake's records under its lock.
func (f *fakeEngine) locked(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

// sampleOrg is three servers in two sites.
func sampleOrg() engine.Org {
	return engine.Org{
		Topology: exchange.Topology{Organization: "First Organization", Sites: []exchange.Site{
			{Name: "Dublin", Servers: []exchange.ServerInfo{{Name: "EXCH03", Site: "Dublin", Address: "exch03:7401", Fingerprint: "sha256:cc"}}},
			{Name: "Redmond", Servers: []exchange.ServerInfo{
				{Name: "EXCH01", Site: "Redmond", Address: "exch01:7401", Fingerprint: "sha256:aa"},
				{Name: "EXCH02", Site: "Redmond", Address: "exch02:7401", Fingerprint: "sha256:bb"},
			}},
		}},
		Status: map[string]exchange.Status{
			"EXCH01": {Name: "EXCH01", Site: "Redmond", DS: exchange.Running, IS: exchange.Running},
			"EXCH02": {Name: "EXCH02", Site: "Redmond", DS: exchange.Running, IS: exchange.Running, CircularLogging: true},
			"EXCH03": {Name: "EXCH03", Site: "Dublin", DS: exchange.Running, IS: exchange.Stopped},
		},
	}
}

var tapeCreated = time.Date(2026, 11, 24, 22, 0, 0, 0, time.UTC)

func sampleSet(tape uint64, n int, typ, server, store string, state catalog.SetState) catalog.Set {
	return catalog.Set{ID: tape*100 + uint64(n), TapeID: tape, Number: n, Type: typ, Description: "nightly",
		Created: tapeCreated.Add(time.Duration(n) * time.Minute), Owner: "admin@backup01", Organization: "First Organization",
		Site: "Redmond", Server: server, Stores: []string{store}, State: state}
}

// newFakeEngine has the sample organization and two tapes: tape 1 is
// missing; tape 2 holds a full DS and IS of EXCH01, an incremental of its
// IS and an aborted set.
func newFakeEngine() *fakeEngine {
	return &fakeEngine{
		org:         sampleOrg(),
		fingerprint: "sha256:3f9a2c41d07be58e6a1f4c3b92d8e07a5c6b1d2e3f4a5b6c7d8e9f0a1b2c3d4e",
		tapes: []catalog.Tape{
			{ID: 1, FamilyID: 0x11, Sequence: 1, Name: "Old tape", Created: tapeCreated.AddDate(0, 0, -7), Owner: "admin@backup01", Location: "/tapes/old.bkf"},
			{ID: 2, FamilyID: 0x22, Sequence: 1, Name: "Tape created on 11/24/2026", Created: tapeCreated, Owner: "admin@backup01", Location: "/tapes/tape-2.bkf"},
		},
		sets: map[uint64][]catalog.Set{
			1: {sampleSet(1, 1, "normal", "EXCH01", "IS", catalog.StateComplete)},
			2: {
				sampleSet(2, 1, "normal", "EXCH01", "DS", catalog.StateComplete),
				sampleSet(2, 2, "normal", "EXCH01", "IS", catalog.StateComplete),
				sampleSet(2, 3, "incremental", "EXCH01", "IS", catalog.StateComplete),
				sampleSet(2, 4, "normal", "EXCH02", "DS", catalog.StateAborted),
			},
		},
		missing: map[uint64]bool{1: true},
	}
}

// uiQueue stands in for fyne.Do: goroutines post to it and the test's
// goroutine runs what they posted, as Fyne's one UI goroutine would (the
// test driver would run them at once on the posting goroutine).
type uiQueue struct{ ch chan func() }

func newUIQueue() *uiQueue { return &uiQueue{ch: make(chan func(), 1<<14)} }

func (q *uiQueue) do(f func()) { q.ch <- f }

// until runs posted functions until cond holds.
func (q *uiQueue) until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for !cond() {
		select {
		case f := <-q.ch:
			f()
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// drain runs what has been posted so far.
func (q *uiQueue) drain() {
	for {
		select {
		case f := <-q.ch:
			f()
		default:
			return
		}
	}
}

// newTestConsole builds a console on the test driver with the sample
// organization and catalog loaded.
func newTestConsole(t *testing.T, eng *fakeEngine) (*Console, *uiQueue) {
	t.Helper()
	a := test.NewTempApp(t)
	q := newUIQueue()
	c := newConsole(a, eng, Options{Version: "1.2.3", LogFile: "/home/admin/.local/share/exbackup/Backup.log"}, q.do)
	c.now = func() time.Time { return testNow }
	c.settle = 0
	c.win.Resize(fyne.NewSize(1180, 760))
	t.Cleanup(func() {
		q.drain()
		if c.ctx.Err() == nil { // not closed by the test
			c.win.Close()
		}
	})
	q.until(t, "the organization and the catalog", func() bool { return c.orgLoaded && c.tapeLoaded })
	return c, q
}

// find returns the objects of type T under o, as rendered: it walks the
// widgets' own renderers (test.LaidOutObjects would build new ones).
func find[T any](o fyne.CanvasObject) []T {
	var out []T
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if v, ok := o.(T); ok {
			out = append(out, v)
		}
		switch x := o.(type) {
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(x).Objects() {
				walk(c)
			}
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c)
			}
		}
	}
	walk(o)
	return out
}

// overlayContent is the top overlay (the open dialog) of the window.
func overlayTop(c *Console) fyne.CanvasObject {
	return c.win.Canvas().Overlays().Top()
}

func engineOrgEmpty() engine.Org { return engine.Org{} }
