package exchange

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// clientProtocols runs a test against a server offering HTTP/1.1 only and
// one offering HTTP/2 as well: calls use what is offered, file streams
// always HTTP/1.1.
func clientProtocols(t *testing.T, test func(t *testing.T, e *apiEnv)) {
	for _, h2 := range []bool{false, true} {
		name := "HTTP1"
		if h2 {
			name = "HTTP2"
		}
		t.Run(name, func(t *testing.T) { test(t, newAPIEnv(t, h2)) })
	}
}

func TestClientRoundTripsEveryCall(t *testing.T) {
	clientProtocols(t, func(t *testing.T, e *apiEnv) {
		ctx := context.Background()
		c := e.dial(t)
		if c.Addr() != e.addr || c.Fingerprint() != e.fp {
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
			if e.fake.lastCall() != call {
				t.Errorf("%s reached %s", call, e.fake.lastCall())
			}
			if len(args) > 0 && !reflect.DeepEqual(e.fake.argsOf(call), args) {
				t.Errorf("%s got %+v, want %+v", call, e.fake.argsOf(call), args)
			}
		}

		st, err := c.Status(ctx)
		check("Status", err, st, apiTestStatus)
		topo, err := c.Topology(ctx)
		check("Topology", err, topo, apiTestTopo)
		srv := ServerInfo{Name: "EXCH02", Site: "Redmond", Address: "192.0.2.2:7000", Fingerprint: Fingerprint([]byte("EXCH02"))}
		topo, err = c.Join(ctx, srv)
		check("Join", err, topo, apiTestTopo, srv)
		err = c.UpdateServer(ctx, srv)
		check("UpdateServer", err, nil, nil, srv)
		rs, err := c.Recipients(ctx)
		check("Recipients", err, rs, apiTestRecipients)
		err = c.StartService(ctx, StoreIS)
		check("StartService", err, nil, nil, StoreIS)
		err = c.StopService(ctx, StoreDS)
		check("StopService", err, nil, nil, StoreDS)
		info, err := c.BackupPrepare(ctx, StoreIS, Incremental)
		check("BackupPrepare", err, info, apiTestBackupInfo, StoreIS, Incremental)

		data := frameTestData(5*MaxChunk+3, 21)
		e.fake.files["priv.edb"] = data
		rc, err := c.BackupRead(ctx, "s-1", "priv.edb")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		check("BackupRead", err, sha256.Sum256(got), sha256.Sum256(data), "s-1", "priv.edb")
		e.fake.files["empty.log"] = nil
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
		req := RestoreRequest{Env: apiTestEnv, Erase: true, Private: true, Public: true, Last: true, Start: true}
		ri, err := c.RestorePrepare(ctx, req)
		check("RestorePrepare", err, ri, apiTestRestoreInfo, req)
		err = c.RestoreWrite(ctx, "r-1", "priv.edb", bytes.NewReader(data))
		check("RestoreWrite", err, sha256.Sum256(e.fake.written["priv.edb"]), sha256.Sum256(data), "r-1", "priv.edb")
		err = c.RestoreWrite(ctx, "r-1", "edb00001.log", strings.NewReader(""))
		check("RestoreWrite", err, len(e.fake.written["edb00001.log"]), 0, "r-1", "edb00001.log")
		res, err := c.RestoreComplete(ctx, "r-1")
		check("RestoreComplete", err, res, apiTestRestoreResult, "r-1")
		rcp := Recipient{Alias: "jdoe", DisplayName: "Jane Doe", HomeServer: "EXCH02"}
		err = c.CreateMailbox(ctx, rcp)
		check("CreateMailbox", err, nil, nil, rcp)
		msg := Message{Mailbox: "jdoe", Folder: "Inbox", From: "jsmith", To: []string{"jdoe"}, Subject: "Budget", Date: apiTestCreated, Body: "See attached.\nJohn",
			Attachments: []Attachment{{Name: "budget.xls", Data: frameTestData(3<<20, 22)}}}
		err = c.Deliver(ctx, msg)
		check("Deliver", err, nil, nil, msg)
		post := Post{Folder: "General", From: "jsmith", Subject: "Welcome", Date: apiTestCreated, Body: "Hello"}
		err = c.Post(ctx, post)
		check("Post", err, nil, nil, post)
		d, err := c.Digest(ctx)
		check("Digest", err, d, apiTestDigest)
	})
}

