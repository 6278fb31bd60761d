package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"exbackup/catalog"
	"exbackup/exchange"
	"exbackup/tape"
)

// fakeServer is a server in memory. Its backup files are fixed; a stream
// can be made to break part-way, and a restore write to fail.
type fakeServer struct {
	name, site string
	org        *fakeOrg

	mu        sync.Mutex
	status    exchange.Status
	gen       uint32
	breakFile string // BackupRead of this file fails after breakAt bytes
	breakAt   int
	writeFail string // RestoreWrite of this file fails part-way
	ended     []bool // BackupEnd's success, in order
	prepared  []exchange.RestoreRequest
	written   map[string][]byte
	completed int
	stopped   []exchange.StoreID
	started   []exchange.StoreID
	warn      string                      // RestoreComplete warns so
	staged    []exchange.StagedRestore    // what Status reports staged
	busy      []exchange.BackupInProgress // backups streaming: StopService refuses while one of its store is listed
	statusErr error                       // Status fails so
	statuses  int                         // Status calls
	hideBusy  int                         // Status leaves busy out this many times, as the server's does under a lock

	recipients []exchange.Recipient     // the Directory
	batches    []exchange.ImportRequest // ImportItems calls, in order
	imported   map[string][][]byte      // alias/folder → messages imported
	importErr  error
}

var fakeFiles = map[exchange.StoreID][]string{
	exchange.StoreDS: {"dir.edb", "edb00001.log"},
	exchange.StoreIS: {"priv.edb", "pub.edb", "edb00001.log"},
}

func fakeData(name string) []byte { return bytes.Repeat([]byte(name+" "), 3000) }

func (s *fakeServer) Status(context.Context) (exchange.Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statuses++
	if s.statusErr != nil {
		return exchange.Status{}, s.statusErr
	}
	st := s.status
	st.Restores = s.staged
	st.Backups = s.busy
	if s.hideBusy > 0 {
		s.hideBusy--
		st.Backups = nil
	}
	return st, nil
}

func (s *fakeServer) Topology(context.Context) (exchange.Topology, error) {
	return s.org.topology(), nil
}

func (s *fakeServer) StartService(_ context.Context, id exchange.StoreID) (exchange.RestoreResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started = append(s.started, id)
	if id == exchange.StoreDS {
		s.status.DS = exchange.Running
	} else {
		s.status.IS = exchange.Running
	}
	return exchange.RestoreResult{}, nil
}

func (s *fakeServer) CancelRestore(_ context.Context, id exchange.StoreID) (exchange.RestoreResult, error) {
	return exchange.RestoreResult{}, nil
}

func (s *fakeServer) StopService(_ context.Context, id exchange.StoreID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.busy {
		if b.Store == id || id == exchange.StoreDS {
			return exchange.Errorf(exchange.CodeConflict, "%s on %s is not stopped: a %s backup of it is streaming", b.Store.ServiceName(), s.name, b.Type)
		}
	}
	s.stopped = append(s.stopped, id)
	if id == exchange.StoreDS {
		s.status.DS, s.status.IS = exchange.Stopped, exchange.Stopped
	} else {
		s.status.IS = exchange.Stopped
	}
	return nil
}

func (s *fakeServer) BackupPrepare(_ context.Context, id exchange.StoreID, t exchange.BackupType) (exchange.BackupInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	env := exchange.RestoreEnv{Organization: "Org", Site: s.site, Server: s.name, Store: id, Type: t,
		LowGen: 1, HighGen: s.gen, Signature: s.name + string(id), Created: time.Now()}
	info := exchange.BackupInfo{Session: fmt.Sprint("b", s.gen), Env: env}
	for _, f := range fakeFiles[id] {
		if !t.Full() && f != "edb00001.log" {
			continue
		}
		info.Files = append(info.Files, exchange.BackupFile{Name: f, Size: int64(len(fakeData(f)))})
	}
	return info, nil
}

// brokenReader sends n bytes, then fails as a dropped connection does.
type brokenReader struct {
	r io.Reader
	n int
}

var errConnReset = errors.New("read tcp 127.0.0.1:7401: connection reset by peer")

func (b *brokenReader) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, errConnReset
	}
	p = p[:min(len(p), b.n)]
	n, err := b.r.Read(p)
	b.n -= n
	return n, err
}

