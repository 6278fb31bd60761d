// Package apitest serves a fake Node (Fake) over real TLS (Env), for the
// tests of the API handler (exchange/server) and of the client
// (exchange/client). It imports neither the server nor anything the
// server's own tests could not import; the handler under test is passed in.
package apitest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/client"
	"exbackup/exchange/wire"
)

// Fake is a Node that records its calls and answers the canned values
// below. SetErr makes a method fail; the other fields shape the file calls
// and are guarded by Mu while a server runs.
type Fake struct {
	Mu    sync.Mutex
	calls []string
	args  map[string][]any
	errs  map[string]error

	Files      map[string][]byte // BackupRead contents by file name
	FailAt     map[string]int    // BackupRead fails after this many bytes
	CloseErr   error             // BackupRead's reader fails to close
	Block      bool              // BackupRead streams forever, until its context ends; Status waits for its end
	Waiting    chan struct{}     // if not nil, closed when a blocking Status begins to wait
	CtxDone    chan struct{}     // closed when a blocking call sees its context end
	PanicIn    string            // a method that panics
	Restore    string            // RestoreWrite: "" reads all; "exact" reads len(want) bytes; "part" stops early; "ignore" swallows read errors
	RestoreLen int               // for "exact" and "part"
	Written    map[string][]byte // RestoreWrite results
	ReadErr    error             // the error RestoreWrite's reader gave
}

// NewFake returns a Fake that answers every call.
func NewFake() *Fake {
	return &Fake{
		args:    map[string][]any{},
		errs:    map[string]error{},
		Files:   map[string][]byte{},
		FailAt:  map[string]int{},
		Written: map[string][]byte{},
		CtxDone: make(chan struct{}),
	}
}

func (f *Fake) record(name string, args ...any) error {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	if f.PanicIn == name {
		panic("fake: " + name + " panics")
	}
	f.calls = append(f.calls, name)
	f.args[name] = args
	return f.errs[name]
}

// SetErr makes the named method answer err.
func (f *Fake) SetErr(name string, err error) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.errs[name] = err
}

// CallCount is the number of calls that reached the fake.
func (f *Fake) CallCount() int {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return len(f.calls)
}

// LastCall names the last method called.
func (f *Fake) LastCall() string {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	if len(f.calls) == 0 {
		return ""
	}
	return f.calls[len(f.calls)-1]
}

// ArgsOf returns the arguments of the last call of a method.
func (f *Fake) ArgsOf(name string) []any {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return f.args[name]
}

// The canned answers of a Fake.
var (
	Created  = time.Date(2001, 3, 14, 9, 26, 53, 0, time.UTC)
	Status   = exchange.Status{Organization: "Contoso", Site: "Redmond", Name: "EXCH01", DS: exchange.Running, IS: exchange.RestorePending, CircularLogging: true}
	Topology = exchange.Topology{Organization: "Contoso", Sites: []exchange.Site{
		{Name: "Redmond", Servers: []exchange.ServerInfo{{Name: "EXCH01", Site: "Redmond", Address: "127.0.0.1:7001", Fingerprint: wire.Fingerprint([]byte("EXCH01"))}}},
		{Name: "Paris", Servers: []exchange.ServerInfo{{Name: "EXCH03", Site: "Paris"}}},
	}}
	Recipients = []exchange.Recipient{{Alias: "jsmith", DisplayName: "John Smith", HomeServer: "EXCH01"}}
	RestoreEnv = exchange.RestoreEnv{Organization: "Contoso", Site: "Redmond", Server: "EXCH01", Store: exchange.StoreIS, Type: exchange.Normal,
		BaseLSN: 1234, LowGen: 10, HighGen: 12, HighLSN: 2345, Signature: "abcdef", Created: Created}
	BackupInfo = exchange.BackupInfo{Session: "s-1", Env: RestoreEnv, Files: []exchange.BackupFile{
		{Name: "priv.edb", Kind: exchange.KindDatabase, Size: 1 << 20}, {Name: "edb0000A.log", Kind: exchange.KindLog, Size: 5 << 20}, {Name: "restore.env", Kind: exchange.KindEnv, Size: 300},
	}}
	RestoreInfo   = exchange.RestoreInfo{Session: "r-1", Warnings: []string{"Public folders were left as they were."}}
	RestoreResult = exchange.RestoreResult{Recovered: true, LastLSN: 4567, Started: true, Messages: []string{"Rolled forward through 3 logs."}}
	StartResult   = exchange.RestoreResult{Recovered: true, LastLSN: 99, Started: true, Warnings: []string{"Roll-forward stopped."}}
	CancelResult  = exchange.RestoreResult{Messages: []string{"The staged restore was cancelled."}}
	Digest        = exchange.Digest{DS: "aa", Priv: "bb", Pub: "cc"}
	ImportResult  = exchange.ImportResult{Imported: 2, Duplicates: 1, FoldersCreated: []string{"jsmith/Projects"}, MailboxesCreated: []string{"jsmith"},
		Messages: []string{"mailbox jsmith recreated without a password"}}
)

