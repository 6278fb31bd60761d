package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"hash/crc32"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/client"
	"exbackup/exchange/internal/apitest"
	"exbackup/exchange/server"
	"exbackup/exchange/wire"
)

// clientProtocols runs a test against a server offering HTTP/1.1 only and
// one offering HTTP/2 as well: calls use what is offered, file streams
// always HTTP/1.1.
func clientProtocols(t *testing.T, test func(t *testing.T, e *apitest.Env)) {
	for _, h2 := range []bool{false, true} {
		name := "HTTP1"
		if h2 {
			name = "HTTP2"
		}
		t.Run(name, func(t *testing.T) { test(t, newAPIEnv(t, h2)) })
	}
}

func TestClientRoundTripsEveryCall(t *testing.T) {
	clientProtocols(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		c := e.Dial(t)
		if c.Addr() != e.Addr || c.Fingerprint() != e.FP {
			t.Errorf("Addr %q, Fingerprint %q", c.Addr(), c.Fingerprint())
		}
		check := func(call string, err error, got, want any, args ...any) {
			t.Helper()
			if err != nil {
				t.Errorf("%s: %v", call, err)
				return
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s = %+v, want %+v", call, got, want)
			}
			if e.Fake.LastCall() != call {
				t.Errorf("%s reached %s", call, e.Fake.LastCall())
			}
			if len(args) > 0 && !reflect.DeepEqual(e.Fake.ArgsOf(call), args) {
				t.Errorf("%s got %+v, want %+v", call, e.Fake.ArgsOf(call), args)
			}
		}

		st, err := c.Status(ctx)
		check("Status", err, st, apitest.Status)
		topo, err := c.Topology(ctx)
		check("Topology", err, topo, apitest.Topology)
		srv := exchange.ServerInfo{Name: "EXCH02", Site: "Redmond", Address: "192.0.2.2:7000", Fingerprint: wire.Fingerprint([]byte("EXCH02"))}
		topo, err = c.Join(ctx, srv)
		check("Join", err, topo, apitest.Topology, srv)
		err = c.UpdateServer(ctx, srv)
		check("UpdateServer", err, nil, nil, srv)
		rs, err := c.Recipients(ctx)
		check("Recipients", err, rs, apitest.Recipients)
		started, err := c.StartService(ctx, exchange.StoreIS)
		check("StartService", err, started, apitest.StartResult, exchange.StoreIS)
		err = c.StopService(ctx, exchange.StoreDS)
		check("StopService", err, nil, nil, exchange.StoreDS)
		info, err := c.BackupPrepare(ctx, exchange.StoreIS, exchange.Incremental)
		check("BackupPrepare", err, info, apitest.BackupInfo, exchange.StoreIS, exchange.Incremental)

		data := apitest.Data(5*wire.MaxChunk+3, 21)
		e.Fake.Files["priv.edb"] = data
		rc, err := c.BackupRead(ctx, "s-1", "priv.edb")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		check("BackupRead", err, sha256.Sum256(got), sha256.Sum256(data), "s-1", "priv.edb")
		e.Fake.Files["empty.log"] = nil
		rc, err = c.BackupRead(ctx, "s-1", "empty.log")
		if err != nil {
			t.Fatal(err)
		}
		got, err = io.ReadAll(rc)
		rc.Close()
		check("BackupRead", err, len(got), 0, "s-1", "empty.log")

		for _, success := range []bool{true, false} {
			err = c.BackupEnd(ctx, "s-1", success)
			check("BackupEnd", err, nil, nil, "s-1", success)
		}
		req := exchange.RestoreRequest{Env: apitest.RestoreEnv, Erase: true, Private: true, Public: true, Last: true, Start: true}
		ri, err := c.RestorePrepare(ctx, req)
		check("RestorePrepare", err, ri, apitest.RestoreInfo, req)
		err = c.RestoreWrite(ctx, "r-1", "priv.edb", bytes.NewReader(data))
		check("RestoreWrite", err, sha256.Sum256(e.Fake.Written["priv.edb"]), sha256.Sum256(data), "r-1", "priv.edb")
		// A source that checksums its own pieces travels the same.
		err = c.RestoreWrite(ctx, "r-1", "pub.edb", &clientChunks{data: data, piece: wire.MaxChunk/2 + 7})
		check("RestoreWrite", err, sha256.Sum256(e.Fake.Written["pub.edb"]), sha256.Sum256(data), "r-1", "pub.edb")
		err = c.RestoreWrite(ctx, "r-1", "edb00001.log", strings.NewReader(""))
		check("RestoreWrite", err, len(e.Fake.Written["edb00001.log"]), 0, "r-1", "edb00001.log")
		res, err := c.RestoreComplete(ctx, "r-1")
		check("RestoreComplete", err, res, apitest.RestoreResult, "r-1")
		cancelled, err := c.CancelRestore(ctx, exchange.StoreDS)
		check("CancelRestore", err, cancelled, apitest.CancelResult, exchange.StoreDS)
		rcp := exchange.Recipient{Alias: "jdoe", DisplayName: "Jane Doe", HomeServer: "EXCH02"}
		err = c.CreateMailbox(ctx, rcp)
		check("CreateMailbox", err, nil, nil, rcp)
		msg := exchange.Message{Mailbox: "jdoe", Folder: "Inbox", From: "jsmith", To: []string{"jdoe"}, Subject: "Budget", Date: apitest.Created, Body: "See attached.\nJohn",
			Attachments: []exchange.Attachment{{Name: "budget.xls", Data: apitest.Data(3<<20, 22)}}}
		err = c.Deliver(ctx, msg)
		check("Deliver", err, nil, nil, msg)
		post := exchange.Post{Folder: "General", From: "jsmith", Subject: "Welcome", Date: apitest.Created, Body: "Hello"}
		err = c.Post(ctx, post)
		check("Post", err, nil, nil, post)
		d, err := c.Digest(ctx)
		check("Digest", err, d, apitest.Digest)
		imp := exchange.ImportRequest{Create: []exchange.Recipient{rcp},
			Messages: []exchange.ImportMessage{{Mailbox: "jdoe", Folder: "Projects/2026", Data: []byte("Subject: x\r\n\r\nbody\r\n"), Flags: []string{`\Seen`}, Date: apitest.Created}},
			Posts:    []exchange.Post{post}}
		ir, err := c.ImportItems(ctx, imp)
		check("ImportItems", err, ir, apitest.ImportResult, imp)
	})
}