func (s *fakeServer) BackupRead(_ context.Context, _, file string) (io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var r io.Reader = bytes.NewReader(fakeData(file))
	if file == s.breakFile {
		r = &brokenReader{r: r, n: s.breakAt}
	}
	return io.NopCloser(r), nil
}

func (s *fakeServer) BackupEnd(_ context.Context, _ string, success bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = append(s.ended, success)
	return nil
}

func (s *fakeServer) RestorePrepare(_ context.Context, req exchange.RestoreRequest) (exchange.RestoreInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prepared = append(s.prepared, req)
	return exchange.RestoreInfo{Session: fmt.Sprint("r", len(s.prepared))}, nil
}

func (s *fakeServer) RestoreWrite(_ context.Context, _, file string, r io.Reader) error {
	var b bytes.Buffer
	if _, err := io.CopyN(&b, r, 100); err != nil && err != io.EOF {
		return err
	}
	s.mu.Lock()
	fail := file == s.writeFail
	s.mu.Unlock()
	if fail {
		return errConnReset
	}
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.written == nil {
		s.written = map[string][]byte{}
	}
	s.written[file] = b.Bytes()
	return nil
}

func (s *fakeServer) RestoreComplete(context.Context, string) (exchange.RestoreResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.completed++
	res := exchange.RestoreResult{Messages: []string{s.name + " recovered"}}
	if s.warn != "" {
		res.Warnings = []string{s.warn}
	}
	return res, nil
}

func (s *fakeServer) Close() error { return nil }

func (s *fakeServer) Recipients(context.Context) ([]exchange.Recipient, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]exchange.Recipient(nil), s.recipients...), nil
}

// ImportItems keeps what it is sent in s.imported, counting a message as
// a duplicate when its mailbox and folder already hold the same bytes.
func (s *fakeServer) ImportItems(_ context.Context, req exchange.ImportRequest) (exchange.ImportResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, req)
	var res exchange.ImportResult
	if s.importErr != nil {
		return res, s.importErr
	}
	for _, r := range req.Create {
		s.recipients = append(s.recipients, r)
		res.MailboxesCreated = append(res.MailboxesCreated, r.Alias)
	}
	if s.imported == nil {
		s.imported = map[string][][]byte{}
	}
	for _, m := range req.Messages {
		known := false
		for _, r := range s.recipients {
			known = known || r.Alias == m.Mailbox
		}
		if !known {
			return res, fmt.Errorf("mailbox %q not found", m.Mailbox)
		}
		key := m.Mailbox + "/" + m.Folder
		dup := false
		for _, b := range s.imported[key] {
			dup = dup || bytes.Equal(b, m.Data)
		}
		if dup {
			res.Duplicates++
			continue
		}
		if _, ok := s.imported[key]; !ok {
			res.FoldersCreated = append(res.FoldersCreated, key)
		}
		s.imported[key] = append(s.imported[key], m.Data)
		res.Imported++
	}
	for _, p := range req.Posts {
		key := "Public Folders/" + p.Folder
		s.imported[key] = append(s.imported[key], []byte(p.Body))
		res.Imported++
	}
	return res, nil
}

// fakeOrg is an organization of fake servers, reached by address; the
// addresses in down do not answer.
type fakeOrg struct {
	mu      sync.Mutex
	servers map[string]*fakeServer // by address
	down    map[string]bool
}

func newFakeOrg(names ...string) *fakeOrg {
	o := &fakeOrg{servers: map[string]*fakeServer{}, down: map[string]bool{}}
	for _, n := range names {
		o.servers[addrOf(n)] = &fakeServer{name: n, site: "Site", org: o,
			status: exchange.Status{Organization: "Org", Site: "Site", Name: n, DS: exchange.Running, IS: exchange.Running}}
	}
	return o
}

func addrOf(name string) string { return name + ".example:7401" }

func (o *fakeOrg) server(name string) *fakeServer { return o.servers[addrOf(name)] }

func (o *fakeOrg) topology() exchange.Topology {
	site := exchange.Site{Name: "Site"}
	for addr, s := range o.servers {
		site.Servers = append(site.Servers, exchange.ServerInfo{Name: s.name, Site: "Site", Address: addr, Fingerprint: "sha256:" + s.name})
	}
	sort.Slice(site.Servers, func(i, j int) bool { return site.Servers[i].Name < site.Servers[j].Name })
	return exchange.Topology{Organization: "Org", Sites: []exchange.Site{site}}
}

