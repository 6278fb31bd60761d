package client

import (
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/wire"
)

// Client speaks the API of one server. Its certificate is pinned: a
// connection to a server whose certificate is not the one confirmed when
// it was first met is refused before the access key is sent.
type Client struct {
	addr        string
	name        string // the server's own name, from its status when dialled
	key         string
	fingerprint string
	base        string
	tr          *http.Transport // calls: HTTP/2 when the server offers it
	hc          *http.Client
	str         *http.Transport // file streams: HTTP/1.1, a connection to each stream at a time
	shc         *http.Client
	dialRaw     func(ctx context.Context, network, addr string) (net.Conn, error)
}

// dialStream opens a connection for file streams: a wire.StreamConn, whose
// reads and uploads move in large pieces under TLS.
func (c *Client) dialStream(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := c.dialRaw(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return wire.NewStreamConn(conn), nil
}

var _ exchange.Node = (*Client)(nil)

// ErrFingerprint matches the error of a server whose certificate is not the
// pinned one.
var ErrFingerprint = errors.New("server certificate changed")

// FingerprintError is a refused certificate. It matches ErrFingerprint and
// ErrUnauthorized with errors.Is; Got is what a console shows when it asks
// whether to trust the new certificate.
type FingerprintError struct {
	Addr     string
	Expected string
	Got      string
}

func (e *FingerprintError) Error() string {
	return fmt.Sprintf("certificate of %s has changed: expected %s, got %s — refusing to connect", e.Addr, e.Expected, e.Got)
}

func (e *FingerprintError) Unwrap() []error { return []error{ErrFingerprint, exchange.ErrUnauthorized} }

// Timeouts of the client. Streams and long calls (a restore's recovery) are
// bounded by their context only.
const (
	clientDialTimeout      = 15 * time.Second
	clientHandshakeTimeout = 15 * time.Second
	clientIdleTimeout      = 90 * time.Second // below the server's, so the client closes first
	clientMaxAnswer        = 64 << 20
	clientMaxErrorAnswer   = 64 << 10
	clientBufferSize       = 256 << 10
)

// Dial connects to the server at addr ("host:port"; an "https://" prefix is
// accepted) with the organization's access key, pinning the certificate
// fingerprint ("sha256:HEX"). An empty fingerprint is an error: fetch it
// with FetchFingerprint and have it confirmed first. Dial asks the server
// for its status, so a wrong key or certificate fails here.
func Dial(ctx context.Context, addr, key, fingerprint string) (*Client, error) {
	a, err := clientAddr(addr)
	if err != nil {
		return nil, err
	}
	if fingerprint == "" {
		return nil, exchange.Errorf(exchange.CodeBadRequest, "server %s: no certificate fingerprint to pin: fetch it and confirm it first", a)
	}
	fp, err := wire.ParseFingerprint(fingerprint)
	if err != nil {
		return nil, exchange.Errorf(exchange.CodeBadRequest, "server %s: %v", a, err)
	}
	if key == "" {
		return nil, exchange.Errorf(exchange.CodeBadRequest, "server %s: no access key", a)
	}
	c := &Client{addr: a, key: key, fingerprint: fp, base: "https://" + a}
	c.tr = &http.Transport{
		DialContext:         (&net.Dialer{Timeout: clientDialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     c.tlsConfig(),
		TLSHandshakeTimeout: clientHandshakeTimeout,
		ForceAttemptHTTP2:   true,
		HTTP2:               wire.HTTP2Config(),
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     clientIdleTimeout,
		DisableCompression:  true, // frames are checked as sent; databases are streamed as they are
		ReadBufferSize:      clientBufferSize,
		WriteBufferSize:     clientBufferSize,
		// Proxy stays nil: the key goes to the pinned server and nowhere else.
	}
	noRedirect := func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // the API never redirects; a redirect is an error answer
	}
	c.hc = &http.Client{Transport: c.tr, CheckRedirect: noRedirect}
	// A database streams fastest over a connection of its own: HTTP/1.1
	// hands the bytes straight between TLS and the handler, where HTTP/2
	// copies them through its frames, flow-control windows and a goroutine
	// per connection. On the server, the handler then does all of a
	// stream's work itself, at the priority it sets for backups.
	c.str = c.tr.Clone()
	c.str.ForceAttemptHTTP2 = false
	c.str.HTTP2 = nil
	c.str.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	c.str.TLSClientConfig.NextProtos = []string{"http/1.1"}
	c.dialRaw = c.tr.DialContext
	c.str.DialContext = c.dialStream
	c.shc = &http.Client{Transport: c.str, CheckRedirect: noRedirect}
	var st exchange.Status
	if err := c.call(ctx, "connecting", http.MethodGet, "/v1/status", nil, &st); err != nil {
		c.Close()
		return nil, err
	}
	c.name = st.Name
	return c, nil
}

// tlsConfig verifies the server by its pinned fingerprint alone: the
// certificate is self-signed, so there is no chain to check.
func (c *Client) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // replaced by VerifyConnection below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return &FingerprintError{Addr: c.addr, Expected: c.fingerprint, Got: "no certificate"}
			}
			got := wire.Fingerprint(cs.PeerCertificates[0].Raw)
			if subtle.ConstantTimeCompare([]byte(got), []byte(c.fingerprint)) != 1 {
				return &FingerprintError{Addr: c.addr, Expected: c.fingerprint, Got: got}
			}
			return nil
		},
	}
}