// A batch larger than a server takes is refused before it is sent.
func TestClientRefusesAnOversizedImportBatch(t *testing.T) {
	e := newAPIEnv(t, false)
	c := e.Dial(t)
	before := e.Fake.CallCount()
	req := exchange.ImportRequest{Messages: []exchange.ImportMessage{
		{Mailbox: "jdoe", Folder: "Inbox", Data: make([]byte, exchange.MaxImportBytes/2+1)},
		{Mailbox: "jdoe", Folder: "Inbox", Data: make([]byte, exchange.MaxImportBytes/2+1)}}}
	_, err := c.ImportItems(context.Background(), req)
	if !errors.Is(err, exchange.ErrBadRequest) || !strings.Contains(err.Error(), "more than the 16 MiB a server takes at once") {
		t.Fatalf("oversized batch: %v", err)
	}
	if e.Fake.CallCount() != before {
		t.Fatal("the oversized batch reached the server")
	}
}

// Names with characters that need escaping reach the node as they are.
func TestClientEscapesNames(t *testing.T) {
	e := newAPIEnv(t, true)
	c := e.Dial(t)
	e.Fake.Files["a b%?#.log"] = []byte("x")
	rc, err := c.BackupRead(context.Background(), "s 1", "a b%?#.log")
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if args := e.Fake.ArgsOf("BackupRead"); args[0] != "s 1" || args[1] != "a b%?#.log" {
		t.Fatalf("node got %q", args)
	}
	// A name that is a path is refused, never resolved.
	before := e.Fake.CallCount()
	for _, name := range []string{"../priv.edb", "a/b", "..", `a\b`} {
		if _, err := c.BackupRead(context.Background(), "s-1", name); !errors.Is(err, exchange.ErrBadRequest) {
			t.Errorf("BackupRead(%q): %v", name, err)
		}
		if err := c.RestoreWrite(context.Background(), "r-1", name, strings.NewReader("x")); !errors.Is(err, exchange.ErrBadRequest) {
			t.Errorf("RestoreWrite(%q): %v", name, err)
		}
	}
	if e.Fake.CallCount() != before {
		t.Error("a path reached the node")
	}
}