// Names with characters that need escaping reach the node as they are.
func TestClientEscapesNames(t *testing.T) {
	e := newAPIEnv(t, true)
	c := e.dial(t)
	e.fake.files["a b%?#.log"] = []byte("x")
	rc, err := c.BackupRead(context.Background(), "s 1", "a b%?#.log")
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if args := e.fake.argsOf("BackupRead"); args[0] != "s 1" || args[1] != "a b%?#.log" {
		t.Fatalf("node got %q", args)
	}
	// A name that is a path is refused, never resolved.
	before := e.fake.callCount()
	for _, name := range []string{"../priv.edb", "a/b", "..", `a\b`} {
		if _, err := c.BackupRead(context.Background(), "s-1", name); !errors.Is(err, ErrBadRequest) {
			t.Errorf("BackupRead(%q): %v", name, err)
		}
		if err := c.RestoreWrite(context.Background(), "r-1", name, strings.NewReader("x")); !errors.Is(err, ErrBadRequest) {
			t.Errorf("RestoreWrite(%q): %v", name, err)
		}
	}
	if e.fake.callCount() != before {
		t.Error("a path reached the node")
	}
}

func TestClientErrorsKeepTheirCode(t *testing.T) {
	clientProtocols(t, func(t *testing.T, e *apiEnv) {
		ctx := context.Background()
		c := e.dial(t)
		sentinels := map[Code]*Error{
			CodeBadRequest: ErrBadRequest, CodeUnauthorized: ErrUnauthorized, CodeNotFound: ErrNotFound,
			CodeNotRunning: ErrNotRunning, CodeRefused: ErrRefused, CodeConflict: ErrConflict, CodeInternal: ErrInternal,
		}
		upload := frameTestData(8<<20, 1)
		for code, sentinel := range sentinels {
			msg := "You cannot restore an incremental backup until a full backup has been restored (" + string(code) + ")"
			for _, call := range []string{"BackupPrepare", "BackupRead", "RestoreWrite", "BackupEnd"} {
				e.fake.setErr(call, Errorf(code, "%s", msg))
			}
			errs := map[string]error{}
			_, errs["BackupPrepare"] = c.BackupPrepare(ctx, StoreIS, Incremental)
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
				if !errors.Is(err, &Error{Code: code, Message: msg}) {
					t.Errorf("%s with %s: message lost: %v", call, code, err)
				}
				if CodeOf(err) != code {
					t.Errorf("%s: CodeOf = %s, want %s", call, CodeOf(err), code)
				}
				if !strings.HasPrefix(err.Error(), "server "+e.addr+": ") {
					t.Errorf("%s: %q does not name the server", call, err)
				}
			}
		}
		// The connection stays usable after errors, streams included.
		e.fake.setErr("BackupRead", nil)
		e.fake.files["priv.edb"] = []byte("ok")
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
	clientProtocols(t, func(t *testing.T, e *apiEnv) {
		ctx := context.Background()
		c := e.dial(t)
		data := frameTestData(3*MaxChunk, 31)
		for _, at := range []int{0, 1, MaxChunk - 1, MaxChunk, MaxChunk + 7, 3 * MaxChunk} {
			e.fake.files["priv.edb"] = data
			e.fake.failAt["priv.edb"] = at
			var got []byte
			rc, err := c.BackupRead(ctx, "s-1", "priv.edb")
			if err == nil {
				// The failure came after the answer began: the stream is cut.
				got, err = io.ReadAll(rc)
				rc.Close()
				if err == nil {
					t.Fatalf("fail at %d: a clean short file of %d bytes", at, len(got))
				}
				if !errors.Is(err, ErrCorruptStream) {
					t.Errorf("fail at %d: %v is not a broken stream", at, err)
				}
			} else if !strings.Contains(err.Error(), "input/output error") {
				// Before the first frame went out, the server can still say why.
				t.Errorf("fail at %d: %v lacks the node's reason", at, err)
			}
			if !errors.Is(err, ErrInternal) || !strings.HasPrefix(err.Error(), "server "+e.addr+": backup of priv.edb: ") {
				t.Errorf("fail at %d: %v", at, err)
			}
			if at < MaxChunk && got != nil {
				t.Errorf("fail at %d: the answer began before the first frame", at)
			}
			if !bytes.Equal(got, data[:len(got)]) {
				t.Errorf("fail at %d: wrong bytes before the failure", at)
			}
		}
		// A reader that fails to close fails the stream too.
		delete(e.fake.failAt, "priv.edb")
		e.fake.closeErr = errors.New("snapshot transaction failed")
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
	clientProtocols(t, func(t *testing.T, e *apiEnv) {
		c := e.dial(t)
		boom := errors.New("tape read error in set 2, block 4711")
		src := io.MultiReader(bytes.NewReader(frameTestData(2*MaxChunk+9, 41)), apiErrReader{boom})
		err := c.RestoreWrite(context.Background(), "r-1", "priv.edb", src)
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "restore of priv.edb to server "+e.addr) {
			t.Fatalf("RestoreWrite = %v", err)
		}
		// The node saw a failed stream, never a short file.
		deadline := time.Now().Add(5 * time.Second)
		for {
			e.fake.mu.Lock()
			readErr, written := e.fake.readErr, e.fake.written["priv.edb"]
			e.fake.mu.Unlock()
			if readErr != nil {
				if !errors.Is(readErr, ErrCorruptStream) {
					t.Errorf("node read error %v", readErr)
				}
				break
			}
			if written != nil {
				t.Fatalf("the node kept a file of %d bytes", len(written))
			}
			if time.Now().After(deadline) {
				t.Fatal("the node never saw the upload fail")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// A server that answers before reading the file must not leave the client
// blocked on the rest of it.
func TestClientRestoreWriteAnsweredEarly(t *testing.T) {
	clientProtocols(t, func(t *testing.T, e *apiEnv) {
		c := e.dial(t)
		e.fake.setErr("RestoreWrite", Errorf(CodeConflict, "no restore session r-9"))
		var read atomic.Int64
		src := &clientCountingReader{r: io.LimitReader(clientZeros{}, 1<<30), n: &read}
		done := make(chan error, 1)
		go func() { done <- c.RestoreWrite(context.Background(), "r-9", "priv.edb", src) }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrConflict) {
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
	clientProtocols(t, func(t *testing.T, e *apiEnv) {
		c := e.dial(t)
		e.fake.mu.Lock()
		e.fake.block = true
		e.fake.mu.Unlock()

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
		select {
		case <-e.fake.ctxDone:
		case <-time.After(10 * time.Second):
			t.Fatal("the node's context was not cancelled")
		}

		// A call.
		e.fake.mu.Lock()
		e.fake.ctxDone = make(chan struct{})
		done := e.fake.ctxDone
		e.fake.mu.Unlock()
		ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err = c.Status(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "server "+e.addr+": status: ") {
			t.Errorf("Status after its deadline: %v", err)
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the node's context was not cancelled")
		}
	})
}

func TestClientWrongFingerprintRefused(t *testing.T) {
	e := newAPIEnv(t, true)
	ctx := context.Background()
	wrong := Fingerprint([]byte("another server"))
	_, err := Dial(ctx, e.addr, e.key, wrong)
	if !errors.Is(err, ErrFingerprint) || !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Dial with a wrong fingerprint: %v", err)
	}
	want := "certificate of " + e.addr + " has changed: expected " + wrong + ", got " + e.fp + " — refusing to connect"
	if err.Error() != want {
		t.Errorf("message %q\nwant    %q", err, want)
	}
	var fe *FingerprintError
	if !errors.As(err, &fe) || fe.Got != e.fp || fe.Expected != wrong || fe.Addr != e.addr {
		t.Errorf("FingerprintError %+v", fe)
	}
	if n := e.fake.callCount(); n != 0 {
		t.Errorf("the node saw %d calls", n)
	}
}

func TestClientChangedCertificateRefused(t *testing.T) {
	certA, fpA := apiTestCert(t)
	certB, fpB := apiTestCert(t)
	var current atomic.Pointer[tls.Certificate]
	current.Store(&certA)
	fake := newAPIFake()
	key := NewKey()
	ts := httptest.NewUnstartedServer(NewHandler(fake, key, nil))
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

	if fp, err := FetchFingerprint(ctx, addr); err != nil || fp != fpA {
		t.Fatalf("FetchFingerprint = %s, %v; want %s", fp, err, fpA)
	}
	c, err := Dial(ctx, addr, key, fpA)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	current.Store(&certB) // the server is replaced, or impersonated
	ts.CloseClientConnections()
	c.Close()
	calls := fake.callCount()
	_, err = c.Status(ctx)
	var fe *FingerprintError
	if !errors.As(err, &fe) || fe.Got != fpB || fe.Expected != fpA {
		t.Fatalf("Status after the certificate changed: %v", err)
	}
	if _, err := Dial(ctx, addr, key, fpA); !errors.Is(err, ErrFingerprint) {
		t.Fatalf("Dial after the certificate changed: %v", err)
	}
	if fake.callCount() != calls {
		t.Error("a request reached the server behind the changed certificate")
	}
	if fp, err := FetchFingerprint(ctx, addr); err != nil || fp != fpB {
		t.Fatalf("FetchFingerprint = %s, %v; want %s", fp, err, fpB)
	}
	// Confirming the new fingerprint connects again.
	c2, err := Dial(ctx, addr, key, fpB)
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
		{"no fingerprint", e.addr, e.key, "", ErrBadRequest, "no certificate fingerprint"},
		{"bad fingerprint", e.addr, e.key, "sha1:00", ErrBadRequest, "sha256"},
		{"no key", e.addr, "", e.fp, ErrBadRequest, "no access key"},
		{"wrong key", e.addr, "wrong", e.fp, ErrUnauthorized, "missing or wrong access key"},
		{"no port", "127.0.0.1", e.key, e.fp, ErrBadRequest, "host:port"},
		{"http", "http://" + e.addr, e.key, e.fp, ErrBadRequest, "host:port"},
	}
	for _, c := range cases {
		_, err := Dial(ctx, c.addr, c.key, c.fp)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// The address as exserver prints it, and a fingerprint as pasted.
	c, err := Dial(ctx, "https://"+e.addr+"/", e.key, strings.ToUpper(e.fp))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr() != e.addr || c.Fingerprint() != e.fp {
		t.Errorf("Addr %q, Fingerprint %q", c.Addr(), c.Fingerprint())
	}
	c.Close()
}

func TestClientUnreachableServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx := context.Background()
	_, err = Dial(ctx, addr, "key", Fingerprint(nil))
	if err == nil || !strings.HasPrefix(err.Error(), "server "+addr+": ") {
		t.Errorf("Dial: %v", err)
	}
	if _, err := FetchFingerprint(ctx, addr); err == nil || !strings.HasPrefix(err.Error(), "server "+addr+": ") {
		t.Errorf("FetchFingerprint: %v", err)
	}
	// A listener that is not TLS.
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	paddr := plain.Listener.Addr().String()
	if _, err := FetchFingerprint(ctx, paddr); err == nil {
		t.Error("FetchFingerprint over plain HTTP succeeded")
	}
	if _, err := Dial(ctx, paddr, "key", Fingerprint(nil)); err == nil {
		t.Error("Dial over plain HTTP succeeded")
	}
}

// BenchmarkClientBackupRead measures a file streamed over TLS on loopback
// (HTTP/1.1, as every file stream).
func BenchmarkClientBackupRead(b *testing.B) {
	e := newAPIEnv(b, true)
	c := e.dial(b)
	data := frameTestData(64<<20, 51)
	e.fake.files["priv.edb"] = data
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
	c := e.dial(b)
	data := frameTestData(64<<20, 52)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := c.RestoreWrite(context.Background(), "r-1", "priv.edb", bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// Files read whole one after the other share one connection.
func TestClientStreamsReuseTheirConnection(t *testing.T) {
	fake := newAPIFake()
	fake.files["priv.edb"] = frameTestData(3<<20, 61)
	fake.files["pub.edb"] = frameTestData(1<<10, 62)
	cert, fp := apiTestCert(t)
	key := NewKey()
	var conns atomic.Int64
	ts := httptest.NewUnstartedServer(NewHandler(fake, key, nil))
	ts.EnableHTTP2 = true
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
	ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	ts.StartTLS()
	defer ts.Close()
	c, err := Dial(context.Background(), ts.Listener.Addr().String(), key, fp)
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