// FetchFingerprint connects to addr only to read its certificate, and
// returns the certificate's fingerprint for an administrator to confirm.
// Nothing is sent: not the key, not a request.
func FetchFingerprint(ctx context.Context, addr string) (string, error) {
	a, err := clientAddr(addr)
	if err != nil {
		return "", err
	}
	d := &tls.Dialer{
		NetDialer: &net.Dialer{Timeout: clientDialTimeout},
		Config:    &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true}, // reading, not trusting
	}
	conn, err := d.DialContext(ctx, "tcp", a)
	if err != nil {
		return "", &CallError{Addr: a, Op: "fetching its certificate", Err: err}
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return "", exchange.Errorf(exchange.CodeUnauthorized, "server %s: presented no certificate", a)
	}
	return wire.Fingerprint(certs[0].Raw), nil
}

// who names the server in a message: by its name once it is known.
func (c *Client) who() string {
	if c.name != "" {
		return c.name
	}
	return c.addr
}

// Addr returns the server's address, host:port.
func (c *Client) Addr() string { return c.addr }

// Fingerprint returns the pinned certificate fingerprint.
func (c *Client) Fingerprint() string { return c.fingerprint }

// Close closes idle connections. Calls in flight are not affected.
func (c *Client) Close() error {
	c.tr.CloseIdleConnections()
	c.str.CloseIdleConnections()
	return nil
}

func (c *Client) request(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, exchange.Errorf(exchange.CodeBadRequest, "server %s: %w", c.addr, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	return req, nil
}

// call makes a JSON call: in (if not nil) is the request body, out (if not
// nil) receives the answer.
func (c *Client) call(ctx context.Context, op, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return exchange.Errorf(exchange.CodeBadRequest, "server %s: %s: encoding the request: %w", c.addr, op, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := c.request(ctx, method, path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.netErr(op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.answerErr(ctx, op, resp)
	}
	if out == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, clientMaxErrorAnswer)) // lets the connection be reused
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, clientMaxAnswer)).Decode(out); err != nil {
		if ctx.Err() != nil {
			return c.netErr(op, err)
		}
		return exchange.Errorf(exchange.CodeInternal, "server %s: %s: malformed answer: %w", c.who(), op, err)
	}
	return nil
}

// netErr names the server in a transport failure. A refused certificate
// already names it and is returned as it is.
func (c *Client) netErr(op string, err error) error {
	var fe *FingerprintError
	if errors.As(err, &fe) {
		return fe
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &CallError{Name: c.name, Addr: c.addr, Op: op, Err: err}
}

// answerErr rebuilds the *exchange.Error a server answered, so errors.Is works on
// its code as if the server were local.
//
// An error answer to a call whose context has ended is that end: the
// server answers the cancellation it saw ("context canceled") as soon as
// the client starts to close the connection, and over HTTP/1.1 the
// transport hands over an answer that beat the close. The call was
// cancelled or ran out of time, and says so, as when the close wins.
func (c *Client) answerErr(ctx context.Context, op string, resp *http.Response) error {
	if ctx.Err() != nil {
		return c.netErr(op, context.Cause(ctx))
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, clientMaxErrorAnswer))
	var body wire.ErrorBody
	if json.Unmarshal(b, &body) != nil || body.Code == "" {
		body.Code = wire.CodeOfStatus(resp.StatusCode)
		body.Message = strings.TrimSpace(string(b))
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			body.Message = "the server refused the access key"
		case http.StatusTooManyRequests:
			body.Message = "too many failed attempts from this address; try again later"
			if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
				body.Message = fmt.Sprintf("too many failed attempts from this address; try again in %d s", secs)
			}
		}
	}
	if body.Message == "" {
		body.Message = resp.Status
	}
	return &CallError{Name: c.name, Addr: c.addr, Op: op, Err: &exchange.Error{Code: body.Code, Message: body.Message}}
}

