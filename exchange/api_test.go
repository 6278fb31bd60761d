package exchange

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// apiFake is a Node that records its calls and answers canned values. errs
// makes a method fail; the other fields shape the file calls.
type apiFake struct {
	mu    sync.Mutex
	calls []string
	args  map[string][]any
	errs  map[string]error

	files      map[string][]byte // BackupRead contents by file name
	failAt     map[string]int    // BackupRead fails after this many bytes
	closeErr   error             // BackupRead's reader fails to close
	block      bool              // BackupRead streams forever, until its context ends
	ctxDone    chan struct{}     // closed when a blocking call sees its context end
	panicIn    string            // a method that panics
	restore    string            // RestoreWrite: "" reads all; "exact" reads len(want) bytes; "part" stops early; "ignore" swallows read errors
	restoreLen int               // for "exact" and "part"
	written    map[string][]byte // RestoreWrite results
	readErr    error             // the error RestoreWrite's reader gave
}

func newAPIFake() *apiFake {
	return &apiFake{
		args:    map[string][]any{},
		errs:    map[string]error{},
		files:   map[string][]byte{},
		failAt:  map[string]int{},
		written: map[string][]byte{},
		ctxDone: make(chan struct{}),
	}
}

func (f *apiFake) record(name string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.panicIn == name {
		panic("fake: " + name + " panics")
	}
	f.calls = append(f.calls, name)
	f.args[name] = args
	return f.errs[name]
}

func (f *apiFake) setErr(name string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[name] = err
}

func (f *apiFake) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *apiFake) lastCall() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return ""
	}
	return f.calls[len(f.calls)-1]
}

func (f *apiFake) argsOf(name string) []any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.args[name]
}

var (
	apiTestCreated = time.Date(2001, 3, 14, 9, 26, 53, 0, time.UTC)
	apiTestStatus  = Status{Organization: "Contoso", Site: "Redmond", Name: "EXCH01", DS: Running, IS: RestorePending, CircularLogging: true}
	apiTestTopo    = Topology{Organization: "Contoso", Sites: []Site{
		{Name: "Redmond", Servers: []ServerInfo{{Name: "EXCH01", Site: "Redmond", Address: "127.0.0.1:7001", Fingerprint: Fingerprint([]byte("EXCH01"))}}},
		{Name: "Paris", Servers: []ServerInfo{{Name: "EXCH03", Site: "Paris"}}},
	}}
	apiTestRecipients = []Recipient{{Alias: "jsmith", DisplayName: "John Smith", HomeServer: "EXCH01"}}
	apiTestEnv        = RestoreEnv{Organization: "Contoso", Site: "Redmond", Server: "EXCH01", Store: StoreIS, Type: Normal,
		BaseLSN: 1234, LowGen: 10, HighGen: 12, HighLSN: 2345, Signature: "abcdef", Created: apiTestCreated}
	apiTestBackupInfo = BackupInfo{Session: "s-1", Env: apiTestEnv, Files: []BackupFile{
		{Name: "priv.edb", Kind: KindDatabase, Size: 1 << 20}, {Name: "edb0000A.log", Kind: KindLog, Size: 5 << 20}, {Name: "restore.env", Kind: KindEnv, Size: 300},
	}}
	apiTestRestoreInfo   = RestoreInfo{Session: "r-1", Warnings: []string{"Public folders were left as they were."}}
	apiTestRestoreResult = RestoreResult{Recovered: true, LastLSN: 4567, Started: true, Messages: []string{"Rolled forward through 3 logs."}}
	apiTestDigest        = Digest{DS: "aa", Priv: "bb", Pub: "cc"}
)

func (f *apiFake) Status(ctx context.Context) (Status, error) {
	if err := f.record("Status"); err != nil {
		return Status{}, err
	}
	f.mu.Lock()
	block, done := f.block, f.ctxDone
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		close(done)
		return Status{}, ctx.Err()
	}
	return apiTestStatus, nil
}

func (f *apiFake) Topology(ctx context.Context) (Topology, error) {
	return apiTestTopo, f.record("Topology")
}

func (f *apiFake) Join(ctx context.Context, s ServerInfo) (Topology, error) {
	return apiTestTopo, f.record("Join", s)
}

func (f *apiFake) UpdateServer(ctx context.Context, s ServerInfo) error {
	return f.record("UpdateServer", s)
}

