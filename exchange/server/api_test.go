package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"exbackup/exchange"
	"exbackup/exchange/client"
	"exbackup/exchange/internal/apitest"
	"exbackup/exchange/wire"
)

// apiTestCert makes a certificate as a server's init does.
func apiTestCert(t testing.TB) (tls.Certificate, string) {
	t.Helper()
	dir := t.TempDir()
	if err := GenerateCertificate(dir, nil); err != nil {
		t.Fatal(err)
	}
	cert, fp, err := LoadCertificate(dir)
	if err != nil {
		t.Fatal(err)
	}
	return cert, fp
}

// newAPIEnv serves a fake node through NewHandler over real TLS.
func newAPIEnv(t testing.TB, http2 bool) *apitest.Env {
	return newAPIEnvLimits(t, http2, DefaultLimits())
}

func newAPIEnvLimits(t testing.TB, http2 bool, lim Limits) *apitest.Env {
	t.Helper()
	cert, fp := apiTestCert(t)
	return apitest.NewEnv(t, http2, cert, fp, NewKey(), func(n exchange.Node, key string) http.Handler {
		return newHandler(n, key, nil, lim)
	})
}

// apiRoute is one call of the API with a valid body.
type apiRoute struct {
	method, path string
	body         []byte
	call         string // the Node method it reaches
}

func apiRoutes(t testing.TB) []apiRoute {
	return []apiRoute{
		{"GET", "/v1/status", nil, "Status"},
		{"GET", "/v1/topology", nil, "Topology"},
		{"POST", "/v1/topology/join", []byte(`{"name":"EXCH02","site":"Redmond","address":"127.0.0.1:7002"}`), "Join"},
		{"POST", "/v1/topology/servers", []byte(`{"name":"EXCH02","site":"Redmond"}`), "UpdateServer"},
		{"GET", "/v1/recipients", nil, "Recipients"},
		{"POST", "/v1/services/IS/start", nil, "StartService"},
		{"POST", "/v1/services/DS/stop", nil, "StopService"},
		{"POST", "/v1/backup", []byte(`{"store":"IS","type":"normal"}`), "BackupPrepare"},
		{"GET", "/v1/backup/s-1/files/priv.edb", nil, "BackupRead"},
		{"POST", "/v1/backup/s-1/end", []byte(`{"success":true}`), "BackupEnd"},
		{"POST", "/v1/restore", []byte(`{"env":{"organization":"Contoso","site":"Redmond","server":"EXCH01","store":"IS","type":"normal"},"erase":true}`), "RestorePrepare"},
		{"PUT", "/v1/restore/r-1/files/priv.edb", apitest.Framed(t, []byte("database")), "RestoreWrite"},
		{"POST", "/v1/restore/r-1/complete", nil, "RestoreComplete"},
		{"POST", "/v1/services/IS/cancel-restore", nil, "CancelRestore"},
		{"POST", "/v1/mailboxes", []byte(`{"alias":"jsmith","displayName":"John Smith"}`), "CreateMailbox"},
		{"POST", "/v1/messages", []byte(`{"mailbox":"jsmith","subject":"Hi","to":["jdoe"]}`), "Deliver"},
		{"POST", "/v1/posts", []byte(`{"folder":"General","subject":"News"}`), "Post"},
		{"GET", "/v1/digest", nil, "Digest"},
		{"POST", "/v1/items", []byte(`{"create":[{"alias":"jdoe"}],"messages":[{"mailbox":"jdoe","folder":"Inbox","data":"U3ViamVjdDogeA0KDQp4DQo=","flags":["\\Seen"]}]}`), "ImportItems"},
	}
}