// clientCheckNames refuses what the server would refuse, before a body is
// sent.
func clientCheckNames(session, file string) error {
	if err := wire.CheckName("session", session); err != nil {
		return err
	}
	return wire.CheckName("file name", file)
}

func pathEscape(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(p))
	}
	return b.String()
}

// Status implements Node.
func (c *Client) Status(ctx context.Context) (exchange.Status, error) {
	var st exchange.Status
	err := c.call(ctx, "status", http.MethodGet, "/v1/status", nil, &st)
	return st, err
}

// Topology implements Node.
func (c *Client) Topology(ctx context.Context) (exchange.Topology, error) {
	var t exchange.Topology
	err := c.call(ctx, "topology", http.MethodGet, "/v1/topology", nil, &t)
	return t, err
}

// Join implements Node.
func (c *Client) Join(ctx context.Context, s exchange.ServerInfo) (exchange.Topology, error) {
	var t exchange.Topology
	err := c.call(ctx, "join of server "+s.Name, http.MethodPost, "/v1/topology/join", s, &t)
	return t, err
}

// UpdateServer implements Node.
func (c *Client) UpdateServer(ctx context.Context, s exchange.ServerInfo) error {
	return c.call(ctx, "update of server "+s.Name, http.MethodPost, "/v1/topology/servers", s, nil)
}

// Recipients implements Node.
func (c *Client) Recipients(ctx context.Context) ([]exchange.Recipient, error) {
	var rs []exchange.Recipient
	err := c.call(ctx, "recipients", http.MethodGet, "/v1/recipients", nil, &rs)
	return rs, err
}

// StartService implements Node. Starting a store with a staged restore
// runs its recovery, which may take a while: ctx bounds it.
func (c *Client) StartService(ctx context.Context, id exchange.StoreID) (exchange.RestoreResult, error) {
	var res exchange.RestoreResult
	err := c.call(ctx, "starting the "+id.ServiceName(), http.MethodPost, "/v1/services"+pathEscape(string(id), "start"), nil, &res)
	return res, err
}

// CancelRestore implements Node.
func (c *Client) CancelRestore(ctx context.Context, id exchange.StoreID) (exchange.RestoreResult, error) {
	var res exchange.RestoreResult
	err := c.call(ctx, "cancelling the restore of the "+id.ServiceName(), http.MethodPost, "/v1/services"+pathEscape(string(id), "cancel-restore"), nil, &res)
	return res, err
}

// StopService implements Node.
func (c *Client) StopService(ctx context.Context, id exchange.StoreID) error {
	return c.call(ctx, "stopping the "+id.ServiceName(), http.MethodPost, "/v1/services"+pathEscape(string(id), "stop"), nil, nil)
}

// BackupPrepare implements Node.
func (c *Client) BackupPrepare(ctx context.Context, id exchange.StoreID, t exchange.BackupType) (exchange.BackupInfo, error) {
	var info exchange.BackupInfo
	err := c.call(ctx, fmt.Sprintf("%s backup of the %s", t, id.ServiceName()), http.MethodPost, "/v1/backup",
		wire.BackupRequest{Store: id, Type: t}, &info)
	return info, err
}

