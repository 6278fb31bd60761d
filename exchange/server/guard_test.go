package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/internal/apitest"
	"exbackup/exchange/wire"
)

// guardHold is how long a test waits for the server to close or answer:
// far past every bound the tests set, so only a connection held without
// end fails.
const guardHold = 30 * time.Second

// guardServe serves a fake node as Serve does: the connection limiter
// under TLS, the handler and the HTTP server with lim.
func guardServe(t *testing.T, lim Limits) (addr, key string, fake *apitest.Fake) {
	t.Helper()
	cert, _ := apiTestCert(t)
	key = NewKey()
	fake = apitest.NewFake()
	lim = lim.withConns(1024)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := newRefusalLog(slog.New(slog.DiscardHandler), time.Minute, "closed")
	hs := newHTTPServer(ln.Addr().String(), cert, newHandler(fake, key, nil, lim), lim, closed)
	limited := newConnLimiter(ln, lim, closed)
	go hs.ServeTLS(wire.StreamListener{Listener: limited}, "", "")
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String(), key, fake
}

func guardDial(t *testing.T, addr, from string) *tls.Conn {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	raw.SetDeadline(time.Now().Add(guardHold))
	return tls.Client(raw, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
}

// readUntilClosed reads the answer and then requires the server to close.
func readUntilClosed(t *testing.T, c net.Conn) *http.Response {
	t.Helper()
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	if _, err := io.Copy(io.Discard, br); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the server kept the connection open")
	}
	return resp
}

func TestUnauthenticatedBodyIsNotWaitedFor(t *testing.T) {
	lim := DefaultLimits()
	lim.AuthWithin = time.Hour // the answer closes the connection, not this bound
	addr, _, fake := guardServe(t, lim)
	for _, auth := range []string{"", "Authorization: Bearer wrong\r\n"} {
		c := guardDial(t, addr, "127.0.0.1")
		// 200,000 bytes announced, one sent, and no more coming.
		io.WriteString(c, "POST /v1/messages HTTP/1.1\r\nHost: x\r\n"+auth+"Content-Type: application/json\r\nContent-Length: 200000\r\n\r\n{")
		resp := readUntilClosed(t, c)
		if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
			t.Fatalf("answer %s, close %v", resp.Status, resp.Close)
		}
	}
	if fake.CallCount() != 0 {
		t.Fatal("an unauthenticated request reached the node")
	}
}