func TestAPIEveryRouteAnswersWithTheKey(t *testing.T) {
	e := newAPIEnv(t, true)
	e.Fake.Files["priv.edb"] = []byte("snapshot")
	for _, rt := range apiRoutes(t) {
		resp, body := e.Do(t, rt.method, rt.path, rt.body, e.Bearer())
		if resp.StatusCode/100 != 2 {
			t.Errorf("%s %s: %s %s", rt.method, rt.path, resp.Status, body)
			continue
		}
		if got := e.Fake.LastCall(); got != rt.call {
			t.Errorf("%s %s reached %q, want %q", rt.method, rt.path, got, rt.call)
		}
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode == http.StatusOK && rt.call != "BackupRead" && ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", rt.method, rt.path, ct)
		}
	}
}

func TestAPIUnauthorizedOnEveryRoute(t *testing.T) {
	lim := DefaultLimits()
	lim.AuthFailBurst = 1000 // every refusal is a 401 here; the throttle has tests of its own
	e := newAPIEnvLimits(t, true, lim)
	e.Fake.Files["priv.edb"] = []byte("snapshot")
	routes := append(apiRoutes(t),
		apiRoute{"GET", "/v1/nonexistent", nil, ""},
		apiRoute{"DELETE", "/v1/status", nil, ""},
		apiRoute{"GET", "/", nil, ""},
	)
	auths := []string{
		"",
		"Bearer",
		"Bearer ",
		"Bearer wrong",
		"Bearer " + e.Key + "x",
		"Bearer " + e.Key[:len(e.Key)-1],
		"Basic " + e.Key,
		e.Key,
		"Bearer" + e.Key,
	}
	for _, rt := range routes {
		for _, auth := range auths {
			before := e.Fake.CallCount()
			resp, body := e.Do(t, rt.method, rt.path, rt.body, auth)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s with Authorization %q: %s", rt.method, rt.path, auth, resp.Status)
				continue
			}
			var eb wire.ErrorBody
			if err := json.Unmarshal(body, &eb); err != nil || eb.Code != exchange.CodeUnauthorized {
				t.Errorf("%s %s with Authorization %q: body %s", rt.method, rt.path, auth, body)
			}
			if n := e.Fake.CallCount(); n != before {
				t.Errorf("%s %s with Authorization %q reached the node", rt.method, rt.path, auth)
			}
		}
	}
	// The scheme is case-insensitive, as HTTP says.
	if resp, body := e.Do(t, "GET", "/v1/status", nil, "bearer "+e.Key); resp.StatusCode != http.StatusOK {
		t.Errorf("lowercase scheme: %s %s", resp.Status, body)
	}
}