func TestClientErrorsKeepTheirCode(t *testing.T) {
	clientProtocols(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		c := e.Dial(t)
		sentinels := map[exchange.Code]*exchange.Error{
			exchange.CodeBadRequest: exchange.ErrBadRequest, exchange.CodeUnauthorized: exchange.ErrUnauthorized, exchange.CodeNotFound: exchange.ErrNotFound,
			exchange.CodeNotRunning: exchange.ErrNotRunning, exchange.CodeRefused: exchange.ErrRefused, exchange.CodeConflict: exchange.ErrConflict, exchange.CodeInternal: exchange.ErrInternal,
		}
		upload := apitest.Data(8<<20, 1)
		for code, sentinel := range sentinels {
			msg := "You cannot restore an incremental backup until a full backup has been restored (" + string(code) + ")"
			for _, call := range []string{"BackupPrepare", "BackupRead", "RestoreWrite", "BackupEnd"} {
				e.Fake.SetErr(call, exchange.Errorf(code, "%s", msg))
			}
			errs := map[string]error{}
			_, errs["BackupPrepare"] = c.BackupPrepare(ctx, exchange.StoreIS, exchange.Incremental)
			_, errs["BackupRead"] = c.BackupRead(ctx, "s-1", "priv.edb")
			errs["RestoreWrite"] = c.RestoreWrite(ctx, "r-1", "priv.edb", bytes.NewReader(upload))
			errs["BackupEnd"] = c.BackupEnd(ctx, "s-1", true)
			for call, err := range errs {
				if !errors.Is(err, sentinel) {
					t.Errorf("%s with %s: %v does not match its sentinel", call, code, err)
				}
				for other, s := range sentinels {
					if other != code && errors.Is(err, s) {
						t.Errorf("%s with %s: %v matches %s", call, code, err, other)
					}
				}
				if !errors.Is(err, &exchange.Error{Code: code, Message: msg}) {
					t.Errorf("%s with %s: message lost: %v", call, code, err)
				}
				if exchange.CodeOf(err) != code {
					t.Errorf("%s: CodeOf = %s, want %s", call, exchange.CodeOf(err), code)
				}
				if !strings.HasPrefix(err.Error(), "server EXCH01: ") {
					t.Errorf("%s: %q does not name the server", call, err)
				}
			}
		}
		// The connection stays usable after errors, streams included.
		e.Fake.SetErr("BackupRead", nil)
		e.Fake.Files["priv.edb"] = []byte("ok")
		rc, err := c.BackupRead(ctx, "s-1", "priv.edb")
		if err != nil {
			t.Fatal(err)
		}
		if b, err := io.ReadAll(rc); err != nil || string(b) != "ok" {
			t.Fatalf("after errors: %q, %v", b, err)
		}
		rc.Close()
	})
}