func (f *apiFake) Recipients(ctx context.Context) ([]Recipient, error) {
	return apiTestRecipients, f.record("Recipients")
}

func (f *apiFake) StartService(ctx context.Context, id StoreID) error {
	return f.record("StartService", id)
}

func (f *apiFake) StopService(ctx context.Context, id StoreID) error {
	return f.record("StopService", id)
}

func (f *apiFake) BackupPrepare(ctx context.Context, id StoreID, t BackupType) (BackupInfo, error) {
	return apiTestBackupInfo, f.record("BackupPrepare", id, t)
}

func (f *apiFake) BackupRead(ctx context.Context, session, file string) (io.ReadCloser, error) {
	if err := f.record("BackupRead", session, file); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.block {
		return &apiBlockingReader{ctx: ctx, done: f.ctxDone}, nil
	}
	data, ok := f.files[file]
	if !ok {
		return nil, Errorf(CodeNotFound, "backup session %s has no file %s", session, file)
	}
	var r io.Reader = bytes.NewReader(data)
	if n, ok := f.failAt[file]; ok {
		r = io.MultiReader(bytes.NewReader(data[:n]), apiErrReader{errors.New("read error on priv.edb: input/output error")})
	}
	return apiReadCloser{r, f.closeErr}, nil
}

type apiReadCloser struct {
	io.Reader
	closeErr error
}

func (r apiReadCloser) Close() error { return r.closeErr }

type apiErrReader struct{ err error }

func (r apiErrReader) Read([]byte) (int, error) { return 0, r.err }

// apiBlockingReader streams zeros slowly until its context ends.
type apiBlockingReader struct {
	ctx  context.Context
	done chan struct{}
	once sync.Once
}

func (r *apiBlockingReader) Read(p []byte) (int, error) {
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

func (r *apiBlockingReader) Close() error { return nil }

func (f *apiFake) BackupEnd(ctx context.Context, session string, success bool) error {
	return f.record("BackupEnd", session, success)
}

func (f *apiFake) RestorePrepare(ctx context.Context, req RestoreRequest) (RestoreInfo, error) {
	return apiTestRestoreInfo, f.record("RestorePrepare", req)
}

func (f *apiFake) RestoreWrite(ctx context.Context, session, file string, r io.Reader) error {
	if err := f.record("RestoreWrite", session, file); err != nil {
		return err
	}
	f.mu.Lock()
	mode, n := f.restore, f.restoreLen
	f.mu.Unlock()
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
	f.mu.Lock()
	defer f.mu.Unlock()
	f.readErr = err
	if err != nil && mode != "ignore" {
		// As a server does: a new error that keeps only the message.
		return Errorf(CodeInternal, "receiving %s: %v", file, err)
	}
	f.written[file] = data
	return nil
}

func (f *apiFake) RestoreComplete(ctx context.Context, session string) (RestoreResult, error) {
	return apiTestRestoreResult, f.record("RestoreComplete", session)
}

func (f *apiFake) CreateMailbox(ctx context.Context, r Recipient) error {
	return f.record("CreateMailbox", r)
}

func (f *apiFake) Deliver(ctx context.Context, m Message) error {
	return f.record("Deliver", m)
}

func (f *apiFake) Post(ctx context.Context, p Post) error {
	return f.record("Post", p)
}

func (f *apiFake) Digest(ctx context.Context) (Digest, error) {
	return apiTestDigest, f.record("Digest")
}

// apiEnv is a fake node served over real TLS.
type apiEnv struct {
	fake *apiFake
	ts   *httptest.Server
	addr string
	fp   string
	key  string
	cert tls.Certificate
	http *http.Client // trusts the test certificate; sends no key by itself
}

func newAPIEnv(t testing.TB, http2 bool) *apiEnv {
	t.Helper()
	cert, fp := apiTestCert(t)
	e := &apiEnv{fake: newAPIFake(), fp: fp, key: NewKey(), cert: cert}
	e.ts = httptest.NewUnstartedServer(NewHandler(e.fake, e.key, nil))
	e.ts.EnableHTTP2 = http2
	e.ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
	e.ts.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected here
	e.ts.StartTLS()
	t.Cleanup(e.ts.Close)
	e.addr = e.ts.Listener.Addr().String()
	e.http = e.ts.Client()
	return e
}

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

func (e *apiEnv) dial(t testing.TB) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, e.addr, e.key, e.fp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// do sends a raw request; auth is the whole Authorization header.
func (e *apiEnv) do(t testing.TB, method, path string, body []byte, auth string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, "https://"+e.addr+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := e.http.Do(req)
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

func (e *apiEnv) bearer() string { return "Bearer " + e.key }

// apiFramed frames data for a PUT body.
func apiFramed(t testing.TB, data []byte) []byte {
	return frameEncode(t, data, MaxChunk)
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
		{"PUT", "/v1/restore/r-1/files/priv.edb", apiFramed(t, []byte("database")), "RestoreWrite"},
		{"POST", "/v1/restore/r-1/complete", nil, "RestoreComplete"},
		{"POST", "/v1/mailboxes", []byte(`{"alias":"jsmith","displayName":"John Smith"}`), "CreateMailbox"},
		{"POST", "/v1/messages", []byte(`{"mailbox":"jsmith","subject":"Hi","to":["jdoe"]}`), "Deliver"},
		{"POST", "/v1/posts", []byte(`{"folder":"General","subject":"News"}`), "Post"},
		{"GET", "/v1/digest", nil, "Digest"},
	}
}

func TestAPIEveryRouteAnswersWithTheKey(t *testing.T) {
	e := newAPIEnv(t, true)
	e.fake.files["priv.edb"] = []byte("snapshot")
	for _, rt := range apiRoutes(t) {
		resp, body := e.do(t, rt.method, rt.path, rt.body, e.bearer())
		if resp.StatusCode/100 != 2 {
			t.Errorf("%s %s: %s %s", rt.method, rt.path, resp.Status, body)
			continue
		}
		if got := e.fake.lastCall(); got != rt.call {
			t.Errorf("%s %s reached %q, want %q", rt.method, rt.path, got, rt.call)
		}
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode == http.StatusOK && rt.call != "BackupRead" && ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", rt.method, rt.path, ct)
		}
	}
}