func (f *Fake) Status(ctx context.Context) (exchange.Status, error) {
	if err := f.record("Status"); err != nil {
		return exchange.Status{}, err
	}
	f.Mu.Lock()
	block, waiting, done := f.Block, f.Waiting, f.CtxDone
	f.Mu.Unlock()
	if block {
		if waiting != nil {
			close(waiting)
		}
		<-ctx.Done()
		close(done)
		return exchange.Status{}, ctx.Err()
	}
	return Status, nil
}

func (f *Fake) Topology(ctx context.Context) (exchange.Topology, error) {
	return Topology, f.record("Topology")
}

func (f *Fake) Join(ctx context.Context, s exchange.ServerInfo) (exchange.Topology, error) {
	return Topology, f.record("Join", s)
}

func (f *Fake) UpdateServer(ctx context.Context, s exchange.ServerInfo) error {
	return f.record("UpdateServer", s)
}

func (f *Fake) Recipients(ctx context.Context) ([]exchange.Recipient, error) {
	return Recipients, f.record("Recipients")
}

func (f *Fake) StartService(ctx context.Context, id exchange.StoreID) (exchange.RestoreResult, error) {
	return StartResult, f.record("StartService", id)
}

func (f *Fake) CancelRestore(ctx context.Context, id exchange.StoreID) (exchange.RestoreResult, error) {
	return CancelResult, f.record("CancelRestore", id)
}

func (f *Fake) StopService(ctx context.Context, id exchange.StoreID) error {
	return f.record("StopService", id)
}

func (f *Fake) BackupPrepare(ctx context.Context, id exchange.StoreID, t exchange.BackupType) (exchange.BackupInfo, error) {
	return BackupInfo, f.record("BackupPrepare", id, t)
}

func (f *Fake) BackupRead(ctx context.Context, session, file string) (io.ReadCloser, error) {
	if err := f.record("BackupRead", session, file); err != nil {
		return nil, err
	}
	f.Mu.Lock()
	defer f.Mu.Unlock()
	if f.Block {
		return &blockingReader{ctx: ctx, done: f.CtxDone}, nil
	}
	data, ok := f.Files[file]
	if !ok {
		return nil, exchange.Errorf(exchange.CodeNotFound, "backup session %s has no file %s", session, file)
	}
	var r io.Reader = bytes.NewReader(data)
	if n, ok := f.FailAt[file]; ok {
		r = io.MultiReader(bytes.NewReader(data[:n]), ErrReader{Err: errors.New("read error on priv.edb: input/output error")})
	}
	return readCloser{r, f.CloseErr}, nil
}

type readCloser struct {
	io.Reader
	closeErr error
}

func (r readCloser) Close() error { return r.closeErr }

// ErrReader fails every read with Err.
type ErrReader struct{ Err error }

func (r ErrReader) Read([]byte) (int, error) { return 0, r.Err }

// blockingReader streams zeros slowly until its context ends.
type blockingReader struct {
	ctx  context.Context
	done chan struct{}
	once sync.Once
}

func (r *blockingReader) Read(p []byte) (int, error) {
	select {
	case <-r.ctx.Done():
		r.once.Do(func() { close(r.done) })
		return 0, r.ctx.Err()
	case <-time.After(time.Millisecond):
	}
	n := min(len(p), 4096)
	clear(p[:n])
	return n, nil
}