func TestClientBackupReadFailingMidStream(t *testing.T) {
	clientProtocols(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		c := e.Dial(t)
		data := apitest.Data(3*wire.MaxChunk, 31)
		for _, at := range []int{0, 1, wire.MaxChunk - 1, wire.MaxChunk, wire.MaxChunk + 7, 3 * wire.MaxChunk} {
			e.Fake.Files["priv.edb"] = data
			e.Fake.FailAt["priv.edb"] = at
			var got []byte
			rc, err := c.BackupRead(ctx, "s-1", "priv.edb")
			if err == nil {
				// The failure came after the answer began: the stream is cut.
				got, err = io.ReadAll(rc)
				rc.Close()
				if err == nil {
					t.Fatalf("fail at %d: a clean short file of %d bytes", at, len(got))
				}
				if !errors.Is(err, wire.ErrCorruptStream) {
					t.Errorf("fail at %d: %v is not a broken stream", at, err)
				}
			} else if !strings.Contains(err.Error(), "input/output error") {
				// Before the first frame went out, the server can still say why.
				t.Errorf("fail at %d: %v lacks the node's reason", at, err)
			}
			if !errors.Is(err, exchange.ErrInternal) || !strings.HasPrefix(err.Error(), "server EXCH01: backup of priv.edb: ") {
				t.Errorf("fail at %d: %v", at, err)
			}
			if at < wire.MaxChunk && got != nil {
				t.Errorf("fail at %d: the answer began before the first frame", at)
			}
			if !bytes.Equal(got, data[:len(got)]) {
				t.Errorf("fail at %d: wrong bytes before the failure", at)
			}
		}
		// A reader that fails to close fails the stream too.
		delete(e.Fake.FailAt, "priv.edb")
		e.Fake.CloseErr = errors.New("snapshot transaction failed")
		rc, err := c.BackupRead(ctx, "s-1", "priv.edb")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(rc); err == nil {
			t.Error("a failed close gave a clean file")
		}
		rc.Close()
	})
}