func TestAPIUnauthorizedOnEveryRoute(t *testing.T) {
	e := newAPIEnv(t, true)
	e.fake.files["priv.edb"] = []byte("snapshot")
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
		"Bearer " + e.key + "x",
		"Bearer " + e.key[:len(e.key)-1],
		"Basic " + e.key,
		e.key,
		"Bearer" + e.key,
	}
	for _, rt := range routes {
		for _, auth := range auths {
			before := e.fake.callCount()
			resp, body := e.do(t, rt.method, rt.path, rt.body, auth)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s with Authorization %q: %s", rt.method, rt.path, auth, resp.Status)
				continue
			}
			var eb apiErrorBody
			if err := json.Unmarshal(body, &eb); err != nil || eb.Code != CodeUnauthorized {
				t.Errorf("%s %s with Authorization %q: body %s", rt.method, rt.path, auth, body)
			}
			if n := e.fake.callCount(); n != before {
				t.Errorf("%s %s with Authorization %q reached the node", rt.method, rt.path, auth)
			}
		}
	}
	// The scheme is case-insensitive, as HTTP says.
	if resp, body := e.do(t, "GET", "/v1/status", nil, "bearer "+e.key); resp.StatusCode != http.StatusOK {
		t.Errorf("lowercase scheme: %s %s", resp.Status, body)
	}
}