// BackupRead implements Node. The file arrives as a verified framed stream:
// a Read answers io.EOF only once the whole file is proven complete, and a
// stream cut off or damaged on the way is an error naming the server and
// the file. ctx governs the whole stream; Close ends it early.
func (c *Client) BackupRead(ctx context.Context, session, file string) (io.ReadCloser, error) {
	op := "backup of " + file
	if err := clientCheckNames(session, file); err != nil {
		return nil, &CallError{Name: c.name, Addr: c.addr, Op: op, Err: err}
	}
	req, err := c.request(ctx, http.MethodGet, "/v1/backup"+pathEscape(session, "files", file), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", wire.FrameContentType)
	resp, err := c.shc.Do(req)
	if err != nil {
		return nil, c.netErr(op, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, c.answerErr(ctx, op, resp)
	}
	if ct := resp.Header.Get("Content-Type"); ct != wire.FrameContentType {
		resp.Body.Close()
		return nil, exchange.Errorf(exchange.CodeInternal, "server %s: %s: unexpected answer of type %q", c.who(), op, ct)
	}
	return &clientStream{fr: wire.NewFrameReader(resp.Body), body: resp.Body, c: c, op: op}, nil
}

// clientStream is a file arriving from a server.
type clientStream struct {
	fr   *wire.FrameReader
	body io.ReadCloser
	c    *Client
	op   string
	err  error
}

func (s *clientStream) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.fr.Read(p)
	if err != nil && err != io.EOF {
		err = &CallError{Name: s.c.name, Addr: s.c.addr, Op: s.op, Err: err}
		s.err = err
	}
	return n, err
}

// ReadCRC is Read that also gives the CRC-32C of p[:n], which the frame
// check computed: a tape writer reuses it instead of computing it again.
func (s *clientStream) ReadCRC(p []byte) (int, uint32, error) {
	if s.err != nil {
		return 0, 0, s.err
	}
	n, crc, err := s.fr.ReadCRC(p)
	if err != nil && err != io.EOF {
		err = &CallError{Name: s.c.name, Addr: s.c.addr, Op: s.op, Err: err}
		s.err = err
	}
	return n, crc, err
}

func (s *clientStream) Close() error { return s.body.Close() }

// BackupEnd implements Node.
func (c *Client) BackupEnd(ctx context.Context, session string, success bool) error {
	return c.call(ctx, "end of backup session", http.MethodPost, "/v1/backup"+pathEscape(session, "end"),
		wire.BackupEndRequest{Success: &success}, nil)
}

// RestorePrepare implements Node.
func (c *Client) RestorePrepare(ctx context.Context, req exchange.RestoreRequest) (exchange.RestoreInfo, error) {
	var info exchange.RestoreInfo
	err := c.call(ctx, "restore of the "+req.Env.Store.ServiceName(), http.MethodPost, "/v1/restore", req, &info)
	return info, err
}

// RestoreWrite implements Node. r is framed on its way into the request
// body, in constant memory: the transport has the body write its frames
// straight into the connection. When reading r fails, the upload is cut
// off (the server sees a truncated stream and keeps nothing) and that read
// error is returned. RestoreWrite returns only once it has stopped reading
// r.
func (c *Client) RestoreWrite(ctx context.Context, session, file string, r io.Reader) error {
	op := "restore of " + file
	if err := clientCheckNames(session, file); err != nil {
		return &CallError{Name: c.name, Addr: c.addr, Op: op, Err: err}
	}
	body := &uploadBody{src: r}
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: body.gotConn})
	req, err := c.request(ctx, http.MethodPut, "/v1/restore"+pathEscape(session, "files", file), body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", wire.FrameContentType)
	req.Header.Set("Accept", "application/json")
	resp, err := c.shc.Do(req)
	srcErr := body.stop()
	if srcErr != nil {
		if err == nil {
			resp.Body.Close()
		}
		return fmt.Errorf("%s to server %s: reading the file: %w", op, c.who(), srcErr)
	}
	if err != nil {
		return c.netErr(op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.answerErr(ctx, op, resp)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, clientMaxErrorAnswer))
	return nil
}

// uploadBody is a restore's request body: src, framed. The HTTP/1.1
// transport calls WriteTo, which frames src straight into the connection;
// Read, through a pipe, serves any transport that reads instead. Either
// may end while src still has data (a failed write, an answer before the
// end), so stop cuts src off and waits until nothing reads it any more.
type uploadBody struct {
	src io.Reader

	mu      sync.Mutex
	stopped bool
	busy    sync.WaitGroup // a WriteTo or the pipe's goroutine reading src
	srcErr  error          // src failed: not the upload
	pr      *io.PipeReader
	conn    *wire.StreamConn // the connection the upload goes over, if known
}

// gotConn notes the connection the transport picked for the upload.
func (b *uploadBody) gotConn(info httptrace.GotConnInfo) {
	b.mu.Lock()
	b.conn = wire.StreamConnUnder(info.Conn)
	b.mu.Unlock()
}

// errAnswered stops the upload of a file the server has already answered.
var errAnswered = errors.New("the server answered before the whole file was sent")