func TestAPIEmptyKeyRefusesEverything(t *testing.T) {
	fake := apitest.NewFake()
	h := NewHandler(fake, "", nil)
	for _, auth := range []string{"", "Bearer ", "Bearer x"} {
		req := httptest.NewRequest("GET", "/v1/status", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized || fake.CallCount() != 0 {
			t.Errorf("Authorization %q: %d, %d calls", auth, rec.Code, fake.CallCount())
		}
	}
}

func TestAPIErrorStatusFollowsCode(t *testing.T) {
	e := newAPIEnv(t, false)
	for code, status := range map[exchange.Code]int{
		exchange.CodeBadRequest:   400,
		exchange.CodeUnauthorized: 401,
		exchange.CodeNotFound:     404,
		exchange.CodeNotRunning:   503,
		exchange.CodeRefused:      422,
		exchange.CodeConflict:     409,
		exchange.CodeInternal:     500,
	} {
		e.Fake.SetErr("Digest", exchange.Errorf(code, "digest failed with %s", code))
		resp, body := e.Do(t, "GET", "/v1/digest", nil, e.Bearer())
		if resp.StatusCode != status {
			t.Errorf("%s: HTTP %d, want %d", code, resp.StatusCode, status)
		}
		var eb wire.ErrorBody
		if err := json.Unmarshal(body, &eb); err != nil || eb.Code != code || eb.Message != "digest failed with "+string(code) {
			t.Errorf("%s: body %s", code, body)
		}
	}
	// An error without a code is internal, and says what it is.
	e.Fake.SetErr("Digest", fmt.Errorf("hashing priv.edb: %w", io.ErrUnexpectedEOF))
	resp, body := e.Do(t, "GET", "/v1/digest", nil, e.Bearer())
	if resp.StatusCode != 500 || !strings.Contains(string(body), `"code":"internal"`) || !strings.Contains(string(body), "hashing priv.edb") {
		t.Errorf("plain error: %s %s", resp.Status, body)
	}
}

func TestAPIMalformedRequests(t *testing.T) {
	e := newAPIEnv(t, true)
	long := strings.Repeat("a", 300)
	cases := []struct {
		method, path, body string
		status             int
		want               string // in the message
	}{
		{"POST", "/v1/backup", ``, 400, "empty"},
		{"POST", "/v1/backup", `{`, 400, "truncated"},
		{"POST", "/v1/backup", `{"store":"IS",}`, 400, "malformed JSON"},
		{"POST", "/v1/backup", `{"store":"IS","type":"normal","extra":1}`, 400, `unknown field "extra"`},
		{"POST", "/v1/backup", `{"store":"IS","type":"normal"} {}`, 400, "after the JSON object"},
		{"POST", "/v1/backup", `{"store":"IS","type":"normal"}x`, 400, "JSON"},
		{"POST", "/v1/backup", `[1,2]`, 400, "must be a JSON object, not array"},
		{"POST", "/v1/backup", `{"store":5,"type":"normal"}`, 400, "store: expected"},
		{"POST", "/v1/backup", `null`, 400, "store"},
		{"POST", "/v1/backup", `{"store":"XX","type":"normal"}`, 400, `store "XX"`},
		{"POST", "/v1/backup", `{"store":"is","type":"normal"}`, 400, `store "is"`},
		{"POST", "/v1/backup", `{"store":"IS","type":"full"}`, 400, `backup type "full"`},
		{"POST", "/v1/backup/s-1/end", `{}`, 400, "success is required"},
		{"POST", "/v1/backup/s-1/end", `{"success":"yes"}`, 400, "success: expected"},
		{"POST", "/v1/topology/join", `{"name":"","site":"Redmond"}`, 400, "server name is required"},
		{"POST", "/v1/topology/join", `{"name":"EXCH02"}`, 400, "site is required"},
		{"POST", "/v1/topology/join", `{"name":"EXCH02","site":"Redmond","address":"nocolon"}`, 400, "host:port"},
		{"POST", "/v1/topology/join", `{"name":"EXCH02","site":"Redmond","address":"h:0"}`, 400, "port"},
		{"POST", "/v1/topology/servers", `{"name":"EXCH02","site":"Redmond","fingerprint":"md5:00"}`, 400, "fingerprint"},
		{"POST", "/v1/topology/servers", `{"name":"EX\u0000CH","site":"Redmond"}`, 400, "control"},
		{"POST", "/v1/mailboxes", `{"alias":""}`, 400, "alias is required"},
		{"POST", "/v1/mailboxes", `{"alias":"j smith"}`, 400, "alias"},
		{"POST", "/v1/mailboxes", `{"alias":"` + long + `"}`, 400, "longer than"},
		{"POST", "/v1/messages", `{"subject":"no mailbox"}`, 400, "mailbox is required"},
		{"POST", "/v1/messages", `{"mailbox":"jsmith","attachments":[{"name":"","data":"AA=="}]}`, 400, "attachment name"},
		{"POST", "/v1/messages", `{"mailbox":"jsmith","attachments":[{"name":"a","data":"!!"}]}`, 400, "request body"},
		{"POST", "/v1/messages", `{"mailbox":"jsmith","date":"yesterday"}`, 400, "request body"},
		{"POST", "/v1/posts", `{"subject":"no folder"}`, 400, "folder is required"},
		{"POST", "/v1/posts", `{"folder":"General"` + strings.Repeat(" ", apiMaxBody) + `}`, 413, "exceeds"},
		{"POST", "/v1/items", `{"messages":[{"mailbox":"j smith","folder":"Inbox","data":"AA=="}]}`, 400, "alias"},
		{"POST", "/v1/items", `{"messages":[{"mailbox":"jsmith","folder":"a//b","data":"AA=="}]}`, 400, "folder name"},
		{"POST", "/v1/items", `{"messages":[{"mailbox":"jsmith","folder":"Inbox"}]}`, 400, "is empty"},
		{"POST", "/v1/items", `{"messages":[{"mailbox":"jsmith","folder":"Inbox","data":"AA==","flags":["a b"]}]}`, 400, "not an IMAP flag"},
		{"POST", "/v1/items", `{"posts":[{"subject":"no folder"}]}`, 400, "public folder is required"},
		{"POST", "/v1/items", `{"posts":[]` + strings.Repeat(" ", wire.MaxImportBody) + `}`, 413, "send fewer messages per batch"},
		{"POST", "/v1/restore", `{"env":{"store":"IS","type":"normal"}}`, 400, "organization is required"},
		{"POST", "/v1/restore", `{"env":{"organization":"C","site":"S","server":"E","store":"DS","type":"copy","lowGen":5,"highGen":4}}`, 400, "reversed"},
		{"POST", "/v1/restore", `{"env":{"organization":"C","site":"S","server":"E","store":"DS","type":"copy","baseLSN":-1}}`, 400, "baseLSN"},
		{"POST", "/v1/services/XX/start", ``, 400, `store "XX"`},
		{"POST", "/v1/services/is/stop", ``, 400, `store "is"`},
		{"GET", "/v1/backup/s-1/files/a%2Fb", ``, 400, "path separator"},
		{"GET", "/v1/backup/s-1/files/a%5Cb", ``, 400, "path separator"},
		{"GET", "/v1/backup/s-1/files/a%00b", ``, 400, "control"},
		{"GET", "/v1/backup/s-1/files/" + long, ``, 400, "longer than"},
		{"GET", "/v1/backup/a%2F..%2Fb/files/priv.edb", ``, 400, "session"},
		{"PUT", "/v1/restore/r-1/files/..%2Fpriv.edb", ``, 400, "path separator"},
		{"PUT", "/v1/restore/r-1/files/c:priv.edb", ``, 400, "path separator"},
		{"POST", "/v1/restore/%2E%2E/complete", ``, 400, "not a file name"},
		{"GET", "/v1/nope", ``, 404, "no API call"},
		{"DELETE", "/v1/status", ``, 405, "not allowed"},
		{"GET", "/v1/backup", ``, 405, "allowed: POST"},
	}
	for _, c := range cases {
		before := e.Fake.CallCount()
		resp, body := e.Do(t, c.method, c.path, []byte(c.body), e.Bearer())
		if resp.StatusCode != c.status {
			t.Errorf("%s %s %.60q: %s %s, want %d", c.method, c.path, c.body, resp.Status, body, c.status)
			continue
		}
		var eb wire.ErrorBody
		if err := json.Unmarshal(body, &eb); err != nil {
			t.Errorf("%s %s %.60q: answer is not JSON: %s", c.method, c.path, c.body, body)
			continue
		}
		if !strings.Contains(eb.Message, c.want) {
			t.Errorf("%s %s %.60q: message %q lacks %q", c.method, c.path, c.body, eb.Message, c.want)
		}
		if e.Fake.CallCount() != before {
			t.Errorf("%s %s %.60q reached the node", c.method, c.path, c.body)
		}
	}
	// A message may carry attachments beyond the limit of other calls.
	big := fmt.Sprintf(`{"mailbox":"jsmith","attachments":[{"name":"big.bin","data":"%s"}]}`, strings.Repeat("A", 2*apiMaxBody))
	if resp, body := e.Do(t, "POST", "/v1/messages", []byte(big), e.Bearer()); resp.StatusCode != http.StatusNoContent {
		t.Errorf("message with a 1.5 MiB attachment: %s %s", resp.Status, body)
	}
}

func TestAPIRestoreWriteChecksTheStream(t *testing.T) {
	data := apitest.Data(3*wire.MaxChunk+5, 11)
	good := apitest.Framed(t, data)
	bad := bytes.Clone(good)
	bad[wire.MaxChunk+100] ^= 1

	cases := []struct {
		name   string
		mode   string
		n      int
		body   []byte
		status int
		want   string
	}{
		{"whole", "", 0, good, 204, ""},
		{"node reads exactly the payload", "exact", len(data), good, 204, ""},
		{"node stops early", "part", wire.MaxChunk, good, 500, "stopped reading"},
		{"corrupt, node reports", "", 0, bad, 400, "upload failed: chunk 2 at byte 1048576: checksum mismatch"},
		{"corrupt, node ignores", "ignore", 0, bad, 400, "checksum mismatch"},
		{"truncated", "", 0, good[:len(good)-12], 400, "truncated"},
		{"not framed", "", 0, []byte("plain bytes"), 400, "upload failed"},
		{"empty body", "", 0, nil, 400, "truncated"},
		{"corrupt trailer after an exact read", "exact", len(data), append(bytes.Clone(good[:len(good)-1]), good[len(good)-1]^1), 400, "trailer"},
	}
	for _, c := range cases {
		e := newAPIEnv(t, true)
		e.Fake.Restore, e.Fake.RestoreLen = c.mode, c.n
		resp, body := e.Do(t, "PUT", "/v1/restore/r-1/files/priv.edb", c.body, e.Bearer())
		if resp.StatusCode != c.status {
			t.Errorf("%s: %s %s, want %d", c.name, resp.Status, body, c.status)
			continue
		}
		if c.status == 204 {
			if got := e.Fake.Written["priv.edb"]; !bytes.Equal(got, data) {
				t.Errorf("%s: node got %d bytes, want %d", c.name, len(got), len(data))
			}
			continue
		}
		if !strings.Contains(string(body), c.want) {
			t.Errorf("%s: %s lacks %q", c.name, body, c.want)
		}
	}
}

func TestAPIPanicInNodeIsAnInternalError(t *testing.T) {
	e := newAPIEnv(t, true)
	e.Fake.PanicIn = "Digest"
	resp, body := e.Do(t, "GET", "/v1/digest", nil, e.Bearer())
	if resp.StatusCode != 500 || !strings.Contains(string(body), `"code":"internal"`) {
		t.Fatalf("panic: %s %s", resp.Status, body)
	}
	if resp, _ := e.Do(t, "GET", "/v1/status", nil, e.Bearer()); resp.StatusCode != 200 {
		t.Fatalf("after a panic: %s", resp.Status)
	}
}

func TestAPIServer(t *testing.T) {
	cert, fp := apiTestCert(t)
	fake := apitest.NewFake()
	key := NewKey()
	srv := NewHTTPServer("127.0.0.1:0", cert, NewHandler(fake, key, nil))
	if srv.TLSConfig.MinVersion != tls.VersionTLS13 {
		t.Errorf("MinVersion %x", srv.TLSConfig.MinVersion)
	}
	if srv.ReadHeaderTimeout <= 0 || srv.MaxHeaderBytes <= 0 || srv.IdleTimeout <= 0 {
		t.Errorf("timeouts: header %v, idle %v, max header %d", srv.ReadHeaderTimeout, srv.IdleTimeout, srv.MaxHeaderBytes)
	}
	if srv.WriteTimeout != 0 || srv.ReadTimeout != 0 {
		t.Errorf("a whole-request timeout would cut long streams: read %v, write %v", srv.ReadTimeout, srv.WriteTimeout)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.ErrorLog = log.New(io.Discard, "", 0)
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()

	ctx := context.Background()
	c, err := client.Dial(ctx, addr, key, fp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if st, err := c.Status(ctx); err != nil || !reflect.DeepEqual(st, apitest.Status) {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	// HTTP/2 is offered; TLS 1.2 is not.
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Errorf("negotiated %q, want h2", p)
	}
	conn.Close()
	if conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12}); err == nil {
		conn.Close()
		t.Error("a TLS 1.2 client was accepted")
	}
}