func TestAPIEmptyKeyRefusesEverything(t *testing.T) {
	fake := newAPIFake()
	h := NewHandler(fake, "", nil)
	for _, auth := range []string{"", "Bearer ", "Bearer x"} {
		req := httptest.NewRequest("GET", "/v1/status", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized || fake.callCount() != 0 {
			t.Errorf("Authorization %q: %d, %d calls", auth, rec.Code, fake.callCount())
		}
	}
}

func TestAPIErrorStatusFollowsCode(t *testing.T) {
	e := newAPIEnv(t, false)
	for code, status := range map[Code]int{
		CodeBadRequest:   400,
		CodeUnauthorized: 401,
		CodeNotFound:     404,
		CodeNotRunning:   503,
		CodeRefused:      422,
		CodeConflict:     409,
		CodeInternal:     500,
	} {
		e.fake.setErr("Digest", Errorf(code, "digest failed with %s", code))
		resp, body := e.do(t, "GET", "/v1/digest", nil, e.bearer())
		if resp.StatusCode != status {
			t.Errorf("%s: HTTP %d, want %d", code, resp.StatusCode, status)
		}
		var eb apiErrorBody
		if err := json.Unmarshal(body, &eb); err != nil || eb.Code != code || eb.Message != "digest failed with "+string(code) {
			t.Errorf("%s: body %s", code, body)
		}
	}
	// An error without a code is internal, and says what it is.
	e.fake.setErr("Digest", fmt.Errorf("hashing priv.edb: %w", io.ErrUnexpectedEOF))
	resp, body := e.do(t, "GET", "/v1/digest", nil, e.bearer())
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
		before := e.fake.callCount()
		resp, body := e.do(t, c.method, c.path, []byte(c.body), e.bearer())
		if resp.StatusCode != c.status {
			t.Errorf("%s %s %.60q: %s %s, want %d", c.method, c.path, c.body, resp.Status, body, c.status)
			continue
		}
		var eb apiErrorBody
		if err := json.Unmarshal(body, &eb); err != nil {
			t.Errorf("%s %s %.60q: answer is not JSON: %s", c.method, c.path, c.body, body)
			continue
		}
		if !strings.Contains(eb.Message, c.want) {
			t.Errorf("%s %s %.60q: message %q lacks %q", c.method, c.path, c.body, eb.Message, c.want)
		}
		if e.fake.callCount() != before {
			t.Errorf("%s %s %.60q reached the node", c.method, c.path, c.body)
		}
	}
	// A message may carry attachments beyond the limit of other calls.
	big := fmt.Sprintf(`{"mailbox":"jsmith","attachments":[{"name":"big.bin","data":"%s"}]}`, strings.Repeat("A", 2*apiMaxBody))
	if resp, body := e.do(t, "POST", "/v1/messages", []byte(big), e.bearer()); resp.StatusCode != http.StatusNoContent {
		t.Errorf("message with a 1.5 MiB attachment: %s %s", resp.Status, body)
	}
}

func TestAPIRestoreWriteChecksTheStream(t *testing.T) {
	data := frameTestData(3*MaxChunk+5, 11)
	good := apiFramed(t, data)
	bad := bytes.Clone(good)
	bad[MaxChunk+100] ^= 1

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
		{"node stops early", "part", MaxChunk, good, 500, "stopped reading"},
		{"corrupt, node reports", "", 0, bad, 400, "upload failed: chunk 2 at byte 1048576: checksum mismatch"},
		{"corrupt, node ignores", "ignore", 0, bad, 400, "checksum mismatch"},
		{"truncated", "", 0, good[:len(good)-12], 400, "truncated"},
		{"not framed", "", 0, []byte("plain bytes"), 400, "upload failed"},
		{"empty body", "", 0, nil, 400, "truncated"},
		{"corrupt trailer after an exact read", "exact", len(data), append(bytes.Clone(good[:len(good)-1]), good[len(good)-1]^1), 400, "trailer"},
	}
	for _, c := range cases {
		e := newAPIEnv(t, true)
		e.fake.restore, e.fake.restoreLen = c.mode, c.n
		resp, body := e.do(t, "PUT", "/v1/restore/r-1/files/priv.edb", c.body, e.bearer())
		if resp.StatusCode != c.status {
			t.Errorf("%s: %s %s, want %d", c.name, resp.Status, body, c.status)
			continue
		}
		if c.status == 204 {
			if got := e.fake.written["priv.edb"]; !bytes.Equal(got, data) {
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
	e.fake.panicIn = "Digest"
	resp, body := e.do(t, "GET", "/v1/digest", nil, e.bearer())
	if resp.StatusCode != 500 || !strings.Contains(string(body), `"code":"internal"`) {
		t.Fatalf("panic: %s %s", resp.Status, body)
	}
	if resp, _ := e.do(t, "GET", "/v1/status", nil, e.bearer()); resp.StatusCode != 200 {
		t.Fatalf("after a panic: %s", resp.Status)
	}
}

func TestAPIServer(t *testing.T) {
	cert, fp := apiTestCert(t)
	fake := newAPIFake()
	key := NewKey()
	srv := NewServer("127.0.0.1:0", cert, NewHandler(fake, key, nil))
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
	c, err := Dial(ctx, addr, key, fp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if st, err := c.Status(ctx); err != nil || st != apiTestStatus {
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