func TestSlowAuthenticatedBodyIsCutOff(t *testing.T) {
	lim := DefaultLimits()
	lim.BodyWindow, lim.BodyMinBytes = 200*time.Millisecond, 1024
	addr, key, fake := guardServe(t, lim)
	c := guardDial(t, addr, "127.0.0.1")
	io.WriteString(c, "POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+key+"\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n{")
	resp := readUntilClosed(t, c)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("answer %s", resp.Status)
	}
	if fake.CallCount() != 0 {
		t.Fatal("a body cut off reached the node")
	}
}

// A body that keeps coming streams for many windows, and time the handler
// spends between reads is not held against the client.
func TestBodyDeadlineIsAMinimumRate(t *testing.T) {
	lim := DefaultLimits()
	lim.BodyWindow, lim.BodyMinBytes = 300*time.Millisecond, 1024
	got := make(chan error, 1)
	resume := make(chan struct{})
	cert, _ := apiTestCert(t)
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := newBodyDeadline(w, r, lim)
		// Less than the window's minimum, then the handler at work for
		// three windows, while nothing more can have arrived: the client
		// is not to blame for those.
		var buf [100]byte
		if _, err := io.ReadFull(body, buf[:]); err != nil {
			got <- err
			return
		}
		time.Sleep(3 * lim.BodyWindow)
		close(resume)
		n, err := io.Copy(io.Discard, body)
		if err == nil && n != 15*4096 {
			err = errors.New("short body")
		}
		got <- err
	}))
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	ts.StartTLS()
	defer ts.Close()
	pr, pw := io.Pipe()
	go func() {
		pw.Write(bytes.Repeat([]byte("x"), 100))
		<-resume
		chunk := bytes.Repeat([]byte("x"), 4096)
		for i := 0; i < 15; i++ { // 15 chunks 100 ms apart: five windows long
			pw.Write(chunk)
			time.Sleep(100 * time.Millisecond)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("PUT", ts.URL, pr)
	req.ContentLength = 100 + 15*4096
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := <-got; err != nil {
		t.Fatalf("a body arriving steadily failed: %v", err)
	}
}

func TestConnectionsWithoutTheKeyAreBounded(t *testing.T) {
	lim := DefaultLimits()
	lim.PendingPerAddr, lim.AuthWithin = 2, 300*time.Millisecond
	addr, key, _ := guardServe(t, lim)
	closed := func(c net.Conn) bool {
		_, err := io.Copy(io.Discard, c)
		return !errors.Is(err, os.ErrDeadlineExceeded)
	}
	// Silent connections: two are let in and closed when their time is up,
	// the rest at once.
	var wg sync.WaitGroup
	var mu sync.Mutex
	held := 0
	for i := 0; i < 6; i++ {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(guardHold))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !closed(c) {
				mu.Lock()
				held++
				mu.Unlock()
			}
		}()
	}
	// Meanwhile another address is served, and a connection that showed
	// the key is no longer counted: two more from 127.0.0.3 get in while
	// the first stays open.
	for i := 0; i < 3; i++ {
		c := guardDial(t, addr, "127.0.0.3")
		io.WriteString(c, "GET /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+key+"\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("authenticated connection %d: %v %v", i, resp, err)
		}
		// c stays open until the test ends
	}
	wg.Wait()
	if held > 0 {
		t.Fatalf("%d connections without the key held open", held)
	}
}

func guardRequest(h http.Handler, remote, key string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/v1/status", nil)
	req.RemoteAddr = remote
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestFailedAttemptsAreThrottledPerAddress(t *testing.T) {
	lim := DefaultLimits()
	lim.AuthFailBurst, lim.AuthFailEvery = 3, time.Hour
	key := NewKey()
	fake := apitest.NewFake()
	h := newHandler(fake, key, nil, lim)
	for i := 0; i < 3; i++ {
		if rec := guardRequest(h, "192.0.2.7:4000", "wrong"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, rec.Code)
		}
	}
	for _, k := range []string{"wrong", key} { // the right key too: it is not even compared
		rec := guardRequest(h, "192.0.2.7:4001", k)
		var eb wire.ErrorBody
		json.Unmarshal(rec.Body.Bytes(), &eb)
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "3600" || eb.Code != exchange.CodeRateLimited ||
			eb.Message != "too many failed attempts from this address; try again in 3600 s" {
			t.Fatalf("throttled attempt: %d %q %+v", rec.Code, rec.Header().Get("Retry-After"), eb)
		}
	}
	if fake.CallCount() != 0 {
		t.Fatal("a throttled request reached the node")
	}
	// Others are not affected; nor is, on IPv6, another /64.
	if rec := guardRequest(h, "192.0.2.8:4000", key); rec.Code != http.StatusOK {
		t.Fatalf("another address: %d", rec.Code)
	}
	for i := 0; i < 3; i++ {
		guardRequest(h, "[2001:db8:1:1::"+string(rune('a'+i))+"]:4000", "wrong")
	}
	if rec := guardRequest(h, "[2001:db8:1:1::ff]:4000", key); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("same /64: %d", rec.Code)
	}
	if rec := guardRequest(h, "[2001:db8:1:2::1]:4000", key); rec.Code != http.StatusOK {
		t.Fatalf("another /64: %d", rec.Code)
	}
	// A connection that has shown the key keeps being served.
	ln := newConnLimiter(nil, lim.withConns(1024), nil)
	tc := &trackedConn{l: ln, addr: clientKey("192.0.2.7:4002"), timer: time.AfterFunc(time.Hour, func() {})}
	ln.pending, ln.perAddr[tc.addr] = 1, 1
	tc.authenticate()
	req := httptest.NewRequest("GET", "/v1/status", nil)
	req.RemoteAddr = "192.0.2.7:4002"
	req.Header.Set("Authorization", "Bearer "+key)
	req = req.WithContext(context.WithValue(req.Context(), trackedConnKey{}, tc))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("authenticated connection from a throttled address: %d", rec.Code)
	}
}