func TestClientRestoreWriteSourceFails(t *testing.T) {
	clientProtocols(t, func(t *testing.T, e *apitest.Env) {
		c := e.Dial(t)
		boom := errors.New("tape read error in set 2, block 4711")
		src := io.MultiReader(bytes.NewReader(apitest.Data(2*wire.MaxChunk+9, 41)), apitest.ErrReader{Err: boom})
		err := c.RestoreWrite(context.Background(), "r-1", "priv.edb", src)
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "restore of priv.edb to server EXCH01") {
			t.Fatalf("RestoreWrite = %v", err)
		}
		// The node saw a failed stream, never a short file.
		deadline := waitLimit(t)
		for {
			e.Fake.Mu.Lock()
			readErr, written := e.Fake.ReadErr, e.Fake.Written["priv.edb"]
			e.Fake.Mu.Unlock()
			if readErr != nil {
				if !errors.Is(readErr, wire.ErrCorruptStream) {
					t.Errorf("node read error %v", readErr)
				}
				break
			}
			if written != nil {
				t.Fatalf("the node kept a file of %d bytes", len(written))
			}
			if !deadline.IsZero() && time.Now().After(deadline) {
				t.Fatal("the node never saw the upload fail")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// A server that answers before reading the file must not leave the client
// blocked on the rest of it.
func TestClientRestoreWriteAnsweredEarly(t *testing.T) {
	clientProtocols(t, func(t *testing.T, e *apitest.Env) {
		c := e.Dial(t)
		e.Fake.SetErr("RestoreWrite", exchange.Errorf(exchange.CodeConflict, "no restore session r-9"))
		var read atomic.Int64
		src := &clientCountingReader{r: io.LimitReader(clientZeros{}, 1<<30), n: &read}
		done := make(chan error, 1)
		go func() { done <- c.RestoreWrite(context.Background(), "r-9", "priv.edb", src) }()
		select {
		case err := <-done:
			if !errors.Is(err, exchange.ErrConflict) {
				t.Fatalf("RestoreWrite = %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("RestoreWrite blocked after the answer (%d bytes read)", read.Load())
		}
		if n := read.Load(); n >= 1<<30 {
			t.Errorf("the whole source was read: %d bytes", n)
		}
		// And the client still works.
		if _, err := c.Status(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

type clientZeros struct{}

func (clientZeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type clientCountingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (r *clientCountingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n.Add(int64(n))
	return n, err
}

func TestClientContextCancellation(t *testing.T) {
	clientProtocols(t, func(t *testing.T, e *apitest.Env) {
		c := e.Dial(t)
		e.Fake.Mu.Lock()
		e.Fake.Block = true
		e.Fake.Mu.Unlock()

		// A stream: cancelling its context ends it at both ends.
		ctx, cancel := context.WithCancel(context.Background())
		rc, err := c.BackupRead(ctx, "s-1", "priv.edb")
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1000)
		if _, err := io.ReadFull(rc, buf); err != nil {
			t.Fatal(err)
		}
		cancel()
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err == nil || !errors.Is(err, context.Canceled) {
			t.Errorf("after cancel: %v", err)
		}
		waitClosed(t, e.Fake.CtxDone, "the node's context was not cancelled")

		// A call whose deadline passes while the node works on it. The
		// deadline passes once the node has the call, not after a time
		// a loaded machine may need just to send it.
		e.Fake.Mu.Lock()
		e.Fake.CtxDone = make(chan struct{})
		e.Fake.Waiting = make(chan struct{})
		done, waiting := e.Fake.CtxDone, e.Fake.Waiting
		e.Fake.Mu.Unlock()
		dctx, expire := newExpiringContext()
		defer expire()
		go func() {
			<-waiting
			expire()
		}()
		_, err = c.Status(dctx)
		if !errors.Is(err, context.DeadlineExceeded) || err.Error() != "server EXCH01: status: the server did not answer in time" {
			t.Errorf("Status after its deadline: %v", err)
		}
		waitClosed(t, done, "the node's context was not cancelled")
	})
}

// TestClientAnswerAfterItsContextEnded: a server answers a call it sees
// cancelled with the cancellation ("context canceled"), and over HTTP/1.1
// that answer can reach the client before the client has closed the
// connection, which the transport then hands over as the call's answer.
// The call still reports its own end, cancelled or out of time, and not
// the server's echo of it as a server failure. The race is made certain
// here: the round trip runs on a context that does not end, and the call's
// context ends just before the answer is handed over.
func TestClientAnswerAfterItsContextEnded(t *testing.T) {
	clientProtocols(t, func(t *testing.T, e *apitest.Env) {
		c := e.Dial(t)
		late := &endingTransport{}
		c.WrapTransports(func(rt http.RoundTripper) http.RoundTripper { return late.wrap(rt) })
		for _, call := range []string{"Status", "BackupRead", "RestoreWrite"} {
			e.Fake.SetErr(call, context.Canceled) // how a server answers a call whose context it saw end
		}
		calls := []struct {
			name, op string
			do       func(ctx context.Context) error
		}{
			{"Status", "status", func(ctx context.Context) error { _, err := c.Status(ctx); return err }},
			{"BackupRead", "backup of priv.edb", func(ctx context.Context) error {
				rc, err := c.BackupRead(ctx, "s-1", "priv.edb")
				if err == nil {
					rc.Close()
				}
				return err
			}},
			{"RestoreWrite", "restore of priv.edb", func(ctx context.Context) error {
				return c.RestoreWrite(ctx, "r-1", "priv.edb", bytes.NewReader(apitest.Data(1000, 1)))
			}},
		}
		ends := []struct {
			name   string
			ctx    func() (context.Context, func())
			want   error
			reason string
		}{
			{"cancelled", func() (context.Context, func()) { return context.WithCancel(context.Background()) }, context.Canceled, "cancelled"},
			{"deadline", newExpiringContext, context.DeadlineExceeded, "the server did not answer in time"},
		}
		for _, call := range calls {
			for _, end := range ends {
				ctx, stop := end.ctx()
				late.set(stop)
				err := call.do(ctx)
				stop()
				want := "server EXCH01: " + call.op + ": " + end.reason
				if !errors.Is(err, end.want) || err.Error() != want {
					t.Errorf("%s %s: %v\nwant %s", call.name, end.name, err, want)
				}
			}
		}
		if n := late.count(); n != len(calls)*len(ends) {
			t.Errorf("%d round trips went through the test's transport, want %d", n, len(calls)*len(ends))
		}
	})
}

// endingTransport runs each round trip on a context that does not end,
// then ends the call's own context, and only then hands the answer over.
type endingTransport struct {
	mu  sync.Mutex
	end func()
	n   int
}

func (l *endingTransport) set(end func()) {
	l.mu.Lock()
	l.end = end
	l.mu.Unlock()
}

func (l *endingTransport) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

func (l *endingTransport) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req.WithContext(context.WithoutCancel(req.Context())))
		l.mu.Lock()
		end := l.end
		l.n++
		l.mu.Unlock()
		if end != nil {
			end()
		}
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// expiringContext is a context whose deadline passes when the test says
// so: a real deadline may pass before a loaded machine has even sent the
// call.
type expiringContext struct {
	context.Context
	done chan struct{}
	once sync.Once
}

// newExpiringContext returns a context and the function that makes its
// deadline pass.
func newExpiringContext() (context.Context, func()) {
	c := &expiringContext{Context: context.Background(), done: make(chan struct{})}
	return c, func() { c.once.Do(func() { close(c.done) }) }
}

func (c *expiringContext) Done() <-chan struct{} { return c.done }

func (c *expiringContext) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// waitLimit is when a test waiting for something gives up: shortly before
// the test binary's time limit would end it without saying what it waited
// for. It judges no speed; a loaded machine may be slow. Zero is no limit.
func waitLimit(t *testing.T) time.Time {
	d, ok := t.Deadline()
	if !ok {
		return time.Time{}
	}
	return d.Add(-time.Until(d) / 10)
}

// waitClosed waits until ch is closed, and fails the test, saying what did
// not happen, at waitLimit.
func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	var limit <-chan time.Time
	if d := waitLimit(t); !d.IsZero() {
		timer := time.NewTimer(time.Until(d))
		defer timer.Stop()
		limit = timer.C
	}
	select {
	case <-ch:
	case <-limit:
		t.Fatal(what)
	}
}

func TestClientWrongFingerprintRefused(t *testing.T) {
	e := newAPIEnv(t, true)
	ctx := context.Background()
	wrong := wire.Fingerprint([]byte("another server"))
	_, err := client.Dial(ctx, e.Addr, e.Key, wrong)
	if !errors.Is(err, client.ErrFingerprint) || !errors.Is(err, exchange.ErrUnauthorized) {
		t.Fatalf("Dial with a wrong fingerprint: %v", err)
	}
	want := "certificate of " + e.Addr + " has changed: expected " + wrong + ", got " + e.FP + " — refusing to connect"
	if err.Error() != want {
		t.Errorf("message %q\nwant    %q", err, want)
	}
	var fe *client.FingerprintError
	if !errors.As(err, &fe) || fe.Got != e.FP || fe.Expected != wrong || fe.Addr != e.Addr {
		t.Errorf("FingerprintError %+v", fe)
	}
	if n := e.Fake.CallCount(); n != 0 {
		t.Errorf("the node saw %d calls", n)
	}
}

func TestClientChangedCertificateRefused(t *testing.T) {
	certA, fpA := apiTestCert(t)
	certB, fpB := apiTestCert(t)
	var current atomic.Pointer[tls.Certificate]
	current.Store(&certA)
	fake := apitest.NewFake()
	key := server.NewKey()
	ts := httptest.NewUnstartedServer(server.NewHandler(fake, key, nil))
	ts.EnableHTTP2 = true
	// Without SNI (the address is an IP), only a per-handshake config can
	// change the certificate.
	ts.TLS = &tls.Config{MinVersion: tls.VersionTLS13, GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{*current.Load()}, NextProtos: []string{"h2", "http/1.1"}}, nil
	}}
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	defer ts.Close()
	addr := ts.Listener.Addr().String()
	ctx := context.Background()

	if fp, err := client.FetchFingerprint(ctx, addr); err != nil || fp != fpA {
		t.Fatalf("FetchFingerprint = %s, %v; want %s", fp, err, fpA)
	}
	c, err := client.Dial(ctx, addr, key, fpA)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	current.Store(&certB) // the server is replaced, or impersonated
	ts.CloseClientConnections()
	c.Close()
	calls := fake.CallCount()
	_, err = c.Status(ctx)
	var fe *client.FingerprintError
	if !errors.As(err, &fe) || fe.Got != fpB || fe.Expected != fpA {
		t.Fatalf("Status after the certificate changed: %v", err)
	}
	if _, err := client.Dial(ctx, addr, key, fpA); !errors.Is(err, client.ErrFingerprint) {
		t.Fatalf("Dial after the certificate changed: %v", err)
	}
	if fake.CallCount() != calls {
		t.Error("a request reached the server behind the changed certificate")
	}
	if fp, err := client.FetchFingerprint(ctx, addr); err != nil || fp != fpB {
		t.Fatalf("FetchFingerprint = %s, %v; want %s", fp, err, fpB)
	}
	// Confirming the new fingerprint connects again.
	c2, err := client.Dial(ctx, addr, key, fpB)
	if err != nil {
		t.Fatal(err)
	}
	c2.Close()
}

func TestClientDialChecks(t *testing.T) {
	e := newAPIEnv(t, true)
	ctx := context.Background()
	cases := []struct {
		name, addr, key, fp string
		want                error
		msg                 string
	}{
		{"no fingerprint", e.Addr, e.Key, "", exchange.ErrBadRequest, "no certificate fingerprint"},
		{"bad fingerprint", e.Addr, e.Key, "sha1:00", exchange.ErrBadRequest, "sha256"},
		{"no key", e.Addr, "", e.FP, exchange.ErrBadRequest, "no access key"},
		{"wrong key", e.Addr, "wrong", e.FP, exchange.ErrUnauthorized, "refused the access key"},
		{"empty port", "127.0.0.1:", e.Key, e.FP, exchange.ErrBadRequest, "no valid port"},
		{"http", "http://" + e.Addr, e.Key, e.FP, exchange.ErrBadRequest, "host:port"},
	}
	for _, c := range cases {
		_, err := client.Dial(ctx, c.addr, c.key, c.fp)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// The address as exserver prints it, and a fingerprint as pasted.
	c, err := client.Dial(ctx, "https://"+e.Addr+"/", e.Key, strings.ToUpper(e.FP))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr() != e.Addr || c.Fingerprint() != e.FP {
		t.Errorf("Addr %q, Fingerprint %q", c.Addr(), c.Fingerprint())
	}
	c.Close()
}

// An address as an administrator types it: a name or an IP address alone
// means the default port; anything else that is not host:port is refused.
func TestClientAddress(t *testing.T) {
	for in, want := range map[string]string{
		"EXCH01":                 "EXCH01:7401",
		" exch01.example.org ":   "exch01.example.org:7401",
		"10.0.0.5":               "10.0.0.5:7401",
		"[::1]":                  "[::1]:7401",
		"::1":                    "[::1]:7401",
		"[::1]:7500":             "[::1]:7500",
		"EXCH01:7402":            "EXCH01:7402",
		"https://EXCH01:7401/":   "EXCH01:7401",
		"https://exch01.example": "exch01.example:7401",
	} {
		if got, err := client.Address(in); err != nil || got != want {
			t.Errorf("Address(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "EXCH01:", "EXCH01:port", "http://EXCH01:7401", "EXCH01:99999", "[::1"} {
		if got, err := client.Address(in); err == nil || !errors.Is(err, exchange.ErrBadRequest) {
			t.Errorf("Address(%q) = %q, %v; want a refusal", in, got, err)
		}
	}
}

func TestClientUnreachableServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx := context.Background()
	_, err = client.Dial(ctx, addr, "key", wire.Fingerprint(nil))
	want := "server " + addr + " is not reachable: nothing is listening at " + addr + " (connection refused)"
	if err == nil || err.Error() != want {
		t.Errorf("Dial: %v, want %q", err, want)
	}
	var ce *client.CallError
	if !errors.As(err, &ce) {
		t.Fatalf("Dial: %T is not a *CallError", err)
	}
	// A console that knows which server it dialled names it.
	ce.Name = "EXCH02"
	want = "server EXCH02 is not reachable: nothing is listening at " + addr + " (connection refused)"
	if err.Error() != want {
		t.Errorf("named: %q, want %q", err, want)
	}
	if why := ce.Reason(); why != "nothing is listening at "+addr+" (connection refused)" {
		t.Errorf("Reason: %q", why)
	}
	if _, err := client.FetchFingerprint(ctx, addr); err == nil || err.Error() != "server "+addr+" is not reachable: nothing is listening at "+addr+" (connection refused)" {
		t.Errorf("FetchFingerprint: %v", err)
	}
	// A listener that is not TLS.
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	paddr := plain.Listener.Addr().String()
	if _, err := client.FetchFingerprint(ctx, paddr); err == nil {
		t.Error("FetchFingerprint over plain HTTP succeeded")
	}
	if _, err := client.Dial(ctx, paddr, "key", wire.Fingerprint(nil)); err == nil {
		t.Error("Dial over plain HTTP succeeded")
	}
}

// BenchmarkClientBackupRead measures a file streamed over TLS on loopback
// (HTTP/1.1, as every file stream).
func BenchmarkClientBackupRead(b *testing.B) {
	e := newAPIEnv(b, true)
	c := e.Dial(b)
	data := apitest.Data(64<<20, 51)
	e.Fake.Files["priv.edb"] = data
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		rc, err := c.BackupRead(context.Background(), "s-1", "priv.edb")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}

// BenchmarkClientRestoreWrite measures a file uploaded over TLS on loopback
// (HTTP/1.1, as every file stream).
func BenchmarkClientRestoreWrite(b *testing.B) {
	e := newAPIEnv(b, true)
	c := e.Dial(b)
	data := apitest.Data(64<<20, 52)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := c.RestoreWrite(context.Background(), "r-1", "priv.edb", bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// Files read whole one after the other share one connection.
func TestClientStreamsReuseTheirConnection(t *testing.T) {
	fake := apitest.NewFake()
	fake.Files["priv.edb"] = apitest.Data(3<<20, 61)
	fake.Files["pub.edb"] = apitest.Data(1<<10, 62)
	cert, fp := apiTestCert(t)
	key := server.NewKey()
	var conns atomic.Int64
	ts := httptest.NewUnstartedServer(server.NewHandler(fake, key, nil))
	ts.EnableHTTP2 = true
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
	ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	ts.StartTLS()
	defer ts.Close()
	c, err := client.Dial(context.Background(), ts.Listener.Addr().String(), key, fp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	before := conns.Load() // the calls' own connection
	for i := 0; i < 3; i++ {
		for _, name := range []string{"priv.edb", "pub.edb"} {
			rc, err := c.BackupRead(context.Background(), "s-1", name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, rc); err != nil {
				t.Fatal(err)
			}
			rc.Close()
		}
	}
	if n := conns.Load() - before; n != 1 {
		t.Errorf("6 files streamed over %d connections, want 1", n)
	}
}

// apiTestCert makes a certificate as a server's init does.
func apiTestCert(t testing.TB) (tls.Certificate, string) {
	t.Helper()
	dir := t.TempDir()
	if err := server.GenerateCertificate(dir, nil); err != nil {
		t.Fatal(err)
	}
	cert, fp, err := server.LoadCertificate(dir)
	if err != nil {
		t.Fatal(err)
	}
	return cert, fp
}

// newAPIEnv serves a fake node through the server's API handler over real
// TLS.
func newAPIEnv(t testing.TB, http2 bool) *apitest.Env {
	t.Helper()
	cert, fp := apiTestCert(t)
	return apitest.NewEnv(t, http2, cert, fp, server.NewKey(), func(n exchange.Node, key string) http.Handler {
		return server.NewHandler(n, key, nil)
	})
}

// clientChunks is a wire.ChunkReader over data, as a tape hands out its
// checked pieces.
type clientChunks struct {
	data  []byte
	piece int
}

func (c *clientChunks) Read([]byte) (int, error) { panic("a chunk source was read byte-wise") }

func (c *clientChunks) ReadChunk() ([]byte, uint32, error) {
	if len(c.data) == 0 {
		return nil, 0, io.EOF
	}
	n := min(c.piece, len(c.data))
	p := c.data[:n]
	c.data = c.data[n:]
	return p, crc32.Checksum(p, crc32.MakeTable(crc32.Castagnoli)), nil
}