func (o *fakeOrg) dial(_ context.Context, addr, key, fingerprint string) (Server, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.down[addr] {
		return nil, fmt.Errorf("dial tcp %s: connect: connection refused", addr)
	}
	s, ok := o.servers[addr]
	if !ok {
		return nil, fmt.Errorf("dial tcp %s: no such host", addr)
	}
	return s, nil
}

// failCatalog is the real catalog with writes that fail when asked.
type failCatalog struct {
	Catalog
	addSetErr, updateErr error
}

func (c *failCatalog) AddSet(s catalog.Set, entries []catalog.Entry) (catalog.Set, error) {
	if c.addSetErr != nil {
		return catalog.Set{}, c.addSetErr
	}
	return c.Catalog.AddSet(s, entries)
}

func (c *failCatalog) UpdateSet(s catalog.Set) error {
	if c.updateErr != nil {
		return c.updateErr
	}
	return c.Catalog.UpdateSet(s)
}

// failLibrary is the real library whose set writers fail when asked: the
// addFileErr-th file added (from 1) fails.
type failLibrary struct {
	Library
	failAt     int
	addFileErr error
	staged     int // new tapes staged (Replace backups begun)
}

func (l *failLibrary) wrap(t Tape, err error) (Tape, error) {
	if err != nil {
		return nil, err
	}
	return failTape{Tape: t, lib: l}, nil
}

func (l *failLibrary) Open(name string) (Tape, error) { return l.wrap(l.Library.Open(name)) }
func (l *failLibrary) OpenPath(p string) (Tape, error) {
	return l.wrap(l.Library.OpenPath(p))
}
func (l *failLibrary) Create(name string, o tape.CreateOptions) (Tape, error) {
	return l.wrap(l.Library.Create(name, o))
}

func (l *failLibrary) Stage(name string, o tape.CreateOptions) (StagedTape, error) {
	l.staged++
	st, err := l.Library.Stage(name, o)
	if err != nil {
		return nil, err
	}
	return failStaged{failTape: failTape{Tape: st, lib: l}, st: st}, nil
}

type failStaged struct {
	failTape
	st StagedTape
}

func (t failStaged) Commit() error  { return t.st.Commit() }
func (t failStaged) Discard() error { return t.st.Discard() }

type failTape struct {
	Tape
	lib *failLibrary
}

func (t failTape) AppendSet(o tape.SetOptions) (SetWriter, error) {
	w, err := t.Tape.AppendSet(o)
	if err != nil {
		return nil, err
	}
	return &failWriter{SetWriter: w, lib: t.lib}, nil
}

type failWriter struct {
	SetWriter
	lib   *failLibrary
	added int
}

func (w *failWriter) AddFile(name string, size int64, mod time.Time, r io.Reader) (tape.Hash, error) {
	w.added++
	if w.lib.addFileErr != nil && w.added == w.lib.failAt {
		io.CopyN(io.Discard, r, size/2)
		return tape.Hash{}, w.lib.addFileErr
	}
	return w.SetWriter.AddFile(name, size, mod, r)
}

// fakeEnv is an engine on a real catalog and tape library in a temporary
// home, connected to an organization of fake servers.
type fakeEnv struct {
	e   *Engine
	org *fakeOrg
	cat *failCatalog
	lib *failLibrary
}

func newFakeEnv(t *testing.T, servers ...string) *fakeEnv {
	t.Helper()
	if len(servers) == 0 {
		servers = []string{"EX1"}
	}
	home := t.TempDir()
	cat, err := catalog.Open(filepath.Join(home, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	lib, err := tape.OpenLibrary(filepath.Join(home, "tapes"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeEnv{org: newFakeOrg(servers...), cat: &failCatalog{Catalog: cat}}
	f.lib = &failLibrary{Library: fileLibrary{lib}}
	f.e = newEngine(home, Settings{}, f.cat, f.lib, f.org.dial)
	t.Cleanup(func() { f.e.Close() })
	if err := f.e.Connect(bg, addrOf(servers[0]), "key", "sha256:"+servers[0]); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fakeEnv) catalogSets(t *testing.T, tapeName string) []catalog.Set {
	t.Helper()
	ct, err := f.cat.TapeByName(tapeName)
	if err != nil {
		t.Fatal(err)
	}
	sets, err := f.cat.Sets(ct.ID)
	if err != nil {
		t.Fatal(err)
	}
	return sets
}