func TestThrottleRefills(t *testing.T) {
	th := newAuthThrottle(2, time.Second)
	a := clientKey("192.0.2.1:1")
	now := time.Unix(1_000_000, 0)
	th.fail(a, now)
	th.fail(a, now)
	if w := th.wait(a, now); w != time.Second {
		t.Fatalf("wait after the burst: %v", w)
	}
	if w := th.wait(a, now.Add(time.Second)); w != 0 {
		t.Fatalf("wait once a token is back: %v", w)
	}
}

// logLines counts what a logger writes.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.TrimSpace(string(p)))
	return len(p), nil
}

func (l *logLines) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func TestRefusalsAreLoggedInSummary(t *testing.T) {
	lim := DefaultLimits()
	lim.LogInterval = time.Hour // the test ends the interval itself
	var out logLines
	h := newHandler(apitest.NewFake(), NewKey(), slog.New(slog.NewTextHandler(&out, nil)), lim)
	for i := 0; i < 2000; i++ {
		guardRequest(h, "192.0.2.9:5000", "wrong")
	}
	// The first refusal and the first throttled attempt at once, the rest
	// summed up when the interval is over.
	if lines := out.snapshot(); len(lines) != 2 {
		t.Fatalf("%d log lines during 2000 refusals:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	h.refused.mu.Lock()
	var keys []refusalKey
	for k := range h.refused.pending {
		keys = append(keys, k)
	}
	h.refused.mu.Unlock()
	for _, k := range keys {
		h.refused.flush(k)
	}
	lines := out.snapshot()
	total := 0
	for _, l := range lines[2:] {
		var n int
		if i := strings.Index(l, " count="); i >= 0 {
			fmt.Sscanf(l[i+7:], "%d", &n)
		}
		total += n
	}
	if len(lines) != 4 || total != 1998 {
		t.Fatalf("summary of 2000 refusals:\n%s", strings.Join(lines, "\n"))
	}
}

func TestCheckKey(t *testing.T) {
	for _, k := range []string{
		NewKey(),
		"3f9c1a7e5b20d84c6e1f0a9b7d3c5e28", // 128 random bits in hex
		"Zq3vN1xW0bT5mK7pL2sA9d",           // 22 random base64 characters
		"correct-Horse7battery!staple",
	} {
		if err := CheckKey(k); err != nil {
			t.Errorf("%q refused: %v", k, err)
		}
	}
	for _, k := range []string{
		"", "12345678", "3f9c1a7e5b20d84c6e1f0a9b7d3c5e2", "Zq3vN1xW0bT5mK7pL2sA9",
		"0123456789abcdef0123456789abcdef", strings.Repeat("a", 64), "abcdefghijklmnopqrstuvwxyzABCDEF",
		"passwordpasswordpasswordpassword", "key with spaces in it, long enough",
	} {
		err := CheckKey(k)
		if err == nil || !strings.Contains(err.Error(), "at least 128 bits") {
			t.Errorf("%q: %v", k, err)
		}
	}
	for i := 0; i < 1000; i++ { // generated keys always pass
		if err := CheckKey(NewKey()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestInitRefusesAWeakKey(t *testing.T) {
	_, err := Init(context.Background(), InitOptions{Dir: t.TempDir(), Organization: "O", Site: "S", Name: "EX1", Key: "12345678"})
	if err == nil || !strings.Contains(err.Error(), "too short") {
		t.Fatalf("init with 12345678: %v", err)
	}
}