func (r *blockingReader) Close() error { return nil }

func (f *Fake) BackupEnd(ctx context.Context, session string, success bool) error {
	return f.record("BackupEnd", session, success)
}

func (f *Fake) RestorePrepare(ctx context.Context, req exchange.RestoreRequest) (exchange.RestoreInfo, error) {
	return RestoreInfo, f.record("RestorePrepare", req)
}

func (f *Fake) RestoreWrite(ctx context.Context, session, file string, r io.Reader) error {
	if err := f.record("RestoreWrite", session, file); err != nil {
		return err
	}
	f.Mu.Lock()
	mode, n := f.Restore, f.RestoreLen
	f.Mu.Unlock()
	var (
		data []byte
		err  error
	)
	switch mode {
	case "exact", "part":
		data = make([]byte, n)
		_, err = io.ReadFull(r, data)
	default:
		data, err = io.ReadAll(r)
	}
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.ReadErr = err
	if err != nil && mode != "ignore" {
		// As a server does: a new error that keeps only the message.
		return exchange.Errorf(exchange.CodeInternal, "receiving %s: %v", file, err)
	}
	f.Written[file] = data
	return nil
}

func (f *Fake) RestoreComplete(ctx context.Context, session string) (exchange.RestoreResult, error) {
	return RestoreResult, f.record("RestoreComplete", session)
}

func (f *Fake) CreateMailbox(ctx context.Context, r exchange.Recipient) error {
	return f.record("CreateMailbox", r)
}

func (f *Fake) Deliver(ctx context.Context, m exchange.Message) error {
	return f.record("Deliver", m)
}

func (f *Fake) Post(ctx context.Context, p exchange.Post) error {
	return f.record("Post", p)
}

func (f *Fake) Digest(ctx context.Context) (exchange.Digest, error) {
	return Digest, f.record("Digest")
}

func (f *Fake) ImportItems(ctx context.Context, req exchange.ImportRequest) (exchange.ImportResult, error) {
	if err := f.record("ImportItems", req); err != nil {
		return exchange.ImportResult{}, err
	}
	return ImportResult, nil
}

// Env is a Fake served over real TLS by the handler under test.
type Env struct {
	Fake *Fake
	TS   *httptest.Server
	Addr string
	FP   string
	Key  string
	Cert tls.Certificate
	HTTP *http.Client // trusts the test certificate; sends no key by itself
}

// NewEnv serves a new Fake through handler (the server's NewHandler) with
// cert, whose fingerprint is fp, and key; http2 offers HTTP/2 as well.
func NewEnv(t testing.TB, http2 bool, cert tls.Certificate, fp, key string, handler func(n exchange.Node, key string) http.Handler) *Env {
	t.Helper()
	e := &Env{Fake: NewFake(), FP: fp, Key: key, Cert: cert}
	e.TS = httptest.NewUnstartedServer(handler(e.Fake, e.Key))
	e.TS.EnableHTTP2 = http2
	e.TS.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
	e.TS.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected here
	e.TS.StartTLS()
	t.Cleanup(e.TS.Close)
	e.Addr = e.TS.Listener.Addr().String()
	e.HTTP = e.TS.Client()
	return e
}

// Dial connects a client to the env; the test's cleanup closes it.
func (e *Env) Dial(t testing.TB) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, e.Addr, e.Key, e.FP)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Do sends a raw request; auth is the whole Authorization header.
func (e *Env) Do(t testing.TB, method, path string, body []byte, auth string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, "https://"+e.Addr+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return resp, b
}

// Bearer is the Authorization header with the env's key.
func (e *Env) Bearer() string { return "Bearer " + e.Key }

// Framed frames data for a PUT body.
func Framed(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	fw := wire.NewFrameWriter(&buf)
	if _, err := fw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Data returns n reproducible pseudo-random bytes.
func Data(n int, seed uint64) []byte {
	b := make([]byte, n)
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	rand.NewChaCha8(key).Read(b)
	return b
}