// begin reports whether src may still be read, and counts the reader in.
func (b *uploadBody) begin() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return false
	}
	b.busy.Add(1)
	return true
}

// Read implements io.Reader for transports that pull the body.
func (b *uploadBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.pr == nil && !b.stopped {
		pr, pw := io.Pipe()
		b.pr = pr
		b.busy.Add(1)
		go func() {
			defer b.busy.Done()
			_, err := b.frame(pw)
			pw.CloseWithError(err)
		}()
	}
	pr := b.pr
	b.mu.Unlock()
	if pr == nil {
		return 0, errAnswered
	}
	return pr.Read(p)
}

// WriteTo implements io.WriterTo: the frames go straight to w.
func (b *uploadBody) WriteTo(w io.Writer) (int64, error) {
	if !b.begin() {
		return 0, errAnswered
	}
	defer b.busy.Done()
	b.mu.Lock()
	sc := b.conn
	b.mu.Unlock()
	if sc == nil {
		return b.frame(w)
	}
	// The frames leave in batches; the transport's own end of the body
	// follows the last one.
	sc.Hold()
	n, err := b.frame(w)
	if rerr := sc.Release(); err == nil {
		err = rerr
	}
	return n, err
}

// frame writes src to w as frames, ending with the trailer.
func (b *uploadBody) frame(w io.Writer) (int64, error) {
	fw := wire.NewFrameWriter(w)
	stopped := func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.stopped
	}
	var src io.Reader = readerFunc(func(p []byte) (int, error) {
		if stopped() {
			return 0, errAnswered
		}
		return b.src.Read(p)
	})
	if cr, ok := b.src.(wire.ChunkReader); ok {
		// A source that checksums its own pieces (a tape) lends them to the
		// frames as they are.
		src = chunkFunc(func() ([]byte, uint32, error) {
			if stopped() {
				return nil, 0, errAnswered
			}
			return cr.ReadChunk()
		})
	}
	_, err := fw.ReadFrom(src)
	if err == nil {
		err = fw.Close()
	} else if fw.WriteErr() == nil && err != errAnswered {
		b.mu.Lock()
		b.srcErr = err // the source failed, not the upload
		b.mu.Unlock()
	}
	return fw.Written(), err
}

// Close is called by the transport when it is done with the body.
func (b *uploadBody) Close() error { return nil }

// stop cuts src off, waits until nothing reads it, and returns its error.
func (b *uploadBody) stop() error {
	b.mu.Lock()
	b.stopped = true
	pr := b.pr
	b.mu.Unlock()
	if pr != nil {
		pr.CloseWithError(errAnswered)
	}
	b.busy.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.srcErr
}

// RestoreComplete implements Node.
func (c *Client) RestoreComplete(ctx context.Context, session string) (exchange.RestoreResult, error) {
	var res exchange.RestoreResult
	err := c.call(ctx, "completion of the restore", http.MethodPost, "/v1/restore"+pathEscape(session, "complete"), nil, &res)
	return res, err
}

// CreateMailbox implements Node.
func (c *Client) CreateMailbox(ctx context.Context, r exchange.Recipient) error {
	return c.call(ctx, "creating mailbox "+r.Alias, http.MethodPost, "/v1/mailboxes", r, nil)
}

// Deliver implements Node.
func (c *Client) Deliver(ctx context.Context, m exchange.Message) error {
	return c.call(ctx, "delivery to "+m.Mailbox, http.MethodPost, "/v1/messages", m, nil)
}

// Post implements Node.
func (c *Client) Post(ctx context.Context, p exchange.Post) error {
	return c.call(ctx, "post to "+p.Folder, http.MethodPost, "/v1/posts", p, nil)
}

// ImportItems implements Node.
func (c *Client) ImportItems(ctx context.Context, req exchange.ImportRequest) (exchange.ImportResult, error) {
	var res exchange.ImportResult
	if why := exchange.ImportTooLarge(req); why != "" {
		return res, exchange.Errorf(exchange.CodeBadRequest, "server %s: item restore: %s", c.who(), why)
	}
	err := c.call(ctx, "item restore", http.MethodPost, "/v1/items", req, &res)
	return res, err
}

// Digest implements Node.
func (c *Client) Digest(ctx context.Context) (exchange.Digest, error) {
	var d exchange.Digest
	err := c.call(ctx, "digest", http.MethodGet, "/v1/digest", nil, &d)
	return d, err
}
